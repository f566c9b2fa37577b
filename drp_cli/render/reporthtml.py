"""``drp report --html``: the report as one self-contained HTML page that prints on A4.

The charts are matplotlib figures drawn by its SVG backend (never a GUI) and inlined; text in
them stays text in the page's own system fonts (``svg.fonttype = none``), so opening the page
makes no request anywhere: no script, no font, no image from elsewhere. matplotlib is imported
only here, and only ``drp report --html`` imports this module.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from drp_cli.render.mdhtml import BASE_CSS, page
from drp_cli.services.report import TABLES, judged_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Colours that stay apart in print and for most colour vision (Okabe-Ito).
COLOURS = {
    "informal": "#56B4E9",
    "formal": "#0072B2",
    "met": "#009E73",
    "left_in_time": "#7FD6B9",
    "open_in_time": "#F0E442",
    "open_overdue": "#D55E00",
    "open_past_aim": "#E69F00",
    "missed": "#CC3311",
    "bar": "#0072B2",
}
LABELS = {
    "met": "met",
    "left_in_time": "left in time",
    "missed": "missed",
    "open_in_time": "open, in time",
    "open_overdue": "open, overdue",
    "open_past_aim": "open, past aim",
}
CSS = (
    BASE_CSS
    + """
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6pt; margin: 8pt 0; }
.figure { border: 1px solid #888; padding: 4pt 6pt; break-inside: avoid; }
.figure .n { font-size: 17pt; font-weight: bold; display: block; }
.figure .was { color: #444; font-size: 8.5pt; }
figure.chart { margin: 6pt 0 10pt; break-inside: avoid; }
figure.chart svg { width: 100%; height: auto; display: block; }
figure.chart figcaption { font-size: 9pt; color: #333; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #444; font-size: 9pt; }
section { break-inside: auto; }
h2 { break-after: avoid; }
@media print { body { max-width: none; } .pagebreak { break-before: page; } }
"""
)


def _setup() -> None:
    import matplotlib

    matplotlib.use("svg")  # a file backend: never a window, never a display
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # text stays text, in the page's fonts: nothing to fetch
            "svg.hashsalt": "drp-report",  # the same ids every time
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # the element only: no XML declaration or doctype
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _empty(fig: Figure, what: str) -> None:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, what, ha="center", va="center", color="#444")


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def chart_by_month(split: Mapping[str, Mapping[str, int]]) -> str:
    """Concerns opened each month, informal and formal (entered a formal stage) stacked."""
    fig = _figure(7.0, 2.6)
    if not split:
        _empty(fig, "No concern opened in the period")
        return _svg(fig)
    ax = fig.add_subplot()
    months = list(split)
    informal = [split[m]["informal"] for m in months]
    formal = [split[m]["formal"] for m in months]
    ax.bar(months, informal, color=COLOURS["informal"], label="informal only")
    ax.bar(months, formal, bottom=informal, color=COLOURS["formal"], label="reached formal")
    ax.set_ylabel("concerns opened")
    ax.tick_params(axis="x", labelrotation=45 if len(months) > 6 else 0)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.yaxis.set_major_locator(_integer_ticks())
    return _svg(fig)


def chart_bars(counts: Mapping[str, int], xlabel: str, empty: str) -> str:
    """A horizontal bar for each name, in the order given (the largest at the top)."""
    names = list(counts)
    fig = _figure(7.0, max(1.2, 0.32 * len(names) + 0.7))
    if not names:
        _empty(fig, empty)
        return _svg(fig)
    ax = fig.add_subplot()
    values = [counts[n] for n in names]
    bars = ax.barh(names[::-1], values[::-1], color=COLOURS["bar"])
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(_integer_ticks())
    return _svg(fig)


def chart_deadlines(
    by_stage: Mapping[str, Mapping[str, int]], keys: Sequence[str], empty: str
) -> str:
    """Each stage's visits by result, stacked: met first, missed and overdue last."""
    stages = list(by_stage)
    fig = _figure(7.0, max(1.3, 0.36 * len(stages) + 0.9))
    if not stages:
        _empty(fig, empty)
        return _svg(fig)
    ax = fig.add_subplot()
    left = [0] * len(stages)
    rows = stages[::-1]
    for key in keys:
        values = [by_stage[s][key] for s in rows]
        ax.barh(rows, values, left=left, color=COLOURS[key], label=LABELS[key])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("stage visits")
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


# -- the page -------------------------------------------------------------------------
def _n(value: Any) -> str:
    return "&ndash;" if value is None else escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    head = "".join(
        f"<th{' class=n' if i >= numeric_from else ''}>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if i >= numeric_from else ''}>{_n(v)}</td>" for i, v in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _chart(chart_id: str, title: str, svg: str, caption: str) -> str:
    return (
        f'<figure class="chart" id="chart-{chart_id}"><h3>{escape(title)}</h3>{svg}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def headline(data: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The headline figures: (what, this period, the period before)."""
    prev = data["previous_period"]

    def both(get: Any) -> tuple[Any, Any]:
        return get(data), get(prev)

    rows = [
        ("Concerns opened", *both(lambda d: d["concerns"])),
        ("Resolved informally", *both(lambda d: d["resolved_informally"])),
        ("Resolved after a formal stage", *both(lambda d: d["resolved_formally"])),
        ("Still open", *both(lambda d: d["status"]["open"])),
        ("Withdrawn", *both(lambda d: d["status"]["withdrawn"])),
        ("Referred to CAFCASS", *both(lambda d: d["cafcass_referrals"])),
        ("Firm stage deadlines met", *both(lambda d: d["stage_deadlines"]["met"])),
        ("Firm stage deadlines missed", *both(lambda d: d["stage_deadlines"]["missed"])),
        ("Open past a firm deadline", *both(lambda d: d["stage_deadlines"]["open_overdue"])),
        ("Median working days to resolve", *both(lambda d: d["working_days_to_resolve"]["median"])),
        ("Child's wishes sought", *both(lambda d: d["child_voice"]["wishes_sought"])),
        ("Child told the outcome", *both(lambda d: d["child_voice"]["told_outcome"])),
    ]
    return rows


def render(data: Mapping[str, Any]) -> str:
    """The whole page."""
    _setup()
    f = data["filters"]
    scope = ", ".join(f"{k} {v}" for k, v in f.items() if v) or "all concerns"
    prev = data["previous_period"]
    cards = "".join(
        f'<div class="figure">{escape(what)}<span class="n">{_n(now)}</span>'
        f'<span class="was">the period before: {_n(was)}</span>'
        "</div>"
        for what, now, was in headline(data)[:8]
    )
    firm, aims = data["stage_deadlines"], data["stage_aims"]
    wd = data["working_days_to_resolve"]
    voice = data["child_voice"]
    parts = [
        f"<h1>{escape(data['title'])}</h1>",
        f'<p class="muted">Concerns opened {escape(data["from"])} to {escape(data["to"])}, '
        f"{escape(judged_text(data))}; {escape(scope)}. Compared with "
        f"{escape(prev['from'])} to {escape(prev['to'])} (as on {escape(prev['on'])}). "
        "Counts only: no child's reference, name or free text.</p>",
        f'<div class="figures">{cards}</div>',
        "<h2>Headline figures</h2>",
        _table(["", "this period", "period before"], headline(data)),
        _chart(
            "by-month",
            "Concerns opened by month",
            chart_by_month(data["by_month_split"]),
            "Informal only: resolved, withdrawn or still open without entering a formal "
            "stage. Reached formal: entered a formal stage by the report's date.",
        ),
        _chart(
            "by-theme",
            "Concerns by theme",
            chart_bars(data["by_theme"], "concerns", "No concern in the period"),
            "The theme (category) each concern was recorded under.",
        ),
        _chart(
            "furthest-stage",
            "Furthest stage reached",
            chart_bars(data["furthest_stage"], "concerns", "No concern in the period"),
            "Each concern counted once, at the furthest stage of its protocol it entered.",
        ),
        _chart(
            "stage-deadlines",
            "Stage deadlines (firm)",
            chart_deadlines(
                data["stage_deadlines_by_stage"],
                ["met", "left_in_time", "open_in_time", "open_overdue", "missed"],
                "No stage visit with a firm deadline",
            ),
            "Every visit to a stage with a firm deadline, judged as drp show judges it.",
        ),
        _chart(
            "stage-aims",
            "Stage aims",
            chart_deadlines(
                data["stage_aims_by_stage"],
                ["met", "left_in_time", "open_in_time", "open_past_aim", "missed"],
                "No stage visit with an aim",
            ),
            "Stages whose protocol gives an aim rather than a limit.",
        ),
        '<h2 class="pagebreak">Time to resolve</h2>',
        _table(
            ["resolved", "median", "mean", "longest"],
            [[wd["count"], wd["median"], wd["mean"], wd["max"]]],
            numeric_from=0,
        ),
        '<p class="muted">Working days from opening to resolution, of the concerns resolved by '
        "the report's date (weekends, bank holidays and local closure days left out).</p>",
        "<h2>Stage deadlines</h2>",
        _table(
            ["stage", "met", "left in time", "missed", "open in time", "open overdue"],
            [
                [k, c["met"], c["left_in_time"], c["missed"], c["open_in_time"], c["open_overdue"]]
                for k, c in data["stage_deadlines_by_stage"].items()
            ]
            + [
                [
                    "all stages",
                    firm["met"],
                    firm["left_in_time"],
                    firm["missed"],
                    firm["open_in_time"],
                    firm["open_overdue"],
                ]
            ],
        ),
        _table(
            ["stage (aim)", "met", "left in time", "missed", "open in time", "open past aim"],
            [
                [k, c["met"], c["left_in_time"], c["missed"], c["open_in_time"], c["open_past_aim"]]
                for k, c in data["stage_aims_by_stage"].items()
            ]
            + [
                [
                    "all stages",
                    aims["met"],
                    aims["left_in_time"],
                    aims["missed"],
                    aims["open_in_time"],
                    aims["open_past_aim"],
                ]
            ],
        ),
        "<h2>The child's voice</h2>",
        _table(
            ["wishes sought", "not sought", "not recorded", "not applicable", "told the outcome"],
            [
                [
                    voice["wishes_sought"],
                    voice["wishes_not_sought"],
                    voice["not_recorded"],
                    voice["not_applicable"],
                    voice["told_outcome"],
                ]
            ],
            numeric_from=0,
        ),
        "<h2>Concerns by protocol, theme, issue, owner and team</h2>",
    ]
    for key, label in TABLES.items():
        if key == "by_month":  # drawn above, as a chart
            continue
        parts.append(_table([label, "concerns"], list(data[key].items())))
    if "children" in data:
        parts.append('<h2 class="pagebreak">Concerns (with child references)</h2>')
        parts.append(
            _table(
                ["id", "reference", "child", "protocol", "opened", "status", "furthest stage"],
                [
                    [
                        c["id"],
                        c["external_ref"],
                        c["child"],
                        c["protocol"],
                        c["opened_on"],
                        c["status"],
                        c["furthest_stage"],
                    ]
                    for c in data["children"]
                ],
                numeric_from=99,
            )
        )
    return page(str(data["title"]), "\n".join(parts), css=CSS)
