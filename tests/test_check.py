"""Tests of ``rnncourse.check``: the references pass, every catalogued mistake is named.

Each wrong implementation below is written the way a learner would write it (by hand, with one
deliberate slip), independently of the check's own mistake catalogue.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnncourse import check
from rnncourse.clipping import clip_grad_norm as ref_clip
from rnncourse.gradcheck import numerical_gradient as ref_numerical_gradient
from rnncourse.memory import memory_forward as ref_memory_forward
from rnncourse.np_attention import additive_attention as ref_attention
from rnncourse.np_embedding import embedding_backward as ref_embedding_backward
from rnncourse.np_embedding import embedding_forward as ref_embedding_forward
from rnncourse.np_gru import gru_step_backward as ref_gru_backward
from rnncourse.np_gru import gru_step_forward as ref_gru
from rnncourse.np_lstm import lstm_backward as ref_lstm_seq_backward
from rnncourse.np_lstm import lstm_step_backward as ref_lstm_backward
from rnncourse.np_lstm import lstm_step_forward as ref_lstm
from rnncourse.np_rnn import rnn_backward as ref_rnn_backward
from rnncourse.np_rnn import rnn_forward as ref_rnn_forward
from rnncourse.np_rnn import rnn_step_backward as ref_rnn_step_backward
from rnncourse.np_rnn import rnn_step_forward as ref_rnn_step_forward
from rnncourse.np_softmax_loss import temporal_softmax_loss as ref_softmax_loss
from rnncourse.scan import sequential as ref_linear_recurrence

REFERENCES = {
    "rnn_step_forward": ref_rnn_step_forward,
    "rnn_step_backward": ref_rnn_step_backward,
    "rnn_forward": ref_rnn_forward,
    "rnn_backward": ref_rnn_backward,
    "rnn_backward_truncated": lambda dh, cache, k: ref_rnn_backward(dh, cache, truncate=k),
    "numerical_gradient": ref_numerical_gradient,
    "lstm_step_forward": ref_lstm,
    "lstm_step_backward": ref_lstm_backward,
    "gru_step_forward": ref_gru,
    "gru_step_backward": ref_gru_backward,
    "clip_grad_norm": ref_clip,
    "embedding_forward": ref_embedding_forward,
    "embedding_backward": ref_embedding_backward,
    "temporal_softmax_loss": ref_softmax_loss,
    "lstm_backward": ref_lstm_seq_backward,
    "additive_attention": ref_attention,
    "memory_forward": ref_memory_forward,
    "linear_recurrence": ref_linear_recurrence,
}



@pytest.fixture(autouse=True)
def own_results_folder(tmp_path, monkeypatch):
    """Passing checks record the learner's progress: keep it out of the repository's folder."""
    monkeypatch.setenv("RNNCOURSE_RESULTS", str(tmp_path))


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def failing(verdict, *texts):
    """Assert a red verdict whose message contains every one of ``texts`` (case-insensitive)."""
    assert not verdict.passed, verdict
    for text in texts:
        assert text.lower() in verdict.message.lower(), (text, verdict.message)
    return verdict


# --- the references pass; stubs, errors and non-functions never raise --------------------------

@pytest.mark.parametrize("name", check.EXERCISES)
def test_reference_passes(name):
    verdict = getattr(check, name)(REFERENCES[name])
    assert verdict.passed, verdict
    assert verdict.status == "passed" and bool(verdict)


@pytest.mark.parametrize("name", check.EXERCISES)
def test_checks_have_one_spelling(name):
    """``check.<exercise>`` only; the old ``check.check_<exercise>`` says what to call."""
    with pytest.raises(AttributeError, match=f"call check.{name}"):
        getattr(check, "check_" + name)
    with pytest.raises(AttributeError, match="no attribute 'transformer'"):
        check.transformer  # noqa: B018


def test_rnn_step_forward_all_activations():
    verdict = check.rnn_step_forward(ref_rnn_step_forward, activations=("tanh", "relu", "sigmoid"))
    assert verdict.passed, verdict


@pytest.mark.parametrize("name", check.EXERCISES)
def test_stubs_are_not_implemented_yet(name):
    def raises(*args):
        raise NotImplementedError

    def returns_none(*args):
        pass

    for stub in (raises, returns_none):
        verdict = getattr(check, name)(stub)
        failing(verdict, "not implemented yet")
        assert verdict.status == "not implemented"


@pytest.mark.parametrize("name", check.EXERCISES)
def test_template_stub_is_not_implemented_yet(name):
    namespace = {}
    exec(check.template(name), namespace)
    function = namespace[f"my_{name}"]
    with pytest.raises(NotImplementedError):
        function(*[None] * (function.__code__.co_argcount - len(function.__defaults__ or ())))
    failing(getattr(check, name)(function), "not implemented yet")


@pytest.mark.parametrize("name", check.EXERCISES)
def test_non_callable_is_explained(name):
    for value in (3, None, (np.zeros(3), None), "rnn"):
        verdict = getattr(check, name)(value)
        failing(verdict, "expects your function itself", type(value).__name__)
        assert verdict.status == "invalid"


@pytest.mark.parametrize("name", check.EXERCISES)
def test_zero_division_does_not_propagate(name):
    def broken(*args):
        return 1 / 0

    verdict = getattr(check, name)(broken)
    failing(verdict, "ZeroDivisionError", "division by zero", "return 1 / 0")
    assert verdict.status == "error" and verdict.details["error"] == "ZeroDivisionError"


def test_shape_error_gets_a_shape_hint():
    def mismatched(x, h_prev, params, activation="tanh"):
        return np.tanh(x @ params["W_xh"] @ np.ones((7, 2))), None

    failing(check.rnn_step_forward(mismatched), "ValueError", "did not fit together", "x @ W.T")


def test_wrong_signature_gets_a_signature_hint():
    def no_activation_argument(x, h_prev, params):
        return ref_rnn_step_forward(x, h_prev, params)

    failing(check.rnn_step_forward(no_activation_argument), "TypeError", "signature",
            "f(x, h_prev, params, activation)")


def test_key_error_lists_the_keys():
    def wrong_key(dh_next, cache):
        return cache["da"], None, None

    failing(check.rnn_step_backward(wrong_key), "KeyError", "'da' does not exist",
            "`cache` has keys", "h_next")


def test_wrong_output_shape_says_expected_and_got():
    def transposed_output(x, h_prev, params, activation="tanh"):
        h, cache = ref_rnn_step_forward(x, h_prev, params, activation)
        return h.T, cache

    def squeezed(x, h_prev, params, activation="tanh"):
        h, cache = ref_rnn_step_forward(x, h_prev, params, activation)
        return h.squeeze(), cache

    failing(check.rnn_step_forward(transposed_output),
            "expected shape (B, H) = (3, 4), got (4, 3)")
    failing(check.rnn_step_forward(squeezed), "expected shape (B, H) = (1, 5), got (5,)",
            "first 1 case passed")


def test_missing_tuple_and_missing_grad_key():
    def only_h(x, h_prev, params, activation="tanh"):
        return ref_rnn_step_forward(x, h_prev, params, activation)[0]

    def no_bias_grad(dh_next, cache):
        dx, dh_prev, grads = ref_rnn_step_backward(dh_next, cache)
        del grads["b_h"]
        return dx, dh_prev, grads

    failing(check.rnn_step_forward(only_h), "tuple (h_next, cache)", "single numpy array")
    failing(check.rnn_step_backward(no_bias_grad), "grads is missing the key 'b_h'")


def test_nan_output_is_named():
    def nan(x, h_prev, params, activation="tanh"):
        return np.full((x.shape[0], h_prev.shape[1]), np.nan), None

    failing(check.rnn_step_forward(nan), "h_next", "NaN")


def test_changing_inputs_in_place_is_reported():
    def in_place(grads, max_norm):
        total = np.sqrt(sum(np.sum(g**2) for g in grads))
        if total > max_norm:
            for g in grads:
                g *= max_norm / total
        return grads, total

    failing(check.clip_grad_norm(in_place), "changed its input grads in place")


# --- verdict display ---------------------------------------------------------------------------

def test_verdict_displays_and_check_prints_nothing(capsys):
    def chatty(x, h_prev, params, activation="tanh"):
        print("debugging", x.shape)
        return ref_rnn_step_forward(x, h_prev, params, activation)

    good = check.rnn_step_forward(chatty)
    bad = check.rnn_step_forward(lambda *args: (np.zeros((3, 4)), None))
    assert capsys.readouterr().out == ""
    assert good.passed and "debugging (3, 4)" in good.details["printed"]
    assert "#1e7e34" in good._repr_html_() and "debugging" in good._repr_html_()
    assert "#b02a37" in bad._repr_html_() and "not yet right" in bad._repr_html_()
    assert str(good).startswith("[PASSED] rnn_step_forward") and repr(bad).startswith("[FAILED]")
    assert "all zeros" in bad.message
    html = check.rnn_step_forward(lambda *a: 1 / 0)._repr_html_()
    assert "<code>x</code> (B, I) = (3, 4)" in html
    assert "<script" not in check.Verdict(False, "<script>x</script>")._repr_html_()


def test_show_solution_and_template():
    code = check.show_solution("rnn_step_forward")
    assert "def rnn_step_forward" in code.data and "W_xh" in code.data
    assert "_repr_html_" in dir(code) or hasattr(code, "_repr_markdown_")
    assert "def lstm_step_forward" in check.show_solution(check.lstm_step_forward).data
    assert "def clip_grad_norm" in check.show_solution("check_clip_grad_norm").data
    unknown = check.show_solution("transformer")
    assert not unknown.passed and "rnn_backward" in unknown.message
    assert "raise NotImplementedError" in check.template("gru_step_forward")


# --- rnn_step_forward mistakes -------------------------------------------------------------------

def test_transposed_input_weight():  # lesson 1's example
    def transposed(x, h_prev, params, activation="tanh"):
        return np.tanh(x @ params["W_xh"] + h_prev @ params["W_hh"].T + params["b_h"]), None

    verdict = failing(check.rnn_step_forward(transposed), "transpose", "x @ W_xh.T")
    assert verdict.details["mistake"] == "transposed_W_xh"


def test_transposed_recurrent_weight():
    def transposed(x, h_prev, params, activation="tanh"):
        return np.tanh(x @ params["W_xh"].T + h_prev @ params["W_hh"] + params["b_h"]), None

    failing(check.rnn_step_forward(transposed), "transpose", "h_prev @ W_hh.T")


def test_missing_bias():
    def no_bias(x, h_prev, params, activation="tanh"):
        return np.tanh(x @ params["W_xh"].T + h_prev @ params["W_hh"].T), None

    failing(check.rnn_step_forward(no_bias), "forgot the bias")


def test_sigmoid_instead_of_tanh():
    def wrong_nonlinearity(x, h_prev, params, activation="tanh"):
        return sigmoid(x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]), None

    failing(check.rnn_step_forward(wrong_nonlinearity), "wrong nonlinearity", "sigmoid")


def test_forgotten_nonlinearity():
    def linear(x, h_prev, params, activation="tanh"):
        return x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"], None

    failing(check.rnn_step_forward(linear), "forgot the nonlinearity")


def test_ignored_activation_argument():
    def always_tanh(x, h_prev, params, activation="tanh"):
        return np.tanh(x @ params["W_xh"].T + h_prev @ params["W_hh"].T + params["b_h"]), None

    assert check.rnn_step_forward(always_tanh).passed
    failing(check.rnn_step_forward(always_tanh, activations=("tanh", "relu")),
            "ignored the `activation` argument", "activation=relu")


# --- rnn_step_backward mistakes ------------------------------------------------------------------

def scaled_step_backward(factor):
    def backward(dh_next, cache):
        dx, dh_prev, grads = ref_rnn_step_backward(dh_next, cache)
        return factor * dx, factor * dh_prev, {k: factor * v for k, v in grads.items()}
    return backward


@pytest.mark.parametrize("factor, text", [(2.0, "is 2 times"), (0.5, "is 1/2 times"),
                                          (-1.0, "sign is flipped")])
def test_gradient_off_by_a_constant_factor(factor, text):
    verdict = failing(check.rnn_step_backward(scaled_step_backward(factor)),
                      "constant factor", text, "dx", "dW_hh")
    assert verdict.details["mistake"] is None


def by_hand_step_backward(dh_next, cache, *, derivative=True, dx_transposed=False,
                          tanh_only=False):
    x, h_prev, h, p = cache["x"], cache["h_prev"], cache["h_next"], cache["params"]
    activation = "tanh" if tanh_only else cache.get("activation", "tanh")
    f_prime = {"tanh": 1 - h**2, "relu": (h > 0).astype(float), "sigmoid": h * (1 - h)}
    da = dh_next * f_prime[activation] if derivative else dh_next
    dx = da @ (p["W_xh"].T if dx_transposed else p["W_xh"])
    grads = {"W_xh": da.T @ x, "W_hh": da.T @ h_prev, "b_h": da.sum(axis=0)}
    return dx, da @ p["W_hh"], grads


def test_by_hand_step_backward_passes_and_so_does_own_forward():
    assert check.rnn_step_backward(by_hand_step_backward).passed

    def own_forward(x, h_prev, params, activation="tanh"):
        h = ref_rnn_step_forward(x, h_prev, params, activation)[0]
        return h, (x, h_prev, h, params, activation)

    def own_backward(dh_next, cache):
        x, h_prev, h, p, activation = cache
        return by_hand_step_backward(dh_next, {"x": x, "h_prev": h_prev, "h_next": h,
                                               "params": p, "activation": activation})

    assert check.rnn_step_backward(own_backward, forward=own_forward).passed
    failing(check.rnn_step_backward(own_backward, forward=lambda *a: 1 / 0),
            "forward function raised ZeroDivisionError")


def test_dx_with_transposed_weight():
    def backward(dh_next, cache):
        return by_hand_step_backward(dh_next, cache, dx_transposed=True)

    verdict = failing(check.rnn_step_backward(backward), "dx differs", "dh_prev",
                      "multiply by W_xh itself, not its transpose")
    assert verdict.details["wrong"] == ["dx"]


def test_forgotten_tanh_derivative():
    def backward(dh_next, cache):
        return by_hand_step_backward(dh_next, cache, derivative=False)

    failing(check.rnn_step_backward(backward), "backpropagate through the nonlinearity")


def test_step_backward_checks_relu_and_sigmoid_too():
    def tanh_only(dh_next, cache):
        return by_hand_step_backward(dh_next, cache, tanh_only=True)

    verdict = failing(check.rnn_step_backward(tanh_only), "tanh's derivative",
                      "activation=relu", "cache['activation']")
    assert verdict.details["mistake"] == "tanh_derivative_always"
    assert check.rnn_step_backward(tanh_only, activations=("tanh",)).passed
    assert check.rnn_step_backward(by_hand_step_backward).details["cases"] == 12


def test_transposed_weight_gradient():
    def backward(dh_next, cache):
        dx, dh_prev, grads = by_hand_step_backward(dh_next, cache)
        return dx, dh_prev, {**grads, "W_xh": cache["x"].T @ (dh_next * (1 - cache["h_next"]**2))}

    failing(check.rnn_step_backward(backward), "dW_xh", "transpose")


def test_bias_gradient_not_summed_over_batch():
    def backward(dh_next, cache):
        dx, dh_prev, grads = by_hand_step_backward(dh_next, cache)
        return dx, dh_prev, {**grads, "b_h": dh_next * (1 - cache["h_next"]**2)}

    failing(check.rnn_step_backward(backward), "db_h: expected shape (H,) = (4,), got (3, 4)",
            "sum over the batch axis")


# --- rnn_backward mistakes -------------------------------------------------------------------

def bptt(dh, cache, *, accumulate="all", carry=True, loop=None, dh_offset=0, reverse_dx=False,
         scale=1.0):
    """A learner's BPTT with knobs for the classic slips (all off: correct)."""
    T = dh.shape[0]
    dxs, grads, last = {}, None, None
    dh_carry = np.zeros_like(dh[0])
    for t in (reversed(range(T)) if loop is None else loop(T)):
        s = t + dh_offset
        direct = dh[s] if 0 <= s < T else np.zeros_like(dh[0])
        total = direct + dh_carry if carry else direct
        dxs[t], dh_carry, step = ref_rnn_step_backward(total, cache["steps"][t])
        if accumulate == "all":
            grads = step if grads is None else {k: grads[k] + step[k] for k in grads}
        elif accumulate == "overwrite":
            grads = step
        elif accumulate == "first" and grads is None:
            grads = step
        last = dh_carry
    dx = np.stack([dxs.get(t, np.zeros_like(dxs[next(iter(dxs))])) for t in range(T)])
    if reverse_dx:
        dx = dx[::-1]
    return scale * dx, scale * last, {k: scale * v for k, v in grads.items()}


