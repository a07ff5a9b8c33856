"""Recurrent cells in plain torch, one readable function per time step, trained by autograd.

This is the version a lesson shows. Two habits make it "the fast way a lesson can teach":

1. The input projection ``W_ih x_t + b_ih`` does not depend on the hidden state, so it is computed
   for *all* time steps at once, as one matrix product, before the time loop
   (:func:`project_inputs`). Only the recurrent product ``W_hh h_{t-1}`` stays inside the loop.
2. All gates of a step come out of one matrix product with the packed ``weight_hh`` (gates packed
   i, f, g, o for the LSTM and r, z, n for the GRU, like ``torch.nn``), then ``chunk`` splits them.

Shapes follow ``docs/conventions.md``: ``x_proj_t`` is ``(B, gates*H)``, ``h`` and ``c`` are
``(B, H)``, sequences are time-major ``(T, B, .)``. ``weight_hh`` is ``(gates*H, H)`` and acts on
column vectors, so a batch step computes ``h @ weight_hh.T``.

The hand-written backward pass of the same computation lives in :mod:`rnncourse.torch_bptt`.
"""

from __future__ import annotations

import torch

from rnncourse.np_lstm import cell_update

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def project_inputs(x: torch.Tensor, weight_ih: torch.Tensor, bias_ih=None) -> torch.Tensor:
    """``x @ weight_ih.T + bias_ih`` for every time step at once: ``(T, B, I) -> (T, B, G*H)``."""
    T, B, I = x.shape
    flat = x.reshape(T * B, I)
    if bias_ih is None:
        out = flat @ weight_ih.T
    else:
        out = torch.addmm(bias_ih, flat, weight_ih.T)
    return out.view(T, B, -1)


def rnn_cell(x_proj_t, h, weight_hh, bias_hh=None, nonlinearity="tanh"):
    """One step of the vanilla RNN: ``h_t = f(W_xh x_t + b_ih + W_hh h_{t-1} + b_hh)``."""
    pre = x_proj_t + h @ weight_hh.T
    if bias_hh is not None:
        pre = pre + bias_hh
    return ACTIVATIONS[nonlinearity](pre)


def lstm_cell(x_proj_t, h, c, weight_hh, bias_hh=None):
    """One LSTM step; returns ``(h_t, c_t)``.

    ``x_proj_t`` already holds ``W_ih x_t + b_ih`` for the four gates, packed i, f, g, o.
    """
    gates = x_proj_t + h @ weight_hh.T
    if bias_hh is not None:
        gates = gates + bias_hh
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = cell_update(f, c, i, g)  # f * c + i * g
    h = o * torch.tanh(c)
    return h, c


def gru_cell(x_proj_t, h, weight_hh, bias_hh=None, form="torch", h_gates=None):
    """One GRU step; returns ``h_t``. Gates packed r, z, n.

    ``h_gates`` (default ``h``) is the state the gates and the candidate read; the interpolation
    ``(1 - z) * n + z * h`` always keeps ``h`` itself (variational dropout masks only the former).

    ``form="torch"``: ``n = tanh(W_xn x + b_in + r * (W_hn h + b_hn))`` (what ``torch.nn.GRU``
    computes). ``form="seed"`` (Cho et al. 2014): ``n = tanh(W_xn x + b_in + W_hn (r * h))``;
    there is no ``b_hn``, so the n-chunk of ``bias_hh`` is not used at all.
    """
    H = h.shape[-1]
    h_prev, h = h, (h if h_gates is None else h_gates)
    xr, xz, xn = x_proj_t.chunk(3, dim=-1)
    if form == "torch":
        hh = h @ weight_hh.T
        if bias_hh is not None:
            hh = hh + bias_hh
        hr, hz, hn = hh.chunk(3, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
    else:  # seed form: the candidate sees the reset hidden state
        hrz = h @ weight_hh[: 2 * H].T
        if bias_hh is not None:
            hrz = hrz + bias_hh[: 2 * H]
        hr, hz = hrz.chunk(2, dim=-1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + (r * h) @ weight_hh[2 * H :].T)
    return (1 - z) * n + z * h_prev


# --- one layer, one direction: project all inputs at once, then the time loop -----------------
# ``h_mask`` ``(B, H)`` (variational dropout, Gal & Ghahramani 2016): the recurrent product reads
# ``h_mask * h_{t-1}``, the same mask at every step; the state itself is carried unmasked.


def _masked(h, h_mask):
    return h if h_mask is None else h * h_mask


def rnn_layer(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh",
              h_mask=None):
    """All hidden states ``(T, B, H)`` of one RNN layer over ``x`` ``(T, B, I)``."""
    h, hs = h0, []
    for x_t in project_inputs(x, weight_ih, bias_ih):
        h = rnn_cell(x_t, _masked(h, h_mask), weight_hh, bias_hh, nonlinearity)
        hs.append(h)
    return torch.stack(hs)


def lstm_layer(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, h_mask=None):
    """``(hs (T, B, H), c_T)`` of one LSTM layer over ``x`` ``(T, B, I)``."""
    h, c, hs = h0, c0, []
    for x_t in project_inputs(x, weight_ih, bias_ih):
        h, c = lstm_cell(x_t, _masked(h, h_mask), c, weight_hh, bias_hh)
        hs.append(h)
    return torch.stack(hs), c


def gru_layer(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, form="torch",
              h_mask=None):
    """All hidden states ``(T, B, H)`` of one GRU layer over ``x`` ``(T, B, I)``."""
    h, hs = h0, []
    for x_t in project_inputs(x, weight_ih, bias_ih):
        h = gru_cell(x_t, h, weight_hh, bias_hh, form, h_gates=_masked(h, h_mask))
        hs.append(h)
    return torch.stack(hs)
