"""The day's arithmetic: compiled kernels over preallocated arrays, and their layouts.

The one statement of every daily rule. The kernels run compiled (the default) or, with
``NUMBA_DISABLE_JIT=1``, as plain Python with the same bits. They import only
:mod:`sim.core`. Their disk cache is checked against their sources before any is loaded
(:mod:`sim.kernels.cache`).
"""

from sim.kernels.cache import discard_stale_cache

discard_stale_cache()
