"""The numpy references of lesson 6's exercises against torch (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.np_embedding import embedding_backward, embedding_forward
from rnncourse.np_softmax_loss import temporal_softmax_loss


@pytest.mark.parametrize("T,B,V,offset", [(4, 3, 5, 0.0), (1, 1, 2, 0.0), (6, 2, 9, 1000.0)])
def test_temporal_softmax_loss_matches_torch_cross_entropy(T, B, V, offset):
    rng = np.random.default_rng(T * B)
    z = offset + rng.normal(0.0, 2.0, (T, B, V))
    y = rng.integers(0, V, (T, B))
    mask = rng.random((T, B)) > 0.4
    mask.flat[0] = True
    loss, dz = temporal_softmax_loss(z, y, mask)
    tz = torch.tensor(z, requires_grad=True)
    target = torch.tensor(np.where(mask, y, -100)).reshape(-1)
    reference = torch.nn.functional.cross_entropy(tz.reshape(-1, V), target, ignore_index=-100)
    reference.backward()
    assert np.isfinite(loss) and loss == pytest.approx(reference.item(), rel=1e-12)
    np.testing.assert_allclose(dz, tz.grad.numpy(), atol=1e-15)


def test_temporal_softmax_loss_names_bad_arguments():
    z = np.zeros((2, 1, 3))
    with pytest.raises(ValueError, match="targets"):
        temporal_softmax_loss(z, np.zeros((2, 1)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="mask: expected at least one"):
        temporal_softmax_loss(z, np.zeros((2, 1), int), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="mask: expected shape"):
        temporal_softmax_loss(z, np.zeros((2, 1), int), np.ones(2))


def test_embedding_matches_torch_and_accumulates_repeats():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 3))
    idx = np.array([[1, 4, 1], [1, 0, 2]])  # token 1 three times
    out, cache = embedding_forward(idx, W)
    dout = rng.normal(size=out.shape)
    tW = torch.tensor(W, requires_grad=True)
    t_out = torch.nn.functional.embedding(torch.tensor(idx), tW)
    (t_out * torch.tensor(dout)).sum().backward()
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    dW = embedding_backward(dout, cache)
    np.testing.assert_allclose(dW, tW.grad.numpy(), atol=1e-15)
    np.testing.assert_allclose(dW[1], dout[0, 0] + dout[0, 2] + dout[1, 0])
    with pytest.raises(ValueError, match="idx: expected token ids in 0..4"):
        embedding_forward(np.array([5]), W)
    with pytest.raises(TypeError, match="idx: expected an integer array"):
        embedding_forward(np.array([1.0]), W)
