"""Dropout in the from-scratch cells: torch.nn's between layers (the same masks, seeded), and
variational dropout (one mask for all time steps) against a loop written out by hand."""

import pytest
import torch
from torch import nn

from rnncourse.models import CharLM
from rnncourse.torch_cells import GRU, LSTM, RNN, dropout_mask, to_torch

torch.set_num_threads(1)
F64 = torch.float64
SIZES = [(6, 2, 3, 4, 2), (5, 3, 2, 5, 3), (4, 1, 4, 3, 1)]  # T, B, I, H, layers


def pair(kind, I, H, layers, dropout):
    tcls, ocls = {"lstm": (nn.LSTM, LSTM), "gru": (nn.GRU, GRU), "rnn": (nn.RNN, RNN)}[kind]
    torch.manual_seed(0)
    ref = tcls(I, H, num_layers=layers, dropout=dropout, dtype=F64)
    ours = ocls(I, H, num_layers=layers, dropout=dropout, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


@pytest.mark.filterwarnings("ignore:dropout")
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("size", SIZES)
def test_standard_dropout_is_torch_nns_with_the_same_seed(kind, size):
    T, B, I, H, L = size
    for p in (0.0, 0.5):  # dropout=0: the same in training mode; 0.5: the same masks
        ref, ours = pair(kind, I, H, L, p)
        x = torch.randn(T, B, I, dtype=F64)
        torch.manual_seed(7)
        expected = ref(x)[0]
        torch.manual_seed(7)
        got = ours(x)[0]
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    if L > 1:  # the masks do act: another seed, another output
        torch.manual_seed(8)
        assert not torch.allclose(ours(x)[0], got)


def _by_hand(kind, module, x, p, seed):
    """Variational dropout written out step by step: masks drawn in the documented order."""
    T, B, _ = x.shape
    H = module.hidden_size
    torch.manual_seed(seed)
    inp, outs, finals = x, None, []
    for layer in range(module.num_layers):
        w_ih, w_hh, b_ih, b_hh = module.layer_parameters(layer)
        m = torch.bernoulli(torch.full((B, H), 1 - p, dtype=F64)) / (1 - p)
        h = torch.zeros(B, H, dtype=F64)
        c = torch.zeros(B, H, dtype=F64)
        hs = []
        for t in range(T):
            a = inp[t] @ w_ih.T + b_ih
            r = (m * h) @ w_hh.T + b_hh  # the recurrent product reads the masked state
            if kind == "lstm":
                i, f, g, o = (a + r).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            elif kind == "gru":
                ar, az, an = a.chunk(3, dim=1)
                rr, rz, rn = r.chunk(3, dim=1)
                reset, update = torch.sigmoid(ar + rr), torch.sigmoid(az + rz)
                n = torch.tanh(an + reset * rn)
                h = (1 - update) * n + update * h  # the unmasked state is carried
            else:
                h = torch.tanh(a + r)
            hs.append(h)
        finals.append(h)
        outs = torch.stack(hs)
        if layer < module.num_layers - 1:  # one output mask for every time step
            outs = outs * (torch.bernoulli(torch.full((1, B, H), 1 - p, dtype=F64)) / (1 - p))
        inp = outs
    return outs, torch.stack(finals)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("size", SIZES)
def test_variational_dropout_matches_the_loop_by_hand(kind, size):
    T, B, I, H, L = size
    cls = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[kind]
    torch.manual_seed(1)
    ours = cls(I, H, num_layers=L, dropout=0.4, dropout_mode="variational", dtype=F64)
    x = torch.randn(T, B, I, dtype=F64, requires_grad=True)
    torch.manual_seed(5)
    out, h_n = ours(x)
    h_n = h_n[0] if kind == "lstm" else h_n
    ref_out, ref_h = _by_hand(kind, ours, x, 0.4, seed=5)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_n, ref_h, rtol=0, atol=1e-12)
    g = torch.autograd.grad(out.sum(), [x, *ours.parameters()])
    g_ref = torch.autograd.grad(ref_out.sum(), [x, *ours.parameters()])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)
    ours.eval()  # nothing dropped in eval mode: torch.nn's numbers
    ref = to_torch(cls(I, H, num_layers=L, dtype=F64))
    ref.load_state_dict(ours.state_dict())
    torch.testing.assert_close(ours(x)[0], ref(x)[0], rtol=0, atol=1e-12)


def test_a_variational_mask_is_the_same_at_every_time_step():
    torch.manual_seed(0)
    lm = CharLM(5, 8, "lstm", 2, embedding_dim=4, dropout=0.5, dropout_mode="variational",
                core="course", seed=0)
    ids = torch.zeros(6, 3, dtype=torch.int64)  # one character at every step
    seen = []
    lm.rnn.core.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    lm(ids)
    x = seen[0]  # (T, B, E): the dropped embedding of the same character
    dropped = x == 0
    assert dropped.any() and (~dropped).any()
    assert (dropped == dropped[0]).all()  # the same units dropped at every step
    standard = CharLM(5, 8, "lstm", 2, embedding_dim=4, dropout=0.5, seed=0)
    seen.clear()
    standard.rnn.core.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    torch.manual_seed(0)
    standard(ids)
    assert not ((seen[0] == 0) == (seen[0] == 0)[0]).all()  # a fresh mask at every step


def test_dropout_mask_keeps_the_expected_share_and_rescales():
    torch.manual_seed(0)
    m = dropout_mask((200, 100), 0.25, dtype=F64)
    assert set(m.unique().tolist()) == {0.0, 1 / 0.75}
    assert abs(float((m > 0).double().mean()) - 0.75) < 0.01


def test_variational_dropout_is_refused_where_torch_nn_has_none():
    with pytest.raises(ValueError, match="torch.nn has no variational dropout"):
        to_torch(LSTM(2, 3, num_layers=2, dropout=0.3, dropout_mode="variational"))
    with pytest.raises(ValueError, match="dropout_mode: expected one of"):
        LSTM(2, 3, dropout_mode="locked")
    with pytest.raises(ValueError, match="core='course'"):
        CharLM(5, 8, dropout=0.2, dropout_mode="variational")
