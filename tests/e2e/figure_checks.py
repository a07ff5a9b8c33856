"""What a learner sees after Run All, read from the rendered page (never from Python objects).

:func:`check_what_a_learner_sees` runs every check below on the page as it is and raises one
``AssertionError`` listing every problem found (so a failing run names them all):

- outputs: no error output, nothing on stderr, no raw reprs (``PosixPath(``, ``<IPython.``,
  ``<Figure``, ``FigureWidget(``) and no HTML shown as text (``&lt;div``, a literal ``<span>``);
- plotly figures, both kinds: static ones (``fig.show()``, the plotly mime renderer, which draws
  the graph into the output element itself) and FigureWidgets (a graph inside the widget's
  output): the plot area (the union of the subplots' ``.nsewdrag`` rectangles) is at
  least 60% of its output's width and at least 250 px high, and no subplot is a sliver;
- no collisions: the title, subplot titles, axis titles, the legend, colorbars and the tick
  labels of different subplots do not overlap one another; the legend and colorbars do not
  cover a plot area; tick labels of one axis do not overlap each other;
- legends: every entry has a visible symbol (a line or marker of nonzero size, not white);
- numbers: no SI-prefixed tick labels (1µ, 1M, 1T) where the course writes powers of ten;
- a screenshot of every figure's output, ``test-artifacts/e2e/figures/<lesson>_<n>.png``.

:class:`lab_page.LabPage` calls it from ``run_all``, so every lesson the browser tests open,
including lessons added later, gets these checks on the same Run All.
"""

from __future__ import annotations

import re
from pathlib import Path

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MIN_WIDTH_FRACTION = 0.60   # plot area / its output's width
MIN_HEIGHT_PX = 250         # plot area height
MIN_SUBPLOT_PX = (120, 60)  # (width, height) of any one subplot
RAW_REPRS = ("PosixPath(", "WindowsPath(", "<IPython.", "<Figure", "FigureWidget(",
             "<ipywidgets.", "object at 0x")
# A tick label such as 100µ, 1M, 1T, 10f: an SI prefix where the course writes 10^n.
SI_TICK = re.compile(r"^[−-]?\d+(?:\.\d+)?[yzafpnμµmkMGTPEZ]$")
# Markup that should have been rendered but shows as text: escaped entities, or a literal tag.
RAW_HTML = re.compile(r"&(?:lt|gt|amp|nbsp);|<(?:div|span|b|i|code|table|tr|td|br|p|sup|sub|"
                      r"strong|em|ul|li|pre)(?:\s[^<>]*)?/?>")

# Every plotly graph on the page: a static figure's renderer makes the output element itself the
# graph (``.jp-OutputArea-output.js-plotly-plot``); a FigureWidget's graph sits inside its output.
PLOTS = ".jp-OutputArea-output.js-plotly-plot, .jp-OutputArea-output .js-plotly-plot"
FIGURE_ATTR = "data-figure-check"  # set on each graph by _FIGURES_JS: the figure's index

# How many plotly outputs (static figures and FigureWidgets) have no drawn graph yet.
_UNDRAWN_JS = r"""([mime, selector]) => {
  const outputs = [...document.querySelectorAll(`.jp-OutputArea-output[data-mime-type="${mime}"]`)];
  const plots = [...document.querySelectorAll(selector)];
  return outputs.filter(o => !o.matches('.js-plotly-plot') && !o.querySelector('.main-svg')).length
    + plots.filter(p => !p.querySelector('.main-svg')).length;
}"""

_OUTPUTS_JS = r"""() => {
  const problems = [];
  const stderr = 'application/vnd.jupyter.stderr';
  const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')];
  cells.forEach((cell, index) => {
    const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim();
    for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
      const mime = out.getAttribute('data-mime-type') ?? '';
      const text = out.textContent ?? '';
      if (mime === stderr && text.trim() !== '') {
        problems.push({cell: index, prompt, kind: 'stderr', text: text.slice(0, 1500)});
      } else if (mime === 'application/vnd.jupyter.error') {
        problems.push({cell: index, prompt, kind: 'error', text: text.slice(-1500)});
      }
      // text as the learner reads it: rendered text, HTML and widget labels, not the inputs
      problems.push({cell: index, prompt, kind: 'text', text});
    }
  });
  return problems;
}"""

