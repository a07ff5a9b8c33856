"""Backpropagation through time written by hand, wrapped in ``torch.autograd.Function``.

Same computation as :mod:`rnncourse.torch_steps`, same layer functions (``rnn_layer``,
``lstm_layer``, ``gru_layer``, here taking the layer input ``x`` and all four parameters), but the
backward pass is spelled out instead of recorded by autograd. Autograd through a Python time loop
records a dozen small operations per step and replays them backward; here each step is a few
in-place kernels on preallocated buffers, and the cost is close to that of the matrix products.

The recipe (what closed the gap to ``torch.nn`` in the project's performance measurements):

* forward: the input projection of all steps is one ``addmm`` into a ``(T, B, G*H)`` buffer;
  each step adds ``h_{t-1} @ W_hh.T`` into its row in place, activations run in place, states go
  into ``(T+1, B, H)`` buffers whose row 0 is the initial state (``h_{t-1}`` of every step is the
  view ``hs[:-1]``, no copy);
* backward: every factor that does not depend on the incoming gradient (``o * (1 - tanh(c)^2)``,
  ``g * i * (1 - i)``, ...) is computed for all steps at once before the loop; the loop multiplies
  the running gradient by those factors in place and does one ``addmm`` with ``W_hh``;
* the weight gradients are one matrix product over all steps after the loop:
  ``dW_hh = sum_t dG_t^T h_{t-1} = dG.reshape(T*B, G*H).T @ h_prev.reshape(T*B, H)``
  (:func:`_weight_grad`), and the same for ``W_ih`` with the inputs;
* per-step views (``h_t``, ``c_t``, a gate's columns at step t) are made once per call with
  ``unbind(0)``: at the course's small sizes indexing such as ``gates[t, :, 2*H:3*H]`` inside the
  loop cost about 5 us a view, as much as the arithmetic it fed;
* the LSTM's g gate uses ``tanh(a) = 2 sigmoid(2a) - 1``: its weight rows are doubled once per
  call, so one ``sigmoid_`` over the whole ``(B, 4H)`` block activates all four gates (a ``tanh_``
  on the strided g columns alone cost twice as much as that sigmoid);
* big buffers come from a small :class:`Workspace` and are reused by the next call once nothing
  refers to them any more: on this kind of machine memory fresh from the OS costs about as much
  as the arithmetic (page faults, ~0.4 ms per MB).

Each ``autograd.Function`` trains with any optimizer. It is differentiable once:
``create_graph=True`` through it raises (use ``backward="autograd"`` for higher derivatives).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import torch

DOUBLE_BACKWARD = (
    "the hand-written BPTT of rnncourse is differentiable once only (no create_graph=True / "
    "double backward); build the model with backward='autograd' for higher derivatives"
)


def _no_double_backward():
    if torch.is_grad_enabled():
        raise RuntimeError(DOUBLE_BACKWARD)


class Workspace:
    """Big scratch buffers kept between calls and handed out again once unused.

    A buffer is free when nothing but the workspace refers to its storage (the storage's use
    count is back to what it was at creation): outputs a caller keeps, tensors saved for a
    retained graph or a gradient that autograd stored as ``.grad`` all keep it busy, so reuse is
    never visible. At most ``per_key`` buffers per (shape, dtype, device) and ``max_keys`` shapes
    are kept, none larger than ``max_bytes``; :meth:`clear` lets them go. Without
    ``torch._C._storage_Use_Count`` (another torch version) every call simply allocates.
    """

    def __init__(self, max_keys: int = 32, per_key: int = 4, max_bytes: int = 64 * 2**20):
        self.max_keys, self.per_key, self.max_bytes = max_keys, per_key, max_bytes
        self._pool: OrderedDict = OrderedDict()  # key -> [(base tensor, free use count)]
        self._count = getattr(torch._C, "_storage_Use_Count", None)
        self._lock = threading.Lock()

    def _use_count(self, t):
        return self._count(t.untyped_storage()._cdata)

    def empty(self, shape, like: torch.Tensor) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` with ``like``'s dtype and device."""
        shape = tuple(shape)
        if self._count is None or math.prod(shape) * like.element_size() > self.max_bytes:
            return like.new_empty(shape)
        key = (shape, like.dtype, like.device)
        with self._lock:
            entries = self._pool.pop(key, [])
            self._pool[key] = entries  # most recently used last
            for base, free in entries:
                if self._use_count(base) == free:
                    return base.detach()
            base = like.new_empty(shape)
            if len(entries) < self.per_key:
                entries.append((base, self._use_count(base)))
            while len(self._pool) > self.max_keys:
                self._pool.popitem(last=False)
            return base.detach()

    def clear(self) -> None:
        """Drop every kept buffer (the memory goes back once no tensor uses it)."""
        with self._lock:
            self._pool.clear()


