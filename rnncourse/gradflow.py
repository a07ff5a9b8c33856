"""How a gradient travels back through time, and how fast it shrinks or grows.

For a vanilla RNN ``h_k = f(a_k)``, ``a_k = W_hh h_{k-1} + W_xh x_k + b_h``, the chain rule gives

    dh_T/dh_t = prod_{k=t+1..T} diag(f'(a_k)) W_hh,

so with ``gamma = max |f'|`` (1 for tanh and relu, 1/4 for the sigmoid) every factor has norm at
most ``gamma * sigma_max(W_hh)`` and ``||dh_T/dh_t|| <= (gamma * sigma_max)^(T-t)``. Pascanu,
Mikolov & Bengio (2013): ``sigma_max < 1/gamma`` is sufficient for vanishing gradients,
``sigma_max > 1/gamma`` is necessary (not sufficient) for exploding ones.

This module measures it. :func:`gradient_flow` builds a cell whose recurrent matrix has a chosen
``sigma_max`` (or spectral radius), runs it for ``T`` steps on random inputs of a chosen scale,
backpropagates the loss ``L = v . h_T`` (``||v|| = 1``) and returns ``||dL/dh_t||`` for every
``t = 0..T`` with the bound, the fitted per-step rate and what overflowed or underflowed. It is
fast (a few milliseconds at ``T = 200, H = 128``) because the explorer of lesson 4 calls it on
every slider move.

Set-up of each cell (``h_0 = 0`` and ``c_0 = 0`` unless said otherwise; biases zero unless said):

- ``rnn_tanh``, ``rnn_relu``: as above. With no input the tanh state stays at 0, where
  ``tanh' = 1``, so the bound is reached exactly. The relu state also stays at 0, where torch's
  ``relu'(0) = 0``: no gradient passes until some input switches units on.
- ``rnn_sigmoid``: the *centred* sigmoid RNN, ``h_0 = 1/2`` and ``b_h = -W_hh (1/2, ..., 1/2)``,
  so that with no input every pre-activation sits at 0, where ``sigma' = 1/4`` is largest.
- ``lstm``: every recurrent block ``W_hi, W_hf, W_hg, W_ho`` has the chosen ``sigma_max``;
  ``b_f = forget_bias``. Its state is ``(h_t, c_t)``: the norm reported is that of
  ``(dL/dh_t, dL/dc_t)`` together, the gradient handed back to step ``t``.
- ``gru`` (torch form): every block ``W_hr, W_hz, W_hn`` has the chosen ``sigma_max``;
  ``b_z = forget_bias``, since ``z`` is the GRU's keep gate (``h_t = (1-z) n + z h_{t-1}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import validate

CELLS = ("rnn_tanh", "rnn_relu", "rnn_sigmoid", "lstm", "gru")
GAMMA = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}
KINDS = ("orthogonal", "gaussian")
SCALES = ("sigma_max", "spectral_radius")
DTYPES = ("float32", "float64")
_GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def activation_of(cell: str) -> str | None:
    """``"tanh"``, ``"relu"`` or ``"sigmoid"`` for an RNN cell name, ``None`` for LSTM and GRU."""
    validate.choice("cell", cell, CELLS)
    return cell[4:] if cell.startswith("rnn_") else None


def gamma_of(cell: str) -> float | None:
    """``max |f'|`` of the cell's activation (1, 1 or 1/4); ``None`` for the gated cells."""
    activation = activation_of(cell)
    return None if activation is None else GAMMA[activation]


# ---------------------------------------------------------------------------------------------
# Weights and inputs


@lru_cache(maxsize=64)
def _base_matrix(size: int, kind: str, seed: int, index: int):
    """A normalised random matrix with its singular values and spectral radius (read-only)."""
    rng = np.random.default_rng([seed, index, 7])
    gauss = rng.standard_normal((size, size)) / np.sqrt(size)
    if kind == "orthogonal":
        q, r = np.linalg.qr(gauss)
        matrix = q * np.sign(np.diag(r))
        singular = np.ones(size)
        radius = 1.0
    else:
        matrix = gauss
        singular = np.linalg.svd(matrix, compute_uv=False)
        radius = float(np.max(np.abs(np.linalg.eigvals(matrix))))
    for arr in (matrix, singular):
        arr.setflags(write=False)
    return matrix, singular, radius


def _check_matrix_args(hidden_size, sigma, kind, scale, seed):
    H = validate.positive_int("hidden_size", hidden_size)
    sigma = validate.positive_float("sigma", sigma, allow_zero=True)
    validate.choice("kind", kind, KINDS)
    validate.choice("scale", scale, SCALES)
    seed = validate.positive_int("seed", seed, minimum=0)
    return H, sigma, seed


def _scaled(H, sigma, kind, scale, seed, index):
    matrix, singular, radius = _base_matrix(H, kind, seed, index)
    factor = sigma / (singular[0] if scale == "sigma_max" else radius)
    return matrix * factor, singular * factor, radius * factor


def recurrent_matrix(hidden_size: int, sigma: float, *, kind: str = "orthogonal",
                     scale: str = "sigma_max", seed: int = 0) -> np.ndarray:
    """A random ``(H, H)`` matrix whose largest singular value (or spectral radius) is ``sigma``.

    ``kind="orthogonal"``: ``sigma * Q`` with ``Q`` uniform orthogonal, so *every* singular
    value and every eigenvalue modulus equals ``sigma``. ``kind="gaussian"``: entries
    ``N(0, 1/H)`` rescaled; then ``sigma_max`` is about twice the spectral radius, and
    ``scale`` says which of the two is set to ``sigma``.
    """
    H, sigma, seed = _check_matrix_args(hidden_size, sigma, kind, scale, seed)
    return _scaled(H, sigma, kind, scale, seed, 0)[0].copy()


def make_params(cell: str, hidden_size: int, *, sigma: float = 1.0, kind: str = "orthogonal",
                scale: str = "sigma_max", forget_bias: float = 0.0, input_size: int = 32,
                seed: int = 0) -> dict[str, np.ndarray]:
    """Float64 parameters of ``cell`` with the keys of ``docs/conventions.md`` (torch form GRU).

    Every recurrent block is :func:`recurrent_matrix` with ``sigma`` (each block its own draw),
    input blocks have entries ``N(0, 1/I)`` so an input of standard deviation ``s`` drives each
    pre-activation with standard deviation about ``s``. See the module docstring for biases.
    """
    validate.choice("cell", cell, CELLS)
    H, sigma, seed = _check_matrix_args(hidden_size, sigma, kind, scale, seed)
    I = validate.positive_int("input_size", input_size)
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.number)):
        raise TypeError(f"forget_bias: expected a number, got {type(forget_bias).__name__}")
    if not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias: expected a finite number, got {forget_bias}")
    rng = np.random.default_rng([seed, 11])
    gates = _GATES.get(cell, ("h",))
    params: dict[str, np.ndarray] = {}
    for index, gate in enumerate(gates):
        params[f"W_x{gate}"] = rng.standard_normal((H, I)) / np.sqrt(I)
        params[f"W_h{gate}"] = _scaled(H, sigma, kind, scale, seed, index)[0].copy()
        params[f"b_{gate}"] = np.zeros(H)
    if cell == "lstm":
        params["b_f"][:] = forget_bias
    elif cell == "gru":
        params["b_z"][:] = forget_bias
        params["b_hn"] = np.zeros(H)
    elif cell == "rnn_sigmoid":
        params["b_h"] = -0.5 * params["W_hh"].sum(axis=1)
    return params


def initial_state(cell: str, hidden_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``(h_0, c_0)``: zeros (``c_0`` only for the LSTM), ``h_0 = 1/2`` for the centred sigmoid."""
    validate.choice("cell", cell, CELLS)
    H = validate.positive_int("hidden_size", hidden_size)
    h0 = np.full(H, 0.5) if cell == "rnn_sigmoid" else np.zeros(H)
    return h0, (np.zeros(H) if cell == "lstm" else None)


