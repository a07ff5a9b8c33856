"""minGRU, LRU, the outer-product memory and recall against their sequential definitions."""

import numpy as np
import pytest
import torch

from rnncourse import linear_rnn, memory, recall, scan


@pytest.mark.parametrize("T", [1, 5, 33])
@pytest.mark.parametrize("layers", [1, 3])
def test_mingru_scan_equals_its_sequential_definition(T, layers):
    torch.manual_seed(T)
    model = linear_rnn.MinGRU(3, 6, layers).double()
    x = torch.randn(T, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(model(x), model.forward_sequential(x), rtol=1e-12, atol=1e-12)
    g1 = torch.autograd.grad(model(x).sum(), list(model.parameters()))
    g2 = torch.autograd.grad(model.forward_sequential(x).sum(), list(model.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_mingru_step_is_the_gru_with_input_only_gates():
    torch.manual_seed(0)
    model = linear_rnn.MinGRU(2, 3).double()
    x = torch.randn(2, 1, 2, dtype=torch.float64)
    z = torch.sigmoid(model.linear_z[0](x[0]))
    h1 = z * model.linear_h[0](x[0])
    z2 = torch.sigmoid(model.linear_z[0](x[1]))
    h2 = (1 - z2) * h1 + z2 * model.linear_h[0](x[1])
    torch.testing.assert_close(model(x)[1], h2)


@pytest.mark.parametrize("T", [1, 7, 64])
def test_lru_scan_equals_its_sequential_definition(T):
    layer = linear_rnn.LRU(4, 5, r_min=0.5, r_max=0.99, seed=T).double()
    u = torch.randn(T, 3, 4, dtype=torch.float64)
    torch.testing.assert_close(layer(u), layer.forward_sequential(u), rtol=1e-12, atol=1e-12)
    g1 = torch.autograd.grad(layer(u).square().sum(), list(layer.parameters()))
    g2 = torch.autograd.grad(layer.forward_sequential(u).square().sum(),
                             list(layer.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_ring_init_puts_eigenvalues_on_the_ring_with_the_phases_asked():
    nu_log, theta_log = linear_rnn.ring_init(2000, 0.4, 0.9, np.pi / 4, rng=0)
    lam = linear_rnn.lru_eigenvalues(nu_log, theta_log)
    assert 0.4 <= np.abs(lam).min() and np.abs(lam).max() <= 0.9
    assert 0 < np.angle(lam).min() and np.angle(lam).max() <= np.pi / 4 + 1e-12
    # uniform by area: |lambda|^2 uniform on [0.16, 0.81], its mean in the middle
    assert np.mean(np.abs(lam) ** 2) == pytest.approx((0.16 + 0.81) / 2, abs=0.02)


def test_lru_gradient_shrinks_by_exactly_lambda_per_step():
    layer = linear_rnn.LRU(2, 3, r_min=0.6, r_max=0.95, seed=1).double()
    lam = layer.eigenvalues().detach()
    b = torch.randn(50, 1, 3, dtype=torch.complex128, requires_grad=True)
    h = scan.blelloch_torch(lam.expand_as(b), b)
    h[-1].real.sum().backward()
    norms = b.grad.abs()[:, 0, :]  # dL/db_t = dL/dh_t, (T, N)
    ratios = norms[:-1] / norms[1:]
    torch.testing.assert_close(ratios, lam.abs().expand_as(ratios), rtol=1e-12, atol=0)


def test_regressors_run_both_ways():
    for kind in ("mingru", "lru"):
        model = linear_rnn.LinearRNNRegressor(kind, 2, 8, num_layers=2, seed=0).double()
        x = torch.randn(20, 3, 2, dtype=torch.float64)
        assert model(x).shape == (3, 1)
        torch.testing.assert_close(model(x), model.forward_sequential(x))


def test_bad_arguments():
    with pytest.raises(ValueError, match="r_min, r_max"):
        linear_rnn.ring_init(4, 0.9, 0.5)
    with pytest.raises(ValueError, match="r_min, r_max"):
        linear_rnn.ring_init(4, 0.5, 1.0)
    with pytest.raises(ValueError, match="max_phase"):
        linear_rnn.ring_init(4, 0.1, 0.5, 0.0)
    with pytest.raises(ValueError, match=r"x: expected shape \(T, B, I\) with I = 3"):
        linear_rnn.MinGRU(3, 4)(torch.randn(5, 2, 4))
    with pytest.raises(TypeError, match="x: expected a torch.Tensor"):
        linear_rnn.LRU(3, 4)(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match="kind"):
        linear_rnn.LinearRNNRegressor("gru", 2, 4)


@pytest.mark.parametrize("decay", [1.0, 0.8])
def test_memory_scan_equals_the_step_by_step_definition(decay):
    rng = np.random.default_rng(0)
    k, v, q = (rng.standard_normal((9, 2, d)) for d in (4, 3, 4))
    y, S = memory.memory_forward(k, v, q, decay)
    yt, St = memory.memory_torch(*(torch.from_numpy(a) for a in (k, v, q)), decay)
    np.testing.assert_allclose(yt.numpy(), y, atol=1e-12)
    np.testing.assert_allclose(St[-1].numpy(), S, atol=1e-12)
    # unrolled: y_t = sum_s decay^(t-s) (k_s . q_t) v_s
    t = 8
    manual = sum(decay ** (t - s) * (k[s] * q[t]).sum(-1, keepdims=True) * v[s]
                 for s in range(t + 1))
    np.testing.assert_allclose(y[t], manual, atol=1e-12)
    last = memory.memory_read_last(*(torch.from_numpy(a) for a in (k, v, q[-1])), decay)
    np.testing.assert_allclose(last.numpy(), y[-1], atol=1e-12)


def test_memory_gradients_match_the_sequential_scan():
    torch.manual_seed(0)
    k, v, q = (torch.randn(6, 2, d, dtype=torch.float64, requires_grad=True) for d in (3, 2, 3))
    grads = []
    for method in ("sequential", "blelloch"):
        y, _ = memory.memory_torch(k, v, q, 0.9, method=method)
        grads.append(torch.autograd.grad(y.square().sum(), (k, v, q)))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_orthonormal_keys_retrieve_exactly():
    keys = np.eye(4)[None].repeat(1, 0).transpose(1, 0, 2)  # (T=4, B=1, D=4), one-hot keys
    values = np.random.default_rng(1).standard_normal((4, 1, 3))
    y, S = memory.memory_forward(keys, values, keys)
    for s in range(4):
        np.testing.assert_allclose(S[0] @ keys[s, 0], values[s, 0], atol=1e-12)


def test_memory_errors():
    with pytest.raises(ValueError, match="decay"):
        memory.memory_forward(np.ones((2, 1, 3)), np.ones((2, 1, 2)), np.ones((2, 1, 3)), 0.0)
    with pytest.raises(ValueError, match="q: expected shape"):
        memory.memory_forward(np.ones((2, 1, 3)), np.ones((2, 1, 2)), np.ones((2, 1, 4)))
    with pytest.raises(ValueError, match="k, v, q"):
        memory.memory_torch(torch.ones(2, 1, 3), torch.ones(3, 1, 2), torch.ones(2, 1, 3))


def test_recall_batch_and_parameter_matching():
    x, y, keys, values, asked = recall.recall_batch(5, 4, 0, n_keys=8, n_values=6,
                                                    return_tokens=True)
    assert x.shape == (5, 5, 14) and y.shape == (5,)
    for i in range(5):
        assert len(set(keys[i])) == 4
        assert x[4, i, keys[i, asked[i]]] == 1 and x[4, i, 8:].sum() == 0
        assert y[i] == values[i, asked[i]]
    fw = memory.FastWeightRecall(14, 16, 6)
    n_fw = sum(p.numel() for p in fw.parameters())
    H = recall.lstm_size_for(n_fw, 14, 6)
    lstm = recall.LSTMRecall(14, H, 6)
    n_lstm = sum(p.numel() for p in lstm.parameters())
    assert n_lstm == recall.lstm_recall_params(14, H, 6)
    assert abs(n_lstm - n_fw) <= recall.lstm_recall_params(14, H + 1, 6) - n_lstm
    with pytest.raises(ValueError, match="n_pairs"):
        recall.recall_batch(2, 9, 0, n_keys=8)
