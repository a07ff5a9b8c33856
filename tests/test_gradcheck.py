"""The gradient check: finite differences, the report, and localising a deliberate error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.gradcheck import (
    GATE_NAMES,
    GradCheckReport,
    gate_of,
    gradient_check,
    numerical_gradient,
    relative_error,
)
from rnncourse.np_layers import stacked_backward

torch.set_num_threads(1)


def test_numerical_gradient_of_a_known_function_and_restores_x():
    x = np.array([[0.5, -1.0, 2.0]])
    before = x.copy()
    g = numerical_gradient(lambda v: np.sum(v**3), x)
    np.testing.assert_allclose(g, 3 * before**2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)
    # with an upstream gradient on an array-valued f
    df = np.array([[1.0, 2.0, -1.0]])
    g = numerical_gradient(lambda v: np.sin(v), x, df=df)
    np.testing.assert_allclose(g, df * np.cos(before), rtol=1e-8)


def test_numerical_gradient_restores_x_even_when_f_raises():
    x = np.array([1.0, 2.0])

    def bad(v):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numerical_gradient(bad, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_relative_error_definition():
    np.testing.assert_allclose(relative_error([1.0, 0.0, 2.0], [1.1, 0.0, -2.0]),
                               [0.1 / 2.1, 0.0, 1.0])
    assert relative_error(1e-20, 0.0, tiny=1e-12) == pytest.approx(1e-8)


def test_gate_names_from_keys():
    assert gate_of("W_hf") == "forget gate" and gate_of("W_xi") == "input gate"
    assert gate_of("b_o") == "output gate" and gate_of("W_hg") == "candidate (g)"
    assert gate_of("W_hr") == "reset gate" and gate_of("b_z") == "update gate"
    assert gate_of("b_hn") == "candidate (n)" and gate_of("W_xn") == "candidate (n)"
    assert gate_of("W_hh") is None and gate_of("x") is None


@pytest.mark.parametrize("cell,kw", [
    ("rnn", {}), ("rnn", {"activation": "relu"}), ("rnn", {"activation": "sigmoid"}),
    ("lstm", {}), ("gru", {}), ("gru", {"form": "seed"}), ("lstm", {"bias": False}),
    ("rnn", {"num_layers": 3, "bidirectional": True}),
    ("lstm", {"num_layers": 2, "bidirectional": True, "input_size": 2, "hidden_size": 3,
              "seq_len": 3}),
    ("gru", {"num_layers": 2, "bidirectional": True, "form": "seed", "input_size": 2,
             "hidden_size": 3, "seq_len": 3}),
    ("rnn", {"truncate": 2}), ("lstm", {"truncate": 1}), ("gru", {"truncate": 3}),
    ("gru", {"truncate": 2, "bidirectional": True, "form": "seed"})])
@pytest.mark.parametrize("reference", ["finite differences", "autograd"])
def test_reference_backward_passes_the_gradient_check(cell, kw, reference):
    report = gradient_check(cell, seed=2, reference=reference, **kw)
    assert isinstance(report, GradCheckReport)
    assert report.passed, str(report)
    tol = 1e-6 if reference == "finite differences" else 1e-8
    assert report.max_relative_error <= tol
    # every parameter of every layer and direction, plus x and h0 (and c0) were compared
    L, D = kw.get("num_layers", 1), 2 if kw.get("bidirectional") else 1
    n_keys = {"rnn": 3, "lstm": 12, "gru": 10 if kw.get("form", "torch") == "torch" else 9}[cell]
    if kw.get("bias") is False:
        n_keys = 8 if cell == "lstm" else n_keys
    assert len(report.entries) == L * D * n_keys + 2 + (cell == "lstm")


def test_truncated_backward_fails_against_the_full_gradient():
    """The check must be able to fail: a truncated backward is not the full gradient."""

    def truncating(d_output, cache, dh_n=None, dc_n=None, truncate=None):
        return stacked_backward(d_output, cache, dh_n=dh_n, dc_n=dc_n, truncate=2)

    report = gradient_check("rnn", seed=0, seq_len=6, backward=truncating)
    assert not report.passed
    assert report.entry("h0").max_relative_error == pytest.approx(1.0)  # dh0 = 0 after a cut


def _corrupted(where):
    """stacked_backward with a deliberate error added at the given places."""

    def backward(d_output, cache, dh_n=None, dc_n=None, truncate=None):
        dx, dh0, dc0, grads = stacked_backward(d_output, cache, dh_n=dh_n, dc_n=dc_n,
                                               truncate=truncate)
        grads = [dict(g) for g in grads]
        for what, index, error in where:
            if what == "x":
                dx = dx.copy()
                dx[index] += error
            else:
                j, key = what
                grads[j][key] = grads[j][key].copy()
                grads[j][key][index] += error
        return dx, dh0, dc0, grads

    return backward


def test_report_localises_a_wrong_gradient_at_W_hf_and_at_x_t4():
    report = gradient_check("lstm", seq_len=6, hidden_size=5, seed=1,
                            backward=_corrupted([((0, "W_hf"), (2, 3), 1e-3),
                                                 ("x", (4, 1, 2), 1e-3)]))
    assert not report.passed
    failing = {e.name: e for e in report.failing()}
    assert set(failing) == {"W_hf", "x"}  # nothing else is blamed
    w = failing["W_hf"]
    assert (w.gate, w.index, w.layer, w.direction) == ("forget gate", (2, 3), 0, "forward")
    assert w.analytic - w.numeric == pytest.approx(1e-3, rel=1e-4)
    assert failing["x"].time_step == 4 and failing["x"].index == (4, 1, 2)
    text = str(report)
    assert "FAILED" in text and "W_hf" in text and "forget gate" in text and "t=4" in text
    html = report._repr_html_()
    assert "<table>" in html and "W_hf" in html and "forget gate" in html


def test_report_names_layer_and_direction_in_a_stack():
    report = gradient_check("gru", num_layers=2, bidirectional=True, input_size=2,
                            hidden_size=3, seq_len=3, seed=0,
                            backward=_corrupted([((3, "W_hz"), (1, 0), 1e-4)]))
    worst = report.worst
    assert (worst.array, worst.layer, worst.direction, worst.gate, worst.index) == (
        "W_hz", 1, "reverse", "update gate", (1, 0))
    assert worst.name == "W_hz [layer 1, reverse]"
    assert [e.name for e in report.failing()] == ["W_hz [layer 1, reverse]"]


def test_passing_report_displays():
    report = gradient_check("rnn", input_size=3, hidden_size=4, seq_len=5, batch=2, seed=0)
    assert report.passed and report.max_relative_error < 1e-6
    assert "PASSED" in str(report) and "W_hh" in str(report)
    assert "passed=True" in repr(report)
    assert report.worst in report.entries


# --- where a mid-sequence error enters (issue 16, edge 8) ---------------------------------------

def planted_lstm_backward(gate, t0, factor, carry_factor=1.0):
    """A by-hand LSTM BPTT over stacked_forward's cache (one layer), right except that gate
    ``gate``'s pre-activation gradient at time step ``t0`` is multiplied by ``factor``, and the
    cell-state gradient step t0 carries back by ``carry_factor``."""

    def backward(d_output, cache, dh_n=None, dc_n=None, truncate=None):
        run = cache["layers"][0]
        x, h0, c0, h, c, p = run["x"], run["h0"], run["c0"], run["h"], run["c"], run["params"]
        gates = run["gates"]
        T, B, H = h.shape
        dh = d_output.copy()
        if dh_n is not None:
            dh[-1] += dh_n[0]
        dh_next, dc_next = np.zeros((B, H)), (np.zeros((B, H)) if dc_n is None else dc_n[0])
        dx = np.zeros_like(x)
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        for t in reversed(range(T)):
            i, f, g, o = (gates[k][t] for k in "ifgo")
            c_prev, h_prev = (c[t - 1], h[t - 1]) if t else (c0, h0)
            dh_t = dh[t] + dh_next
            tanh_c = np.tanh(c[t])
            dc = dc_next + dh_t * o * (1 - tanh_c**2)
            da = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f),
                  "g": dc * i * (1 - g**2), "o": dh_t * tanh_c * o * (1 - o)}
            if t == t0:
                da[gate] = da[gate] * factor  # the planted slip
            dh_next = sum(da[k] @ p[f"W_h{k}"] for k in "ifgo")
            dc_next = dc * f * (carry_factor if t == t0 else 1.0)
            for k in "ifgo":
                dx[t] += da[k] @ p[f"W_x{k}"]
                grads[f"W_x{k}"] += da[k].T @ x[t]
                grads[f"W_h{k}"] += da[k].T @ h_prev
                grads[f"b_{k}"] += da[k].sum(axis=0)
            if truncate is not None and t % truncate == 0:
                dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
        return dx, dh_next[None], dc_next[None], [grads]

    return backward


def test_by_hand_lstm_backward_is_right_without_the_slip():
    assert gradient_check("lstm", seq_len=5, seed=0, reference="autograd",
                          backward=planted_lstm_backward("f", 2, 1.0)).passed


@pytest.mark.parametrize("seed", range(6))
def test_report_names_the_gate_and_step_where_a_planted_error_enters(seed):
    """Old: the worst line named another gate in half the cases, the wrong step in a third."""
    rng = np.random.default_rng([seed, 16])
    gate, T = "ifgo"[rng.integers(4)], int(rng.integers(4, 8))
    t0, factor = int(rng.integers(1, T)), float(rng.choice([-1.0, 0.5, 1.5]))
    reference = "finite differences" if seed == 0 else "autograd"
    report = gradient_check("lstm", seq_len=T, hidden_size=4, input_size=3, batch=2,
                            seed=seed, reference=reference,
                            backward=planted_lstm_backward(gate, t0, factor))
    assert not report.passed
    assert report.steps.enters == t0, (gate, t0, str(report))
    assert set(report.steps.arrays) == {f"W_x{gate}", f"W_h{gate}", f"b_{gate}", "x"}, (
        gate, t0, report.steps.arrays)
    text = str(report)
    assert f"error enters at time step t={t0}, in the {GATE_NAMES[gate]}" in text, text
    # a parameter's error per time step: only t0's own contribution is wrong
    w = report.entry(f"W_h{gate}")
    assert len(w.step_errors) == T
    assert [t for t, e in enumerate(w.step_errors) if e > report.tolerance] == [t0]
    assert "per time step" in text and f"t={t0} " in text
    assert "Error enters at time step" in report._repr_html_()


def test_report_points_at_a_wrong_carry_between_steps():
    report = gradient_check("lstm", seq_len=5, seed=3, reference="autograd",
                            backward=planted_lstm_backward("f", 2, 1.0, carry_factor=0.5))
    assert not report.passed and report.steps.enters is None, str(report)
    assert report.steps.carry == 2, str(report)
    assert "what step t=2 carries back to step t=1 (dh_prev, dc_prev)" in str(report)

    def dh0_doubled(d_output, cache, dh_n=None, dc_n=None, truncate=None):
        dx, dh0, dc0, grads = stacked_backward(d_output, cache, dh_n=dh_n, dc_n=dc_n,
                                               truncate=truncate)
        return dx, 2.0 * dh0, dc0, grads

    report = gradient_check("rnn", seq_len=4, seed=3, reference="autograd",
                            backward=dh0_doubled)
    assert "what step t=0 carries back to the initial state" in str(report), str(report)
