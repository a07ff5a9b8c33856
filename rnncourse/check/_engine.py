"""The machinery every exercise check shares.

A check runs the learner's function on a few random cases, compares each output with the
course's reference, and on the first failing case looks for the cause: first in the exercise's
catalogue of known mistakes (each a deliberately wrong variant of the reference: when the
learner's outputs equal a variant's, the variant's hint names the mistake), then with generic
tests (wrong shape, transpose, constant factor, swapped outputs, shift in time). Nothing here
raises into the notebook: whatever happens becomes a :class:`Verdict`.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._verdict import Verdict

RTOL, ATOL = 1e-5, 1e-7
_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = os.path.dirname(_HERE)
_NUMPY = os.path.dirname(os.path.abspath(np.__file__))


class Problem(Exception):
    """The learner's result cannot be compared (wrong type, wrong tuple length, missing key)."""


@dataclass
class Case:
    """One set of inputs: ``args`` as the learner's function receives them, ``sizes`` by symbol."""

    args: tuple
    arg_names: tuple
    sizes: dict
    data: dict = field(default_factory=dict)  # whatever the reference and the mistakes need
    want: dict | None = None  # the reference's outputs, computed once

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.sizes.items())


@dataclass
class Mistake:
    """A known mistake: ``fn(case.data)`` returns (some of) the outputs that mistake produces."""

    key: str
    hint: str
    fn: Callable[[dict], dict | None]


@dataclass
class Exercise:
    name: str
    call: str                                  # how the check calls the learner's function
    make_cases: Callable[[dict], list]         # options -> [Case]
    reference: Callable[[Case], dict]          # case -> {output name: array}
    unpack: Callable[[object, Case], dict]     # learner's return value -> {name: value}
    output_dims: Callable[[str], tuple | None]  # output name -> axis symbols, None: literal
    input_dims: dict                           # argument name -> axis symbols
    mistakes: list = field(default_factory=list)
    error_note: str = ""        # appended when the learner's function raises (e.g. cache format)
    new_arrays: bool = False    # outputs must not be (views of) the inputs
    localise: Callable | None = None  # (case, call) -> [lines]: where the values go wrong
    nan_hint: str = ""          # added where an output has NaN or inf entries


# --- formatting --------------------------------------------------------------------------------

def shape_text(shape, dims, sizes) -> str:
    """``(B, H) = (3, 5)`` when the symbols are known, else ``(3, 5)``."""
    shape = tuple(int(s) for s in shape)
    if dims is None or len(dims) != len(shape):
        return str(shape)
    return f"({', '.join(dims)}{',' if len(dims) == 1 else ''}) = {shape}"


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def factor_text(c: float) -> str:
    if np.isclose(c, -1.0):
        return "-1 (the sign is flipped)"
    if np.isclose(c, round(c)):
        return str(int(round(c)))
    if np.isclose(1.0 / c, round(1.0 / c)):
        return f"1/{int(round(1.0 / c))}"
    return f"{c:.4g}"


def describe_arg(name, value, dims, sizes) -> str:
    if isinstance(value, np.ndarray):
        return f"`{name}` {shape_text(value.shape, dims, sizes)}"
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if isinstance(item, np.ndarray):
                parts.append(f"{key} {tuple(item.shape)}")
            elif isinstance(item, (str, int, float)):
                parts.append(f"{key}={item!r}")
            else:
                parts.append(key)
        return f"`{name}` a dict with keys {', '.join(parts)}"
    if isinstance(value, (list, tuple)):
        shapes = ", ".join(str(tuple(v.shape)) if isinstance(v, np.ndarray) else type(v).__name__
                           for v in value)
        return f"`{name}` a {type(value).__name__} of {len(value)} arrays with shapes {shapes}"
    return f"`{name}` = {value!r}"


# --- comparing ---------------------------------------------------------------------------------

