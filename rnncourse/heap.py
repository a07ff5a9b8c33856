"""Give the memory a computation freed back to the operating system.

glibc's ``malloc`` (Linux) keeps freed memory for reuse: after a tensor of a few MB is freed,
it raises its threshold for serving such sizes from its own heap, so the next ones stay in the
process after they are freed too. A lesson that times a long sequence once then holds a hundred
MB more for the rest of its life, and a worker process started later adds its own memory on top
(a lesson's kernel and workers together must fit in 1 GB: :mod:`rnncourse.parallel`).
:func:`release` asks glibc to return every free page now (``malloc_trim(0)``); elsewhere (macOS,
Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["release"]

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                libc.malloc_trim.argtypes = [ctypes.c_size_t]
                libc.malloc_trim.restype = ctypes.c_int
                _LIBC = libc
            except (OSError, AttributeError):  # not glibc: no malloc_trim
                pass
    return _LIBC


def release() -> bool:
    """Return the free memory of this process's heap to the system; ``True`` if glibc did
    (``malloc_trim``: some memory was released), ``False`` if there was none or no glibc."""
    libc = _libc()
    return bool(libc and libc.malloc_trim(0))
