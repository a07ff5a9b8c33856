"""One deliberate choice of torch's thread count for every lesson.

Small recurrent models are latency-bound: each time step is a few small matrix products, and
with a second thread the synchronisation costs more than it saves. Under load from another
process two threads were measured 10x slower than one. Lessons therefore call
:func:`set_threads` once at the top; ``make bench`` compares 1 and 2 threads by setting the
environment variable ``RNNCOURSE_TORCH_THREADS``.
"""

from __future__ import annotations

import os

ENV = "RNNCOURSE_TORCH_THREADS"


def env_count(name: str) -> int | None:
    """The positive integer in environment variable ``name``; None when it is unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}: expected a positive integer, got {raw!r}")
    return int(raw)


def chosen_threads(default: int = 1) -> int:
    """``$RNNCOURSE_TORCH_THREADS`` when set, else ``default``: the course's thread count."""
    threads = env_count(ENV)
    if threads is not None:
        return threads
    if isinstance(default, bool) or not isinstance(default, int) or default < 1:
        raise ValueError(f"default: expected a positive int, got {default!r}")
    return default


def set_threads(default: int = 1) -> int:
    """Set torch's intra-op threads to ``$RNNCOURSE_TORCH_THREADS`` or ``default``; return it."""
    import torch

    threads = chosen_threads(default)
    torch.set_num_threads(threads)
    return threads
