"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (elementwise), sequentially and by scans.

Equations (``*`` elementwise, t = 1..T, ``h_0`` given, zero by default)::

    h_t = a_t * h_{t-1} + b_t                                                  (1)

One step is the affine map ``h -> a h + b``; doing ``(a, b)`` first and then ``(a', b')`` is
again such a map, ``h -> a' a h + (a' b + b')``. So the combine operator

    (a, b) o (a', b') = (a a', a' b + b')                                      (2)

is **associative** (though not commutative), and ``h_t`` is the ``b`` part of the prefix
``(a_1, b_1 + a_1 h_0) o (a_2, b_2) o ... o (a_t, b_t)``. Associativity lets the prefixes be
computed in any bracketing, which is what a parallel scan does:

* :func:`sequential` applies (1) step by step: work T combines, depth T (each step waits for
  the previous one).
* :func:`blelloch`: the work-efficient scan (Blelloch 1990; this inclusive form is Brent and
  Kung's). The **up-sweep** combines neighbours at strides 1, 2, 4, ... (after it, position
  ``r`` holds the combination of the block of length ``2^k`` ending at ``r``, ``2^k`` the
  largest power of two dividing ``r + 1``); the **down-sweep** then completes every other
  prefix from the nearest complete one on its left, at strides ..., 4, 2, 1. All combines of
  one stride are independent: depth ``2 ceil(log2 T)``, work below ``2 T``. Any T >= 1 works,
  no padding to a power of two.
* :func:`log_space` is Heinsen's (2023) cumulative form for real ``a_t > 0``:
  ``a*_t = sum_{s<=t} log a_s`` and ``h_t = exp(a*_t) (h_0 + sum_{s<=t} b_s exp(-a*_s))``,
  with the sum done as ``logcumsumexp(log b_s - a*_s)`` so nothing over- or underflows. A
  negative ``b`` is split into ``b+ - b-`` (two positive sums). ``a_t <= 0`` has no real log and
  complex ``a_t`` is not handled here: both are refused (use :func:`blelloch`).

Shapes: ``a`` and ``b`` are ``(T, ...)`` (time-major, any trailing shape, equal shapes), ``h0``
the trailing shape; the result ``h`` is ``(T, ...)``, ``h[t-1]`` being ``h_t``. Real floating
or complex dtypes (complex: :func:`sequential` and :func:`blelloch`).

The torch versions (:func:`sequential_torch`, :func:`blelloch_torch`, :func:`log_space_torch`)
are differentiable. :func:`blelloch_torch` has its own backward, which is again a linear
recurrence, run backwards in time by the same scan (``g`` the gradient reaching ``h_t``)::

    g_T = dL/dh_T,  g_t = dL/dh_t + conj(a_{t+1}) g_{t+1};
    dL/db_t = g_t,  dL/da_t = g_t conj(h_{t-1}),  dL/dh_0 = conj(a_1) g_1       (3)

(conjugates as torch defines complex gradients; for real tensors they do nothing).

:func:`scan_counts` counts work (combines) and depth (dependent rounds) of each method; the
implementations record what they actually did in :data:`last_counts` and a test checks both
agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "sequential", "blelloch", "log_space", "linear_recurrence",
           "sequential_torch", "blelloch_torch", "log_space_torch", "scan_counts",
           "last_counts"]

METHODS = ("sequential", "blelloch", "log_space")

last_counts: dict = {}
"""``{"method", "T", "work", "depth"}`` of the last scan run (numpy or torch, forward only)."""


# ---------------------------------------------------------------------------------------------
# counting


def scan_counts(T: int, method: str = "blelloch") -> dict:
    """Work (combines (2) per channel, folding ``h_0`` in counted as one) and depth (rounds of
    combines that must wait for each other) of one scan over ``T`` steps.

    sequential: work ``T``, depth ``T``. blelloch: up-sweep ``T - popcount(T)`` combines in
    ``ceil(log2 T)`` rounds, down-sweep ``popcount(T) - 1 + (number of s ...)`` (counted exactly
    below), plus one for ``h_0``; its depth grows like ``2 log2 T``. log_space: two cumulative
    sums (each a scan of its own), counted as the two scans' work and depth.
    """
    T = _positive_int("T", T)
    _choice("method", method)
    if method == "sequential":
        return {"method": method, "T": T, "work": T, "depth": T}
    up_work = up_depth = down_work = down_depth = 0
    s = 1
    while s < T:
        n = len(range(2 * s - 1, T, 2 * s))
        if n:
            up_work += n
            up_depth += 1
        s *= 2
    s = _top_stride(T)
    while s >= 1:
        n = len(range(3 * s - 1, T, 2 * s))
        if n:
            down_work += n
            down_depth += 1
        s //= 2
    work, depth = up_work + down_work + 1, up_depth + down_depth + 1
    if method == "log_space":
        work, depth = 2 * work, 2 * depth
    return {"method": method, "T": T, "work": work, "depth": depth}


