"""Shared helpers of the numpy-reference tests (imported, not a conftest)."""

from __future__ import annotations

import numpy as np
import torch

torch.set_num_threads(1)

TORCH_CLASSES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def random_torch_module(cell, input_size, hidden_size, *, seed, num_layers=1,
                        bidirectional=False, bias=True, batch_first=False, activation="tanh"):
    """A float64 torch.nn module with random weights (biases too, so b_ih + b_hh matters)."""
    torch.manual_seed(seed)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias,
                  batch_first=batch_first, dtype=torch.float64)
    if cell == "rnn":
        kwargs["nonlinearity"] = activation
    module = TORCH_CLASSES[cell](input_size, hidden_size, **kwargs)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.8, 0.8)
    return module


def assert_grads_close(got, want, *, rtol, atol=1e-13, what=""):
    """got, want: (dx, dh0, dc0, grads_list) tuples as stacked_backward returns them."""
    names = ("dx", "dh0", "dc0")
    for name, a, b in zip(names, got[:3], want[:3]):
        if b is None:
            assert a is None, f"{what}{name}: expected None"
            continue
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{what}{name}")
    assert len(got[3]) == len(want[3])
    for j, (ga, gb) in enumerate(zip(got[3], want[3])):
        assert list(ga) == list(gb), f"{what}grads_list[{j}] keys {list(ga)} != {list(gb)}"
        for key in gb:
            np.testing.assert_allclose(ga[key], gb[key], rtol=rtol, atol=atol,
                                       err_msg=f"{what}grads_list[{j}][{key}]")


def random_problem(cell, *, I, H, T, B, L=1, D=1, seed=0, bias=True, form="torch"):
    """params_list, x, h0, c0, d_output, dh_n, dc_n drawn from seed (the gradient check's draw)."""
    from rnncourse.gradcheck import random_stacked_problem

    return random_stacked_problem(cell, I=I, H=H, T=T, B=B, num_layers=L, bidirectional=D == 2,
                                  seed=seed, bias=bias, form=form)
