"""Recurrences linear in the state, trained through the parallel scan: minGRU and an LRU.

**minGRU** (Feng et al. 2024, "Were RNNs all we needed?"): the GRU with its gates computed
from the input alone,

    z_t = sigma(W_z x_t + b_z),   h~_t = W_h x_t + b_h,                           (1)
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t,                                       (2)

so (2) is ``h_t = a_t * h_{t-1} + b_t`` with ``a_t = 1 - z_t``, ``b_t = z_t * h~_t``, and
:func:`rnncourse.scan.blelloch_torch` computes every ``h_t`` at once. The nonlinearity lives in
the gate, a function of the input: stacking layers (the next layer's gates read this layer's
states) is what makes the whole network nonlinear in its past.

**LRU** (Orvieto et al. 2023, "Resurrecting recurrent neural networks for long sequences"):
a diagonal complex recurrence of N modes,

    lambda_j = exp(-exp(nu_j) + i exp(theta_j)),   gamma_j = sqrt(1 - |lambda_j|^2)   (3)
    x_t = lambda * x_{t-1} + gamma * (B u_t),      y_t = Re(C x_t) + D * u_t          (4)

``|lambda_j| = exp(-exp(nu_j)) < 1`` for every real ``nu_j``: stable by construction. The
eigenvalues start uniformly on the ring ``r_min <= |lambda| <= r_max`` with phases in
``[0, max_phase]`` (:func:`ring_init`). ``gamma`` keeps the state's variance that of the input
for white noise input; here it is computed from lambda at every call (Orvieto et al. train a
separate ``gamma_log`` initialised to this value). ``B`` and ``C`` are complex (``N, H``) and
(``H, N``), stored as real and imaginary parts; ``D`` is real ``(H,)``.

Along mode j the gradient going back one step is multiplied by ``conj(lambda_j)``: its size by
exactly ``|lambda_j|`` (lesson 4's bound, here an equality), so the ring sets the memory
horizon, ``-1 / ln|lambda_j|`` steps to fall by e.

Every module has ``forward_sequential``, the same computation step by step (the definition
the tests compare with). Input ``(T, B, I)`` (time-major, as :mod:`torch.nn`), output
``(T, B, H)``; the regressor wrappers return ``(B, O)`` from the last step.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from . import scan, validate

__all__ = ["MinGRU", "LRU", "ring_init", "lru_eigenvalues", "LinearRNNRegressor"]


def _check_x(x, input_size):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor (T, B, I), got {type(x).__name__}")
    if x.dim() != 3 or x.shape[-1] != input_size:
        raise ValueError(f"x: expected shape (T, B, I) with I = {input_size}, got "
                         f"{tuple(x.shape)}")


class MinGRU(nn.Module):
    """``num_layers`` stacked minGRU layers, equations (1)-(2); ``h0`` zero.

    Layer k > 0 reads layer k-1's states. Parameters per layer: ``weight_z (H, I_k)``,
    ``bias_z (H,)``, ``weight_h (H, I_k)``, ``bias_h (H,)`` (as ``linear_z``, ``linear_h``).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.input_size = validate.positive_int("input_size", input_size)
        self.hidden_size = validate.positive_int("hidden_size", hidden_size)
        self.num_layers = validate.positive_int("num_layers", num_layers)
        sizes = [input_size] + [hidden_size] * (num_layers - 1)
        self.linear_z = nn.ModuleList(nn.Linear(i, hidden_size) for i in sizes)
        self.linear_h = nn.ModuleList(nn.Linear(i, hidden_size) for i in sizes)

    def coefficients(self, x, layer: int = 0):
        """``(a, b) = (1 - z, z h~)`` of layer ``layer`` for its input ``x`` ``(T, B, I_k)``."""
        z = torch.sigmoid(self.linear_z[layer](x))
        return 1 - z, z * self.linear_h[layer](x)

    def forward(self, x):
        _check_x(x, self.input_size)
        for layer in range(self.num_layers):
            a, b = self.coefficients(x, layer)
            x = scan.blelloch_torch(a, b)  # (T, B, H)
        return x

    def forward_sequential(self, x):
        """Equation (2) one step after the other (the definition)."""
        _check_x(x, self.input_size)
        for layer in range(self.num_layers):
            h = x.new_zeros(x.shape[1], self.hidden_size)
            out = []
            for t in range(x.shape[0]):
                z = torch.sigmoid(self.linear_z[layer](x[t]))
                h = (1 - z) * h + z * self.linear_h[layer](x[t])
                out.append(h)
            x = torch.stack(out)
        return x


