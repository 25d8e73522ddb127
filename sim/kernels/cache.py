"""The compiled kernels' disk cache, keyed on the sources of every kernel together.

numba keys each module's cache on that module's file alone, so a kernel that calls a kernel of
another module, or indexes a pack declared in :mod:`sim.kernels.layout`, would load stale
machine code after the other file changed, without a word. So the cache is keyed here on a
fingerprint of the whole kernel package and the foundations it reads (:mod:`sim.core`): at
import, a cache written for other sources is discarded, and numba compiles afresh.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from numba import config
from numba.core.caching import UserProvidedCacheLocator

KERNELS_DIR = Path(__file__).resolve().parent
#: Every source the compiled code depends on: the kernels, their layouts and options, the foundations.
SOURCE_DIRS = (KERNELS_DIR, KERNELS_DIR.parent / "core")
STAMP_NAME = "kernel-sources.sha256"


def source_fingerprint() -> str:
    """SHA-256 of the names and bytes of every ``.py`` file the compiled kernels are built from."""
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted(folder.glob("*.py")):
            digest.update(f"{folder.name}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_dir() -> Path:
    """Where numba keeps the kernels' compiled code: ``NUMBA_CACHE_DIR``'s subfolder, else ``__pycache__``."""
    if config.CACHE_DIR:
        return Path(config.CACHE_DIR) / UserProvidedCacheLocator.get_suitable_cache_subpath(str(KERNELS_DIR / "x.py"))
    return KERNELS_DIR / "__pycache__"


def discard_stale_cache(folder: Path | None = None) -> bool:
    """Delete the compiled code in ``folder`` if it was built from other sources; stamp it with these.

    Returns:
        Whether a cache was discarded.
    """
    folder = cache_dir() if folder is None else folder
    fingerprint = source_fingerprint()
    stamp = folder / STAMP_NAME
    try:
        if stamp.read_text().strip() == fingerprint:
            return False
    except OSError:  # no stamp yet: whatever is there was built from unknown sources
        pass
    discarded = False
    if folder.is_dir():
        for path in list(folder.glob("*.nbi")) + list(folder.glob("*.nbc")):
            try:
                path.unlink()
                discarded = True
            except FileNotFoundError:  # another process discarded it first
                pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # atomically, so a concurrent process reads an old stamp or the new one, never half of one
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stamp-")
        with os.fdopen(fd, "w") as f:
            f.write(fingerprint + "\n")
        os.replace(tmp, stamp)
    except OSError:  # a read-only tree: numba then caches elsewhere or not at all
        pass
    return discarded