def close(a, b) -> bool:
    """``np.allclose(a, b, RTOL, ATOL)`` for arrays of one shape, written out (it is called
    hundreds of times per check: the catalogue search compares every variant)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.abs(a - b) <= ATOL + RTOL * np.abs(b)
    if ok.all():
        return True
    if np.isfinite(a).all() and np.isfinite(b).all():
        return False
    return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))  # inf == inf counts as close


def _to_array(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value
    try:
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        arr = np.asarray(value, dtype=np.float64)
    except Exception:
        return None
    return arr


def shape_message(name, got, want, dims, sizes) -> str:
    msg = (f"{name}: expected shape {shape_text(want.shape, dims, sizes)}, "
           f"got {tuple(got.shape)}.")
    if got.ndim == 2 and got.shape == want.shape[::-1]:
        msg += " That is the transposed shape"
        if close(got, want.T):
            msg += " (and its values are the transpose of the right answer)"
        msg += (": check the order of the factors. A weight W of shape (out, in) acts on column "
                "vectors; with a batch of rows, `x @ W.T` is (B, out) and a weight gradient is "
                "`da.T @ x` (out, in).")
    elif want.ndim == 1 and got.shape == (sizes.get("B"), want.shape[0]):
        msg += (" A bias gradient gets one contribution per example: sum over the batch axis, "
                "`da.sum(axis=0)`.")
    elif want.ndim == 1 and got.ndim == 1 and got.shape[0] == sizes.get("B"):
        msg += " Sum over the batch axis (axis=0), not over the hidden units (axis=1)."
    elif got.size == want.size:
        msg += " Same number of entries, arranged differently: a reshape, squeeze or stack is off."
    return msg


def swapped_pairs(got, want, names) -> list[tuple[str, str]]:
    """Pairs of outputs the learner returned in each other's place."""
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if a in got and b in got and b in want and a in want and close(got[a], want[b]) \
                    and close(got[b], want[a]) and not close(want[a], want[b]):
                pairs.append((a, b))
    return pairs


def swap_hint(pairs) -> str:
    return " ".join(f"You returned {a} and {b} in each other's place: swap them in your "
                    "`return`." for a, b in pairs)


def amounts(got, want, names) -> list[str]:
    """How far each wrong output is off: largest absolute error, and relative to its size."""
    parts = []
    for name in names:
        g, w = got[name], want[name]
        if not np.all(np.isfinite(g)):
            parts.append(f"{name} has NaN or inf entries")
            continue
        err = np.abs(g - w)
        size = float(np.max(np.abs(w))) if w.size else 0.0
        bad = int(np.sum(~np.isclose(g, w, rtol=RTOL, atol=ATOL)))
        rel = f", {100 * float(err.max()) / size:.3g}% of its largest entry" if size > 0 else ""
        parts.append(f"{name} by up to {float(err.max()):.3g}{rel} ({bad} of {g.size} entries "
                     "wrong)")
    return ["Off: " + "; ".join(parts) + "."] if parts else []


def _generic_hints(ex, case, got, want, wrong) -> list[str]:
    hints = []
    for name in wrong:
        g, w = got[name], want[name]
        dims = ex.output_dims(name)
        if not np.all(np.isfinite(g)):
            said = any("NaN" in h for h in hints)
            hints.append(f"{name} contains NaN or inf values." + (
                f" {ex.nan_hint}" if ex.nan_hint and not said else ""))
        elif np.allclose(g, 0.0, atol=ATOL) and not np.allclose(w, 0.0, atol=ATOL):
            hints.append(f"{name} is all zeros: it is never filled in (or overwritten at the end).")
        elif g.ndim == 2 and g.shape[0] == g.shape[1] and close(g, w.T):
            hints.append(f"{name} is the transpose of the right answer: check the order of the "
                         "factors (transpose a weight: `x @ W.T`, `da.T @ x`).")
        elif dims and dims[0] == "T" and g.shape[0] > 1 and close(g, w[::-1]):
            hints.append(f"{name} is in reverse time order: you collected it while looping "
                         "backwards; reverse it (e.g. `dxs[::-1]`) or write into `dx[t]`.")
        elif dims and dims[0] == "T" and g.shape[0] > 1 and (
                close(g[1:], w[:-1]) or close(g[:-1], w[1:])):
            later = close(g[1:], w[:-1])
            hints.append(f"{name} is shifted by one time step ({'later' if later else 'earlier'}"
                         f" than it should be): an off-by-one over time, {name}[t] holds the "
                         f"value of step t{'-' if later else '+'}1.")
        else:
            denom = float(np.sum(w * w))
            if denom > 0:
                c = float(np.sum(g * w)) / denom
                if not np.isclose(c, 1.0) and abs(c) > 1e-9 and close(g, c * w):
                    hints.append(f"{name} is {factor_text(c)} times the right value: off by a "
                                 "constant factor. Look for a stray constant or sign.")
    return hints