def make_inputs(seq_len: int, input_size: int, input_scale: float, *, seed: int = 0) -> np.ndarray:
    """``(T, I)`` inputs with i.i.d. ``N(0, input_scale^2)`` entries (one sequence, no batch)."""
    T = validate.positive_int("seq_len", seq_len)
    I = validate.positive_int("input_size", input_size)
    input_scale = validate.positive_float("input_scale", input_scale, allow_zero=True)
    seed = validate.positive_int("seed", seed, minimum=0)
    return input_scale * _unit_inputs(T, I, seed)


@lru_cache(maxsize=16)
def _unit_inputs(T, I, seed):
    out = np.random.default_rng([seed, 23]).standard_normal((T, I))
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------------------------------
# Backpropagation of L = v . h_T, one sequence


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning for large |z|


def _row_norms(G: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row in float64, without overflow of the squares."""
    G = np.asarray(G, dtype=np.float64)
    with np.errstate(all="ignore"):
        peak = np.max(np.abs(G), axis=1)
        safe = np.where((peak > 0) & np.isfinite(peak), peak, 1.0)
        norms = peak * np.sqrt(np.sum((G / safe[:, None]) ** 2, axis=1))
        norms = np.where(peak == 0, 0.0, norms)
        norms = np.where(np.isnan(G).any(axis=1), np.nan, norms)
    return norms


@dataclass
class StateGradients:
    """``||dL/dh_t||`` (and ``||dL/dc_t||`` for the LSTM) for t = 0..T, float64."""

    norms: np.ndarray
    h_norms: np.ndarray
    c_norms: np.ndarray | None
    derivative_mean: float  # mean f'(a_t) over steps and units (RNN); nan for gated cells
    forward_finite: bool  # False when the hidden states themselves overflowed


def state_gradients(cell: str, params: dict, x: np.ndarray, *, h0=None, c0=None, v=None,
                    dtype: str = "float64") -> StateGradients:
    """Backpropagate ``L = v . h_T`` through ``cell`` run on ``x`` of shape ``(T, I)``.

    Returns the norm of the gradient of ``L`` with respect to the state that step ``t`` hands to
    step ``t+1`` (``h_t``; ``(h_t, c_t)`` for the LSTM), for ``t = 0..T``. ``v`` defaults to
    ``(1, ..., 1) / sqrt(H)``; ``h0`` and ``c0`` to :func:`initial_state`. ``dtype="float32"``
    computes in single precision, as training does, so overflow and underflow come earlier.
    Overflow gives ``inf``/``nan`` norms, underflow gives 0: nothing is hidden or raised.
    """
    validate.choice("cell", cell, CELLS)
    validate.choice("dtype", dtype, DTYPES)
    gates = _GATES.get(cell, ("h",))
    required = [f"{w}{g}" for g in gates for w in ("W_x", "W_h", "b_")]
    validate.param_dict("params", params, required, ["b_hn"] if cell == "gru" else [])
    H = validate.array(f"params['W_h{gates[0]}']", params[f"W_h{gates[0]}"],
                       [("H", None), ("H", None)]).shape[0]
    I = validate.array(f"params['W_x{gates[0]}']", params[f"W_x{gates[0]}"],
                       [("H", H), ("I", None)]).shape[1]
    for g in gates:
        validate.array(f"params['W_h{g}']", params[f"W_h{g}"], [("H", H), ("H", H)])
        validate.array(f"params['W_x{g}']", params[f"W_x{g}"], [("H", H), ("I", I)])
        validate.array(f"params['b_{g}']", params[f"b_{g}"], [("H", H)])
    x = validate.array("x", x, [("T", None), ("I", I)])
    default_h0, default_c0 = initial_state(cell, H)
    h0 = default_h0 if h0 is None else validate.array("h0", h0, [("H", H)])
    v = np.ones(H) / np.sqrt(H) if v is None else validate.array("v", v, [("H", H)])
    if cell == "lstm":
        c0 = default_c0 if c0 is None else validate.array("c0", c0, [("H", H)])
    elif c0 is not None:
        raise ValueError(f"c0: only the LSTM has a cell state, got c0 for cell {cell!r}")
    ft = np.float32 if dtype == "float32" else np.float64
    W_x = np.concatenate([params[f"W_x{g}"] for g in gates]).astype(ft)
    W_h = np.concatenate([params[f"W_h{g}"] for g in gates]).astype(ft)
    b = np.concatenate([params[f"b_{g}"] for g in gates]).astype(ft)
    with np.errstate(all="ignore"):
        U = x.astype(ft) @ W_x.T + b  # (T, gates*H): the input part of every pre-activation
        if cell == "lstm":
            return _lstm(U, W_h, h0.astype(ft), c0.astype(ft), v.astype(ft))
        if cell == "gru":
            b_hn = params.get("b_hn", np.zeros(H)).astype(ft)
            return _gru(U, W_h, b_hn, h0.astype(ft), v.astype(ft))
        return _rnn(U, W_h, h0.astype(ft), v.astype(ft), activation_of(cell))


def _rnn(U, W, h0, v, activation):
    T, H = U.shape
    hs = np.empty((T + 1, H), dtype=U.dtype)
    hs[0] = h0
    A = np.empty_like(U)
    h = h0
    for t in range(T):
        a = W @ h + U[t]
        A[t] = a
        h = np.tanh(a) if activation == "tanh" else (
            np.maximum(a, 0) if activation == "relu" else _sigmoid(a))
        hs[t + 1] = h
    if activation == "tanh":
        deriv = 1 - hs[1:] ** 2
    elif activation == "relu":
        deriv = (A > 0).astype(U.dtype)
    else:
        deriv = hs[1:] * (1 - hs[1:])
    G = np.empty((T + 1, H), dtype=U.dtype)
    G[T] = v
    g = v
    for t in range(T, 0, -1):
        g = (g * deriv[t - 1]) @ W
        G[t - 1] = g
    norms = _row_norms(G)
    return StateGradients(norms, norms, None, float(np.mean(deriv)),
                          bool(np.all(np.isfinite(hs))))


def _lstm(U, W, h0, c0, v):
    T, H4 = U.shape
    H = H4 // 4
    hs = np.empty((T + 1, H), dtype=U.dtype)
    cs = np.empty((T + 1, H), dtype=U.dtype)
    Z = np.empty_like(U)
    h, c = h0, c0
    hs[0], cs[0] = h0, c0
    for t in range(T):
        z = W @ h + U[t]
        Z[t] = z
        sg = _sigmoid(z)
        i, f, o = sg[:H], sg[H:2 * H], sg[3 * H:]
        c = f * c + i * np.tanh(z[2 * H:3 * H])
        h = o * np.tanh(c)
        hs[t + 1], cs[t + 1] = h, c
    sg = _sigmoid(Z)
    i, f, o = sg[:, :H], sg[:, H:2 * H], sg[:, 3 * H:]
    g = np.tanh(Z[:, 2 * H:3 * H])
    tc = np.tanh(cs[1:])
    Kc = o * (1 - tc ** 2)  # dc_tot = dc + dh * Kc
    K3 = np.concatenate([g * i * (1 - i), cs[:-1] * f * (1 - f), i * (1 - g ** 2)], axis=1)
    Ko = tc * o * (1 - o)
    GH = np.empty((T + 1, H), dtype=U.dtype)
    GC = np.empty((T + 1, H), dtype=U.dtype)
    GH[T], GC[T] = v, 0
    dh, dc = v, np.zeros_like(v)
    W3, Wo = W[:3 * H], W[3 * H:]
    for t in range(T, 0, -1):
        dct = dc + dh * Kc[t - 1]
        dz3 = np.tile(dct, 3) * K3[t - 1]
        dh = dz3 @ W3 + (dh * Ko[t - 1]) @ Wo
        dc = dct * f[t - 1]
        GH[t - 1], GC[t - 1] = dh, dc
    h_norms, c_norms = _row_norms(GH), _row_norms(GC)
    norms = np.hypot(h_norms, c_norms)
    finite = bool(np.all(np.isfinite(hs)) and np.all(np.isfinite(cs)))
    return StateGradients(norms, h_norms, c_norms, float("nan"), finite)


def _gru(U, W, b_hn, h0, v):
    T, H3 = U.shape
    H = H3 // 3
    hs = np.empty((T + 1, H), dtype=U.dtype)
    R = np.empty((T, H), dtype=U.dtype)
    Zg = np.empty((T, H), dtype=U.dtype)
    N = np.empty((T, H), dtype=U.dtype)
    HN = np.empty((T, H), dtype=U.dtype)
    hs[0] = h0
    h = h0
    W_rz, W_n = W[:2 * H], W[2 * H:]
    for t in range(T):
        rz = _sigmoid(W_rz @ h + U[t, :2 * H])
        r, z = rz[:H], rz[H:]
        hn = W_n @ h + b_hn
        n = np.tanh(U[t, 2 * H:] + r * hn)
        h = (1 - z) * n + z * h
        R[t], Zg[t], N[t], HN[t] = r, z, n, hn
        hs[t + 1] = h
    Kn = (1 - Zg) * (1 - N ** 2)
    K = np.concatenate([Kn * HN * R * (1 - R), (hs[:-1] - N) * Zg * (1 - Zg), Kn * R], axis=1)
    G = np.empty((T + 1, H), dtype=U.dtype)
    G[T] = v
    g = v
    for t in range(T, 0, -1):
        g = g * Zg[t - 1] + (np.tile(g, 3) * K[t - 1]) @ W
        G[t - 1] = g
    norms = _row_norms(G)
    return StateGradients(norms, norms, None, float("nan"), bool(np.all(np.isfinite(hs))))


# ---------------------------------------------------------------------------------------------
# Rates and bounds


def per_step_rate(norms) -> float:
    """The per-step factor ``rho`` of a geometric decay or growth ``||dL/dh_t|| ~ C rho^(T-t)``.

    Least-squares fit of ``log ||dL/dh_t||`` against the distance ``T - t``, over the steps whose
    norm is finite and a normal float64 (zeros, ``inf`` and ``nan`` are left out). ``nan`` when
    fewer than two steps are left.
    """
    norms = validate.as_float_array("norms", norms, finite=False)
    validate.check_shape("norms", norms, [("T+1", None)])
    distance = np.arange(norms.size)[::-1]
    keep = np.isfinite(norms) & (norms >= np.finfo(np.float64).tiny)
    if keep.sum() < 2:
        return float("nan")
    d, y = distance[keep].astype(float), np.log(norms[keep])
    d0 = d - d.mean()
    slope = float(np.dot(d0, y - y.mean()) / np.dot(d0, d0))
    return float(np.exp(slope))


def log10_bound(gamma: float, sigma_max: float, seq_len: int) -> np.ndarray:
    """``log10 (gamma * sigma_max)^(T-t)`` for t = 0..T: the bound, in logs (never overflows)."""
    gamma = validate.positive_float("gamma", gamma)
    sigma_max = validate.positive_float("sigma_max", sigma_max, allow_zero=True)
    T = validate.positive_int("seq_len", seq_len)
    distance = np.arange(T, -1, -1, dtype=float)
    with np.errstate(all="ignore"):  # sigma_max = 0: log10 0 = -inf, and 0 * -inf at t = T
        per_step = np.log10(gamma * sigma_max)
        return np.where(distance == 0, 0.0, distance * per_step)


def jacobian_norms(params: dict, x: np.ndarray, *, activation: str = "tanh",
                   h0=None) -> np.ndarray:
    """Spectral norms ``||dh_T/dh_t||_2`` for t = 0..T of a vanilla RNN, from the explicit product.

    Builds ``dh_T/dh_t = J_T J_{T-1} ... J_{t+1}`` with ``J_k = diag(f'(a_k)) W_hh`` as matrices
    (float64), so it costs ``T`` matrix products and SVDs: meant for small ``H``, to check the
    derivation and the bound, not for the explorer.
    """
    validate.choice("activation", activation, tuple(GAMMA))
    validate.param_dict("params", params, ["W_xh", "W_hh", "b_h"])
    W = validate.array("params['W_hh']", params["W_hh"], [("H", None), ("H", None)])
    H = W.shape[0]
    W_xh = validate.array("params['W_xh']", params["W_xh"], [("H", H), ("I", None)])
    b = validate.array("params['b_h']", params["b_h"], [("H", H)])
    x = validate.array("x", x, [("T", None), ("I", W_xh.shape[1])])
    h = np.zeros(H) if h0 is None else validate.array("h0", h0, [("H", H)])
    f = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": _sigmoid}[activation]
    jacobians = []
    for x_t in x:
        a = W @ h + W_xh @ x_t + b
        h = f(a)
        deriv = {"tanh": 1 - h ** 2, "relu": (a > 0) * 1.0, "sigmoid": h * (1 - h)}[activation]
        jacobians.append(deriv[:, None] * W)
    T = len(jacobians)
    out = np.empty(T + 1)
    product = np.eye(H)
    out[T] = 1.0
    for t in range(T, 0, -1):
        product = product @ jacobians[t - 1]
        out[t - 1] = np.linalg.norm(product, 2)
    return out


def pascanu_regime(sigma_max: float, gamma: float) -> str:
    """Which of Pascanu et al.'s conditions ``sigma_max`` meets, in one sentence."""
    sigma_max = validate.positive_float("sigma_max", sigma_max, allow_zero=True)
    gamma = validate.positive_float("gamma", gamma)
    edge = 1 / gamma
    if np.isclose(sigma_max, edge, rtol=1e-9, atol=1e-12):
        return f"sigma_max = 1/gamma = {edge:g}: the edge; the bound neither shrinks nor grows"
    if sigma_max < edge:
        return (f"sigma_max = {sigma_max:.3g} < 1/gamma = {edge:g}: vanishing is guaranteed "
                f"(sufficient condition)")
    return (f"sigma_max = {sigma_max:.3g} > 1/gamma = {edge:g}: exploding is possible "
            f"(necessary condition met, not sufficient)")


# ---------------------------------------------------------------------------------------------
# The whole measurement, as the explorer calls it


@dataclass
class GradientFlow:
    """One measurement of gradient flow; see :func:`gradient_flow`."""

    cell: str
    seq_len: int
    hidden_size: int
    dtype: str
    norms: np.ndarray  # ||dL/dh_t||, t = 0..T, float64 (inf/nan on overflow, 0 on underflow)
    h_norms: np.ndarray
    c_norms: np.ndarray | None
    rate: float  # fitted per-step factor (nan when it cannot be fitted)
    gamma: float | None  # None for gated cells
    sigma_max: float  # of the recurrent matrix (LSTM: W_hg, GRU: W_hn)
    spectral_radius: float
    singular_values: np.ndarray
    theory_rate: float | None  # gamma * sigma_max for the RNN cells
    log10_bound: np.ndarray | None  # log10 of (gamma sigma_max)^(T-t), RNN cells only
    derivative_mean: float
    n_overflow: int  # steps whose norm is inf or nan
    n_underflow: int  # steps whose norm is 0 or below the smallest normal number of dtype
    forward_finite: bool
    messages: list[str] = field(default_factory=list)

    @property
    def regime(self) -> str | None:
        """Pascanu et al.'s condition met by ``sigma_max`` (RNN cells); ``None`` for gated cells."""
        return None if self.gamma is None else pascanu_regime(self.sigma_max, self.gamma)


def gradient_flow(cell: str = "rnn_tanh", *, sigma: float = 1.0, seq_len: int = 200,
                  hidden_size: int = 128, kind: str = "orthogonal", scale: str = "sigma_max",
                  input_scale: float = 0.0, forget_bias: float = 0.0, input_size: int = 32,
                  seed: int = 0, dtype: str = "float64") -> GradientFlow:
    """Measure ``||dL/dh_t||`` for t = 0..T of a freshly drawn ``cell`` and compare with theory.

    ``sigma`` sets the largest singular value (``scale="sigma_max"``) or the spectral radius
    (``scale="spectral_radius"``) of every recurrent block; ``input_scale`` is the standard
    deviation of the i.i.d. Gaussian inputs (0: no input); ``forget_bias`` is the LSTM's
    ``b_f`` and the GRU's ``b_z`` (ignored by the RNN cells). Weights and inputs are drawn from
    ``seed`` (inputs do not change when ``sigma`` does). Never raises for overflow or
    underflow: ``messages`` says what happened, in words.
    """
    validate.choice("cell", cell, CELLS)
    H, sigma, seed = _check_matrix_args(hidden_size, sigma, kind, scale, seed)
    T = validate.positive_int("seq_len", seq_len)
    validate.choice("dtype", dtype, DTYPES)
    params = make_params(cell, H, sigma=sigma, kind=kind, scale=scale, forget_bias=forget_bias,
                         input_size=input_size, seed=seed)
    x = make_inputs(T, input_size, input_scale, seed=seed)
    grads = state_gradients(cell, params, x, dtype=dtype)
    index = {"lstm": 2, "gru": 2}.get(cell, 0)
    _, singular, radius = _scaled(H, sigma, kind, scale, seed, index)
    gamma = gamma_of(cell)
    sigma_max = float(singular[0])
    norms = grads.norms
    tiny = float(np.finfo(np.float32 if dtype == "float32" else np.float64).tiny)
    overflow = ~np.isfinite(norms)
    underflow = np.isfinite(norms) & (norms < tiny)
    if not grads.forward_finite:
        # Backward through inf states gives nan or 0 (relu'(inf·0), inf - inf): such a 0 is
        # not an underflow, it is the forward pass's overflow showing up in the gradient.
        overflow, underflow = overflow | underflow, np.zeros_like(underflow)
    result = GradientFlow(
        cell=cell, seq_len=T, hidden_size=H, dtype=dtype, norms=norms, h_norms=grads.h_norms,
        c_norms=grads.c_norms, rate=per_step_rate(norms), gamma=gamma, sigma_max=sigma_max,
        spectral_radius=float(radius), singular_values=np.array(singular),
        theory_rate=None if gamma is None else gamma * sigma_max,
        log10_bound=None if gamma is None else log10_bound(gamma, sigma_max, T),
        derivative_mean=grads.derivative_mean, n_overflow=int(overflow.sum()),
        n_underflow=int(underflow.sum()), forward_finite=grads.forward_finite,
    )
    result.messages = _messages(result, overflow, underflow, tiny)
    return result


def _messages(r: GradientFlow, overflow, underflow, tiny) -> list[str]:
    out = []
    big = float(np.finfo(np.float32 if r.dtype == "float32" else np.float64).max)
    if not r.forward_finite:
        out.append(f"The hidden states themselves overflowed {r.dtype} (|h| > {big:.1e}) in the "
                   f"forward pass: the network's activity exploded, not only its gradient. "
                   f"No gradient behind the overflow means anything ({int(overflow.sum())} of "
                   f"{r.seq_len + 1} steps, marked as overflow); lower σ or the input scale.")
    elif overflow.any():
        last = int(np.flatnonzero(overflow).max())
        out.append(f"Overflow: ||dL/dh_t|| exceeded {r.dtype}'s largest number ({big:.1e}) and "
                   f"became inf (or nan) for {int(overflow.sum())} of {r.seq_len + 1} steps, "
                   f"from t = {last} back to t = 0. Training would stop with inf/nan "
                   f"gradients; clipping exists for this.")
    if underflow.any():
        dead = r.cell == "rnn_relu" and np.all(r.norms[:-1][underflow[:-1]] == 0)
        last = int(np.flatnonzero(underflow).max())
        if dead and r.log10_bound is not None and r.log10_bound[last] > np.log10(tiny):
            out.append(f"No gradient reaches t <= {last}: every relu unit has a = 0 or less "
                       f"there, where relu' = 0 (with no input the state stays at 0). "
                       f"Raise the input scale.")
        else:
            out.append(f"Underflow: ||dL/dh_t|| fell below {r.dtype}'s smallest normal number "
                       f"({tiny:.1e}) for {int(underflow.sum())} of {r.seq_len + 1} steps, "
                       f"from t = {last} back to t = 0: those inputs get no learning signal.")
    if not np.isfinite(r.rate):
        out.append("The per-step rate cannot be fitted: fewer than two steps have a finite, "
                   "nonzero gradient.")
    return out