def test_by_hand_bptt_passes():
    assert check.rnn_backward(bptt).passed


def test_gradients_not_accumulated_over_time():  # lesson 2's example: overwritten each step
    verdict = failing(check.rnn_backward(lambda dh, c: bptt(dh, c, accumulate="overwrite")),
                      "accumulat", "step t = 0", "dW_xh, dW_hh and db_h differ")
    assert "dx and dh0 are right" in verdict.message


def test_only_last_steps_contribution():
    failing(check.rnn_backward(lambda dh, c: bptt(dh, c, accumulate="first")),
            "not accumulated", "step t = T-1")


def test_off_by_one_loop_skips_last_step():
    verdict = failing(check.rnn_backward(
        lambda dh, c: bptt(dh, c, loop=lambda T: reversed(range(T - 1)))),
        "off-by-one", "skips the last step")
    assert "dx differs at time step" in verdict.message


def test_off_by_one_dh_paired_with_next_step():
    failing(check.rnn_backward(lambda dh, c: bptt(dh, c, dh_offset=1)),
            "off-by-one", "paired with dh[t+1]")


def test_per_step_gradients_shifted_by_one_step():
    def shifted(dh, cache):
        dx, dh0, grads = bptt(dh, cache)
        return np.roll(dx, 1, axis=0), dh0, grads

    failing(check.rnn_backward(shifted), "dx is shifted by one time step", "off-by-one")


