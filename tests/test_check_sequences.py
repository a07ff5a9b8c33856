"""The exercises added with issue 18: ``lstm_backward`` (lesson 3), ``additive_attention``
(lesson 7), ``memory_forward`` and ``linear_recurrence`` (lesson 7b).

Each learner function here is written by hand, the way a learner would, with knobs for the
classic slips (all off: correct), independently of the checks' catalogues. The generic tests
(reference passes, stubs, every catalogued mistake named by its own key, check time) are in
tests/test_check.py and tests/test_check_feedback.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnncourse import check


@pytest.fixture(autouse=True)
def own_results_folder(tmp_path, monkeypatch):
    """Passing checks record the learner's progress: keep it out of the repository's folder."""
    monkeypatch.setenv("RNNCOURSE_RESULTS", str(tmp_path))


def failing(verdict, *texts):
    assert not verdict.passed, verdict
    for text in texts:
        assert text.lower() in verdict.message.lower(), (text, verdict.message)
    return verdict


# --- lstm_backward -------------------------------------------------------------------------------

def lstm_bptt(dh, cache, *, carry_dc=True, forget_scales=True, wrap_c=False, accumulate=True,
              gate_slip=None, swap_dh0_dc0=False):
    x, h, c, tc, p = cache["x"], cache["h"], cache["c"], cache["tanh_c"], cache["params"]
    G = cache["gates"]
    T = x.shape[0]
    dx = np.zeros_like(x)
    dh_next, dc_next = np.zeros_like(h[0]), np.zeros_like(c[0])
    grads = {}
    for t in range(T - 1, -1, -1):
        i, f, g, o = G["i"][t], G["f"][t], G["g"][t], G["o"][t]
        c_prev = c[t - 1] if (t > 0 or wrap_c) else cache["c0"]
        h_prev = h[t - 1] if t > 0 else cache["h0"]
        dht = dh[t] + dh_next
        dc = (dc_next if carry_dc else 0.0) + dht * o * (1 - tc[t] ** 2)
        da = {"i": dc * g * i * (1 - i), "f": dc * c_prev * f * (1 - f),
              "g": dc * i * (1 - g * g), "o": dht * tc[t] * o * (1 - o)}
        if gate_slip == "g_sigmoid_prime":
            da["g"] = dc * i * g * (1 - g)
        step = {}
        for k in "ifgo":
            step[f"W_x{k}"] = da[k].T @ x[t]
            step[f"W_h{k}"] = da[k].T @ h_prev
            step[f"b_{k}"] = da[k].sum(axis=0)
        grads = {k: grads.get(k, 0) + v for k, v in step.items()} if accumulate else step
        dx[t] = sum(da[k] @ p[f"W_x{k}"] for k in "ifgo")
        dh_next = sum(da[k] @ p[f"W_h{k}"] for k in "ifgo")
        dc_next = dc * f if forget_scales else dc
    if swap_dh0_dc0:
        return dx, dc_next, dh_next, grads
    return dx, dh_next, dc_next, grads


def test_lstm_backward_by_hand_passes():
    assert check.lstm_backward(lstm_bptt).passed


def test_lstm_backward_with_the_step_backward_passes():
    from rnncourse.np_lstm import lstm_step_backward

    def with_steps(dh, cache):
        T = dh.shape[0]
        dxs, dh_c, dc_c, total = [None] * T, np.zeros_like(dh[0]), np.zeros_like(dh[0]), None
        for t in reversed(range(T)):
            step = {"x": cache["x"][t], "h_prev": cache["h"][t - 1] if t else cache["h0"],
                    "c_prev": cache["c"][t - 1] if t else cache["c0"], "c_next": cache["c"][t],
                    "tanh_c": cache["tanh_c"][t], "params": cache["params"],
                    **{k: cache["gates"][k][t] for k in "ifgo"}}
            dxs[t], dh_c, dc_c, g = lstm_step_backward(dh[t] + dh_c, dc_c, step)
            total = g if total is None else {k: total[k] + g[k] for k in g}
        return np.stack(dxs), dh_c, dc_c, total

    assert check.lstm_backward(with_steps).passed


def test_lstm_backward_cell_gradient_not_carried():
    verdict = failing(check.lstm_backward(lambda dh, c: lstm_bptt(dh, c, carry_dc=False)),
                      "cell-state gradient is not carried back")
    assert verdict.details["mistake"] == "no_dc_carry"


def test_lstm_backward_carry_without_forget_gate():
    verdict = failing(check.lstm_backward(lambda dh, c: lstm_bptt(dh, c, forget_scales=False)),
                      "the forget gate scales it")
    assert verdict.details["mistake"] == "dc_carry_without_f"


def test_lstm_backward_c_minus_1_wraps_at_t0():
    verdict = failing(check.lstm_backward(lambda dh, c: lstm_bptt(dh, c, wrap_c=True)),
                      "c[-1]", "wrap", "c0")
    assert verdict.details["mistake"] == "c_prev_wrap"


def test_lstm_backward_gradients_overwritten():
    verdict = failing(check.lstm_backward(lambda dh, c: lstm_bptt(dh, c, accumulate=False)),
                      "not accumulated", "step t = 0", "dx, dh0 and dc0 are right")
    assert verdict.details["mistake"] == "overwrite_grads"


def test_lstm_backward_swapped_state_gradients():
    failing(check.lstm_backward(lambda dh, c: lstm_bptt(dh, c, swap_dh0_dc0=True)),
            "returned dh0 and dc0 in each other's place")


def test_lstm_backward_unknown_slip_names_the_gate():
    """Not in the catalogue: the candidate's derivative taken as a sigmoid's. The verdict names
    gate g (its weight gradients wrong, those of i, f, o right) and how far things are off."""
    verdict = failing(check.lstm_backward(
        lambda dh, c: lstm_bptt(dh, c, gate_slip="g_sigmoid_prime")),
        "no mistake from the course's catalogue", "gate g are wrong, those of i, f, o right",
        "dx by up to", "dx differs at time step")
    assert verdict.details["mistake"] is None


def test_lstm_backward_two_slips_name_the_steps():
    def two_slips(dh, cache):  # dx in reverse order, gradients of t = 0 only
        dx, dh0, dc0, grads = lstm_bptt(dh, cache, accumulate=False)
        return dx[::-1], dh0, dc0, grads

    failing(check.lstm_backward(two_slips), "add up the steps' contributions as",
            "t = 1 missing, t = 2 missing, t = 3 missing", "dx differs at time steps")


def test_lstm_backward_tuple_cache_is_told_the_cache_format():
    def tuple_cache(dh, cache):
        x, h, c = cache
        return x, h, c, {}

    failing(check.lstm_backward(tuple_cache), "ValueError", "course's cache from `lstm_forward`",
            "gates (a dict of i, f, g, o")


# --- linear_recurrence ---------------------------------------------------------------------------

def recurrence(a, b, h0, *, use_h0=True, carry=True, a_index=0, store_before=False):
    h = h0 if use_h0 else np.zeros_like(h0)
    out = np.empty_like(b)
    for t in range(a.shape[0]):
        new = a[t + a_index] * (h if carry else h0) + b[t]
        out[t] = h if store_before else new
        h = new
    return out


def test_linear_recurrence_by_hand_passes():
    assert check.linear_recurrence(recurrence).passed


def test_linear_recurrence_written_differently_passes():
    def closed_form(a, b, h0):  # h_t = A_t h0 + sum_s (A_t / A_s) b_s, with A_t = prod a
        A = np.cumprod(a, axis=0)
        T = a.shape[0]
        h = np.empty_like(b)
        for t in range(T):
            acc = A[t] * h0
            for s in range(t + 1):
                acc = acc + np.prod(a[s + 1:t + 1], axis=0) * b[s]
            h[t] = acc
        return h

    def by_scan(a, b, h0):  # Hillis-Steele inclusive scan of the combine (a a', a' b + b')
        A, Bv = a.copy(), b.copy()
        Bv[0] = a[0] * h0 + b[0]
        step = 1
        while step < a.shape[0]:
            A_new, B_new = A.copy(), Bv.copy()
            A_new[step:] = A[:-step] * A[step:]
            B_new[step:] = A[step:] * Bv[:-step] + Bv[step:]
            A, Bv, step = A_new, B_new, 2 * step
        return Bv

    assert check.linear_recurrence(closed_form).passed
    assert check.linear_recurrence(by_scan).passed


def test_linear_recurrence_h0_ignored():
    verdict = failing(check.linear_recurrence(lambda *a: recurrence(*a, use_h0=False)),
                      "h0 is ignored")
    assert verdict.details["mistake"] == "h0_ignored"


def test_linear_recurrence_state_not_carried():
    failing(check.linear_recurrence(lambda *a: recurrence(*a, carry=False)), "starts from h0")


def test_linear_recurrence_a_t_minus_1_wraps():
    verdict = failing(check.linear_recurrence(lambda *a: recurrence(*a, a_index=-1)),
                      "a[t-1]", "a[-1]", "wrap")
    assert verdict.details["mistake"] == "a_shift_wrap"


def test_linear_recurrence_state_stored_before_the_update():
    verdict = failing(check.linear_recurrence(lambda *a: recurrence(*a, store_before=True)),
                      "off-by-one", "starts with h0")
    assert verdict.details["mistake"] == "h0_first"


def test_linear_recurrence_scan_with_the_combine_reversed():
    def reversed_combine(a, b, h0):
        A, Bv = a.copy(), b.copy()
        Bv[0] = a[0] * h0 + b[0]
        for t in range(1, a.shape[0]):  # (a, b) o (a', b') written as (a a', a b' + b)
            Bv[t] = A[t - 1] * b[t] + Bv[t - 1]
            A[t] = A[t - 1] * a[t]
        return Bv

    verdict = failing(check.linear_recurrence(reversed_combine), "wrong order",
                      "associative but not commutative")
    assert verdict.details["mistake"] == "combine_order"


def test_linear_recurrence_unknown_slip_names_the_steps():
    def late_slip(a, b, h0):
        h = recurrence(a, b, h0)
        h[-1] = h[-1] + 0.5 * b[-1]
        return h

    verdict = failing(check.linear_recurrence(late_slip), "h by up to",
                      "h differs at time step t = 3", "first t = 3")
    assert verdict.details["mistake"] is None


def test_linear_recurrence_wrong_shape_names_it():
    failing(check.linear_recurrence(lambda a, b, h0: np.concatenate(
        [h0[None], recurrence(a, b, h0)])), "expected shape (T, B, H) = (4, 3, 4), got (5, 3, 4)")


# --- memory_forward ------------------------------------------------------------------------------

def memory(k, v, q, decay, *, read_first=False, decay_write=False, transpose_write=False,
           query=True):
    T, B, Dk = k.shape
    S = np.zeros((B, v.shape[2], Dk))
    y = np.zeros((T, B, v.shape[2]))
    for t in range(T):
        for b in range(B):
            write = np.outer(k[t, b], v[t, b]) if transpose_write else np.outer(v[t, b], k[t, b])
            if read_first:
                y[t, b] = S[b] @ q[t, b]
            S[b] = decay * (S[b] + write) if decay_write else decay * S[b] + write
            if not read_first:
                y[t, b] = S[b] @ (q[t, b] if query else k[t, b])
    return y, S


def test_memory_by_hand_passes():
    assert check.memory_forward(memory).passed


def test_memory_unrolled_passes():
    def unrolled(k, v, q, decay):  # y_t = sum_{s<=t} decay^(t-s) (k_s . q_t) v_s
        T = k.shape[0]
        ages = np.arange(T)[:, None] - np.arange(T)[None, :]  # t - s
        w = np.where(ages >= 0, float(decay) ** np.maximum(ages, 0), 0.0)  # (T, T)
        scores = np.einsum("sbk,tbk->tsb", k, q) * w[:, :, None]
        y = np.einsum("tsb,sbv->tbv", scores, v)
        S = np.einsum("s,sbv,sbk->bvk", float(decay) ** (T - 1 - np.arange(T)), v, k)
        return y, S

    assert check.memory_forward(unrolled).passed


def test_memory_read_before_write():
    verdict = failing(check.memory_forward(lambda *a: memory(*a, read_first=True)),
                      "read before writing", "S is right")
    assert verdict.details["mistake"] == "read_before_write"


def test_memory_decay_on_the_new_write():
    failing(check.memory_forward(lambda *a: memory(*a, decay_write=True)),
            "decays the new write too")


def test_memory_transposed_outer_product():
    verdict = failing(check.memory_forward(lambda *a: memory(*a, transpose_write=True)),
                      "outer product `v_t k_t^T`")
    assert verdict.details["mistake"] == "outer_transposed"


def test_memory_read_with_the_key():
    failing(check.memory_forward(lambda *a: memory(*a, query=False)), "reads with the key")


def test_memory_all_states_returned_gets_the_shape():
    def every_state(k, v, q, decay):
        y, _ = memory(k, v, q, decay)
        S = np.cumsum(np.einsum("tbv,tbk->tbvk", v, k), axis=0)
        return y, S

    failing(check.memory_forward(every_state),
            "S: expected shape (B, D_v, D_k) = (3, 4, 4), got (4, 3, 4, 4)")


# --- additive_attention --------------------------------------------------------------------------

def attend(query, states, mask, p, *, axis=0, tanh=True, pad="inf", stable=True, weighted=True):
    S, B, _ = states.shape
    e = np.zeros((S, B))
    for i in range(S):
        a = query @ p["W"].T + states[i] @ p["U"].T
        e[i] = (np.tanh(a) if tanh else a) @ p["v"]
    if pad == "inf":
        e = np.where(mask, e, -np.inf)
    elif pad == "zero":
        e = np.where(mask, e, 0.0)
    z = np.exp(e - e.max(axis=axis, keepdims=True)) if stable else np.exp(e)
    w = z / z.sum(axis=axis, keepdims=True)
    if pad == "after":
        w = w * mask
    c = sum(w[i][:, None] * states[i] for i in range(S)) if weighted else states.mean(axis=0)
    return c, w


def test_attention_by_hand_passes():
    assert check.additive_attention(attend).passed


def test_attention_softmax_over_the_batch():
    verdict = failing(check.additive_attention(lambda *a: attend(*a, axis=1)), "wrong axis")
    assert verdict.details["mistake"] == "softmax_over_batch"


def test_attention_padding_scored_zero_or_masked_late():
    verdict = failing(check.additive_attention(lambda *a: attend(*a, pad="zero")),
                      "set to 0, not -inf")
    assert verdict.details["mistake"] == "mask_zero_score"
    failing(check.additive_attention(lambda *a: attend(*a, pad="after")), "after the softmax")
    failing(check.additive_attention(lambda *a: attend(*a, pad="none")), "mask is ignored")


def test_attention_without_tanh_or_weights():
    failing(check.additive_attention(lambda *a: attend(*a, tanh=False)), "forgot the tanh")
    failing(check.additive_attention(lambda *a: attend(*a, weighted=False)),
            "context differs", "weights is right", "*weighted* sum")


def test_attention_unstable_softmax_is_told_to_subtract_the_max():
    failing(check.additive_attention(lambda *a: attend(*a, stable=False)), "NaN",
            "subtract each column's largest real score", "scores up to=1000")


def test_attention_two_slips_say_where_the_weights_go_wrong():
    def two_slips(query, states, mask, p):  # scores scaled, padding scored 0
        c, _ = attend(query, states, mask, p)
        e = np.stack([np.tanh(query @ p["W"].T + states[i] @ p["U"].T) @ p["v"]
                      for i in range(states.shape[0])]) * 1.5
        e = np.where(mask, e, 0.0)
        z = np.exp(e - e.max(axis=0))
        w = z / z.sum(axis=0)
        return np.einsum("sb,sbk->bk", w, states), w

    verdict = failing(check.additive_attention(two_slips), "no mistake from the course's",
                      "not 0 at the padded positions", "weights wrong at 8 real positions",
                      "(i=0, b=0)")
    assert verdict.details["mistake"] is None