def _time_lines(ex, got, want, wrong) -> list[str]:
    lines = []
    for name in wrong:
        dims = ex.output_dims(name)
        if not dims or dims[0] != "T":
            continue
        g, w = got[name], want[name]
        T = w.shape[0]
        bad = [t for t in range(T) if not close(g[t], w[t])]
        if bad:
            steps = ", ".join(str(t) for t in bad)
            lines.append(f"{name} differs at time step{'s' if len(bad) > 1 else ''} t = {steps} "
                         f"(of t = 0..{T - 1}; first t = {bad[0]}, last t = {bad[-1]}).")
    return lines


def _mistake_output(mistake, case):
    """What ``mistake`` computes on ``case``; kept in the case (cases are built once per
    process and a learner re-runs a check many times)."""
    outputs = case.data.setdefault("_mistake_outputs", {})
    if mistake.key not in outputs:
        try:
            outputs[mistake.key] = mistake.fn(case.data) or None
        except Exception:
            outputs[mistake.key] = None
    return outputs[mistake.key]


def find_mistake(ex, case, got, want, wrong):
    """The first catalogued mistake whose outputs equal the learner's (on every output it makes,
    covering every output the learner got wrong)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _find_mistake(ex, case, got, want, wrong)


def _find_mistake(ex, case, got, want, wrong):
    for mistake in ex.mistakes:
        out = _mistake_output(mistake, case)
        if out is None:
            continue
        keys = [k for k in out if k in got]
        if not set(wrong) <= set(keys):
            continue
        if all(close(out[k], want[k]) for k in keys):
            continue  # this mistake makes no difference on this case
        if all(close(got[k], out[k]) for k in keys):
            return mistake
    return None


# --- calling the learner's function ----------------------------------------------------------

def call_copied(fn, args, names, printed: io.StringIO):
    """Call learner code on deep copies of ``args``: ``(result, exception, changed)`` where
    ``changed`` names the arguments it modified in place. The originals stay intact."""
    copies = copy.deepcopy(args)
    result, exc = _call(fn, copies, printed)
    changed = [n for n, b, a in zip(names, args, copies) if _changed(b, a)]
    return result, exc, changed, copies


def _arrays(value):
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item)


def _call(fn, args, printed: io.StringIO):
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings(), \
                np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return fn(*args), None
    except Exception as exc:  # everything the learner's code can raise becomes a verdict
        return None, exc
    finally:
        printed.write(buffer.getvalue())


def _where(exc) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [f for f in frames if not os.path.abspath(f.filename).startswith(_HERE)]
    learner = [f for f in outside if not os.path.abspath(f.filename).startswith(
        (_PACKAGE, _NUMPY))]
    frame = (learner or outside or [None])[-1]
    if frame is None:
        return ""
    line = f" (line {frame.lineno}"
    if frame.line:
        line += f": `{frame.line.strip()}`"
    return line + ")"


def _error_hint(ex, case, exc) -> str:
    text = str(exc).lower()
    if isinstance(exc, RecursionError):
        return ("Your function calls itself without end: does it call a function with its own "
                "name (e.g. the course's `rnn_step_forward` while yours is named the same)?")
    if isinstance(exc, (ValueError, IndexError)) and any(
            w in text for w in ("matmul", "aligned", "broadcast", "shape", "dimension")):
        return ("Two arrays did not fit together. Write each array's shape next to it: a weight "
                "W of shape (out, in) acts on column vectors, so a batch of rows x (B, in) is "
                "multiplied as `x @ W.T`, giving (B, out); `x @ W` only works by accident when "
                "in == out.")
    if isinstance(exc, KeyError):
        keys = []
        for name, value in zip(case.arg_names, case.args):
            if isinstance(value, dict):
                keys.append(f"`{name}` has keys {', '.join(map(str, value))}")
        return (f"The key {exc.args[0]!r} does not exist. " + "; ".join(keys) + "."
                if keys else "A dict lookup failed.")
    if isinstance(exc, NameError):
        return ("A name is not defined inside your function: did you run the cell that defines or "
                "imports it (e.g. `import numpy as np`)?")
    if isinstance(exc, TypeError):
        return (f"Check the signature: the check calls `{ex.call}`. Otherwise a value has the "
                "wrong type, e.g. a tuple where an array was expected (did you forget to unpack "
                "`h_next, cache = ...`?).")
    if isinstance(exc, AttributeError):
        return ("An object has no such attribute: `params` is a dict (use `params['W_xh']`), "
                "and lists have no `.T` or `.shape`.")
    if isinstance(exc, (ZeroDivisionError, FloatingPointError)):
        return ("A division by zero: nothing in this exercise needs to divide by a value that can "
                "be zero on these inputs; check what you divide by.")
    return "Read the error and the line it points to."


def _stuck(name) -> str:
    """The pointer to the course's answer, left out where the solutions are off."""
    from ._solutions import solutions_off

    return "" if solutions_off() else f" Stuck? `check.show_solution(\"{name}\")`."