def test_recurrent_gradient_not_carried():
    failing(check.rnn_backward(lambda dh, c: bptt(dh, c, carry=False)), "not carried back")


def test_bptt_constant_factor_and_time_location():
    failing(check.rnn_backward(lambda dh, c: bptt(dh, c, scale=2.0)), "constant factor")

    def last_step_wrong(dh, cache):
        dx, dh0, grads = bptt(dh, cache)
        dx = dx.copy()
        dx[-1] *= 3.0
        return dx, dh0, grads

    failing(check.rnn_backward(last_step_wrong), "dx differs at time step t = 3",
            "first t = 3, last t = 3")


def test_dx_in_reverse_time_order():
    failing(check.rnn_backward(lambda dh, c: bptt(dh, c, reverse_dx=True)), "reverse time order")


# --- lstm_step_forward mistakes ------------------------------------------------------------------

def lstm(x, h_prev, c_prev, p, *, order="ifgo", bias=True, tanh_c=True, acts=None,
         transpose_x=False):
    """A learner's LSTM step with knobs for the classic slips (defaults: correct)."""
    acts = {"i": sigmoid, "f": sigmoid, "g": np.tanh, "o": sigmoid, **(acts or {})}
    gates = {}
    for name, src in zip("ifgo", order):
        W_x = p[f"W_x{src}"] if transpose_x else p[f"W_x{src}"].T
        a = x @ W_x + h_prev @ p[f"W_h{src}"].T + (p[f"b_{src}"] if bias else 0)
        gates[name] = acts[name](a)
    c = gates["f"] * c_prev + gates["i"] * gates["g"]
    h = gates["o"] * (np.tanh(c) if tanh_c else c)
    return h, c, None


