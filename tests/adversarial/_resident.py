"""The resident memory of this process (the live server runs in it), before and after an attack."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

__all__ = ["resident_bytes", "settled_resident_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def resident_bytes() -> int:
    """The resident set size of this process, from ``/proc/self/statm``."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def settled_resident_bytes() -> int:
    """The resident set size once garbage is collected and freed heap pages handed back.

    ``malloc_trim`` returns the pages glibc keeps after a burst of allocations,
    so what is measured is what the server still holds, not the allocator's cache.
    """
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)
    return resident_bytes()