workspace = Workspace()


def _project(x, w_ih, bias, G):
    """``x @ w_ih.T + bias`` for all steps, into a workspace buffer ``(T, B, G)``."""
    T, B, I = x.shape
    out = workspace.empty((T, B, G), x)
    flat_x, flat_out = x.reshape(T * B, I), out.view(T * B, G)
    if bias is None:
        torch.mm(flat_x, w_ih.t(), out=flat_out)
    else:
        torch.addmm(bias, flat_x, w_ih.t(), out=flat_out)
    return out


def _weight_grad(d_out, inp):
    """``d_out.T @ inp`` ``(G, K)``: the sum over all T*B rows of ``d_out_row^T inp_row``.

    Computed as ``(inp.T @ d_out).T``, the same sum with the long axis inside the product. On the
    course's CPU that ran 8x faster when ``inp`` has few columns (0.09 against 0.69 ms for
    1920 rows, 128 gate columns and the adding problem's 2 inputs), 1.2-1.5x faster with 32
    columns, and no slower for any shape tried.
    """
    return torch.mm(inp.t(), d_out).t().contiguous()


def _project_backward(ctx, d_pre, x, w_ih, w_index, b_index):
    """Gradients of ``x``, ``w_ih`` and the bias (inputs ``w_index``, ``b_index`` of the
    Function) from the gradient ``d_pre`` ``(T, B, G)`` of the projection."""
    T, B, I = x.shape
    flat = d_pre.reshape(T * B, -1)
    need = ctx.needs_input_grad
    dx = (flat @ w_ih).view(T, B, I) if need[0] else None
    dw_ih = _weight_grad(flat, x.reshape(T * B, I)) if need[w_index] else None
    db = flat.sum(0) if need[b_index] else None
    return dx, dw_ih, db


def _states(x, h0, H):
    """``(T+1, B, H)`` buffer whose row 0 is ``h0``."""
    T, B, _ = x.shape
    hs = workspace.empty((T + 1, B, H), x)
    hs[0] = h0
    return hs


def _output(hs):
    """``hs[1:]`` copied into a buffer of its own, the tensor a Function returns.

    A view of a saved buffer cannot be returned: changing it in place (``masked_fill_`` on the
    padding, ``out[:, k] = ...``, ``+=``), which torch.nn allows, would raise "Output 0 of
    _LSTMFunction is a view and is being modified inplace", and would overwrite the states the
    backward pass reads. The copy costs one pass over ``(T, B, H)``.
    """
    return workspace.empty(hs[1:].shape, hs).copy_(hs[1:])


def _grad_buffer(d_hs):
    """``(T+1, B, H)``: row ``t+1`` holds dL/dh_t from the output, row 0 collects dL/dh_0."""
    T, B, H = d_hs.shape
    buf = workspace.empty((T + 1, B, H), d_hs)
    buf[0].zero_()
    buf[1:].copy_(d_hs)
    return buf


class _RNNFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, bias, nonlinearity):
        H = w_hh.shape[1]
        act_ = {"tanh": torch.Tensor.tanh_, "relu": torch.Tensor.relu_,
                "sigmoid": torch.Tensor.sigmoid_}[nonlinearity]
        w_t = w_hh.t()
        pre = _project(x, w_ih, bias, H).unbind(0)
        hs = _states(x, h0, H)
        h = hs.unbind(0)  # per-step views, made once (see the module docstring)
        for t in range(x.shape[0]):
            act_(torch.addmm(pre[t], h[t], w_t, out=h[t + 1]))
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(x, w_ih, w_hh, hs)
        return _output(hs)

    @staticmethod
    def backward(ctx, d_hs):
        _no_double_backward()
        x, w_ih, w_hh, hs = ctx.saved_tensors
        T, B, H = d_hs.shape
        y = hs[1:]
        dpre = workspace.empty((T, B, H), y)  # f'(pre), then dL/dpre
        if ctx.nonlinearity == "tanh":
            torch.addcmul(y.new_ones(()), y, y, value=-1, out=dpre)
        elif ctx.nonlinearity == "relu":
            torch.gt(y, 0, out=dpre)
        else:
            torch.addcmul(y, y, y, value=-1, out=dpre)
        dh = _grad_buffer(d_hs)
        dpre_t, dh_t = dpre.unbind(0), dh.unbind(0)
        for t in range(T - 1, -1, -1):
            dh_t[t].addmm_(dpre_t[t].mul_(dh_t[t + 1]), w_hh)
        dw_hh = _weight_grad(dpre.reshape(T * B, H), hs[:-1].reshape(T * B, H))
        dx, dw_ih, db = _project_backward(ctx, dpre, x, w_ih, 2, 4)
        return dx, dh[0].clone(), dw_ih, dw_hh, db, None


