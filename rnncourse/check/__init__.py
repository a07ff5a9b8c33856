"""Exercise checks a learner calls from a notebook.

A learner writes, say, their own ``rnn_step_forward`` in a cell and runs
``check.rnn_step_forward(my_rnn_step_forward)``. The check runs it against the course's
reference (``rnncourse.np_rnn`` and friends, ``rnncourse.clipping``, ``rnncourse.gradcheck``)
on several seeded random cases (B = 1, I != H, T = 1 included), compares every output, and
returns a :class:`Verdict`: a green or red box in a notebook, plain text elsewhere. It never
raises: a stub gets "not implemented yet", an exception its type, line and a hint, a wrong shape
the expected ``(B, H) = (3, 5)``, and wrong values the output, time step and, where the
exercise's catalogue of known mistakes recognises it, the mistake (transposed weight, gate
order, missing bias, forgotten tanh, constant factor, off-by-one over time, gradients not
accumulated, ...); where none does, how far each output is off and which gates or steps.

Layout: one module per exercise family (``rnn_step``, ``rnn_seq``, ``finite_diff``,
``lstm_step``, ``gru_step``, ``clip``, ``embedding``, ``softmax_loss``) holds its cases,
reference, catalogue, template and solution in a :class:`Spec`; ``_table.TABLE`` lists them,
and this module makes one check per row, named after the exercise (``check.rnn_step_forward``,
never ``check.check_rnn_step_forward``). ``_engine`` is the machinery they share.
``show_solution(name)`` shows the reference's source (except in an assignment, where
``solutions_off()`` says why it refuses); ``template(name)`` gives a stub to start from.
``progress()`` lists the exercises the learner's own functions have passed (kept in the results
folder), ``reset_progress()`` forgets them.
"""

from __future__ import annotations

import inspect

from ._engine import Problem
from ._engine import run as _run
from ._progress import Progress, progress, record_pass, reset_progress
from ._solutions import SolutionsOff, show_solution, solution_source, solutions_off, template
from ._spec import Spec
from ._table import TABLE
from ._verdict import Verdict


def _make_check(spec: Spec):
    """The public check of one table row: ``check(fn, **options) -> Verdict``, never raises."""
    defaults = {option.name: option.default for option in spec.options}
    made = {}  # options -> (exercise, cases): the cases are seeded, so build them once

    def exercise(read):
        if any(callable(v) for v in read.values()):  # learner code builds the cases
            return spec.exercise(read), None
        key = tuple(sorted(read.items()))
        if key not in made:
            ex = spec.exercise(read)
            try:
                made[key] = (ex, ex.make_cases(read))
            except Exception:  # the engine reports it
                return ex, None
        return made[key]

    def check(fn, **options) -> Verdict:
        unknown = [k for k in options if k not in defaults]
        if unknown:
            allowed = ", ".join(defaults) or "none"
            return Verdict(False, f"{spec.name}: unknown option {', '.join(unknown)} (options: "
                           f"{allowed}).", {"exercise": spec.name, "status": "invalid"})
        read = {}
        for option in spec.options:
            try:
                read[option.name] = option.read(options.get(option.name, option.default))
            except Problem as problem:
                return Verdict(False, str(problem), {"exercise": spec.name,
                                                     "status": "invalid"})
        try:
            ex, cases = exercise(read)
        except Exception as exc:  # a bug in the course must not reach the learner as a traceback
            return Verdict(False, f"The check itself failed ({type(exc).__name__}: {exc}). This "
                           "is a bug in the course, not in your code: please report it.",
                           {"exercise": spec.name, "status": "invalid"})
        verdict = _run(ex, fn, read, cases)
        if verdict.passed:
            record_pass(spec.name, fn)  # the learner's progress (never the course's own code)
        return verdict

    check.__name__ = check.__qualname__ = spec.name
    check.__module__ = __name__
    check.__doc__ = spec.summary
    check.__signature__ = inspect.Signature(
        [inspect.Parameter("fn", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default)
           for o in spec.options],
        return_annotation=Verdict)
    check.exercise = spec.name
    return check


_CHECKS = {spec.name: _make_check(spec) for spec in TABLE}
globals().update(_CHECKS)
EXERCISES = tuple(_CHECKS)


def __getattr__(name):
    if name.startswith("check_") and name[len("check_"):] in _CHECKS:
        raise AttributeError(f"check.{name} is not a check: the checks are named after their "
                             f"exercise, call check.{name[len('check_'):]}(...) instead.")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EXERCISES", "Progress", "SolutionsOff", "Verdict", "progress", "reset_progress",
           "show_solution", "solution_source", "solutions_off", "template", *_CHECKS]
