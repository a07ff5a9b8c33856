"""rnncourse.heap: freed memory goes back to the system."""

import torch

from rnncourse import heap
from rnncourse.parallel import own_memory_gb


def test_release_returns_what_glibc_kept():
    torch.ones(2**22)  # 16 MB freed at once: glibc now serves blocks of up to this size itself
    keep = [torch.ones(2**18) for _ in range(200)]  # 200 MB in 1 MB blocks, written
    sentinel = torch.ones(2**10)  # above them in the heap, so that freeing them leaves a hole
    del keep
    before = own_memory_gb()
    released = heap.release()
    after = own_memory_gb()
    assert released and before - after > 0.1, (before, after)  # most of the 200 MB
    assert sentinel.sum() == 2**10


def test_release_does_nothing_without_glibc(monkeypatch):
    monkeypatch.setattr(heap, "_LIBC", False)
    assert heap.release() is False
