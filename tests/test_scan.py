"""rnncourse.scan: every scan equals the sequential loop (values and gradients), counts, errors."""

import numpy as np
import pytest
import torch

from rnncourse import scan

SHAPES = [(1,), (1, 3), (2, 4), (3, 2, 5), (7, 3), (16, 2, 3), (33, 4), (100, 2, 2), (257, 3)]


def _inputs(shape, rng, *, positive=False, complex_=False):
    if complex_:
        radius = rng.uniform(0.3, 1.1, shape)
        a = radius * np.exp(1j * rng.uniform(-np.pi, np.pi, shape))
        b = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return a, b
    a = rng.uniform(0.2, 1.1, shape) if positive else rng.uniform(-1.1, 1.1, shape)
    return a, rng.standard_normal(shape)


def _reference(a, b, h0=None):
    h = np.zeros(a.shape[1:], dtype=np.result_type(a, b)) if h0 is None else h0
    out = []
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]
        out.append(h)
    return np.stack(out)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("with_h0", [False, True])
def test_numpy_scans_equal_the_loop(shape, with_h0):
    rng = np.random.default_rng(len(shape) * 100 + shape[0])
    a, b = _inputs(shape, rng)
    h0 = rng.standard_normal(shape[1:]) if with_h0 else None
    ref = _reference(a, b, h0)
    np.testing.assert_allclose(scan.sequential(a, b, h0), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scan.blelloch(a, b, h0), ref, rtol=0, atol=1e-12)
    ap, bp = _inputs(shape, rng, positive=True)
    np.testing.assert_allclose(scan.log_space(ap, bp, h0), _reference(ap, bp, h0),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_complex_coefficients(shape):
    rng = np.random.default_rng(shape[0])
    a, b = _inputs(shape, rng, complex_=True)
    h0 = rng.standard_normal(shape[1:]) + 0j
    np.testing.assert_allclose(scan.blelloch(a, b, h0), _reference(a, b, h0), rtol=0,
                               atol=1e-12 * max(1.0, np.abs(_reference(a, b, h0)).max()))


def test_inputs_are_not_modified():
    rng = np.random.default_rng(0)
    a, b = _inputs((9, 3), rng)
    a0, b0 = a.copy(), b.copy()
    scan.blelloch(a, b)
    at, bt = torch.from_numpy(a), torch.from_numpy(b)
    scan.blelloch_torch(at, bt)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(at.numpy(), a0)


def test_log_space_keeps_long_products_in_range():
    # prod a over 5000 steps of 0.5 is 2^-5000 (underflows float64): the log form must not care.
    T = 5000
    a = np.full((T, 2), 0.5)
    b = np.ones((T, 2))
    h = scan.log_space(a, b)
    np.testing.assert_allclose(h[-1], 2.0 - 2.0 ** (1 - T), rtol=1e-12)
    np.testing.assert_allclose(h, _reference(a, b), rtol=1e-11)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("method", ["blelloch", "log_space"])
def test_torch_values_and_gradients_equal_the_sequential_autograd(shape, method):
    gen = torch.Generator().manual_seed(shape[0] + len(shape))
    lo = 0.2 if method == "log_space" else -1.1
    a = (lo + (1.1 - lo) * torch.rand(shape, generator=gen, dtype=torch.float64))
    b = torch.randn(shape, generator=gen, dtype=torch.float64)
    h0 = torch.randn(shape[1:], generator=gen, dtype=torch.float64)
    weight = torch.randn(shape, generator=gen, dtype=torch.float64)
    fn = {"blelloch": scan.blelloch_torch, "log_space": scan.log_space_torch}[method]
    grads = []
    for f in (scan.sequential_torch, fn):
        leaves = [x.clone().requires_grad_() for x in (a, b, h0)]
        h = f(*leaves)
        (h * weight).sum().backward()
        grads.append((h.detach(), [x.grad for x in leaves]))
    (h_ref, g_ref), (h_got, g_got) = grads
    torch.testing.assert_close(h_got, h_ref, rtol=1e-12, atol=1e-12)
    for name, got, ref in zip("a b h0".split(), g_got, g_ref):
        torch.testing.assert_close(got, ref, rtol=1e-11, atol=1e-11, msg=name)


@pytest.mark.parametrize("T", [1, 2, 5, 8])
def test_blelloch_torch_passes_gradcheck_real_and_complex(T):
    gen = torch.Generator().manual_seed(T)
    a = torch.rand(T, 3, generator=gen, dtype=torch.float64).requires_grad_()
    b = torch.randn(T, 3, generator=gen, dtype=torch.float64).requires_grad_()
    h0 = torch.randn(3, generator=gen, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(scan.blelloch_torch, (a, b, h0))
    assert torch.autograd.gradcheck(scan.blelloch_torch, (a, b))
    ac = (0.9 * torch.exp(1j * torch.randn(T, 2, generator=gen, dtype=torch.float64)))
    bc = torch.randn(T, 2, generator=gen, dtype=torch.complex128)
    h0c = torch.randn(2, generator=gen, dtype=torch.complex128)
    leaves = [x.clone().requires_grad_() for x in (ac, bc, h0c)]
    assert torch.autograd.gradcheck(scan.blelloch_torch, tuple(leaves))


def test_complex_torch_matches_sequential_autograd():
    gen = torch.Generator().manual_seed(3)
    T = 37
    a = 0.95 * torch.exp(1j * torch.randn(T, 4, generator=gen, dtype=torch.float64))
    b = torch.randn(T, 4, generator=gen, dtype=torch.complex128)
    out = []
    for f in (scan.sequential_torch, scan.blelloch_torch):
        la, lb = a.clone().requires_grad_(), b.clone().requires_grad_()
        h = f(la, lb)
        h.real.sum().backward()
        out.append((h.detach(), la.grad, lb.grad))
    for ref, got in zip(*out):
        torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)


def test_real_a_with_complex_b_is_promoted():
    a = torch.full((4, 2), 0.5, dtype=torch.float64)
    b = torch.ones(4, 2, dtype=torch.complex128)
    h = scan.blelloch_torch(a, b)
    assert h.dtype == torch.complex128
    torch.testing.assert_close(h, scan.sequential_torch(a, b))


def test_float32_dtype_is_kept():
    a = torch.rand(10, 3)
    b = torch.randn(10, 3)
    assert scan.blelloch_torch(a, b).dtype == torch.float32
    assert scan.blelloch(a.numpy(), b.numpy()).dtype == np.float32


@pytest.mark.parametrize("T", list(range(1, 70)) + [255, 256, 257, 1000, 4096])
def test_counts_match_what_the_scan_did(T):
    a, b = np.ones((T, 1)), np.ones((T, 1))
    scan.blelloch(a, b)
    counted = scan.scan_counts(T, "blelloch")
    assert scan.last_counts["work"] == counted["work"]
    assert scan.last_counts["depth"] == counted["depth"]
    assert counted["work"] <= 2 * T
    assert counted["depth"] <= 2 * int(np.ceil(np.log2(T))) + 1
    scan.sequential(a, b)
    assert scan.last_counts == {"method": "sequential", "T": T, "work": T, "depth": T}


def test_depth_grows_like_log_t():
    depths = [scan.scan_counts(2**k)["depth"] for k in range(1, 15)]
    assert depths == [2 * k for k in range(1, 15)]  # 2 log2 T for powers of two


def test_linear_recurrence_dispatches():
    rng = np.random.default_rng(1)
    a, b = _inputs((6, 2), rng, positive=True)
    for method in scan.METHODS:
        np.testing.assert_allclose(scan.linear_recurrence(a, b, method=method),
                                   _reference(a, b), atol=1e-12)
        got = scan.linear_recurrence(torch.from_numpy(a), torch.from_numpy(b), method=method)
        np.testing.assert_allclose(got.numpy(), _reference(a, b), atol=1e-12)


def test_bad_inputs_are_refused_with_clear_errors():
    a, b = np.ones((4, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match=r"a_t > 0"):
        scan.log_space(-a, b)
    with pytest.raises(ValueError, match=r"a_t > 0"):
        scan.log_space(np.zeros((4, 3)), b)
    with pytest.raises(ValueError, match=r"a_t > 0"):
        scan.log_space_torch(torch.zeros(4, 3), torch.ones(4, 3))
    with pytest.raises(TypeError, match=r"complex"):
        scan.log_space(a + 0j, b)
    with pytest.raises(TypeError, match=r"complex"):
        scan.log_space_torch(torch.ones(4, 3, dtype=torch.complex64), torch.ones(4, 3))
    with pytest.raises(ValueError, match=r"same shape"):
        scan.blelloch(a, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"same shape"):
        scan.blelloch_torch(torch.ones(4, 3), torch.ones(5, 3))
    with pytest.raises(ValueError, match=r"h0: expected shape \(3,\)"):
        scan.blelloch(a, b, np.ones(2))
    with pytest.raises(ValueError, match=r"h0: expected shape"):
        scan.blelloch_torch(torch.ones(4, 3), torch.ones(4, 3), torch.ones(4))
    with pytest.raises(ValueError, match=r"T >= 1"):
        scan.sequential(np.ones((0, 3)), np.ones((0, 3)))
    with pytest.raises(ValueError, match=r"T >= 1"):
        scan.blelloch(np.ones(()), np.ones(()))
    with pytest.raises(TypeError, match=r"a: expected a floating-point"):
        scan.blelloch(np.ones((4, 3), dtype=int), b)
    with pytest.raises(TypeError, match=r"b: expected a numpy array"):
        scan.blelloch(a, [[1.0]])
    with pytest.raises(TypeError, match=r"b: expected a torch.Tensor"):
        scan.blelloch_torch(torch.ones(4, 3), b)
    with pytest.raises(TypeError, match=r"a: expected a floating-point or complex tensor"):
        scan.blelloch_torch(torch.ones(4, 3, dtype=torch.int64), torch.ones(4, 3))
    with pytest.raises(ValueError, match=r"finite"):
        scan.blelloch(a, b * np.nan)
    with pytest.raises(ValueError, match=r"method: expected one of"):
        scan.linear_recurrence(a, b, method="fast")
    with pytest.raises(ValueError, match=r"T: expected an int >= 1"):
        scan.scan_counts(0)
    with pytest.raises(TypeError, match=r"T: expected an int"):
        scan.scan_counts(2.0)
