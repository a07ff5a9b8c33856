"""Lesson 8: the course's own measurements compiled into checks, tables, plots and a report.

::

    from rnncourse import findings
    report = findings.compile_findings()         # reads the results store, computes what is missing
    print(report.checks_text())                  # claim | expected | measured | verdict
    path = findings.write_report(report=report)  # one self-contained HTML file

The package, one idea per module, in the order the numbers flow:

- :mod:`.sources`: which records each group of checks reads (:data:`SOURCES`), lesson 8's own
  name in the store (:data:`LESSON`);
- :mod:`.producers`: the recomputations lesson 8 makes when a lesson has not been run
  (:data:`PRODUCERS`, :func:`produce`);
- :mod:`.inventory`: which record each source uses, found, computed or missing
  (:class:`Inventory`, :func:`gather`, :func:`find_records`);
- :mod:`.course_checks`: the course's claims and the function that decides each one
  (:data:`CHECKS`); :mod:`.checking` turns records into rows (:func:`check_records`), lesson
  5's verdicts on the literature included;
- :mod:`.rows`: :class:`CheckRow`, :class:`NotChecked`, :class:`ModelRow`;
- :mod:`.model_table`: the model x task table (:func:`model_rows`);
- :mod:`.report`: everything together (:class:`Findings`, :func:`compile_findings`);
- :mod:`.figures`: the plots; :mod:`.html_report`: the report file (:func:`write_report`).

Every record read here is declared in :mod:`rnncourse.records` and checked when it is saved
and loaded, so a check reads fields that exist, with the types it expects. A verdict is one of
:class:`~rnncourse.literature.Verdict`'s three: a course claim *agrees* when its measurement
meets what theory (or the lesson's own stated criterion) expects and *disagrees* otherwise;
lesson 5's verdicts on the papers (agrees / partly / disagrees, with the reason) are carried
over as they are.
"""

from ..literature import Verdict, verdict_summary
from ..tables import format_table
from .checking import check_records, literature_rows
from .course_checks import CHECKS, Check
from .figures import (
    complexity_figure,
    curves_figure,
    figures,
    gradient_figure,
    rate_figure,
    tradeoff_figure,
)
from .html_report import write_report
from .inventory import Inventory, find_records, gather
from .model_table import model_rows
from .producers import ADDING_MODELS, ADDING_SHORTER, PRODUCERS, Producer, produce
from .report import Findings, compile_findings
from .rows import CheckRow, ModelRow, NotChecked
from .sources import LESSON, SOURCES

__all__ = [
    "LESSON", "SOURCES", "PRODUCERS", "Producer", "produce", "ADDING_MODELS", "ADDING_SHORTER",
    "Inventory", "find_records", "gather", "CHECKS", "Check", "CheckRow", "NotChecked",
    "ModelRow", "Verdict", "verdict_summary", "check_records", "literature_rows", "model_rows",
    "Findings", "compile_findings", "format_table", "complexity_figure", "rate_figure",
    "gradient_figure", "curves_figure", "tradeoff_figure", "figures", "write_report",
]