def ring_init(n_modes: int, r_min: float = 0.0, r_max: float = 1.0, max_phase: float = 2 * math.pi,
              rng=None):
    """``(nu_log, theta_log)`` of :class:`LRU`: eigenvalues uniform on the ring (by area).

    ``|lambda|^2`` uniform in ``[r_min^2, r_max^2]`` (so the points are uniform on the ring's
    area), phase uniform in ``[0, max_phase]``; ``nu = -ln|lambda|``, stored as ``log nu``, and
    the phase as ``log theta``. Requires ``0 <= r_min < r_max < 1`` (``nu`` must be positive,
    so ``|lambda| = 1`` is out of reach) and ``max_phase > 0``.
    """
    n = validate.positive_int("n_modes", n_modes)
    for name, value in (("r_min", r_min), ("r_max", r_max), ("max_phase", max_phase)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not 0 <= r_min < r_max < 1:
        raise ValueError(f"r_min, r_max: expected 0 <= r_min < r_max < 1, got r_min = {r_min}, "
                         f"r_max = {r_max}")
    if not max_phase > 0:
        raise ValueError(f"max_phase: expected a number > 0, got {max_phase}")
    rng = np.random.default_rng(rng)
    u1, u2 = rng.random(n), rng.random(n)
    radius2 = u1 * (r_max**2 - r_min**2) + r_min**2
    nu = -0.5 * np.log(radius2)  # |lambda| = exp(-nu)
    theta = max_phase * u2
    theta = np.maximum(theta, 1e-12)  # log of a zero phase: keep it tiny instead
    return np.log(nu), np.log(theta)


def lru_eigenvalues(nu_log, theta_log):
    """``lambda = exp(-exp(nu_log) + i exp(theta_log))`` (numpy or torch, as given)."""
    if isinstance(nu_log, torch.Tensor):
        return torch.exp(torch.complex(-torch.exp(nu_log), torch.exp(theta_log)))
    nu_log, theta_log = np.asarray(nu_log, float), np.asarray(theta_log, float)
    return np.exp(-np.exp(nu_log) + 1j * np.exp(theta_log))


class LRU(nn.Module):
    """One LRU layer, equations (3)-(4): input ``(T, B, H)``, output ``(T, B, H)``.

    ``n_modes`` N complex modes. Parameters: ``nu_log, theta_log (N,)``, ``B_re, B_im (N, H)``,
    ``C_re, C_im (H, N)``, ``D (H,)``.
    """

    def __init__(self, hidden_size: int, n_modes: int, *, r_min: float = 0.0,
                 r_max: float = 1.0 - 1e-3, max_phase: float = 2 * math.pi, seed: int = 0):
        super().__init__()
        H = self.hidden_size = validate.positive_int("hidden_size", hidden_size)
        N = self.n_modes = validate.positive_int("n_modes", n_modes)
        nu_log, theta_log = ring_init(N, r_min, r_max, max_phase, rng=seed)
        gen = torch.Generator().manual_seed(seed)
        self.nu_log = nn.Parameter(torch.tensor(nu_log, dtype=torch.float32))
        self.theta_log = nn.Parameter(torch.tensor(theta_log, dtype=torch.float32))
        scale_b = 1 / math.sqrt(2 * H)
        scale_c = 1 / math.sqrt(N)
        self.B_re = nn.Parameter(scale_b * torch.randn(N, H, generator=gen))
        self.B_im = nn.Parameter(scale_b * torch.randn(N, H, generator=gen))
        self.C_re = nn.Parameter(scale_c * torch.randn(H, N, generator=gen))
        self.C_im = nn.Parameter(scale_c * torch.randn(H, N, generator=gen))
        self.D = nn.Parameter(torch.randn(H, generator=gen))

    def eigenvalues(self):
        """``lambda (N,)``, complex."""
        return lru_eigenvalues(self.nu_log, self.theta_log)

    def _drive(self, u):
        lam = self.eigenvalues()
        gamma = torch.sqrt(1 - lam.abs() ** 2)  # (N,)
        Bu = torch.complex(u @ self.B_re.T, u @ self.B_im.T)  # (T, B, N)
        return lam, gamma * Bu

    def _read(self, x, u):
        C = torch.complex(self.C_re, self.C_im)  # (H, N)
        return (x @ C.T).real + self.D * u

    def forward(self, u):
        _check_x(u, self.hidden_size)
        lam, b = self._drive(u)
        x = scan.blelloch_torch(lam.expand_as(b), b)  # (T, B, N)
        return self._read(x, u)

    def forward_sequential(self, u):
        """Equation (4) one step after the other (the definition)."""
        _check_x(u, self.hidden_size)
        lam, b = self._drive(u)
        x = torch.zeros_like(b[0])
        states = []
        for t in range(u.shape[0]):
            x = lam * x + b[t]
            states.append(x)
        return self._read(torch.stack(states), u)


class LinearRNNRegressor(nn.Module):
    """A minGRU or LRU network with a linear read-out of the last step: ``(T, B, I) -> (B, O)``.

    ``kind="mingru"``: :class:`MinGRU` (``num_layers``), then ``Linear(H, O)``.
    ``kind="lru"``: ``Linear(I, H)`` and a ReLU (the recurrence is linear, so products of
    inputs, such as value times marker, must be formed before it), ``num_layers`` LRU layers
    with a ReLU between them, then ``Linear(H, O)``.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int = 1, *,
                 num_layers: int = 1, n_modes: int | None = None, r_min: float = 0.0,
                 r_max: float = 1.0 - 1e-3, max_phase: float = 2 * math.pi, seed: int = 0):
        super().__init__()
        self.kind = validate.choice("kind", kind, ("mingru", "lru"))
        I = self.input_size = validate.positive_int("input_size", input_size)
        H = validate.positive_int("hidden_size", hidden_size)
        O = validate.positive_int("output_size", output_size)
        num_layers = validate.positive_int("num_layers", num_layers)
        if kind == "mingru":
            self.core = MinGRU(I, H, num_layers)
            self.encoder = None
        else:
            self.encoder = nn.Linear(I, H)
            self.core = nn.ModuleList(
                LRU(H, n_modes or H, r_min=r_min, r_max=r_max, max_phase=max_phase,
                    seed=seed + k) for k in range(num_layers))
        self.head = nn.Linear(H, O)

    def _run(self, x, sequential: bool):
        _check_x(x, self.input_size)
        if self.kind == "mingru":
            h = self.core.forward_sequential(x) if sequential else self.core(x)
        else:
            h = torch.relu(self.encoder(x))
            for k, layer in enumerate(self.core):
                h = layer.forward_sequential(h) if sequential else layer(h)
                if k < len(self.core) - 1:
                    h = torch.relu(h)
        return self.head(h[-1])

    def forward(self, x):
        return self._run(x, sequential=False)

    def forward_sequential(self, x):
        """The same network with every recurrence run step by step."""
        return self._run(x, sequential=True)