def test_by_hand_lstm_passes():
    assert check.lstm_step_forward(lstm).passed


def test_lstm_swapped_input_and_forget_gate():
    verdict = failing(check.lstm_step_forward(lambda *a: lstm(*a, order="figo")),
                      "wrong gate order", "swapped the input gate i and the forget gate f")
    assert verdict.details["mistake"] == "gate_order_figo"


def test_lstm_rotated_gate_order():
    failing(check.lstm_step_forward(lambda *a: lstm(*a, order="fgio")),
            "wrong gate order", "i uses the weights of f")


def test_lstm_tanh_forgotten_on_cell_state():
    failing(check.lstm_step_forward(lambda *a: lstm(*a, tanh_c=False)),
            "h_next differs", "c_next is right", "forgot the tanh on the cell state")


def test_lstm_sigmoid_on_candidate():
    failing(check.lstm_step_forward(lambda *a: lstm(*a, acts={"g": sigmoid})),
            "sigmoid and tanh swapped on the candidate g")


def test_lstm_tanh_on_forget_gate():
    failing(check.lstm_step_forward(lambda *a: lstm(*a, acts={"f": np.tanh})),
            "swapped on the forget gate f")


def test_lstm_missing_bias():
    failing(check.lstm_step_forward(lambda *a: lstm(*a, bias=False)), "forgot the biases")


