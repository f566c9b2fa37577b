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

from drp_cli.render.mdhtml import BASE_CSS, MARKING, css_string, page
from drp_cli.services.report import (
    LONGEST,
    OPEN_BANDS,
    RATE_WORDS,
    TABLES,
    day_words,
    judged_text,
    named,
    period_text,
    rate_text,
    scope_words,
)

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
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 10pt; align-items: start; }
.pair table { margin-top: 0; }
.figures { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6pt; margin: 8pt 0; }
.figure { border: 1px solid #888; padding: 4pt 6pt; break-inside: avoid; }
.figure .n { font-size: 15pt; font-weight: bold; display: block; }
.figure .was { color: #444; font-size: 8.5pt; display: block; }
figure.chart { margin: 6pt 0 10pt; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { width: 100%; height: auto; display: block; }
figure.chart figcaption { font-size: 9pt; color: #333; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted { color: #444; font-size: 9pt; }
section { break-inside: auto; }
h2, h3 { break-after: avoid; page-break-after: avoid; }
table { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
tr, .keep { break-inside: avoid; page-break-inside: avoid; }
tr.total td { font-weight: bold; }
table.refs td:nth-child(2), table.refs td:nth-child(3) { white-space: nowrap; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print { body { max-width: none; } .pagebreak { break-before: page; } }
"""
)


def _page_css(title: str, marking: str) -> str:
    """The printed page's margins: the report's title (and, with children's references, the
    protective marking) at the top, "Page X of Y" at the foot (CSS paged media)."""
    top_right = (
        f"  @top-right {{ content: {css_string(marking)}; font: bold 8.5pt sans-serif; }}\n"
        if marking
        else ""
    )
    return (
        "@page { size: A4; margin: 16mm 14mm 16mm;\n"
        f"  @top-left {{ content: {css_string(title)}; font: 8.5pt sans-serif; color: #444; }}\n"
        + top_right
        + '  @bottom-right { content: "Page " counter(page) " of " counter(pages); '
        "font: 8.5pt sans-serif; } }\n"
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


def _wrap(label: str, width: int = 44) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, width)) or label


def chart_by_month(
    split: Mapping[str, Mapping[str, int]], words: Mapping[str, str] | None = None
) -> str:
    """Concerns opened each month, informal and formal (entered a formal stage) stacked;
    each month named by ``words`` ("November 2026"), else by its key."""
    fig = _figure(7.0, 2.6)
    if not split:
        _empty(fig, "No concern opened in the period")
        return _svg(fig)
    ax = fig.add_subplot()
    keys = list(split)
    informal = [split[m]["informal"] for m in keys]
    formal = [split[m]["formal"] for m in keys]
    months = [(words or {}).get(m, m) for m in keys]
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
    lines = sum(_wrap(n).count("\n") + 1 for n in names)
    fig = _figure(7.0, max(1.2, 0.2 * lines + 0.12 * len(names) + 0.7))
    if not names:
        _empty(fig, empty)
        return _svg(fig)
    ax = fig.add_subplot()
    values = [counts[n] for n in names]
    bars = ax.barh([_wrap(n) for n in names[::-1]], values[::-1], color=COLOURS["bar"])
    ax.bar_label(bars, padding=2, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(_integer_ticks())
    return _svg(fig)


def chart_deadlines(
    by_stage: Mapping[str, Mapping[str, int]], keys: Sequence[str], empty: str
) -> str:
    """Each stage's visits by result, stacked: met first, missed and overdue last."""
    stages = list(by_stage)
    lines = sum(_wrap(n).count("\n") + 1 for n in stages)
    fig = _figure(7.0, max(1.3, 0.22 * lines + 0.14 * len(stages) + 0.9))
    if not stages:
        _empty(fig, empty)
        return _svg(fig)
    ax = fig.add_subplot()
    left = [0] * len(stages)
    rows = stages[::-1]
    for key in keys:
        values = [by_stage[s][key] for s in rows]
        ax.barh([_wrap(r) for r in rows], values, left=left, color=COLOURS[key], label=LABELS[key])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("stage visits")
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(fig)


# -- the page -------------------------------------------------------------------------
def _n(value: Any) -> str:
    return "&ndash;" if value is None else escape(str(value))


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric_from: int = 1,
    total_last: bool = False,
    numeric_until: int = 999,
    cls: str = "",
) -> str:
    """A table with a header row (repeated on each printed page); the columns from
    ``numeric_from`` up to (not including) ``numeric_until`` right-aligned as numbers."""

    def numeric(i: int) -> bool:
        return numeric_from <= i < numeric_until

    head = "".join(
        f"<th{' class=n' if numeric(i) else ''}>{escape(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        ("<tr class=total>" if total_last and j == len(rows) - 1 else "<tr>")
        + "".join(f"<td{' class=n' if numeric(i) else ''}>{_n(v)}</td>" for i, v in enumerate(r))
        + "</tr>"
        for j, r in enumerate(rows)
    )
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
        ("Escalated", *both(lambda d: d["escalated"])),
        ("Referred to CAFCASS", *both(lambda d: d["cafcass_referrals"])),
        ("Firm stage deadlines met", *both(lambda d: d["stage_deadlines"]["met"])),
        ("Firm stage deadlines missed", *both(lambda d: d["stage_deadlines"]["missed"])),
        ("Open past a firm deadline", *both(lambda d: d["stage_deadlines"]["open_overdue"])),
        ("Median working days to resolve", *both(lambda d: d["working_days_to_resolve"]["median"])),
        ("Child's wishes sought", *both(lambda d: d["child_voice"]["wishes_sought"])),
        ("Child told the outcome", *both(lambda d: d["child_voice"]["told_outcome"])),
    ]
    return rows


def _card(what: str, value: str, was: str) -> str:
    return (
        f'<div class="figure">{escape(what)}<span class="n">{escape(value)}</span>'
        f'<span class="was">{escape(was)}</span></div>'
    )


def _activity(data: Mapping[str, Any]) -> list[str]:
    act = data["activity"]
    days = act["open_at_end_by_working_days"]
    events: list[list[Any]] = [
        ["Concerns opened", act["concerns_opened"]],
        [f"Escalations (of {act['concerns_escalated']} concerns)", act["escalations"]],
        ["Responses recorded", act["responses"]],
        ["Resolutions", act["resolutions"]],
        ["\u2003within timescale", rate_text(act["resolved_within_timescale"])],
        ["Withdrawals", act["withdrawals"]],
        ["Reopened", act["reopened"]],
        ["Referrals to CAFCASS", act["cafcass_referrals"]],
    ]
    caseload: list[list[Any]] = [
        [f"Open on {day_words(act['to'])}", act["open_at_end"]],
        ["\u2003opened before the period", act["open_at_end_opened_before"]],
        *([f"\u2003open {k.replace('_', ' ')} working days", days[k]] for k, _ in OPEN_BANDS),
    ]
    parts = [
        '<div class="keep">'
        f"<h2>Activity in the period: {escape(period_text(act['from'], act['to']))}</h2>",
        "<p class=\"muted\">What happened in the period's days to any concern in the report's "
        "scope, whenever it was opened: each event dated in the period counts once (one "
        "retracted as made in error does not), and the open caseload is as it stood on "
        f"{escape(day_words(act['to']))}. Within timescale: of the concerns resolved "
        "in the period whose stages had a timescale.</p>",
        '<div class="pair">'
        + _table(["events in the period", "count"], events)
        + _table(["open caseload", "concerns"], caseload)
        + "</div></div>",
    ]
    if "longest_open" in data:
        parts.append(
            f"<h3>The longest-running open concerns (up to {LONGEST})</h3>"
            + _table(
                ["id", "reference", "child", "stage", "opened", "working days open"],
                [
                    [
                        c["id"],
                        c["external_ref"],
                        c["child"],
                        named(data, "stage", c["stage"]) if c["stage"] else None,
                        day_words(c["opened_on"]),
                        c["working_days_open"],
                    ]
                    for c in data["longest_open"]
                ],
                numeric_from=5,
                cls="refs",
            )
        )
    elif act["open_at_end"]:
        parts.append(
            '<p class="muted">The longest-running open concerns are listed with '
            "<code>--with-children</code> (they name each child's reference).</p>"
        )
    if act["open_at_end_by_stage"]:
        parts.append(
            _table(
                ["open at the period's end, by stage", "concerns"],
                [[named(data, "stage", k), v] for k, v in act["open_at_end_by_stage"].items()],
            )
        )
    return parts


def _stage_rows(
    data: Mapping[str, Any], by_stage: Mapping[str, Mapping[str, int]], total: Mapping[str, int],
    keys: Sequence[str],
) -> list[list[Any]]:  # fmt: skip
    rows = [[named(data, "stage", k), *(c[x] for x in keys)] for k, c in by_stage.items()]
    return [*rows, ["all stages", *(total[x] for x in keys)]]


def render(data: Mapping[str, Any]) -> str:
    """The whole page."""
    _setup()
    prev = data["previous_period"]
    rates, prates = data["rates"], prev["rates"]
    act = data["activity"]
    cards = "".join(
        [
            *(
                _card(RATE_WORDS[k][0][0].upper() + RATE_WORDS[k][0][1:], rate_text(rates[k]),
                      f"the period before: {rate_text(prates[k])}")
                for k in RATE_WORDS
            ),
            _card("Concerns opened", str(data["concerns"]),
                  f"the period before: {prev['concerns']}"),
            _card("Resolutions in the period", str(act["resolutions"]),
                  "whenever the concern was opened"),
            _card("Escalations in the period", str(act["escalations"]),
                  "whenever the concern was opened"),
            _card(f"Open on {day_words(act['to'])}", str(act["open_at_end"]),
                  f"{act['open_at_end_opened_before']} of them opened before the period"),
        ]
    )  # fmt: skip
    firm, aims = data["stage_deadlines"], data["stage_aims"]
    wd = data["working_days_to_resolve"]
    voice = data["child_voice"]
    firm_keys = ["met", "left_in_time", "missed", "open_in_time", "open_overdue"]
    aim_keys = ["met", "left_in_time", "missed", "open_in_time", "open_past_aim"]

    def words(table: str, counts: Mapping[str, Any]) -> dict[str, Any]:
        return {named(data, table, k): v for k, v in counts.items()}

    parts = [
        f"<h1>{escape(data['title'])}</h1>",
        f'<p class="muted">Concerns opened {escape(period_text(data["from"], data["to"]))}, '
        f"{escape(judged_text(data))}; {escape(scope_words(data))}. Compared with "
        f"{escape(period_text(prev['from'], prev['to']))} "
        f"(as on {escape(day_words(prev['on']))}). "
        + (
            "With each concern's child reference: handle as OFFICIAL-SENSITIVE.</p>"
            if "children" in data
            else "Counts only: no child's reference, name or free text.</p>"
        ),
        f'<div class="figures">{cards}</div>',
        '<div class="keep"><h2>Rates</h2>',
        _table(
            ["", "this period", "period before", "of the", "counts as"],
            [
                [what, rate_text(rates[k]), rate_text(prates[k]), of, means]
                for k, (what, of, means) in RATE_WORDS.items()
            ],
            numeric_until=3,
        ),
        '<p class="muted">Each rate is a count out of the concerns opened in the period '
        "(or those of them resolved) as judged on the report's day, beside the same rate "
        "for the period before.</p></div>",
        *_activity(data),
        "<h2>Concerns opened in the period</h2>",
        _table(["", "this period", "period before"], headline(data)),
        _chart(
            "by-month",
            "Concerns opened by month",
            chart_by_month(data["by_month_split"], data["names"]["months"]),
            "Informal only: resolved, withdrawn or still open without entering a formal "
            "stage. Reached formal: entered a formal stage by the report's date.",
        ),
        _chart(
            "by-theme",
            "Concerns by theme",
            chart_bars(words("theme", data["by_theme"]), "concerns", "No concern in the period"),
            "The theme (category) each concern was recorded under.",
        ),
        _chart(
            "furthest-stage",
            "Furthest stage reached",
            chart_bars(
                words("stage", data["furthest_stage"]), "concerns", "No concern in the period"
            ),
            "Each concern counted once, at the furthest stage of its protocol it entered.",
        ),
        _chart(
            "stage-deadlines",
            "Stage deadlines (firm)",
            chart_deadlines(
                words("stage", data["stage_deadlines_by_stage"]),
                ["met", "left_in_time", "open_in_time", "open_overdue", "missed"],
                "No stage visit with a firm deadline",
            ),
            "Every visit to a stage with a firm deadline, judged as drp show judges it.",
        ),
        _chart(
            "stage-aims",
            "Stage aims",
            chart_deadlines(
                words("stage", data["stage_aims_by_stage"]),
                ["met", "left_in_time", "open_in_time", "open_past_aim", "missed"],
                "No stage visit with an aim",
            ),
            "Stages whose protocol gives an aim rather than a limit.",
        ),
        "<h2>Time to resolve</h2>",
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
            _stage_rows(data, data["stage_deadlines_by_stage"], firm, firm_keys),
            total_last=True,
        ),
        _table(
            ["stage (aim)", "met", "left in time", "missed", "open in time", "open past aim"],
            _stage_rows(data, data["stage_aims_by_stage"], aims, aim_keys),
            total_last=True,
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
        kind = "stage" if key == "furthest_stage" else label
        parts.append(
            _table([label, "concerns"], [[named(data, kind, k), v] for k, v in data[key].items()])
        )
    if "children" in data:
        stages = data["names"]["stages"]
        parts.append('<h2 class="pagebreak">Concerns (with child references)</h2>')
        parts.append(
            _table(
                ["id", "reference", "child", "protocol", "opened", "status", "furthest stage"],
                [
                    [
                        c["id"],
                        c["external_ref"],
                        c["child"],
                        named(data, "protocol", c["protocol"]),
                        day_words(c["opened_on"]),
                        c["status"],
                        stages.get(f"{c['protocol']}:{c['furthest_stage']}", c["furthest_stage"]),
                    ]
                    for c in data["children"]
                ],
                numeric_from=99,
                cls="refs",
            )
        )
    marking = MARKING if "children" in data else ""
    css = CSS + _page_css(str(data["title"]), marking)
    return page(str(data["title"]), "\n".join(parts), css=css)
