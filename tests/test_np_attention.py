"""``rnncourse.np_attention.additive_attention`` equals ``rnncourse.attention.Attention``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.attention import Attention
from rnncourse.np_attention import additive_attention


def _pair(S=6, B=3, Q=4, K=5, A=3, seed=0):
    torch.manual_seed(seed)
    att = Attention(Q, K, "additive", attention_size=A).double()
    rng = np.random.default_rng(seed)
    query, states = rng.normal(size=(B, Q)), rng.normal(size=(S, B, K))
    mask = np.arange(S)[:, None] < np.array([S, 2, 1][:B])[None, :]
    params = {k: getattr(att, k).detach().numpy().copy() for k in ("W", "U", "v")}
    return att, query, states, mask, params


def test_equals_torch_with_padding():
    att, query, states, mask, params = _pair()
    ctx, weights = additive_attention(query, states, mask, params)
    with torch.no_grad():
        t_ctx, t_weights = att(torch.tensor(query), torch.tensor(states), torch.tensor(mask))
    np.testing.assert_allclose(ctx, t_ctx.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, t_weights.numpy(), rtol=1e-12, atol=1e-12)
    assert (weights[~mask] == 0).all() and np.allclose(weights.sum(axis=0), 1.0)


def test_large_scores_stay_finite():
    att, query, states, mask, params = _pair(seed=1)
    params["v"] = params["v"] * 1e4  # scores in the thousands: a naive exp overflows
    ctx, weights = additive_attention(query, states, mask, params)
    assert np.all(np.isfinite(ctx)) and np.allclose(weights.sum(axis=0), 1.0)


def test_bad_inputs_name_the_argument():
    _, query, states, mask, params = _pair()
    with pytest.raises(TypeError, match="params: expected a dict with the keys W"):
        additive_attention(query, states, mask, {"W": params["W"]})
    with pytest.raises(TypeError, match="mask: expected a bool numpy array"):
        additive_attention(query, states, mask.astype(int), params)
    with pytest.raises(ValueError, match="mask: expected at least one real"):
        additive_attention(query, states, np.zeros_like(mask), params)
    with pytest.raises(ValueError, match="query"):
        additive_attention(query[:, :2], states, mask, params)