def test_lstm_transposed_input_weights():
    failing(check.lstm_step_forward(lambda *a: lstm(*a, transpose_x=True)), "transpose",
            "x @ W_xk.T")


def test_lstm_outputs_swapped():
    def swapped(*args):
        h, c, cache = lstm(*args)
        return c, h, cache

    failing(check.lstm_step_forward(swapped), "h_next and c_next in each other's place")


# --- gru_step_forward mistakes -------------------------------------------------------------------

def gru(x, h_prev, p, *, seed_form=False, z_flipped=False, swap_rz=False, acts=None,
        b_hn_outside=False, bias=True):
    """A learner's torch-form GRU step with knobs for the classic slips (defaults: correct)."""
    acts = {"r": sigmoid, "z": sigmoid, "n": np.tanh, **(acts or {})}
    b = (lambda k: p[k]) if bias else (lambda k: 0.0)
    src = {"r": "z", "z": "r"} if swap_rz else {"r": "r", "z": "z"}
    r = acts["r"](x @ p[f"W_x{src['r']}"].T + h_prev @ p[f"W_h{src['r']}"].T + b(f"b_{src['r']}"))
    z = acts["z"](x @ p[f"W_x{src['z']}"].T + h_prev @ p[f"W_h{src['z']}"].T + b(f"b_{src['z']}"))
    if seed_form:
        a_n = x @ p["W_xn"].T + (r * h_prev) @ p["W_hn"].T + b("b_n")
    elif b_hn_outside:
        a_n = x @ p["W_xn"].T + b("b_n") + r * (h_prev @ p["W_hn"].T) + b("b_hn")
    else:
        a_n = x @ p["W_xn"].T + b("b_n") + r * (h_prev @ p["W_hn"].T + b("b_hn"))
    n = acts["n"](a_n)
    h = z * n + (1 - z) * h_prev if z_flipped else (1 - z) * n + z * h_prev
    return h, None


def test_by_hand_gru_passes():
    assert check.gru_step_forward(gru).passed


def test_gru_seed_form_instead_of_torch_form():
    failing(check.gru_step_forward(lambda *a: gru(*a, seed_form=True)), "seed form",
            "r * (h_prev @ W_hn.T + b_hn)")


def test_gru_update_gate_convention_flipped():
    failing(check.gru_step_forward(lambda *a: gru(*a, z_flipped=True)),
            "(1 - z) * n + z * h_prev")


def test_gru_swapped_reset_and_update_gate():
    failing(check.gru_step_forward(lambda *a: gru(*a, swap_rz=True)),
            "swapped the reset gate r and the update gate z")