# Geometry of every plotly figure: boxes in page pixels.
_FIGURES_JS = r"""([selector, attr]) => {
  const box = el => {
    const r = el.getBoundingClientRect();
    return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom, w: r.width, h: r.height};
  };
  const visible = el => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const label = el => (el.textContent ?? '').trim().slice(0, 60);
  const subplotOf = el => {
    for (let node = el; node && node.classList; node = node.parentNode) {
      const name = [...node.classList].find(c => /^x\d*y\d*$/.test(c));
      if (name) return name;
    }
    return null;
  };
  const figures = [];
  const plots = [...document.querySelectorAll(selector)];
  plots.forEach((plot, index) => {
    plot.setAttribute(attr, String(index));
    if (!visible(plot)) return;
    const output = plot.closest('.jp-OutputArea-output');  // itself, for a static figure
    const cell = plot.closest('.jp-CodeCell');
    const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')];
    const fig = {index, cell: cells.indexOf(cell), static: plot === output,
                 prompt: (cell?.querySelector('.jp-InputArea-prompt')?.textContent ?? '').trim(),
                 title: plot.querySelector('.gtitle') ? label(plot.querySelector('.gtitle')) : '',
                 output: box(output), plot: box(plot), subplots: [], texts: [], ticks: [],
                 legend: [], colorbars: [],
                 // the traces plotly.js was given (the graph div's own data) and drew
                 traces: (plot.data ?? []).length,
                 drawn: plot.querySelectorAll(
                   '.plot .trace, .plot .hm, .plot .contour, .pielayer .trace').length};
    for (const drag of plot.querySelectorAll('.draglayer .nsewdrag')) {
      if (visible(drag)) fig.subplots.push({name: subplotOf(drag) ?? 'xy', ...box(drag)});
    }
    const texts = [];
    for (const t of plot.querySelectorAll('.infolayer .gtitle')) {
      if (visible(t) && label(t)) texts.push({kind: 'title', text: label(t), ...box(t)});
    }
    for (const t of plot.querySelectorAll('.infolayer g[class$="title"] text')) {
      const g = t.closest('g[class$="title"]');
      if (g.classList.contains('g-gtitle') || t.closest('.colorbar')) continue;
      if (visible(t) && label(t)) texts.push({kind: 'axis title', text: label(t), ...box(t)});
    }
    for (const a of plot.querySelectorAll('.annotation')) {
      if (visible(a) && label(a)) texts.push({kind: 'annotation', text: label(a), ...box(a)});
    }
    fig.texts = texts;
    // tick labels, grouped by axis (class xtick, x2tick, ytick, ...) and subplot
    for (const t of plot.querySelectorAll('g[class$="tick"] > text, g[class$="tick"] text')) {
      const g = t.closest('g[class$="tick"]');
      const axis = [...g.classList].find(c => /^[xy]\d*tick$/.test(c));
      if (!axis || !visible(t) || !label(t)) continue;
      const subplot = subplotOf(t);
      const transform = t.getAttribute('transform') ?? '';
      const rotated = /rotate\((?!0[ ,)])/.test(transform);
      const size = parseFloat(getComputedStyle(t).fontSize) || 12;
      fig.ticks.push({axis: axis.replace('tick', ''), subplot, text: label(t), rotated, size,
                      ...box(t)});
    }
    const legend = plot.querySelector('.legend');
    if (legend && visible(legend)) {
      fig.legendBox = box(legend.querySelector('.bg') ?? legend);
      for (const entry of legend.querySelectorAll('.traces')) {
        // A legend group's title (legendgrouptitle) is drawn as an item too, with no symbol by
        // design; plotly.js marks it only in the item's bound data.
        if ((entry.__data__ ?? [])[0]?.groupTitle) continue;
        const name = label(entry.querySelector('.legendtext') ?? entry);
        let shown = false;
        const symbols = entry.querySelectorAll(
          '.legendpoints path, .legendlines path, .legendfill path, .legendsymbols path, ' +
          '.legendcandle path, .legendbar path, .legendbox path, .legend3dandfriends path');
        for (const s of symbols) {
          const r = s.getBoundingClientRect();
          const style = getComputedStyle(s);
          const line = s.closest('.legendlines') !== null;
          const paint = line ? style.stroke : (style.fill !== 'none' ? style.fill : style.stroke);
          const rgb = (paint.match(/[\d.]+/g) ?? []).map(Number);
          const alpha = rgb.length > 3 ? rgb[3] : 1;
          const whiteish = rgb.length >= 3 && rgb[0] > 235 && rgb[1] > 235 && rgb[2] > 235;
          const opacity = parseFloat(style.opacity) * parseFloat(
            line ? style.strokeOpacity : style.fillOpacity);
          const width = parseFloat(style.strokeWidth) || 0;
          const sized = line ? (r.width > 2 && width > 0) : (r.width > 1 && r.height > 1);
          if (paint !== 'none' && sized && !whiteish && alpha > 0.1 && opacity > 0.1) {
            shown = true;
          }
        }
        fig.legend.push({name, shown});
      }
    }
    for (const bar of plot.querySelectorAll('.colorbar')) {
      if (visible(bar)) fig.colorbars.push(box(bar));
    }
    figures.push(fig);
  });
  return figures;
}"""


