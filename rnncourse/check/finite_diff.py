"""Exercise ``numerical_gradient`` (lesson 2): the centred finite difference a gradient check
uses, ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every entry i.

The reference is :func:`rnncourse.gradcheck.numerical_gradient`. The cases use eps = 1e-3, large
enough that a one-sided difference (error O(eps)) is told from the centred one (error O(eps^2)).
"""

from __future__ import annotations

import numpy as np

from rnncourse.gradcheck import numerical_gradient as reference_gradient

from ._engine import Case, Exercise, Mistake
from ._spec import Spec

EPS = 1e-3


def _cubic(x):
    return float(np.sum(x**3 - 2.0 * x**2 * np.roll(x, 1)))


def _tanh_layer(x):
    W = np.linspace(-1.0, 1.0, x.size * 3).reshape(3, x.size)
    return float(np.sum(np.tanh(W @ x.ravel() + 0.3) ** 2))


def _sin(x):
    return float(np.sum(np.sin(2.0 * x) * x))


CASES = [  # (function, shape)
    (_cubic, (2, 3)),
    (_tanh_layer, (4,)),
    (_sin, (1, 5)),       # one row: B = 1
    (_cubic, (2, 1, 3)),
]


def _cases(options):
    cases = []
    for seed, (f, shape) in enumerate(CASES):
        x = np.random.default_rng([seed, 8]).normal(0.0, 1.0, shape)
        d = {"f": f, "x": x, "eps": EPS}
        cases.append(Case((f, x, EPS), ("f", "x", "eps"),
                          {"f": f.__name__.lstrip("_"), "shape": shape}, d))
    return cases


def _reference(case):
    d = case.data
    return {"grad": reference_gradient(d["f"], d["x"].copy(), d["eps"])}


def _one_sided(d, sign):
    """A WRONG difference: forward (sign +1) or backward (sign -1) one-sided."""
    f, x, eps = d["f"], d["x"].copy(), d["eps"]
    base = f(x)
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + sign * eps
        grad[idx] = sign * (f(x) - base) / eps
        x[idx] = old
    return {"grad": grad}


def _all_at_once(d):
    f, x, eps = d["f"], d["x"], d["eps"]
    value = (f(x + eps) - f(x - eps)) / (2 * eps)
    return {"grad": np.full(x.shape, value)}


def mistakes():
    return [
        Mistake("forward_difference", "You took the one-sided difference (f(x + eps) - f(x)) / "
                "eps: its error is O(eps). The centred one, (f(x + eps) - f(x - eps)) / (2 eps), "
                "has error O(eps^2), which is what a gradient check needs.",
                lambda d: _one_sided(d, 1.0)),
        Mistake("backward_difference", "You took the one-sided difference (f(x) - f(x - eps)) / "
                "eps: use the centred (f(x + eps) - f(x - eps)) / (2 eps).",
                lambda d: _one_sided(d, -1.0)),
        Mistake("all_at_once", "You moved every entry of x at once: that is the derivative "
                "along the all-ones direction, the same number everywhere. Perturb one entry at "
                "a time (`x[idx] += eps`, evaluate, restore).", _all_at_once),
    ]


def exercise(options):
    return Exercise(
        name="numerical_gradient",
        call="f(f, x, eps) -> grad",
        make_cases=_cases,
        reference=_reference,
        unpack=lambda r, c: {"grad": r},
        output_dims=lambda name: None,
        input_dims={},
        mistakes=mistakes(),
        error_note="The check calls your function with a scalar function f, a float array x "
                   "and eps = 1e-3; f(x) returns a float.",
    )


CENTRED = Spec(
    name="numerical_gradient",
    lesson="02_core_operations",
    exercise=exercise,
    solution=reference_gradient,
    signature="f, x, eps=1e-6",
    doc=("Centred finite differences of a scalar function: for every entry i of x, "
         "(f(x + eps e_i) - f(x - eps e_i)) / (2 eps).\n\n"
         "    x: a float array (perturb one entry at a time, and put it back).\n"
         "    Return grad, an array of x's shape."),
    summary="Check a centred finite-difference gradient ``fn(f, x, eps) -> grad``.",
)