def test_gru_tanh_on_update_gate():
    failing(check.gru_step_forward(lambda *a: gru(*a, acts={"z": np.tanh})),
            "swapped on the update gate z")


def test_gru_b_hn_outside_the_reset_product():
    failing(check.gru_step_forward(lambda *a: gru(*a, b_hn_outside=True)),
            "b_hn belongs inside the reset gate's product")


def test_gru_missing_bias():
    failing(check.gru_step_forward(lambda *a: gru(*a, bias=False)), "forgot the biases")


# --- clip_grad_norm mistakes ---------------------------------------------------------------------

def clip(grads, max_norm, *, per_array=False, always=False, never=False, return_norm=True,
         sqrt=True, norm_after=False):
    """A learner's norm clipping with knobs for the classic slips (defaults: correct)."""
    def norm_of(arrays):
        squares = sum(float(np.sum(g**2)) for g in arrays)
        return np.sqrt(squares) if sqrt else squares

    if per_array:
        clipped = [clip([g], max_norm, return_norm=False) for g in grads]
        clipped = [c[0] for c in clipped]
        total = norm_of(grads)
    else:
        total = norm_of(grads)
        scale = max_norm / total if (always or total > max_norm) and not never else 1.0
        clipped = [g * scale for g in grads]
    if norm_after:
        total = min(total, max_norm)
    return (clipped, total) if return_norm else clipped


def test_by_hand_clip_passes_with_and_without_norm():
    assert check.clip_grad_norm(clip).passed
    assert check.clip_grad_norm(lambda g, m: clip(g, m, return_norm=False)).passed


def test_clipping_per_array_instead_of_globally():
    failing(check.clip_grad_norm(lambda g, m: clip(g, m, per_array=True)), "its own norm",
            "global norm")


def test_clipping_below_the_threshold():
    verdict = failing(check.clip_grad_norm(lambda g, m: clip(g, m, always=True)),
                      "below the threshold", "norm=0.5, max_norm=2.0")
    assert verdict.details["case_index"] == 1


def test_not_clipping_above_the_threshold():
    failing(check.clip_grad_norm(lambda g, m: clip(g, m, never=True)), "nothing was clipped")


def test_value_clipping_instead_of_norm_clipping():
    failing(check.clip_grad_norm(lambda g, m: [np.clip(a, -m, m) for a in g]), "value clipping")


def test_norm_without_square_root():
    failing(check.clip_grad_norm(lambda g, m: clip(g, m, sqrt=False)), "square root")


def test_norm_returned_after_clipping():
    failing(check.clip_grad_norm(lambda g, m: clip(g, m, norm_after=True)), "norm *before*")


def test_clip_returning_one_array():
    failing(check.clip_grad_norm(lambda g, m: np.concatenate([a.ravel() for a in g])),
            "list of 3 clipped arrays")


# --- the catalogue itself: every entry is reachable and named by its own key ---------------------

def _pack(name, out):
    grads = {k[1:]: v for k, v in out.items() if k.startswith(("dW", "db"))}
    if name == "rnn_step_forward" or name == "gru_step_forward":
        return out["h_next"], None
    if name == "lstm_step_forward":
        return out["h_next"], out["c_next"], None
    if name in ("rnn_step_backward", "gru_step_backward"):
        return out["dx"], out["dh_prev"], grads
    if name == "lstm_step_backward":
        return out["dx"], out["dh_prev"], out["dc_prev"], grads
    if name == "rnn_forward":
        return out["h"], None
    if name == "numerical_gradient":
        return out["grad"]
    if name == "embedding_forward":
        return out["out"], None
    if name == "embedding_backward":
        return out["dW"]
    if name == "temporal_softmax_loss":
        return out["loss"], out["dlogits"]
    if name in ("rnn_backward", "rnn_backward_truncated"):
        return out["dx"], out["dh0"], grads
    if name == "lstm_backward":
        return out["dx"], out["dh0"], out["dc0"], grads
    if name == "additive_attention":
        return out["context"], out["weights"]
    if name == "memory_forward":
        return out["y"], out["S"]
    if name == "linear_recurrence":
        return out["h"]
    clipped = [out[k] for k in sorted(k for k in out if k.startswith("clipped"))]
    return (clipped, out["norm"]) if "norm" in out else clipped


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("name", check.EXERCISES)
def test_every_catalogued_mistake_is_named_by_its_own_hint(name):
    """A learner who makes exactly mistake k (the catalogue's own variant) is told about k."""
    from rnncourse.check._table import SPECS

    options = {option.name: option.default for option in SPECS[name].options}
    if name == "rnn_step_forward":
        options["activations"] = ("tanh", "relu")
    exercise = SPECS[name].exercise(options)
    keys = [mistake.key for mistake in exercise.mistakes]
    assert len(set(keys)) == len(keys), keys  # a key names one mistake (and its kept output)
    cases = exercise.make_cases(options)
    for mistake in exercise.mistakes:
        def learner(*args, mistake=mistake):
            case = next(c for c in cases if _same(c.args, args))
            out = dict(exercise.reference(case))
            try:
                out.update(mistake.fn(case.data) or {})
            except Exception:
                pass  # this mistake cannot happen with these sizes (e.g. needs I == H)
            return _pack(name, out)

        verdict = check.rnn_step_forward(learner, activations=("tanh", "relu")) if (
            name == "rnn_step_forward") else getattr(check, name)(learner)
        assert not verdict.passed, mistake.key
        assert verdict.details.get("mistake") == mistake.key, (mistake.key, verdict.message)


