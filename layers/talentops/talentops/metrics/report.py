"""A metric over the lake: its query run, each row's value and 95 % interval computed.

Rates get Wilson's interval; a lift (treated rate minus control rate) the normal interval of
a difference of proportions; a duration reports the median days and the share of clocks that
stopped with Wilson's interval. A range with no data answers one row with zero
denominators, never an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .definitions import MetricDefinition
from .queries import metric_sql

Z95 = 1.959963984540054


def wilson(numerator: int, denominator: int) -> tuple[float, float] | None:
    if denominator <= 0:
        return None
    p = numerator / denominator
    centre = p + Z95**2 / (2 * denominator)
    spread = Z95 * math.sqrt(p * (1 - p) / denominator + Z95**2 / (4 * denominator**2))
    scale = 1 + Z95**2 / denominator
    return (max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale))


def difference_interval(
    n1: int, d1: int, n0: int, d0: int
) -> tuple[float, tuple[float, float]] | None:
    """Treated rate minus control rate, and its 95 % interval (normal approximation)."""
    if d1 <= 0 or d0 <= 0:
        return None
    p1, p0 = n1 / d1, n0 / d0
    se = math.sqrt(p1 * (1 - p1) / d1 + p0 * (1 - p0) / d0)
    lift = p1 - p0
    return lift, (lift - Z95 * se, lift + Z95 * se)


def _row(definition: MetricDefinition, group: dict[str, Any], data: dict[str, Any]) -> dict:
    numerator = int(data.get("numerator") or 0)
    denominator = int(data.get("denominator") or 0)
    row: dict[str, Any] = {
        "group": group,
        "numerator": numerator,
        "denominator": denominator,
        "value": None,
        "ci95": None,
    }
    if definition.kind == "lift":
        control_n = int(data.get("control_numerator") or 0)
        control_d = int(data.get("control_denominator") or 0)
        row["control"] = {"numerator": control_n, "denominator": control_d}
        found = difference_interval(numerator, denominator, control_n, control_d)
        if found is not None:
            row["value"], (low, high) = found
            row["ci95"] = [low, high]
        return row
    if definition.kind == "duration":
        median = data.get("median_days")
        row["value"] = None if median is None else float(median)
        stopped = wilson(numerator, denominator)  # the share of clocks that stopped
        row["ci95"] = None if stopped is None else list(stopped)
        return row
    if definition.kind == "count":
        row["value"] = numerator
        share = wilson(numerator, denominator)  # its share of the total
        row["ci95"] = None if share is None else list(share)
        return row
    interval = wilson(numerator, denominator)
    row["value"] = numerator / denominator if denominator else None
    row["ci95"] = None if interval is None else list(interval)
    return row


def metric_report(
    definition: MetricDefinition,
    group_by: Sequence[str],
    start: datetime,
    end: datetime,
    run: Callable[[str], list[dict[str, Any]]],
) -> dict[str, Any]:
    """The report body: `{"metric", "version", "definition", "rows"}`; `run` executes the
    query (DuckDB locally, Athena on AWS) and returns its rows as dicts."""
    keys = list(group_by)
    results = run(metric_sql(definition, keys, start, end))
    rows = [_row(definition, {k: r.get(k) for k in keys}, r) for r in results]
    if not rows:
        rows = [_row(definition, {k: None for k in keys}, {})]
    rows.sort(key=lambda r: [str(r["group"].get(k)) for k in keys])
    return {
        "metric": definition.name,
        "version": definition.version,
        "definition": definition.model_dump(mode="json"),
        "from": start.isoformat(),
        "to": end.isoformat(),
        "rows": rows,
    }
