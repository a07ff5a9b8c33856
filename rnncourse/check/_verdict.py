"""The result of a check: ``Verdict``, shown as a green or red box in a notebook."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_STYLE = {
    True: ("#1e7e34", "#e9f7ee", "\u2714"),   # green, check mark
    False: ("#b02a37", "#fbeaec", "\u2718"),  # red, cross
}


def _inline_code(text: str) -> str:
    """Escape ``text`` for HTML and turn `backticked` spans into <code>."""
    escaped = html.escape(text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


@dataclass
class Verdict:
    """What a check found: ``passed``, a plain-text ``message``, and ``details`` for the curious.

    ``details`` always holds ``exercise`` and ``status`` (``"passed"``, ``"not implemented"``,
    ``"error"``, ``"wrong"`` or ``"invalid"``), plus, where relevant, the failing ``case``, the
    recognised ``mistake``, the largest differences (``max_abs_diff``) and anything the learner's
    function ``printed``. A verdict is truthy exactly when it passed.
    """

    passed: bool
    message: str
    details: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.details.get("status", "passed" if self.passed else "wrong")

    @property
    def title(self) -> str:
        name = self.details.get("exercise", "check")
        word = {"passed": "passed", "not implemented": "not implemented yet",
                "error": "your function raised an error", "wrong": "not yet right",
                "invalid": "could not run"}.get(self.status, self.status)
        return f"{name}: {word}"

    def __bool__(self) -> bool:
        return bool(self.passed)

    def __str__(self) -> str:
        mark = "PASSED" if self.passed else "FAILED"
        return f"[{mark}] {self.title}\n{self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour, background, mark = _STYLE[bool(self.passed)]
        lines = "<br>".join(_inline_code(line) for line in self.message.splitlines())
        printed = self.details.get("printed")
        extra = ""
        if printed:
            extra = ("<details style='margin-top:6px'><summary>what your function printed"
                     f"</summary><pre>{html.escape(printed)}</pre></details>")
        return (
            f"<div style='border:1px solid {colour};border-left:6px solid {colour};"
            f"background:{background};color:#1a1a1a;padding:8px 12px;margin:4px 0;"
            "border-radius:4px;font-family:system-ui,sans-serif;line-height:1.45'>"
            f"<div style='font-weight:600;color:{colour}'>{mark} {html.escape(self.title)}</div>"
            f"<div>{lines}</div>{extra}</div>"
        )
