"""Numerics of lesson 4: gradient norms through time, rates, bounds, the cliff, clipping."""

import numpy as np
import pytest
import torch

from rnncourse import cliff, clipping, gradflow

torch.set_num_threads(1)


# --------------------------------------------------------------------------- rates and bounds


@pytest.mark.parametrize("sigma", [0.5, 0.9, 1.0, 1.1, 1.5])
@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_sigmoid"])
def test_orthogonal_no_input_rate_is_gamma_sigma(cell, sigma):
    r = gradflow.gradient_flow(cell, sigma=sigma, seq_len=100, hidden_size=64)
    assert r.theory_rate == pytest.approx(gradflow.GAMMA[cell[4:]] * sigma)
    assert r.rate == pytest.approx(r.theory_rate, rel=0.01)


def test_saturation_lowers_the_rate():
    free = gradflow.gradient_flow("rnn_tanh", sigma=1.5, seq_len=100, hidden_size=64)
    driven = gradflow.gradient_flow("rnn_tanh", sigma=1.5, seq_len=100, hidden_size=64,
                                    input_scale=1.0)
    assert driven.rate < 0.7 * free.rate
    assert driven.derivative_mean < 0.7


def test_gaussian_rate_follows_spectral_radius_not_sigma_max():
    r = gradflow.gradient_flow("rnn_tanh", sigma=1.0, kind="gaussian", seq_len=200,
                               hidden_size=128)
    assert r.spectral_radius < 0.7 * r.sigma_max
    assert r.rate < r.theory_rate
    assert r.rate == pytest.approx(r.spectral_radius, rel=0.1)


def test_lstm_with_forget_bias_keeps_more_than_tanh_rnn():
    kw = dict(sigma=1.0, seq_len=200, hidden_size=64, input_scale=1.0)
    rnn = gradflow.gradient_flow("rnn_tanh", **kw)
    lstm = gradflow.gradient_flow("lstm", forget_bias=5.0, **kw)
    assert lstm.norms[0] > 1e10 * rnn.norms[0]


@pytest.mark.parametrize("kind", ["orthogonal", "gaussian"])
@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "rnn_sigmoid"])
def test_bound_holds_for_every_t(cell, kind):
    for seed, sigma, inp in [(0, 0.7, 0.0), (1, 1.3, 0.5), (2, 2.0, 2.0), (3, 1.0, 1.0)]:
        r = gradflow.gradient_flow(cell, sigma=sigma, kind=kind, seq_len=60, hidden_size=24,
                                   input_scale=inp, seed=seed)
        finite = np.isfinite(r.norms)
        assert finite.all()
        assert np.all(np.log10(np.maximum(r.norms, 1e-300)) <= r.log10_bound + 1e-9)


def test_jacobian_product_matches_gradient_and_bound():
    params = gradflow.make_params("rnn_tanh", 8, sigma=1.2, kind="gaussian", input_size=3,
                                  seed=4)
    x = gradflow.make_inputs(25, 3, 0.8, seed=4)
    jac = gradflow.jacobian_norms(params, x, activation="tanh")
    grads = gradflow.state_gradients("rnn_tanh", params, x)
    sigma_max = np.linalg.norm(params["W_hh"], 2)
    bound = 10 ** gradflow.log10_bound(1.0, sigma_max, 25)
    assert np.all(grads.norms <= jac * (1 + 1e-12))
    assert np.all(jac <= bound * (1 + 1e-12))


def test_per_step_rate_ignores_zeros_and_infs():
    norms = 0.5 ** np.arange(10, -1, -1.0)
    assert gradflow.per_step_rate(norms) == pytest.approx(0.5)
    norms[:3] = 0.0
    norms[3] = np.inf
    assert gradflow.per_step_rate(norms) == pytest.approx(0.5)
    assert np.isnan(gradflow.per_step_rate(np.array([0.0, 0.0, 1.0])))


def test_recurrent_matrix_has_requested_spectrum():
    W = gradflow.recurrent_matrix(32, 1.3, seed=2)
    assert np.allclose(np.linalg.svd(W, compute_uv=False), 1.3)
    G = gradflow.recurrent_matrix(32, 1.3, kind="gaussian", seed=2)
    assert np.linalg.norm(G, 2) == pytest.approx(1.3)
    R = gradflow.recurrent_matrix(32, 0.9, kind="gaussian", scale="spectral_radius", seed=2)
    assert np.max(np.abs(np.linalg.eigvals(R))) == pytest.approx(0.9)


def test_float32_overflow_and_underflow_are_reported_not_raised():
    r = gradflow.gradient_flow("rnn_tanh", sigma=3.0, seq_len=400, dtype="float32")
    assert r.n_overflow > 0 and "Overflow" in " ".join(r.messages)
    r = gradflow.gradient_flow("rnn_tanh", sigma=0.3, seq_len=400, dtype="float32")
    assert r.n_underflow > 0 and "Underflow" in " ".join(r.messages)
    r = gradflow.gradient_flow("rnn_relu", sigma=3.0, seq_len=1000, input_scale=3.0)
    assert not r.forward_finite and r.messages