def _top_stride(T: int) -> int:
    """The largest power of two s with 3 s - 1 < T (0 if none): the down-sweep's first stride."""
    s = 1
    while 3 * (2 * s) - 1 < T:
        s *= 2
    return s if 3 * s - 1 < T else 0


def _record(method, T, work, depth):
    last_counts.clear()
    last_counts.update({"method": method, "T": T, "work": work, "depth": depth})


# ---------------------------------------------------------------------------------------------
# checks


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int >= 1, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value}")
    return int(value)


def _choice(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {list(METHODS)}, got {type(value).__name__}")
    if value not in METHODS:
        raise ValueError(f"{name}: expected one of {list(METHODS)}, got {value!r}")


def _check_numpy(a, b, h0, *, real_positive_a=False):
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name}: expected a numpy array (T, ...) of floats or complex "
                            f"numbers, got {type(value).__name__}")
        if value.dtype.kind not in "fc":
            raise TypeError(f"{name}: expected a floating-point or complex array, got dtype "
                            f"{value.dtype}")
        if value.ndim < 1 or value.shape[0] < 1:
            raise ValueError(f"{name}: expected shape (T, ...) with T >= 1, got "
                             f"{tuple(value.shape)}")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name}: expected finite values, got NaN or inf entries")
    if a.shape != b.shape:
        raise ValueError(f"a and b: expected the same shape (T, ...), got a {tuple(a.shape)} "
                         f"and b {tuple(b.shape)}")
    if isinstance(h0, np.generic):  # a 0-d h0 for a (T,) sequence comes back as a scalar
        h0 = np.asarray(h0)
    if h0 is not None:
        if not isinstance(h0, np.ndarray) or h0.dtype.kind not in "fc":
            raise TypeError(f"h0: expected a numpy array of floats or complex numbers or None, "
                            f"got {type(h0).__name__}"
                            + (f" of dtype {h0.dtype}" if isinstance(h0, np.ndarray) else ""))
        if h0.shape != b.shape[1:]:
            raise ValueError(f"h0: expected shape {tuple(b.shape[1:])} (the trailing shape of b),"
                             f" got {tuple(h0.shape)}")
    if real_positive_a:
        _check_log_domain(a, b, h0, np.iscomplexobj, lambda x: bool(np.all(x > 0)))
    return np.result_type(a, b, h0 if h0 is not None else a), h0


def _check_log_domain(a, b, h0, is_complex, all_positive):
    if is_complex(a) or is_complex(b) or (h0 is not None and is_complex(h0)):
        raise TypeError("a, b, h0: the log-space form takes real tensors only (complex a_t has "
                        "no single real logarithm); use method 'blelloch' for complex values")
    if not all_positive(a):
        raise ValueError("a: the log-space form needs a_t > 0 everywhere (it sums log a_t); "
                         "got entries <= 0. Use method 'blelloch', which takes any a_t")


# ---------------------------------------------------------------------------------------------
# numpy


