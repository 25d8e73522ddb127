"""The numba options of every compiled kernel, in one place, and their bound entries."""

from __future__ import annotations

from numba import typeof

#: Compiled code is cached next to each module (``__pycache__``), so a fresh worker loads it instead of
#: compiling; :mod:`sim.kernels.cache` discards the cache when any kernel source changed. Kernels must
#: not recurse: a recursive kernel loaded from the cache crashes (segfault) in workers.
CACHE = True
#: Options of every compiled kernel of the day. Without numba's reference-counted runtime (``_nrt``),
#: passing an array or taking a view of a pack costs no allocation and no atomic count (the runtime
#: costs about 6% of a run). Kernels therefore allocate nothing: scratch space lives in the packs.
JIT = {"cache": CACHE, "error_model": "numpy", "_nrt": False}


def bound(kernel, *args):
    """``kernel``'s compiled entry for the types of ``args`` (e.g. its day argument, then the bound packs).

    Calling the entry skips the dispatcher's typing of every argument on every call, about half the
    cost of a call with the day's 34 arrays (thousands of calls a replication). It is only for
    arguments of fixed types: the packs are bound once and updated in place, and the day is an int.
    """
    if not hasattr(kernel, "compile"):  # NUMBA_DISABLE_JIT=1: the kernel is a plain Python function
        return kernel
    return kernel.compile(tuple(typeof(a) for a in args))
