"""rnncourse.heap: freed memory goes back to the system."""

import subprocess
import sys

from rnncourse import heap

# In a fresh interpreter: what glibc keeps depends on the process's whole allocation history.
PROBE = """
import numpy as np
from rnncourse import heap
from rnncourse.parallel import own_memory_gb
np.ones(2**21)  # 16 MB freed at once: glibc now serves blocks of up to this size itself
keep = [np.ones(2**17) for _ in range(200)]  # 200 MB in 1 MB blocks, written
sentinel = np.ones(2**14)  # above them in the heap, so that freeing them leaves a hole
del keep
before = own_memory_gb()
released = heap.release()
print(released, before - own_memory_gb(), sentinel.sum())
"""


def test_release_returns_what_glibc_kept():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == "True" and float(out[1]) > 0.1, out  # most of the 200 MB came back


def test_release_does_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_LIBC", False)
    assert heap.release() is False