def test_relu_states_that_overflow_are_not_called_underflow_or_dead_units():
    # float32, largest input scale: the states overflow, and the zeros behind them in the
    # gradient are the overflow's doing, not relu units at a <= 0 (the old message said both)
    r = gradflow.gradient_flow("rnn_relu", sigma=3.0, seq_len=200, input_scale=3.0,
                               dtype="float32")
    text = " ".join(r.messages)
    assert not r.forward_finite and "overflowed" in text
    assert "Raise the input scale" not in text and "Underflow" not in text
    assert r.n_underflow == 0 and r.n_overflow == 200


# --------------------------------------------------------------------------- against autograd


def _torch_state_grad_norms(cell, params, x, h0, c0, v):
    """||dL/d state_t|| for t = 0..T from torch autograd (float64, torch's own cells)."""
    P = {k: torch.tensor(a) for k, a in params.items()}
    X = torch.tensor(x)
    H = h0.size
    h = torch.tensor(h0[None], requires_grad=True)
    c = torch.tensor(c0[None], requires_grad=True) if c0 is not None else None
    if cell == "lstm":
        mod = torch.nn.LSTMCell(x.shape[1], H).double()
        gates = "ifgo"
    elif cell == "gru":
        mod = torch.nn.GRUCell(x.shape[1], H).double()
        gates = "rzn"
    elif cell in ("rnn_tanh", "rnn_relu"):
        mod = torch.nn.RNNCell(x.shape[1], H, nonlinearity=cell[4:]).double()
        gates = "h"
    else:
        mod = None
    if mod is not None:
        with torch.no_grad():
            mod.weight_ih.copy_(torch.cat([P[f"W_x{g}"] for g in gates]))
            mod.weight_hh.copy_(torch.cat([P[f"W_h{g}"] for g in gates]))
            mod.bias_ih.copy_(torch.cat([P[f"b_{g}"] for g in gates]))
            bhh = torch.zeros(len(gates) * H, dtype=torch.float64)
            if cell == "gru":
                bhh[2 * H:] = P["b_hn"]
            mod.bias_hh.copy_(bhh)
    hs, cs = [h], [c]
    for t in range(X.shape[0]):
        if cell == "lstm":
            h, c = mod(X[t:t + 1], (h, c))
            # The state handed to the next step: a new node, so that its gradient is the one
            # coming back from step t+1 only (h_t was computed from the cell's own c_t).
            c = c.clone()
        elif mod is not None:
            h = mod(X[t:t + 1], h)
        else:
            h = torch.sigmoid(h @ P["W_hh"].T + X[t:t + 1] @ P["W_xh"].T + P["b_h"])
        h.retain_grad()
        if c is not None:
            c.retain_grad()
        hs.append(h)
        cs.append(c)
    (h[0] @ torch.tensor(v)).backward()
    out = []
    for hh, cc in zip(hs, cs):
        gh = hh.grad if hh.grad is not None else torch.zeros_like(hh)
        sq = (gh ** 2).sum()
        if cc is not None and cc.grad is not None:
            sq = sq + (cc.grad ** 2).sum()
        out.append(float(sq.sqrt()))
    return np.array(out)


@pytest.mark.parametrize("cell", gradflow.CELLS)
def test_gradient_norms_match_torch_autograd(cell):
    H, I, T = 12, 5, 30
    rng = np.random.default_rng(5)
    params = gradflow.make_params(cell, H, sigma=1.3, kind="gaussian", forget_bias=1.0,
                                  input_size=I, seed=5)
    for k in params:  # nonzero biases everywhere, so no term can hide behind a zero
        if k.startswith("b_") and not (cell == "rnn_sigmoid"):
            params[k] = params[k] + 0.3 * rng.standard_normal(H)
    x = gradflow.make_inputs(T, I, 1.0, seed=5)
    h0 = 0.5 * rng.standard_normal(H)
    c0 = 0.5 * rng.standard_normal(H) if cell == "lstm" else None
    v = rng.standard_normal(H)
    ours = gradflow.state_gradients(cell, params, x, h0=h0, c0=c0, v=v)
    theirs = _torch_state_grad_norms(cell, params, x, h0, c0, v)
    np.testing.assert_allclose(ours.norms, theirs, rtol=1e-10, atol=1e-300)


