"""Attention math: additive, dot and general scores, masking, the context, gradients, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncourse.attention import SCORES, Attention, context, masked_softmax

Q, K = 5, 6


def make(kind, seed=0, q=Q, k=K):
    torch.manual_seed(seed)
    return Attention(q, k if kind != "dot" else q, kind, attention_size=4)


def inputs(S=7, B=3, q=Q, k=K, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, q, generator=g), torch.randn(S, B, k, generator=g)


def lengths_mask(lengths, S):
    return torch.arange(S)[:, None] < torch.tensor(lengths)[None, :]


@pytest.mark.parametrize("kind", SCORES)
def test_shapes(kind):
    att = make(kind)
    k = K if kind != "dot" else Q
    query, states = inputs(k=k)
    c, alpha = att(query, states)
    assert c.shape == (3, k) and alpha.shape == (7, 3)
    assert att.scores(query, states).shape == (7, 3)


@settings(max_examples=25, deadline=None)
@given(S=st.integers(1, 9), B=st.integers(1, 4), kind=st.sampled_from(SCORES),
       seed=st.integers(0, 10_000))
def test_weights_are_a_distribution(S, B, kind, seed):
    att = make(kind, seed)
    query, states = inputs(S, B, k=K if kind != "dot" else Q, seed=seed)
    _, alpha = att(query, states)
    assert (alpha >= 0).all()
    assert torch.allclose(alpha.sum(dim=0), torch.ones(B), atol=1e-6)


@pytest.mark.parametrize("kind", SCORES)
def test_context_is_the_weighted_sum(kind):
    att = make(kind)
    query, states = inputs(k=K if kind != "dot" else Q)
    c, alpha = att(query, states)
    for b in range(3):
        explicit = sum(alpha[i, b] * states[i, b] for i in range(7))
        assert torch.allclose(c[b], explicit, atol=1e-6)
    assert torch.allclose(context(alpha, states), c, atol=1e-6)


def test_scores_follow_the_equations():
    query, states = inputs()
    add = make("additive")
    e = add.scores(query, states)
    for i in range(7):
        for b in range(3):
            by_hand = add.v @ torch.tanh(add.W @ query[b] + add.U @ states[i, b])
            assert torch.isclose(e[i, b], by_hand, atol=1e-6)
    gen = make("general")
    e = gen.scores(query, states)
    assert torch.allclose(e[2, 1], query[1] @ gen.W_a @ states[2, 1], atol=1e-6)
    dot = make("dot")
    query, states = inputs(k=Q)
    e = dot.scores(query, states)
    assert torch.allclose(e, torch.einsum("bq,sbq->sb", query, states), atol=1e-6)
    _, alpha = dot(query, states)
    assert torch.allclose(alpha, torch.softmax(e, dim=0), atol=1e-6)


@pytest.mark.parametrize("kind", SCORES)
def test_masking_gives_zero_weight_and_equals_cropping(kind):
    att = make(kind)
    k = K if kind != "dot" else Q
    query, states = inputs(S=7, B=3, k=k)
    lengths = [7, 4, 1]
    mask = lengths_mask(lengths, 7)
    states_padded = states.clone()
    states_padded[~mask] = 1e3  # garbage in the padding must not matter
    c, alpha = att(query, states_padded, mask)
    assert (alpha[~mask] == 0).all()
    for b, n in enumerate(lengths):
        c_crop, a_crop = att(query[b: b + 1], states[:n, b: b + 1])
        assert torch.allclose(alpha[:n, b], a_crop[:, 0], atol=1e-6)
        assert torch.allclose(c[b], c_crop[0], atol=1e-5)


def test_masked_softmax_alone():
    scores = torch.tensor([[1.0, 2.0], [3.0, 0.0], [0.5, 9.0]])
    mask = torch.tensor([[True, True], [True, True], [False, True]])
    w = masked_softmax(scores, mask)
    assert w[2, 0] == 0
    assert torch.allclose(w[:2, 0], torch.softmax(scores[:2, 0], 0))
    assert torch.allclose(w[:, 1], torch.softmax(scores[:, 1], 0))
    assert torch.allclose(masked_softmax(scores), torch.softmax(scores, 0))


@pytest.mark.parametrize("kind", SCORES)
def test_gradient_reaches_every_parameter_and_input(kind):
    att = make(kind)
    k = K if kind != "dot" else Q
    query, states = inputs(k=k)
    query.requires_grad_(True)
    states.requires_grad_(True)
    c, _ = att(query, states, lengths_mask([7, 5, 3], 7))
    (c * torch.arange(1.0, k + 1)).sum().backward()
    for name, p in att.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert query.grad.abs().sum() > 0 and states.grad.abs().sum() > 0
    expected = {"additive": {"W", "U", "v"}, "dot": set(), "general": {"W_a"}}[kind]
    assert {n for n, _ in att.named_parameters()} == expected


def test_gradcheck_additive_in_float64():
    att = make("additive").double()
    query, states = inputs()
    query, states = query.double().requires_grad_(True), states.double().requires_grad_(True)
    mask = lengths_mask([7, 3, 5], 7)
    assert torch.autograd.gradcheck(lambda q, h: att(q, h, mask)[0], (query, states))


def test_bad_input_names_expected_and_given():
    att = make("additive")
    query, states = inputs()
    with pytest.raises(TypeError, match="query: expected a torch.Tensor, got ndarray"):
        att(query.numpy(), states)
    with pytest.raises(TypeError, match="floating-point"):
        att(query, states.long())
    with pytest.raises(ValueError, match=r"states: expected 3 dimensions"):
        att(query, states[0])
    with pytest.raises(ValueError, match=r"states: expected shape .*K.*got \(7, 3, 5\)"):
        att(query, states[..., :5])
    with pytest.raises(ValueError, match=r"query: expected shape .*got \(2, 5\)"):
        att(query[:2], states)
    with pytest.raises(TypeError, match="query: expected the dtype of states"):
        att(query.double(), states)
    with pytest.raises(TypeError, match="mask: expected a bool tensor"):
        att(query, states, torch.ones(7, 3))
    with pytest.raises(ValueError, match=r"mask: expected shape"):
        att(query, states, torch.ones(7, 2, dtype=torch.bool))
    empty = lengths_mask([7, 0, 3], 7)
    with pytest.raises(ValueError, match=r"at least one real .* sequence\(s\) \[1\]"):
        att(query, states, empty)
    with pytest.raises(ValueError, match="kind: expected one of"):
        Attention(Q, K, "cosine")
    with pytest.raises(ValueError, match="dot attention needs query_size == key_size"):
        Attention(Q, K, "dot")
    with pytest.raises(TypeError, match="query_size: expected an int"):
        Attention(5.0, K)
    with pytest.raises(ValueError, match="weights: expected shape"):
        context(torch.ones(6, 3), states)


def test_prepared_fast_path_matches_forward():
    att = make("additive")
    query, states = inputs()
    mask = lengths_mask([7, 4, 2], 7)
    c, alpha = att(query, states, mask)
    c2, alpha2 = att.attend(query, att.prepare(states), states.transpose(0, 1), ~mask.T)
    assert torch.allclose(c, c2) and torch.allclose(alpha, alpha2.T)
    assert np.isclose(float(alpha2.detach().sum()), 3.0, atol=1e-5)
