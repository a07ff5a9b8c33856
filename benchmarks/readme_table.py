"""The measured tables in README.md: each lives between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->`` and is rewritten there by the benchmark that measures it."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def update_readme(name: str, table: str, readme: Path = README) -> bool:
    """Put ``table`` between the ``name`` markers of ``readme``; False where they are missing."""
    text = readme.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{table}\n{end}{tail}")
    return True