def test_float32_agrees_with_float64_where_both_are_finite():
    a = gradflow.gradient_flow("lstm", sigma=1.0, seq_len=100, hidden_size=32, input_scale=1.0,
                               forget_bias=2.0)
    b = gradflow.gradient_flow("lstm", sigma=1.0, seq_len=100, hidden_size=32, input_scale=1.0,
                               forget_bias=2.0, dtype="float32")
    np.testing.assert_allclose(a.norms, b.norms, rtol=1e-3)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(cell="lstm2"), ValueError, ["cell", "lstm2", "rnn_tanh"]),
    (dict(sigma=-1.0), ValueError, ["sigma", "-1.0"]),
    (dict(sigma="1"), TypeError, ["sigma", "str"]),
    (dict(seq_len=0), ValueError, ["seq_len", ">= 1", "0"]),
    (dict(seq_len=2.5), TypeError, ["seq_len", "float"]),
    (dict(kind="uniform"), ValueError, ["kind", "orthogonal", "uniform"]),
    (dict(dtype="float16"), ValueError, ["dtype", "float32", "float16"]),
    (dict(input_scale=-0.1), ValueError, ["input_scale", "-0.1"]),
    (dict(forget_bias="big"), TypeError, ["forget_bias", "str"]),
])
def test_gradient_flow_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        gradflow.gradient_flow(**{"seq_len": 10, "hidden_size": 4, **kwargs})
    for word in words:
        assert word in str(info.value)


def test_state_gradients_rejects_bad_shapes():
    params = gradflow.make_params("rnn_tanh", 4, input_size=3)
    with pytest.raises(ValueError, match=r"x: expected shape \(T, I\) = \(\?, 3\), got \(10, 2\)"):
        gradflow.state_gradients("rnn_tanh", params, np.zeros((10, 2)))
    with pytest.raises(TypeError, match="x: expected a floating-point array, got dtype int64"):
        gradflow.state_gradients("rnn_tanh", params, np.zeros((10, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="params: expected keys"):
        gradflow.state_gradients("lstm", params, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="c0: only the LSTM"):
        gradflow.state_gradients("rnn_tanh", params, np.zeros((10, 3)), c0=np.zeros(4))
    bad = dict(params, W_hh=params["W_hh"][:, :3])
    with pytest.raises(ValueError, match=r"W_hh'\]: expected shape"):
        gradflow.state_gradients("rnn_tanh", bad, np.zeros((10, 3)))


# --------------------------------------------------------------------------- the cliff


def test_cliff_gradient_matches_finite_differences():
    w, b = np.array([3.0, 6.0, -2.0]), np.array([-2.0, -3.5, 1.0])
    loss, gw, gb = cliff.loss_and_grad(w, b)
    eps = 1e-6
    fw = (cliff.loss_and_grad(w + eps, b)[0] - cliff.loss_and_grad(w - eps, b)[0]) / (2 * eps)
    fb = (cliff.loss_and_grad(w, b + eps)[0] - cliff.loss_and_grad(w, b - eps)[0]) / (2 * eps)
    np.testing.assert_allclose(gw, fw, rtol=1e-5)
    np.testing.assert_allclose(gb, fb, rtol=1e-5)


def test_clipping_keeps_the_path_near_the_cliff_when_plain_descent_jumps():
    plain = cliff.descent_path(lr=cliff.DEFAULT_LR, threshold=None)
    clipped = cliff.descent_path(lr=cliff.DEFAULT_LR, threshold=cliff.DEFAULT_THRESHOLD)
    assert plain.max_jump > 5 * clipped.max_jump
    assert clipped.max_jump <= cliff.DEFAULT_LR * cliff.DEFAULT_THRESHOLD * (1 + 1e-12)
    assert clipped.loss[-1] < plain.loss[-1]


# --------------------------------------------------------------------------- clipping


def test_reference_clip_grad_norm():
    g = [np.array([3.0, 0.0]), np.array([[4.0]])]
    out, norm = clipping.clip_grad_norm(g, 1.0)
    assert norm == pytest.approx(5.0)
    assert np.sqrt(sum((a ** 2).sum() for a in out)) == pytest.approx(1.0)
    assert np.allclose(out[0], [0.6, 0.0]) and g[0][0] == 3.0  # direction kept, input untouched
    same, _ = clipping.clip_grad_norm(g, 10.0)
    assert all(np.array_equal(a, b) for a, b in zip(same, g))
    bad, norm = clipping.clip_grad_norm([np.array([np.inf, 1.0])], 1.0)
    assert norm == np.inf and np.isnan(bad[0]).all()
    with pytest.raises(ValueError, match="max_norm: expected a finite number > 0, got 0.0"):
        clipping.clip_grad_norm(g, 0.0)
    with pytest.raises(TypeError, match="grads: expected a list of numpy arrays, got ndarray"):
        clipping.clip_grad_norm(np.ones(3), 1.0)


def test_unclipped_run_diverges_where_clipped_run_learns():
    plain = clipping.exploding_run(None, steps=150)
    clipped = clipping.exploding_run(1.0, steps=150)
    assert plain.diverged_at is not None and np.nanmax(plain.grad_norm) > 1e6
    assert clipped.diverged_at is None
    assert np.mean(clipped.loss[-30:]) < 0.8 * np.mean(clipped.loss[:30])
