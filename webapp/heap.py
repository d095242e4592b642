"""Keep the server's C heap from holding memory that nothing uses (glibc only; elsewhere a no-op).

An analysis allocates arrays of tens of megabytes (a 30-s clip's encoder outputs are
15 MB). glibc serves a freed block of that size again from its own heap once it has
seen one freed (its mmap threshold rises with the largest block freed, up to 32 MB), and
a heap fragmented by many such blocks is rarely handed back: the server's resident
memory then grows with every clip length it has seen although nothing is held
(``python -m bench.soak``). Two remedies, both through ``ctypes`` on glibc:

* :func:`cap_mmap_threshold` fixes the threshold at its default 128 KiB, so large
  arrays always get pages of their own that go back to the system when freed;
* :func:`release_heap` hands free heap pages back (``malloc_trim``); the session sweep
  calls it after closed sessions were shut down.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3        # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024


@functools.cache
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt   # noqa: B018 - both exist on glibc only
        return libc
    except (OSError, AttributeError):   # not glibc (musl, macOS): nothing to tune
        return None


def cap_mmap_threshold() -> bool:
    """Serve allocations above 128 KiB from their own pages for the rest of the process; False where impossible."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_heap() -> bool:
    """Hand the C heap's free pages back to the system; False where there is no glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)   # returns whether anything was released; either way the heap is as small as it gets
    return True