def test_bad_options_give_a_verdict():
    verdict = check.rnn_step_forward(ref_rnn_step_forward, activations=("softmax",))
    failing(verdict, "activations: expected")
    assert check.rnn_step_forward(ref_rnn_step_forward, activations="relu").passed


# --- the exercises added with the sliced package ------------------------------------------------

def test_every_exercise_has_a_row_with_its_lesson():
    from rnncourse.check._table import TABLE

    assert len(TABLE) >= 10 and [spec.name for spec in TABLE] == list(check.EXERCISES)
    assert all(spec.lesson[:2].isdigit() for spec in TABLE)


@pytest.mark.parametrize("name", check.EXERCISES)
def test_every_exercise_is_asked_for_in_its_lesson(name):
    """Its lesson has the exercise cell (the learner's stub, checked) and a cell asserting the
    reference passes; no cell shows the solution above the exercise."""
    from pathlib import Path

    from rnncourse.check._table import SPECS

    source = (Path(__file__).resolve().parents[1] / "notebooks"
              / f"{SPECS[name].lesson}.py").read_text()
    asked = source.find(f"check.{name}(my_{name})")
    assert asked > 0, f"{SPECS[name].lesson} has no `check.{name}(my_{name})` cell"
    assert f"def my_{name}(" in source
    assert re.search(rf"assert check\.{name}\((?!my_).*\)\.passed", source), name
    shown = source.find(f"show_solution(\"{name}\")\n")
    assert shown == -1 or shown > asked


def rnn_loop(x, h0, p, activation="tanh", *, carry=True, shift=False):
    h, hs = h0, []
    for t in range(x.shape[0]):
        h_new = np.tanh(x[t] @ p["W_xh"].T + (h if carry else h0) @ p["W_hh"].T + p["b_h"])
        hs.append(h if shift else h_new)
        h = h_new
    return np.stack(hs), None


def test_rnn_forward_by_hand_and_slips():
    assert check.rnn_forward(rnn_loop).passed
    verdict = failing(check.rnn_forward(lambda *a: rnn_loop(*a, carry=False)), "starts from h0")
    assert verdict.details["mistake"] == "no_carry"
    failing(check.rnn_forward(lambda *a: rnn_loop(*a, shift=True)), "off-by-one")

    def with_h0(x, h0, p, activation="tanh"):
        h, _ = rnn_loop(x, h0, p)
        return np.concatenate([h0[None], h]), None

    failing(check.rnn_forward(with_h0), "expected shape (T, B, H) = (4, 3, 4), got (5, 3, 4)")


def lstm_back(dh_next, dc_next, cache, *, dc_next_used=True, prime_f=True):
    i, f, g, o, tc, p = (cache[k] for k in ("i", "f", "g", "o", "tanh_c", "params"))
    dc = (dc_next if dc_next_used else 0) + dh_next * o * (1 - tc**2)
    da = {"i": dc * g * i * (1 - i), "f": dc * cache["c_prev"] * (f * (1 - f) if prime_f else 1),
          "g": dc * i * (1 - g**2), "o": dh_next * tc * o * (1 - o)}
    grads = {}
    for k in "ifgo":
        grads.update({f"W_x{k}": da[k].T @ cache["x"], f"W_h{k}": da[k].T @ cache["h_prev"],
                      f"b_{k}": da[k].sum(0)})
    return (sum(da[k] @ p[f"W_x{k}"] for k in "ifgo"),
            sum(da[k] @ p[f"W_h{k}"] for k in "ifgo"), dc * f, grads)


def test_lstm_step_backward_by_hand_and_slips():
    assert check.lstm_step_backward(lstm_back).passed
    failing(check.lstm_step_backward(lambda *a: lstm_back(*a, dc_next_used=False)),
            "dropped dc_next")
    failing(check.lstm_step_backward(lambda *a: lstm_back(*a, prime_f=False)),
            "nonlinearity of the forget gate f")
    failing(check.lstm_step_backward(lambda dh, dc, cache: lstm_back(dh, dc, cache["i"])),
            "keys x, h_prev, c_prev")