def _overlap(a: dict, b: dict, tol: float = 1.0) -> bool:
    return (min(a["x1"], b["x1"]) - max(a["x0"], b["x0"]) > tol
            and min(a["y1"], b["y1"]) - max(a["y0"], b["y0"]) > tol)


def _describe(fig: dict) -> str:
    title = f" '{fig['title']}'" if fig["title"] else ""
    kind = {True: "static figure", False: "figure widget"}.get(fig.get("static"), "figure")
    return f"{kind} {fig['index']}{title} (cell {fig['prompt'] or fig['cell']})"


def figure_problems(fig: dict) -> list[str]:
    """Everything wrong with one figure's geometry, as sentences."""
    where, problems = _describe(fig), []
    subplots, output = fig["subplots"], fig["output"]
    if fig.get("traces") == 0 and not fig.get("drawn"):
        # plotly.js was given no trace at all: empty default axes where a plot should be (a
        # FigureWidget whose data never reached its model in the browser, issue 14)
        problems.append(f"{where}: no data drawn (empty axes; the graph was given no traces)")
    if subplots:
        x0 = min(s["x0"] for s in subplots)
        x1 = max(s["x1"] for s in subplots)
        y0 = min(s["y0"] for s in subplots)
        y1 = max(s["y1"] for s in subplots)
        if x1 - x0 < MIN_WIDTH_FRACTION * output["w"]:
            problems.append(f"{where}: plot area {x1 - x0:.0f} px wide, under "
                            f"{MIN_WIDTH_FRACTION:.0%} of its output's {output['w']:.0f} px")
        if y1 - y0 < MIN_HEIGHT_PX:
            problems.append(f"{where}: plot area {y1 - y0:.0f} px high, under {MIN_HEIGHT_PX} px")
        for s in subplots:
            if s["w"] < MIN_SUBPLOT_PX[0] or s["h"] < MIN_SUBPLOT_PX[1]:
                problems.append(f"{where}: subplot {s['name']} is {s['w']:.0f}x{s['h']:.0f} px, "
                                f"under {MIN_SUBPLOT_PX[0]}x{MIN_SUBPLOT_PX[1]}")
    # texts outside the plot areas (titles, axis titles, subplot titles), legend, colorbars
    items = [(f"{t['kind']} '{t['text']}'", t) for t in fig["texts"]]
    if fig.get("legendBox"):
        items.append(("the legend", fig["legendBox"]))
    items += [(f"colorbar {k}", bar) for k, bar in enumerate(fig["colorbars"])]
    for i, (name_a, a) in enumerate(items):
        for name_b, b in items[i + 1:]:
            if _overlap(a, b):
                problems.append(f"{where}: {name_a} overlaps {name_b}")
    for name, item in items:
        if name == "the legend" or name.startswith("colorbar"):
            for s in subplots:
                if _overlap(item, s, tol=2):
                    problems.append(f"{where}: {name} covers the plot area of subplot "
                                    f"{s['name']}")
    # tick labels against the items above, and against other subplots' tick labels
    groups: dict[tuple, list[dict]] = {}
    for tick in fig["ticks"]:
        groups.setdefault((tick["subplot"], tick["axis"]), []).append(tick)
    for (subplot, axis), ticks in groups.items():
        for name, item in items:
            hit = next((t for t in ticks if _overlap(t, item)), None)
            if hit is not None:
                problems.append(f"{where}: {name} overlaps {axis} tick label '{hit['text']}'")
        for (other_subplot, other_axis), others in groups.items():
            if other_subplot == subplot or (other_subplot, other_axis) <= (subplot, axis):
                continue
            hit = next(((t, o) for t in ticks for o in others if _overlap(t, o)), None)
            if hit is not None:
                problems.append(f"{where}: {axis} tick label '{hit[0]['text']}' of subplot "
                                f"{subplot} overlaps {other_axis} tick label '{hit[1]['text']}' "
                                f"of subplot {other_subplot}")
        problems += _crowded(where, axis, ticks)
    si = sorted({t["text"] for t in fig["ticks"] if SI_TICK.match(t["text"])})
    if si:
        problems.append(f"{where}: SI-prefixed tick labels {si[:6]} (use powers of ten: "
                        f"exponentformat='power')")
    for entry in fig["legend"]:
        if not entry["shown"]:
            problems.append(f"{where}: legend entry '{entry['name']}' has no visible symbol")
    return problems


