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
  ``dW_hh = sum_t dG_t^T h_{t-1} = dG.reshape(T*B, G*H).T @ h_prev.reshape(T*B, H)``, and the
  same for ``W_ih`` with the inputs;
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


def _project_backward(ctx, d_pre, x, w_ih, w_index, b_index):
    """Gradients of ``x``, ``w_ih`` and the bias (inputs ``w_index``, ``b_index`` of the
    Function) from the gradient ``d_pre`` ``(T, B, G)`` of the projection."""
    T, B, I = x.shape
    flat = d_pre.reshape(T * B, -1)
    need = ctx.needs_input_grad
    dx = (flat @ w_ih).view(T, B, I) if need[0] else None
    dw_ih = flat.t() @ x.reshape(T * B, I) if need[w_index] else None
    db = flat.sum(0) if need[b_index] else None
    return dx, dw_ih, db


def _states(x, h0, H):
    """``(T+1, B, H)`` buffer whose row 0 is ``h0``."""
    T, B, _ = x.shape
    hs = workspace.empty((T + 1, B, H), x)
    hs[0] = h0
    return hs


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
        pre = _project(x, w_ih, bias, H)
        hs = _states(x, h0, H)
        for t in range(x.shape[0]):
            torch.addmm(pre[t], hs[t], w_t, out=hs[t + 1])
            act_(hs[t + 1])
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(x, w_ih, w_hh, hs)
        return hs[1:]

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
        for t in range(T - 1, -1, -1):
            dpre[t].mul_(dh[t + 1])
            dh[t].addmm_(dpre[t], w_hh)
        dw_hh = dpre.reshape(T * B, H).t() @ hs[:-1].reshape(T * B, H)
        dx, dw_ih, db = _project_backward(ctx, dpre, x, w_ih, 2, 4)
        return dx, dh[0].clone(), dw_ih, dw_hh, db, None


class _LSTMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, bias):
        H = w_hh.shape[1]
        w_t = w_hh.t()
        gates = _project(x, w_ih, bias, 4 * H)  # pre-activations, then activated i, f, g, o
        hs, cs = _states(x, h0, H), _states(x, c0, H)
        tcs = workspace.empty(hs[1:].shape, x)  # tanh(c_t)
        for t in range(x.shape[0]):
            a = gates[t]
            a.addmm_(hs[t], w_t)
            a[:, : 2 * H].sigmoid_()
            a[:, 2 * H : 3 * H].tanh_()
            a[:, 3 * H :].sigmoid_()
            torch.mul(a[:, H : 2 * H], cs[t], out=cs[t + 1])  # f * c_{t-1}
            cs[t + 1].addcmul_(a[:, :H], a[:, 2 * H : 3 * H])  # + i * g
            torch.tanh(cs[t + 1], out=tcs[t])
            torch.mul(a[:, 3 * H :], tcs[t], out=hs[t + 1])  # o * tanh(c_t)
        ctx.save_for_backward(x, w_ih, w_hh, gates, hs, cs, tcs)
        return hs[1:], cs[-1].clone()

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
        for t in range(T - 1, -1, -1):  # fac becomes dL/dpre, step by step
            dc.addcmul_(dh[t + 1], dc_dh[t])
            fac[t].view(B, 4, H)[:, :3].mul_(dc.unsqueeze(1))
            fac[t, :, 3 * H :].mul_(dh[t + 1])
            dc.mul_(f[t])  # dL/dc_{t-1}; its own dh part is added in the next iteration
            dh[t].addmm_(fac[t], w_hh)
        dw_hh = fac.reshape(T * B, 4 * H).t() @ hs[:-1].reshape(T * B, H)
        dx, dw_ih, db = _project_backward(ctx, fac, x, w_ih, 3, 5)
        return dx, dh[0].clone(), dc, dw_ih, dw_hh, db


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
        for t in range(T):
            if b_hh is None:
                torch.mm(hs[t], w_t, out=hh[t])
            else:
                torch.addmm(b_hh, hs[t], w_t, out=hh[t])
            torch.add(xp[t, :, : 2 * H], hh[t, :, : 2 * H], out=rz[t]).sigmoid_()
            torch.addcmul(xp[t, :, 2 * H :], rz[t, :, :H], hh[t, :, 2 * H :], out=n[t]).tanh_()
            torch.lerp(n[t], hs[t], rz[t, :, H:], out=hs[t + 1])  # (1 - z) n + z h
        ctx.save_for_backward(x, w_ih, w_hh, hh, rz, n, hs)
        return hs[1:]

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
        for t in range(T - 1, -1, -1):
            fac[t].view(B, 3, H).mul_(dh[t + 1].unsqueeze(1))
            dh[t].addcmul_(dh[t + 1], z[t])
            dh[t].addmm_(fac[t], w_hh)
        dw_hh = fac.reshape(T * B, 3 * H).t() @ hs[:-1].reshape(T * B, H)
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
        for t in range(T):
            torch.addmm(xg[t, :, : 2 * H], hs[t], w_rz_t, out=rz[t]).sigmoid_()
            torch.mul(rz[t, :, :H], hs[t], out=rh[t])
            torch.addmm(xg[t, :, 2 * H :], rh[t], w_n_t, out=n[t]).tanh_()
            torch.lerp(n[t], hs[t], rz[t, :, H:], out=hs[t + 1])
        ctx.save_for_backward(x, w_ih, w_hh, rz, rh, n, hs)
        return hs[1:]

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
        for t in range(T - 1, -1, -1):
            d = dh[t + 1]
            dn = torch.mul(d, a_n[t], out=d_pre[t, :, 2 * H :])
            torch.mm(dn, w_n, out=d_rh[t])
            torch.mul(d_rh[t], a_r[t], out=d_pre[t, :, :H])
            torch.mul(d, a_z[t], out=d_pre[t, :, H : 2 * H])
            dh[t].addcmul_(d, z[t])
            dh[t].addcmul_(d_rh[t], r[t])
            dh[t].addmm_(d_pre[t, :, : 2 * H], w_rz)
        flat = d_pre.reshape(T * B, 3 * H)
        dw_hh = torch.cat([flat[:, : 2 * H].t() @ h_prev.reshape(T * B, H),
                           flat[:, 2 * H :].t() @ rh.reshape(T * B, H)])
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