class _LSTMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, bias):
        T, H = x.shape[0], w_hh.shape[1]
        # tanh(a) = 2 sigmoid(2a) - 1: with the g rows of the weights doubled, one sigmoid over
        # the whole (B, 4H) block activates all four gates; the g block then holds sigmoid(2 a_g).
        gates = _project(x, _double_g(w_ih, H), _double_g(bias, H), 4 * H)
        w_t = _double_g(w_hh, H).t()
        hs, cs = _states(x, h0, H), _states(x, c0, H)
        tcs = workspace.empty(hs[1:].shape, x)  # tanh(c_t)
        a, h, c, tc = gates.unbind(0), hs.unbind(0), cs.unbind(0), tcs.unbind(0)
        i, f, s, o = (block.unbind(0) for block in gates.chunk(4, dim=2))
        for t in range(T):
            a[t].addmm_(h[t], w_t).sigmoid_()  # i, f, sigmoid(2 a_g), o
            # np_lstm.cell_update, in place into the saved storage and with g = 2 s - 1:
            torch.mul(f[t], c[t], out=c[t + 1])  # f * c_{t-1}
            c[t + 1].addcmul_(i[t], s[t], value=2).sub_(i[t])  # + i * g, g = 2 s - 1
            torch.tanh(c[t + 1], out=tc[t])
            torch.mul(o[t], tc[t], out=h[t + 1])  # o * tanh(c_t)
        gates[..., 2 * H : 3 * H].mul_(2).sub_(1)  # g itself, for the backward pass
        ctx.save_for_backward(x, w_ih, w_hh, gates, hs, cs, tcs)
        return _output(hs), cs[-1].clone()

    @staticmethod
    def backward(ctx, d_hs, d_cT):
        _no_double_backward()
        x, w_ih, w_hh, gates, hs, cs, tcs = ctx.saved_tensors
        T, B, H = d_hs.shape
        i, f, g, o = gates.chunk(4, dim=2)
        # Factors that do not depend on the incoming gradient, for all steps at once:
        # dL/dpre = (dc, dc, dc, dh) * fac, and dL/dc_t gets dL/dh_t * dc_dh.
        fac = workspace.empty(gates.shape, gates)
        fi, ff, fg, fo = fac.chunk(4, dim=2)
        torch.mul(g, i, out=fi).addcmul_(fi, i, value=-1)  # g * i * (1 - i)
        torch.mul(cs[:-1], f, out=ff).addcmul_(ff, f, value=-1)  # c_{t-1} * f * (1 - f)
        torch.addcmul(i, torch.mul(i, g, out=fg), g, value=-1, out=fg)  # i * (1 - g^2)
        torch.mul(tcs, o, out=fo).addcmul_(fo, o, value=-1)  # tanh(c) * o * (1 - o)
        dc_dh = workspace.empty(tcs.shape, tcs)
        torch.addcmul(o, torch.mul(o, tcs, out=dc_dh), tcs, value=-1, out=dc_dh)
        dh = _grad_buffer(d_hs)
        dc = d_cT.clone()
        dc_rows = dc.unsqueeze(1)  # (B, 1, H): broadcasts over the i, f, g blocks
        fac_t, ifg_t, o_t = fac.unbind(0), fac.view(T, B, 4, H)[:, :, :3].unbind(0), fo.unbind(0)
        dh_t, dc_dh_t, f_t = dh.unbind(0), dc_dh.unbind(0), f.unbind(0)
        for t in range(T - 1, -1, -1):  # fac becomes dL/dpre, step by step
            dc.addcmul_(dh_t[t + 1], dc_dh_t[t])
            ifg_t[t].mul_(dc_rows)
            o_t[t].mul_(dh_t[t + 1])
            dc.mul_(f_t[t])  # dL/dc_{t-1}; its own dh part is added in the next iteration
            dh_t[t].addmm_(fac_t[t], w_hh)
        dw_hh = _weight_grad(fac.reshape(T * B, 4 * H), hs[:-1].reshape(T * B, H))
        dx, dw_ih, db = _project_backward(ctx, fac, x, w_ih, 3, 5)
        return dx, dh[0].clone(), dc, dw_ih, dw_hh, db