def _crowded(where: str, axis: str, ticks: list[dict]) -> list[str]:
    """Tick labels of one axis that overlap their neighbours."""
    horizontal = axis.startswith("x")
    key = "x0" if horizontal else "y0"
    ordered = sorted(ticks, key=lambda t: t[key])
    for a, b in zip(ordered, ordered[1:]):
        if a["rotated"] or b["rotated"]:
            # rotated labels: their boxes overlap by construction; the text does when the
            # labels sit closer than a line of text apart
            gap = (b["x0"] + b["x1"] - a["x0"] - a["x1"]) / 2 if horizontal else \
                (b["y0"] + b["y1"] - a["y0"] - a["y1"]) / 2
            if gap < 0.8 * max(a["size"], b["size"]):
                return [f"{where}: {axis} tick labels '{a['text']}' and '{b['text']}' overlap "
                        f"({gap:.0f} px apart)"]
        elif _overlap(a, b, tol=3):  # plotly's log-axis digits may touch by a pixel or two
            return [f"{where}: {axis} tick labels '{a['text']}' and '{b['text']}' overlap"]
    return []


def output_problems(outputs: list[dict]) -> list[str]:
    problems = []
    for out in outputs:
        where = f"cell {out['prompt'] or out['cell']}"
        if out["kind"] in ("stderr", "error"):
            problems.append(f"{where}: {out['kind']} output: {out['text'][:400]!r}")
            continue
        text = out["text"]
        for raw in RAW_REPRS:
            if raw in text:
                at = text.index(raw)
                problems.append(f"{where}: raw repr {text[at:at + 80]!r}")
        match = RAW_HTML.search(text)
        if match:
            problems.append(f"{where}: HTML shown as text: "
                            f"{text[max(0, match.start() - 30):match.end() + 40]!r}")
    return problems


def check_what_a_learner_sees(lab, name: str | None = None) -> list[dict]:
    """Run every check on ``lab``'s page (a :class:`LabPage` after Run All); fail listing all.

    Saves a screenshot of every figure's output under ``<artifacts>/figures/`` first, so that a
    failure can be looked at. Returns the figures' measurements.
    """
    page = lab.page
    # Plotly outputs (static figures and FigureWidgets) are drawn once they have been shown:
    # bring each one into view, then wait until every one holds a drawn graph.
    shown = page.locator(f'.jp-OutputArea-output[data-mime-type="{PLOTLY_MIME}"], '
                         f'.jp-OutputArea-output[data-mime-type="{WIDGET_MIME}"]')
    for k in range(shown.count()):
        shown.nth(k).scroll_into_view_if_needed(timeout=15_000)
        page.wait_for_timeout(150)
    undrawn = [PLOTLY_MIME, PLOTS]
    try:
        page.wait_for_function(f"(arg) => ({_UNDRAWN_JS})(arg) === 0", arg=undrawn,
                               timeout=lab.widget_ms)
    except Exception as err:
        raise AssertionError(f"{page.evaluate(_UNDRAWN_JS, undrawn)} plotly output(s) still "
                             f"not drawn after {lab.widget_ms / 1000:.0f} s") from err
    page.wait_for_timeout(500)  # plotly's autosize relayout after the first draw
    name = name or lab.notebook.stem
    figures = page.evaluate(_FIGURES_JS, [PLOTS, FIGURE_ATTR])
    folder = Path(lab.artifacts) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    for fig in figures:
        output = page.locator(f'[{FIGURE_ATTR}="{fig["index"]}"]').locator(
            "xpath=ancestor-or-self::div[contains(@class, 'jp-OutputArea-output')][1]")
        try:
            output.screenshot(path=str(folder / f"{name}_{fig['index']}.png"), timeout=15_000)
        except Exception as err:  # a screenshot must not hide the checks' verdict
            print(f"screenshot of figure {fig['index']} failed: {err}")
    # after scrolling each into view: the final layout
    figures = page.evaluate(_FIGURES_JS, [PLOTS, FIGURE_ATTR])
    problems = output_problems(page.evaluate(_OUTPUTS_JS))
    for fig in figures:
        problems += figure_problems(fig)
    assert not problems, (f"{name}: {len(problems)} problem(s) a learner would see "
                          f"(screenshots in {folder}):\n  " + "\n  ".join(problems))
    return figures
