"""The HTML report marketing ops look at (`make report`): funnels per message and variant,
lift against the holdout with its interval, time to apply under each definition side by
side, and suppression reasons over time. Every chart has its numbers beside it and the
definitions it used at the foot; charts are Vega-Lite specifications drawn to inline SVG
offline (vl-convert, a development dependency), so the file opens anywhere without a
network.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .definitions import MetricDefinition, Metrics
from .report import metric_report

FUNNEL = ("delivery_rate", "open_rate", "click_rate", "application_rate")
DASH = "\u2013"  # an en dash: "no figure", and between an interval's bounds


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


def _interval(ci: Sequence[float] | None) -> str:
    if not ci:
        return DASH
    low, high = ci
    return f"{low * 100:.1f} {DASH} {high * 100:.1f} %"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table class="numbers"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert

    return str(vl_convert.vegalite_to_svg(spec))


def _chart(values: list[dict[str, Any]], mark: dict[str, Any], encoding: dict[str, Any]) -> str:
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "mark": mark,
        "encoding": encoding,
        "width": 520,
        "height": 220,
    }
    return _svg(spec)


def _section(title: str, chart: str, numbers: str, note: str = "") -> str:
    paragraph = f"<p>{html.escape(note)}</p>" if note else ""
    return (
        f'<section class="metric"><h2>{html.escape(title)}</h2>{paragraph}'
        f'<div class="pair"><figure class="chart">{chart}</figure>{numbers}</div></section>'
    )


def _definition(d: MetricDefinition) -> str:
    end = f", ends at {', '.join(d.end.facts)}" if d.end else ""
    where = f" where {d.start.where}" if d.start.where else ""
    return (
        f"<li><b>{html.escape(d.name)} v{d.version}</b> ({d.kind}): "
        f"{html.escape(d.description)} Starts at {html.escape(', '.join(d.start.facts))}"
        f"{html.escape(where)}{html.escape(end)}; tied by {d.match}; window {d.window_days} "
        f"days; population: {html.escape(d.population)}.</li>"
    )


def build_report(
    metrics: Metrics,
    run: Callable[[str], list[dict[str, Any]]],
    start: datetime,
    end: datetime,
) -> str:
    """The whole page as one HTML string."""
    used: list[MetricDefinition] = []

    def get(name: str, version: int | None = None) -> MetricDefinition:
        definition = metrics.get(name, version)
        if definition is None:
            raise ValueError(f"the report needs the metric {name}")
        if definition not in used:
            used.append(definition)
        return definition

    sections: list[str] = []
    total_sent = metric_report(get("delivery_rate"), [], start, end, run)["rows"][0]
    empty = total_sent["denominator"] == 0

    # 1. Funnel per message and variant.
    funnel_values: list[dict[str, Any]] = []
    funnel_rows: list[list[Any]] = []
    for name in FUNNEL:
        for row in metric_report(get(name), ["template", "variant"], start, end, run)["rows"]:
            if row["denominator"] == 0:
                continue
            label = f"{row['group']['template']} / {row['group']['variant']}"
            funnel_values.append({"message": label, "step": name, "rate": row["value"] or 0})
            funnel_rows.append(
                [
                    label,
                    name,
                    row["numerator"],
                    row["denominator"],
                    _pct(row["value"]),
                    _interval(row["ci95"]),
                ]
            )
    sections.append(
        _section(
            "Funnel per message and variant",
            _chart(
                funnel_values,
                {"type": "bar"},
                {
                    "y": {"field": "message", "type": "nominal", "title": None},
                    "x": {"field": "rate", "type": "quantitative", "axis": {"format": "%"}},
                    "color": {"field": "step", "type": "nominal", "sort": list(FUNNEL)},
                    "yOffset": {"field": "step", "sort": list(FUNNEL)},
                },
            ),
            _table(
                ["message / variant", "step", "reached", "sent", "rate", "95 % interval"],
                funnel_rows,
            ),
        )
    )

    # 2. Lift against the holdout.
    lift_values: list[dict[str, Any]] = []
    lift_rows: list[list[Any]] = []
    for row in metric_report(get("application_lift"), ["template"], start, end, run)["rows"]:
        control = row.get("control") or {}
        if row["value"] is None:
            continue
        low, high = row["ci95"]
        template = row["group"]["template"]
        lift_values.append({"message": template, "lift": row["value"], "low": low, "high": high})
        lift_rows.append(
            [
                template,
                f"{row['numerator']}/{row['denominator']}",
                f"{control.get('numerator', 0)}/{control.get('denominator', 0)}",
                f"{row['value'] * 100:+.1f} pts",
                f"{low * 100:+.1f} {DASH} {high * 100:+.1f} pts",
            ]
        )
    lift_chart = _svg(
        {
            "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
            "data": {"values": lift_values},
            "width": 520,
            "height": 160,
            "layer": [
                {
                    "mark": "rule",
                    "encoding": {
                        "y": {"field": "message", "type": "nominal", "title": None},
                        "x": {
                            "field": "low",
                            "type": "quantitative",
                            "title": "lift",
                            "axis": {"format": "+%"},
                        },
                        "x2": {"field": "high"},
                    },
                },
                {
                    "mark": {"type": "point", "filled": True, "size": 80},
                    "encoding": {
                        "y": {"field": "message", "type": "nominal"},
                        "x": {"field": "lift", "type": "quantitative"},
                    },
                },
            ],
        }
    )
    sections.append(
        _section(
            "Application lift against the holdout",
            lift_chart,
            _table(
                ["message", "applied / sent", "applied / held out", "lift", "95 % interval"],
                lift_rows,
            ),
            "" if lift_rows else "No message with a holdout in the range.",
        )
    )

    # 3. Time to apply under each definition, side by side.
    tta_values: list[dict[str, Any]] = []
    tta_rows: list[list[Any]] = []
    for definition in [d for d in metrics.all if d.name == "time_to_apply"]:
        get(definition.name, definition.version)
        [row] = metric_report(definition, [], start, end, run)["rows"]
        label = f"v{definition.version}: from {', '.join(definition.start.facts)}"
        tta_values.append({"definition": label, "days": row["value"] or 0})
        tta_rows.append(
            [
                label,
                DASH if row["value"] is None else f"{row['value']:.1f}",
                row["numerator"],
                row["denominator"],
            ]
        )
    sections.append(
        _section(
            "Time to apply, under each definition",
            _chart(
                tta_values,
                {"type": "bar"},
                {
                    "y": {"field": "definition", "type": "nominal", "title": None},
                    "x": {"field": "days", "type": "quantitative", "title": "median days"},
                },
            ),
            _table(["definition", "median days", "applied", "clocks started"], tta_rows),
        )
    )

    # 4. Suppression reasons over time.
    sup_values: list[dict[str, Any]] = []
    sup_rows: list[list[Any]] = []
    for row in metric_report(get("suppressed_by_reason"), ["day", "reason"], start, end, run)[
        "rows"
    ]:
        if not row["numerator"]:
            continue
        day, reason = row["group"]["day"], row["group"]["reason"]
        sup_values.append({"day": day, "reason": reason, "count": row["numerator"]})
        sup_rows.append([day, reason, row["numerator"]])
    sections.append(
        _section(
            "Suppression reasons over time",
            _chart(
                sup_values,
                {"type": "bar"},
                {
                    "x": {"field": "day", "type": "ordinal", "title": None},
                    "y": {"field": "count", "type": "quantitative", "stack": True},
                    "color": {"field": "reason", "type": "nominal"},
                },
            ),
            _table(["day", "reason", "messages held back"], sup_rows),
        )
    )

    banner = (
        '<p class="empty">The lake holds no message sent in this range: every figure below '
        "is empty.</p>"
        if empty
        else ""
    )
    definitions = "".join(_definition(d) for d in used)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Personalization report {start:%Y-%m-%d} to {end:%Y-%m-%d}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222 }}
.pair {{ display: flex; gap: 1.5rem; align-items: flex-start; flex-wrap: wrap }}
table.numbers {{ border-collapse: collapse; font-size: 12px }}
table.numbers td, table.numbers th {{ border-bottom: 1px solid #ddd; padding: 2px 8px;
  text-align: left }}
.empty {{ background: #fff4d6; padding: .5rem 1rem }}
footer {{ margin-top: 2rem; font-size: 12px; color: #444 }}
</style></head><body>
<h1>Does the personalization work?</h1>
<p>Facts from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC
({total_sent["denominator"]} messages sent).</p>
{banner}
{"".join(sections)}
<footer><h2>Definitions used</h2><ul>{definitions}</ul>
<p>From templates/metrics.yaml; a changed definition is a new version.</p></footer>
</body></html>
"""
