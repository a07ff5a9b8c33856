"""Lesson 8's figures, drawn from :class:`~.report.Findings` in the course's style
(:mod:`rnncourse.figstyle`): the cost fit, the gradient-rate check, gradient norms, learning
curves, and what each model cost."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import figstyle
from .report import Findings

FEW_DECADES = dict(figstyle.LOG, dtick="D2")
"""A log axis over one to three decades: labels at 1, 2 and 5 of each decade, not at every
digit (the default there), so that the labels stay apart."""


def findings_argument(report) -> Findings:
    """``report`` if it is a :class:`Findings`; ``TypeError`` naming the argument otherwise."""
    if not isinstance(report, Findings):
        raise TypeError(f"report: expected a Findings (compile_findings), got "
                        f"{type(report).__name__}")
    return report


def complexity_figure(report: Findings):
    """Measured forward + BPTT times on log-log axes with the fitted power laws."""
    from ..complexity import fit_power_law

    report = findings_argument(report)
    rec = report.inventory.records.get("complexity")
    fig = figstyle.figure(title="forward + BPTT time against T (H = 128) and H (T = 10)",
                          xaxis_title="T or H", yaxis_title="seconds")
    if rec is not None:
        d = rec.data
        for k, (key, times) in enumerate(d.get("times", {}).items()):
            sizes = np.array(d["T_grid"] if key.endswith("_T") else d["H_grid"], dtype=float)
            fit = fit_power_law(sizes, times)
            colour = figstyle.colour(k)
            fig.add_scatter(x=sizes, y=times, mode="markers", name=f"{key}: measured",
                            marker=dict(color=colour, size=8), legendgroup=key)
            fig.add_scatter(x=sizes, y=fit.predict(sizes), mode="lines", legendgroup=key,
                            line=dict(dash="dot", color=colour),
                            name=f"{key}: ∝ {key[-1]}^{fit.exponent:.2f}")
    fig.update_xaxes(**FEW_DECADES)
    fig.update_yaxes(**FEW_DECADES)
    return fig


def rate_figure(report: Findings):
    """The gradient-rate check: measured per-step rate against gamma * sigma_max."""
    report = findings_argument(report)
    rec = report.inventory.records.get("gradient_flow")
    fig = figstyle.figure(title="per-step gradient rate: measured against γ σ_max",
                          xaxis_title="γ σ_max (theory)", yaxis_title="fitted rate")
    if rec is not None:
        rows = rec.data.get("orthogonal_no_input_rates", [])
        for cell in sorted({r["cell"] for r in rows}):
            mine = [r for r in rows if r["cell"] == cell]
            fig.add_scatter(x=[r["theory"] for r in mine], y=[r["measured"] for r in mine],
                            mode="markers", marker=dict(size=10), name=cell,
                            text=[f"σ_max = {r['sigma_max']}" for r in mine])
        fig.add_scatter(x=[0.1, 5], y=[0.1, 5], mode="lines", name="measured = γ σ_max",
                        line=dict(dash="dash", color=figstyle.GREY))
    fig.update_xaxes(**FEW_DECADES)
    fig.update_yaxes(**FEW_DECADES)
    return fig


def training_curves(report: Findings) -> list[tuple[str, dict]]:
    """``(label, run)`` of every training run whose curves the records hold."""
    out = []
    rec = report.inventory.records.get("adding")
    if rec is not None:
        T = rec.data["setting"]["T"]
        for label, r in rec.data["runs"].items():
            out.append((f"adding T={T}: {label}", r))
    rec = report.inventory.records.get("hybrid")
    if rec is not None:
        for k in ("gru", "hybrid"):
            if isinstance(rec.data.get(k), Mapping):
                out.append((f"adding T=50: {k}", rec.data[k]))
    return out


def gradient_figure(report: Findings):
    """Left: ||dL/dh_0|| after 200 steps per cell. Right: gradient norms during training."""
    report = findings_argument(report)
    fig = figstyle.subplots(1, 2, subplot_titles=("gradient left after 200 steps",
                                                  "gradient norm while training"),
                            horizontal_spacing=0.14)
    rec = report.inventory.records.get("gradient_flow")
    if rec is not None and "gated_grad_at_t0" in rec.data:
        g = rec.data["gated_grad_at_t0"]
        fig.add_bar(x=list(g), y=list(g.values()), name="||∂L/∂h_0||", row=1, col=1,
                    showlegend=False, marker_color=figstyle.GREY)
    for k, (label, r) in enumerate(training_curves(report)):
        norms = r.get("grad_norms") or []
        if norms:
            fig.add_scatter(y=norms, mode="lines", name=label, row=1, col=2,
                            line=dict(color=figstyle.colour(k), width=1.5))
    fig.update_yaxes(**figstyle.LOG)
    fig.update_yaxes(title_text="||∂L/∂state_0|| (σ_max = 1, inputs)", row=1, col=1)
    fig.update_yaxes(title_text="||g|| before clipping", row=1, col=2)
    fig.update_xaxes(tickangle=-30, row=1, col=1)
    fig.update_xaxes(title_text="training step", row=1, col=2)
    return fig


def curves_figure(report: Findings):
    """Left: training loss of the adding-problem runs. Right: exact match while training
    the encoder-decoders."""
    from ..tasks import ADDING_BASELINE_MSE

    report = findings_argument(report)
    fig = figstyle.subplots(1, 2, subplot_titles=("training loss (MSE)",
                                                  "held-out exact match while training"),
                            horizontal_spacing=0.12)
    k = 0
    for label, r in training_curves(report):
        losses = r.get("losses") or []
        if losses:
            fig.add_scatter(y=losses, mode="lines", name=label, row=1, col=1,
                            line=dict(color=figstyle.colour(k), width=1.5))
            k += 1
    for key in ("reversal", "dates"):
        rec = report.inventory.records.get(key)
        if rec is None:
            continue
        for variant, r in rec.data.items():
            if isinstance(r, Mapping) and "curve_steps" in r:
                fig.add_scatter(x=r["curve_steps"], y=r["curve_exact_match"],
                                mode="lines+markers", name=f"{key}: {variant}", row=1, col=2,
                                line=dict(color=figstyle.colour(k),
                                          dash="dot" if variant.startswith("no ") else "solid"))
                k += 1
    fig.update_yaxes(**FEW_DECADES, row=1, col=1)
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_xaxes(title_text="training step")
    figstyle.hline(fig, ADDING_BASELINE_MSE, "predict the mean: 1/6", row=1, col=1)
    figstyle.hline(fig, 0.95, "95%", row=1, col=2, side="left")
    return fig


_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")


def tradeoff_figure(report: Findings):
    """Parameters against training seconds, one marker per model: colour says the task, the
    marker's symbol the model, and the legend names both (hover for the result)."""
    report = findings_argument(report)
    by_task: dict[str, list] = {}
    for r in report.models:
        if r.params and r.seconds:
            by_task.setdefault(r.task, []).append(r)
    entries = sum(len(rows) for rows in by_task.values()) + len(by_task)  # models + task titles
    fig = figstyle.figure(title="what each model cost: parameters and training seconds",
                          xaxis_title="parameters", yaxis_title="training seconds",
                          height=max(figstyle.height(2), 20 * entries + 8 * len(by_task) + 150),
                          legend=dict(groupclick="toggleitem", font=dict(size=11),
                                      tracegroupgap=8))
    for k, (task, rows) in enumerate(by_task.items()):
        for j, r in enumerate(rows):
            fig.add_scatter(x=[r.params], y=[r.seconds], mode="markers", name=r.model,
                            legendgroup=task, legendgrouptitle_text=task,
                            marker=dict(size=11, color=figstyle.colour(k),
                                        symbol=_SYMBOLS[j % len(_SYMBOLS)],
                                        line=dict(width=1, color="#333")),
                            hovertemplate=f"{task}<br>{r.model}: {r.metric} {r.value:.3g}"
                                          "<br>%{x} parameters, %{y:.1f} s<extra></extra>")
    fig.update_xaxes(**FEW_DECADES)
    fig.update_yaxes(**FEW_DECADES)
    return fig


def figures(report: Findings) -> dict:
    """Every figure of the report, by title."""
    return {"complexity fit": complexity_figure(report),
            "gradient-rate check": rate_figure(report),
            "gradient norms": gradient_figure(report),
            "learning curves": curves_figure(report),
            "cost and accuracy": tradeoff_figure(report)}