def _verdict(ex, passed, status, message, **details) -> Verdict:
    details = {"exercise": ex.name, "status": status, **details}
    return Verdict(passed, message, details)


def _changed(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and ((before == after).all()
                         or np.array_equal(before, after, equal_nan=True)))
    if isinstance(before, dict):
        return not isinstance(after, dict) or before.keys() != after.keys() or any(
            _changed(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return not isinstance(after, (list, tuple)) or len(before) != len(after) or any(
            _changed(b, a) for b, a in zip(before, after))
    return False


def run(ex: Exercise, fn, options: dict | None = None, cases: list | None = None) -> Verdict:
    """Check ``fn`` against the reference of ``ex`` (on ``cases``, by default
    ``ex.make_cases(options)``); never raises."""
    try:
        return _run(ex, fn, options or {}, cases)
    except Exception as exc:  # a bug in the check must not reach the learner as a traceback
        return _verdict(ex, False, "invalid",
                        f"The check itself failed ({type(exc).__name__}: {exc}). This is a bug in "
                        "the course, not in your code: please report it.")


def _run(ex: Exercise, fn, options: dict, cases) -> Verdict:
    if not callable(fn):
        looks = " (it looks like the result of calling it)" if isinstance(
            fn, (tuple, list, np.ndarray, dict)) else ""
        return _verdict(ex, False, "invalid",
                        f"`check.{ex.name}` expects your function itself, like "
                        f"`check.{ex.name}(my_{ex.name})` (no parentheses after the name); got a "
                        f"value of type {type(fn).__name__}{looks}. It will be called as "
                        f"`{ex.call}`.")
    try:
        if cases is None:
            cases = ex.make_cases(options)
    except ImportError as exc:
        return _verdict(ex, False, "invalid",
                        f"The course's reference for {ex.name} is not available ({exc}).")
    except Problem as problem:
        return _verdict(ex, False, "invalid", str(problem))
    printed = io.StringIO()
    for index, case in enumerate(cases):
        if case.want is None:
            case.want = {k: np.asarray(v, dtype=np.float64)
                         for k, v in ex.reference(case).items()}
        want = case.want
        result, exc, changed, args = call_copied(fn, case.args, case.arg_names, printed)
        info = {"case": case.label, "case_index": index, "cases": len(cases),
                "printed": printed.getvalue()[:2000]}
        if isinstance(exc, NotImplementedError) or (exc is None and result is None):
            why = ("it raises NotImplementedError" if exc is not None
                   else "it returned None; if you did write it, a `return` is missing")
            return _verdict(ex, False, "not implemented",
                            f"Not implemented yet: {why}. Replace the stub with your code and run "
                            f"the cell again.{_stuck(ex.name)}", **info)
        if exc is not None:
            described = "; ".join(
                describe_arg(n, v, ex.input_dims.get(n), case.sizes)
                for n, v in zip(case.arg_names, case.args))
            message = (f"Your function raised {type(exc).__name__}: "
                       f"{str(exc).strip()[:300]}{_where(exc)}.\n{_error_hint(ex, case, exc)}\n"
                       f"The check called `{ex.call}` on case {case.label}: {described}.")
            if ex.error_note:
                message += "\n" + ex.error_note
            return _verdict(ex, False, "error", message, error=type(exc).__name__, **info)
        if changed:
            return _verdict(ex, False, "wrong",
                            f"Your function changed its input {_names(changed)} in place (e.g. "
                            "with `+=` or by assigning into it). Later cells need their inputs "
                            "intact: build new arrays (`a = a + b`, not `a += b`).", **info)
        try:
            got_raw = ex.unpack(result, case)
        except Problem as problem:
            return _verdict(ex, False, "wrong", str(problem), **info)
        if ex.new_arrays:
            inputs = list(_arrays(args))
            shared = [name for name, value in got_raw.items() if isinstance(value, np.ndarray)
                      and any(np.shares_memory(value, a) for a in inputs)]
            if shared:
                return _verdict(ex, False, "wrong",
                                f"{_names(shared)} "
                                + ("is the input array itself (or a view of it)"
                                   if len(shared) == 1 else
                                   "are the input arrays themselves (or views of them)")
                                + ", on case "
                                f"{case.label}: the exercise asks for new arrays, so that the "
                                "caller's gradients stay as they were. Return `g * scale`, or "
                                "`g.copy()` when nothing needs clipping.", **info)
        got, messages = {}, []
        shapes_off = [n for n in want if n in got_raw and _to_array(got_raw[n]) is not None
                      and _to_array(got_raw[n]).shape != want[n].shape]
        arrays = {n: _to_array(got_raw[n]) for n in shapes_off}
        pairs = swapped_pairs(arrays, want, shapes_off) if len(shapes_off) > 1 else []
        if pairs:
            return _verdict(ex, False, "wrong", swap_hint(pairs) + f" (Case {case.label}.)",
                            mistake="swapped_outputs", **info)
        for name, w in want.items():
            if name not in got_raw:
                continue  # an optional output the learner does not return
            g = _to_array(got_raw[name])
            if g is None:
                messages.append(f"{name}: expected a numpy array of numbers, got "
                                f"{type(got_raw[name]).__name__}.")
            elif g.shape != w.shape:
                messages.append(shape_message(name, g, w, ex.output_dims(name), case.sizes)
                                + f" (Case {case.label}.)")
            else:
                got[name] = g
        if messages:
            return _verdict(ex, False, "wrong", "\n".join(messages + _passed_note(index, case)),
                            **info)
        wrong = [n for n in got if not close(got[n], want[n])]
        if wrong:
            return _wrong(ex, fn, case, got, want, wrong, index, info)
    return _verdict(ex, True, "passed",
                    f"All {len(cases)} cases match the reference "
                    f"({'; '.join(c.label for c in cases)}). Well done!",
                    cases=len(cases), printed=printed.getvalue()[:2000])


def _passed_note(index, case) -> list[str]:
    if not index:
        return []
    return [f"(The first {index} case{'s' if index > 1 else ''} passed: the problem shows only "
            f"with case {case.label}.)"]


def _localise(ex, fn, case) -> list[str]:
    """The exercise's own localisation (probing gates, time steps), run on copies."""
    if ex.localise is None:
        return []

    def call(args):
        result, exc = _call(fn, copy.deepcopy(args), io.StringIO())
        if exc is not None:
            return None
        try:
            out = ex.unpack(result, case)
        except Problem:
            return None
        arrays = {k: _to_array(v) for k, v in out.items()}
        return {k: v for k, v in arrays.items() if v is not None}

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return ex.localise(case, call)
    except Exception:  # localising is a bonus: never let it break the verdict
        return []


def _wrong(ex, fn, case, got, want, wrong, index, info) -> Verdict:
    right = [n for n in got if n not in wrong]
    head = f"{_names(wrong)} {'differs' if len(wrong) == 1 else 'differ'} from the reference"
    if right:
        head += f" ({_names(right)} {'is' if len(right) == 1 else 'are'} right)"
    lines = [head + f", on case {case.label}."]
    pairs = swapped_pairs(got, want, wrong)
    swapped = {n for pair in pairs for n in pair}
    mistake = None
    if pairs and swapped == set(wrong):
        lines.append(swap_hint(pairs))
        key = "swapped_outputs"
    else:
        mistake = find_mistake(ex, case, got, want, wrong)
        key = None if mistake is None else mistake.key
    if mistake is not None:
        lines.append("Likely cause: " + mistake.hint)
    elif key is None:
        rest = [n for n in wrong if n not in swapped]
        hints = ([swap_hint(pairs)] if pairs else []) + _generic_hints(ex, case, got, want, rest)
        lines += hints or [
            "No mistake from the course's catalogue matches (two slips at once, perhaps): "
            "compare your code with the equations line by line, one output at a time."]
        lines += amounts(got, want, wrong)
        lines += _localise(ex, fn, case)
    lines += _time_lines(ex, got, want, wrong)
    lines += _passed_note(index, case)
    diffs = {n: float(np.max(np.abs(got[n] - want[n]))) if np.all(np.isfinite(got[n]))
             else float("inf") for n in wrong}
    return _verdict(ex, False, "wrong", "\n".join(lines),
                    mistake=key, wrong=wrong,
                    max_abs_diff=diffs, **info)