def _double_g(w, H):
    """A copy of an LSTM weight or bias with the g-gate rows ``[2H, 3H)`` doubled."""
    if w is None:
        return None
    w = w.clone()
    w[2 * H : 3 * H] *= 2
    return w


class _GRUFunction(torch.autograd.Function):
    """torch form: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        T = x.shape[0]
        H = w_hh.shape[1]
        w_t = w_hh.t()
        xp = _project(x, w_ih, b_ih, 3 * H)
        hh = workspace.empty(xp.shape, xp)  # W_hh h_{t-1} + b_hh, packed r, z, n
        rz = workspace.empty((T, x.shape[1], 2 * H), xp)
        hs = _states(x, h0, H)
        n = workspace.empty(hs[1:].shape, xp)
        x_rz, x_n = xp[..., : 2 * H].unbind(0), xp[..., 2 * H :].unbind(0)
        hh_t, hh_rz, hh_n = hh.unbind(0), hh[..., : 2 * H].unbind(0), hh[..., 2 * H :].unbind(0)
        rz_t, r, z = rz.unbind(0), rz[..., :H].unbind(0), rz[..., H:].unbind(0)
        h, n_t = hs.unbind(0), n.unbind(0)
        for t in range(T):
            if b_hh is None:
                torch.mm(h[t], w_t, out=hh_t[t])
            else:
                torch.addmm(b_hh, h[t], w_t, out=hh_t[t])
            torch.add(x_rz[t], hh_rz[t], out=rz_t[t]).sigmoid_()
            torch.addcmul(x_n[t], r[t], hh_n[t], out=n_t[t]).tanh_()
            torch.lerp(n_t[t], h[t], z[t], out=h[t + 1])  # (1 - z) n + z h
        ctx.save_for_backward(x, w_ih, w_hh, hh, rz, n, hs)
        return _output(hs)

    @staticmethod
    def backward(ctx, d_hs):
        _no_double_backward()
        x, w_ih, w_hh, hh, rz, n, hs = ctx.saved_tensors
        T, B, H = d_hs.shape
        r, z = rz.chunk(2, dim=2)
        # Every pre-activation gradient is dL/dh_t times a factor known before the loop.
        a_n = workspace.empty(n.shape, n)  # (1 - z) (1 - n^2) = dL/dpre_n / dL/dh
        torch.addcmul(n.new_ones(()), n, n, value=-1, out=a_n)
        a_n.addcmul_(a_n, z, value=-1)
        fac = workspace.empty(hh.shape, hh)  # dL/d(W_hh h + b_hh) = dh * fac
        fr, fz, fn = fac.chunk(3, dim=2)
        torch.mul(a_n, r, out=fn)
        torch.mul(fn, hh[..., 2 * H :], out=fr).addcmul_(fr, r, value=-1)
        torch.sub(hs[:-1], n, out=fz).mul_(z).addcmul_(fz, z, value=-1)
        dh = _grad_buffer(d_hs)
        fac_t, fac_rows = fac.unbind(0), fac.view(T, B, 3, H).unbind(0)
        dh_t, dh_rows, z_t = dh.unbind(0), dh.unsqueeze(2).unbind(0), z.unbind(0)
        for t in range(T - 1, -1, -1):
            fac_rows[t].mul_(dh_rows[t + 1])
            dh_t[t].addcmul_(dh_t[t + 1], z_t[t])
            dh_t[t].addmm_(fac_t[t], w_hh)
        dw_hh = _weight_grad(fac.reshape(T * B, 3 * H), hs[:-1].reshape(T * B, H))
        db_hh = fac.sum((0, 1)) if ctx.needs_input_grad[5] else None
        torch.mul(dh[1:], a_n, out=fn)  # fac is now dL/d(projection): r, z as above, n differs
        dx, dw_ih, db_ih = _project_backward(ctx, fac, x, w_ih, 2, 4)
        return dx, dh[0].clone(), dw_ih, dw_hh, db_ih, db_hh


class _GRUSeedFunction(torch.autograd.Function):
    """seed form: ``n = tanh(W_in x + b_n + W_hn (r * h))``; ``bias`` holds every bias."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, bias):
        T = x.shape[0]
        H = w_hh.shape[1]
        w_rz_t, w_n_t = w_hh[: 2 * H].t(), w_hh[2 * H :].t()
        xg = _project(x, w_ih, bias, 3 * H)
        rz = workspace.empty((T, x.shape[1], 2 * H), xg)
        hs = _states(x, h0, H)
        rh = workspace.empty(hs[1:].shape, xg)  # r * h_{t-1}
        n = workspace.empty(hs[1:].shape, xg)
        x_rz, x_n = xg[..., : 2 * H].unbind(0), xg[..., 2 * H :].unbind(0)
        rz_t, r, z = rz.unbind(0), rz[..., :H].unbind(0), rz[..., H:].unbind(0)
        h, rh_t, n_t = hs.unbind(0), rh.unbind(0), n.unbind(0)
        for t in range(T):
            torch.addmm(x_rz[t], h[t], w_rz_t, out=rz_t[t]).sigmoid_()
            torch.mul(r[t], h[t], out=rh_t[t])
            torch.addmm(x_n[t], rh_t[t], w_n_t, out=n_t[t]).tanh_()
            torch.lerp(n_t[t], h[t], z[t], out=h[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, rz, rh, n, hs)
        return _output(hs)

    @staticmethod
    def backward(ctx, d_hs):
        _no_double_backward()
        x, w_ih, w_hh, rz, rh, n, hs = ctx.saved_tensors
        T, B, H = d_hs.shape
        w_rz, w_n = w_hh[: 2 * H], w_hh[2 * H :]
        r, z = rz.chunk(2, dim=2)
        h_prev = hs[:-1]
        a_n = (1 - z) * (1 - n * n)
        a_z = (h_prev - n) * z * (1 - z)
        a_r = h_prev * r * (1 - r)
        dh = _grad_buffer(d_hs)
        d_pre = workspace.empty((T, B, 3 * H), n)  # dL/d(projection), packed r, z, n
        d_rh = workspace.empty(n.shape, n)  # dL/d(r * h_{t-1})
        dh_t, d_rh_t = dh.unbind(0), d_rh.unbind(0)
        d_r, d_z, d_n = (d_pre[..., k * H : (k + 1) * H].unbind(0) for k in range(3))
        d_rz = d_pre[..., : 2 * H].unbind(0)
        a_n, a_z, a_r, r, z = (v.unbind(0) for v in (a_n, a_z, a_r, r, z))
        for t in range(T - 1, -1, -1):
            d = dh_t[t + 1]
            torch.mm(torch.mul(d, a_n[t], out=d_n[t]), w_n, out=d_rh_t[t])
            torch.mul(d_rh_t[t], a_r[t], out=d_r[t])
            torch.mul(d, a_z[t], out=d_z[t])
            dh_t[t].addcmul_(d, z[t])
            dh_t[t].addcmul_(d_rh_t[t], r[t])
            dh_t[t].addmm_(d_rz[t], w_rz)
        flat = d_pre.reshape(T * B, 3 * H)
        dw_hh = torch.cat([_weight_grad(flat[:, : 2 * H], h_prev.reshape(T * B, H)),
                           _weight_grad(flat[:, 2 * H :], rh.reshape(T * B, H))])
        dx, dw_ih, db = _project_backward(ctx, d_pre, x, w_ih, 2, 4)
        return dx, dh[0].clone(), dw_ih, dw_hh, db


# --- one layer, one direction, from the layer input ---------------------------------------------


def rnn_layer(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """All hidden states ``(T, B, H)`` of one RNN layer over ``x`` ``(T, B, I)``."""
    bias = None if bias_ih is None else bias_ih + bias_hh
    return _RNNFunction.apply(x.contiguous(), h0, weight_ih, weight_hh, bias, nonlinearity)


def lstm_layer(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """``(hs (T, B, H), c_T)`` of one LSTM layer over ``x`` ``(T, B, I)``."""
    bias = None if bias_ih is None else bias_ih + bias_hh
    return _LSTMFunction.apply(x.contiguous(), h0, c0, weight_ih, weight_hh, bias)


def gru_layer(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, form="torch"):
    """All hidden states ``(T, B, H)`` of one GRU layer over ``x`` ``(T, B, I)``.

    In the seed form the n-chunk of ``bias_hh`` is not used (its gradient is zero).
    """
    if form == "torch":
        return _GRUFunction.apply(x.contiguous(), h0, weight_ih, weight_hh, bias_ih, bias_hh)
    bias = None
    if bias_ih is not None:  # b_hr, b_hz add to b_ir, b_iz; there is no b_hn
        H = weight_hh.shape[1]
        bias = bias_ih + torch.cat([bias_hh[: 2 * H], bias_hh.new_zeros(H)])
    return _GRUSeedFunction.apply(x.contiguous(), h0, weight_ih, weight_hh, bias)