def sequential(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """``h_t = a_t * h_{t-1} + b_t`` one step after the other (the definition). ``(T, ...)``."""
    dtype, h0 = _check_numpy(a, b, h0)
    T = a.shape[0]
    h = np.empty(a.shape, dtype=dtype)
    prev = np.zeros(a.shape[1:], dtype=dtype) if h0 is None else h0
    for t in range(T):  # (B, H) per step
        prev = a[t] * prev + b[t]
        h[t] = prev
    _record("sequential", T, T, T)
    return h


def _fma(out, x, y):
    """``out += x * y`` in place (``out`` a view)."""
    if isinstance(out, np.ndarray):
        out += x * y
    else:
        out.addcmul_(x, y)


def _blelloch_inplace(a, b):
    """The scan on arrays ``a``, ``b`` (T, ...) that it overwrites: ``b`` ends as ``h``.

    Works for numpy arrays and torch tensors alike (strided views, in-place updates).
    Returns (work, depth) as performed.
    """
    T = a.shape[0]
    work = depth = 0
    s = 1
    while s < T:  # up-sweep: right = left o right at stride s, pairs (r - s, r), r = 2s-1, 4s-1
        right = slice(2 * s - 1, T, 2 * s)
        left = slice(s - 1, T - s, 2 * s)
        n = len(range(2 * s - 1, T, 2 * s))
        if n:
            _fma(b[right], a[right], b[left])  # the right block's own a, before a is updated
            a[right] *= a[left]
            work, depth = work + n, depth + 1
        s *= 2
    s = _top_stride(T)
    while s >= 1:  # down-sweep: complete r = 3s-1, 5s-1, ... from the complete prefix at r - s
        right = slice(3 * s - 1, T, 2 * s)
        left = slice(2 * s - 1, T - s, 2 * s)
        n = len(range(3 * s - 1, T, 2 * s))
        if n:  # only b is needed from here on: a right block's own a_ stays as it is
            _fma(b[right], a[right], b[left])
            work, depth = work + n, depth + 1
        s //= 2
    return work, depth


def blelloch(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """All ``h_t`` by the work-efficient up-sweep / down-sweep scan of (2). ``(T, ...)``.

    Equal to :func:`sequential` up to rounding (the products are bracketed differently).
    """
    dtype, h0 = _check_numpy(a, b, h0)
    a = a.astype(dtype, copy=True)
    b = b.astype(dtype, copy=True)
    if h0 is not None:
        b[0] += a[0] * h0  # fold h_0 into the first step: (a_1, b_1 + a_1 h_0)
    work, depth = _blelloch_inplace(a, b)
    _record("blelloch", a.shape[0], work + 1, depth + 1)
    return b


def _logcumsumexp_np(x: np.ndarray) -> np.ndarray:
    """``log(cumsum(exp(x)))`` along axis 0 without overflow (-inf entries allowed): a running
    ``logaddexp``, so each prefix is shifted by its own maximum."""
    return np.logaddexp.accumulate(x, axis=0)


def log_space(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """All ``h_t`` by Heinsen's log-space cumulative form, for real ``a_t > 0``. ``(T, ...)``.

    ``a*_t = cumsum(log a)``, ``h_t = exp(a*_t + logcumsumexp(log b_s - a*_s)) (+ h_0 term)``,
    positive and negative parts of ``b`` (and ``h_0``) summed separately.
    """
    dtype, h0 = _check_numpy(a, b, h0, real_positive_a=True)
    a_star = np.cumsum(np.log(a.astype(dtype)), axis=0)  # (T, ...)
    b = b.astype(dtype, copy=True)
    if h0 is not None:
        b[0] += a[0] * h0
    with np.errstate(divide="ignore"):
        pos = _logcumsumexp_np(np.log(np.maximum(b, 0)) - a_star)
        neg = _logcumsumexp_np(np.log(np.maximum(-b, 0)) - a_star)
    c = scan_counts(a.shape[0], "log_space")
    _record("log_space", a.shape[0], c["work"], c["depth"])
    return np.exp(a_star + pos) - np.exp(a_star + neg)


def linear_recurrence(a, b, h0=None, *, method: str = "blelloch"):
    """``h_t = a_t * h_{t-1} + b_t`` by ``method`` (one of :data:`METHODS`), numpy or torch."""
    _choice("method", method)
    try:
        import torch

        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
            fn = {"sequential": sequential_torch, "blelloch": blelloch_torch,
                  "log_space": log_space_torch}[method]
            return fn(a, b, h0)
    except ImportError:  # pragma: no cover - torch is a dependency of the course
        pass
    return {"sequential": sequential, "blelloch": blelloch, "log_space": log_space}[method](
        a, b, h0)


# ---------------------------------------------------------------------------------------------
# torch


def _check_torch(a, b, h0):
    import torch

    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor (T, ...) of floats or complex "
                            f"numbers, got {type(value).__name__}")
        if not (value.is_floating_point() or value.is_complex()):
            raise TypeError(f"{name}: expected a floating-point or complex tensor, got dtype "
                            f"{value.dtype}")
        if value.dim() < 1 or value.shape[0] < 1:
            raise ValueError(f"{name}: expected shape (T, ...) with T >= 1, got "
                             f"{tuple(value.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"a and b: expected the same shape (T, ...), got a {tuple(a.shape)} "
                         f"and b {tuple(b.shape)}")
    if h0 is not None:
        if not isinstance(h0, torch.Tensor) or not (h0.is_floating_point() or h0.is_complex()):
            raise TypeError(f"h0: expected a floating-point or complex torch.Tensor or None, got "
                            f"{type(h0).__name__}"
                            + (f" of dtype {h0.dtype}" if isinstance(h0, torch.Tensor) else ""))
        if tuple(h0.shape) != tuple(b.shape[1:]):
            raise ValueError(f"h0: expected shape {tuple(b.shape[1:])} (the trailing shape of b),"
                             f" got {tuple(h0.shape)}")
    dtype = torch.promote_types(a.dtype, b.dtype)
    if h0 is not None:
        dtype = torch.promote_types(dtype, h0.dtype)
    return dtype


def sequential_torch(a, b, h0=None):
    """:func:`sequential` in torch (autograd through every step): the reference. ``(T, ...)``."""
    import torch

    dtype = _check_torch(a, b, h0)
    a, b = a.to(dtype), b.to(dtype)
    prev = torch.zeros_like(b[0]) if h0 is None else h0.to(dtype)
    out = []
    for t in range(a.shape[0]):
        prev = a[t] * prev + b[t]
        out.append(prev)
    _record("sequential", a.shape[0], a.shape[0], a.shape[0])
    return torch.stack(out)


def _scan_no_grad(a, b):
    """Blelloch on copies of ``a``, ``b`` (torch, no autograd); returns ``h``."""
    a = a.clone(memory_format=_contiguous())
    b = b.clone(memory_format=_contiguous())
    work, depth = _blelloch_inplace(a, b)
    return b, work, depth


def _contiguous():
    import torch

    return torch.contiguous_format


def _make_function():
    import torch

    class _LinearScan(torch.autograd.Function):
        """Forward: the Blelloch scan. Backward: equations (3), the same scan run backwards."""

        @staticmethod
        def forward(ctx, a, b, h0):
            b0 = b if h0 is None else torch.cat([(b[0] + a[0] * h0)[None], b[1:]])
            h, work, depth = _scan_no_grad(a, b0)
            _record("blelloch", a.shape[0], work + 1, depth + 1)
            ctx.save_for_backward(a, h, h0)
            return h

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad_h):
            a, h, h0 = ctx.saved_tensors
            # a_next[t] = a_{t+1} (zero after the last step): g_t = grad_t + conj(a_next_t) g_{t+1}
            a_next = torch.cat([a[1:], torch.zeros_like(a[:1])]).conj()
            g, _, _ = _scan_no_grad(a_next.flip(0), grad_h.flip(0).to(h.dtype))
            g = g.flip(0)  # (T, ...)
            prev = torch.cat([(torch.zeros_like(h[:1]) if h0 is None else h0[None].to(h.dtype)),
                              h[:-1]])
            grad_a = g * prev.conj()
            grad_b = g
            grad_h0 = None if h0 is None else a[0].conj() * g[0]
            return grad_a, grad_b, grad_h0

    return _LinearScan


_FUNCTION = None


def blelloch_torch(a, b, h0=None):
    """:func:`blelloch` in torch: ``h`` ``(T, ...)``, differentiable by equations (3).

    Inputs are promoted to one dtype first (a real ``a`` with a complex ``b`` works).
    """
    global _FUNCTION
    dtype = _check_torch(a, b, h0)
    if _FUNCTION is None:
        _FUNCTION = _make_function()
    return _FUNCTION.apply(a.to(dtype), b.to(dtype), None if h0 is None else h0.to(dtype))


def log_space_torch(a, b, h0=None):
    """:func:`log_space` in torch (autograd through cumsum / logcumsumexp). Real ``a_t > 0``."""
    import torch

    dtype = _check_torch(a, b, h0)
    _check_log_domain(a, b, h0, torch.is_complex, lambda x: bool((x > 0).all()))
    a, b = a.to(dtype), b.to(dtype)
    if h0 is not None:
        b = torch.cat([(b[0] + a[0] * h0.to(dtype))[None], b[1:]])
    a_star = torch.cumsum(torch.log(a), dim=0)
    tiny = torch.finfo(dtype).tiny
    # log of the positive and the negative part; tiny instead of 0 keeps gradients finite and
    # adds at most exp(a*) * tiny (below 1e-300 in float64) to h.
    pos = torch.logcumsumexp(torch.log(torch.clamp(b, min=tiny)) - a_star, dim=0)
    neg = torch.logcumsumexp(torch.log(torch.clamp(-b, min=tiny)) - a_star, dim=0)
    c = scan_counts(a.shape[0], "log_space")
    _record("log_space", a.shape[0], c["work"], c["depth"])
    return torch.exp(a_star + pos) - torch.exp(a_star + neg)