def gru_back(dh_next, cache, *, direct=True):
    x, h, r, z, n, hn, p = (cache[k] for k in ("x", "h_prev", "r", "z", "n", "hn", "params"))
    da_n = dh_next * (1 - z) * (1 - n**2)
    da_r = da_n * hn * r * (1 - r)
    da_z = dh_next * (h - n) * z * (1 - z)
    dhn = da_n * r
    grads = {"W_xn": da_n.T @ x, "W_hn": dhn.T @ h, "b_n": da_n.sum(0), "b_hn": dhn.sum(0)}
    for k, da in (("r", da_r), ("z", da_z)):
        grads.update({f"W_x{k}": da.T @ x, f"W_h{k}": da.T @ h, f"b_{k}": da.sum(0)})
    dx = da_n @ p["W_xn"] + da_r @ p["W_xr"] + da_z @ p["W_xz"]
    dh = (dh_next * z if direct else 0) + dhn @ p["W_hn"] + da_r @ p["W_hr"] + da_z @ p["W_hz"]
    return dx, dh, grads


def test_gru_step_backward_by_hand_and_slips():
    assert check.gru_step_backward(gru_back).passed
    verdict = failing(check.gru_step_backward(lambda *a: gru_back(*a, direct=False)),
                      "dh_prev differs", "direct path")
    assert verdict.details["mistake"] == "no_direct_path"


def centred(f, x, eps=1e-6, *, one_sided=False, restore=True):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        up = f(x)
        x[idx] = old if one_sided else old - eps
        grad[idx] = (up - f(x)) / (eps if one_sided else 2 * eps)
        if restore:
            x[idx] = old
    return grad


def test_numerical_gradient_by_hand_and_slips():
    assert check.numerical_gradient(centred).passed
    verdict = failing(check.numerical_gradient(lambda *a: centred(*a, one_sided=True)),
                      "one-sided", "O(eps^2)")
    assert verdict.details["mistake"] == "forward_difference"
    failing(check.numerical_gradient(lambda *a: centred(*a, restore=False)),
            "changed its input x in place")


def test_embedding_by_hand_and_slips():
    def lookup(idx, W):
        return np.stack([[W[v] for v in row] for row in idx]), {"idx": idx, "W": W}

    assert check.embedding_forward(lookup).passed
    assert check.embedding_forward(lambda idx, W: (np.eye(W.shape[0])[idx] @ W, None)).passed

    def loop_backward(dout, cache):
        dW = np.zeros_like(cache["W"])
        for (t, b), v in np.ndenumerate(cache["idx"]):
            dW[v] += dout[t, b]
        return dW

    def fancy_backward(dout, cache):
        dW = np.zeros_like(cache["W"])
        dW[cache["idx"]] += dout
        return dW

    assert check.embedding_backward(loop_backward).passed
    verdict = failing(check.embedding_backward(fancy_backward), "repeated tokens must accumulate",
                      "np.add.at")
    assert verdict.details["mistake"] == "not_accumulated"


def softmax_ce(logits, targets, mask, *, stable=True, divide="count"):
    z = logits - logits.max(-1, keepdims=True) if stable else logits
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    T, B, V = logits.shape
    n = {"count": mask.sum(), "batch": B}[divide]
    loss = -(np.log(p[np.arange(T)[:, None], np.arange(B)[None, :], targets]) * mask).sum() / n
    d = p - np.eye(V)[targets]
    return loss, d * mask[..., None] / n


def test_temporal_softmax_loss_by_hand_and_slips():
    assert check.temporal_softmax_loss(softmax_ce).passed
    verdict = failing(check.temporal_softmax_loss(lambda *a: softmax_ce(*a, divide="batch")),
                      "divided by the batch size")
    assert verdict.details["mistake"] == "divided_by_batch"
    failing(check.temporal_softmax_loss(lambda *a: softmax_ce(*a, stable=False)),
            "NaN", "subtract each row's maximum", "logits near=1000")


def truncated_bptt(dh, cache, k, *, t0_counts=True):
    carry, dxs, grads = np.zeros_like(dh[0]), [None] * dh.shape[0], None
    for t in reversed(range(dh.shape[0])):
        dxs[t], carry, step = ref_rnn_step_backward(dh[t] + carry, cache["steps"][t])
        grads = step if grads is None else {key: grads[key] + step[key] for key in grads}
        if t % k == 0 and (t0_counts or t > 0):
            carry = np.zeros_like(carry)
    return np.stack(dxs), carry, grads


def test_truncated_bptt_by_hand_and_slips():
    assert check.rnn_backward_truncated(truncated_bptt).passed
    verdict = failing(check.rnn_backward_truncated(
        lambda *a: truncated_bptt(*a, t0_counts=False)), "t = 0 counts too")
    assert verdict.details["mistake"] == "dh0_kept"
    failing(check.rnn_backward_truncated(lambda dh, c, k: ref_rnn_backward(dh, c)),
            "nothing was cut")
