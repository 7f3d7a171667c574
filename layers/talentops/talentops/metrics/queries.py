"""Each metric's query, written once in DuckDB's dialect over the lake's `facts` table and
transpiled with sqlglot for Athena (Trino), so that the local stack and AWS answer alike.

The query returns, per group, a numerator and a denominator (and, for a duration, the
median in days; for a lift, the control arm's pair); the value and its 95 % interval are
computed from them (report.py). Values that reach the SQL are checked first: breakdowns
against the definition's list, dates parsed, facts and filters from a validated definition,
and every literal quoted.
"""

from __future__ import annotations

from datetime import datetime

from .definitions import FactRef, MetricDefinition

# Every query is built from a validated definition: identifiers come from fixed lists, every
# literal goes through _quote, dates are formatted from datetimes (ruff's S608 is answered).
from .lake import CANDIDATE_BREAKDOWNS

TABLE = "facts"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _stamp(moment: datetime) -> str:
    return f"CAST({_quote(moment.replace(tzinfo=None).isoformat(sep=' '))} AS TIMESTAMP)"


def _matches(alias: str, ref: FactRef) -> str:
    facts = ", ".join(_quote(f) for f in ref.facts)
    tests = [f"{alias}.detail_type IN ({facts})"]
    tests += [f"{alias}.{column} = {_quote(value)}" for column, value in sorted(ref.where.items())]
    return " AND ".join(tests)


def _attributes() -> str:
    """The candidate's latest country, seniority and role family (Candidate Profile Changed)."""
    picks = ", ".join(
        f"ARG_MAX({c}, occurred_at) FILTER (WHERE {c} IS NOT NULL) AS {c}"
        for c in CANDIDATE_BREAKDOWNS
    )
    return (
        f"SELECT candidate_key, {picks} FROM {TABLE} "
        "WHERE detail_type = 'Candidate Profile Changed' AND candidate_key IS NOT NULL "
        "GROUP BY candidate_key"
    )


def _keys(group_by: list[str], alias: str) -> list[tuple[str, str]]:
    """(expression, name) of each breakdown: a fact's column or the candidate's attribute."""
    return [(f"{'a' if g in CANDIDATE_BREAKDOWNS else alias}.{g}", g) for g in group_by]


def metric_sql(
    definition: MetricDefinition, group_by: list[str], start: datetime, end: datetime
) -> str:
    """The query (DuckDB) for `definition` over [start, end), by `group_by` (each already
    checked against the definition's breakdowns)."""
    unknown = [g for g in group_by if g not in definition.breakdowns]
    if unknown:
        raise ValueError(f"not a breakdown of {definition.name}: {', '.join(unknown)}")
    in_range = f"s.occurred_at >= {_stamp(start)} AND s.occurred_at < {_stamp(end)}"
    attrs = f"attrs AS ({_attributes()})"
    window = f"INTERVAL {int(definition.window_days)} DAY"
    names = [name for _, name in _keys(group_by, "s")]
    select_keys = "".join(f"{expr} AS {name}, " for expr, name in _keys(group_by, "s"))
    group_keys = ", ".join(names)
    outer_keys = "".join(f"{n}, " for n in names)
    by = f" GROUP BY {group_keys}" if names else ""
    if definition.kind == "count":
        return (
            f"WITH {attrs}, starts AS (SELECT {select_keys}s.id FROM {TABLE} s "
            f"LEFT JOIN attrs a ON a.candidate_key = s.candidate_key "
            f"WHERE {_matches('s', definition.start)} AND {in_range}) "
            f"SELECT {outer_keys}COUNT(*) AS numerator, "
            f"SUM(COUNT(*)) OVER () AS denominator FROM starts{by}"
        )
    assert definition.end is not None
    tie = (
        "e.message_id = st.message_id"
        if definition.match == "message"
        else "e.candidate_key = st.candidate_key"
    )
    hit = (
        f"LEFT JOIN {TABLE} e ON {_matches('e', definition.end)} AND {tie} "
        f"AND e.occurred_at >= st.occurred_at AND e.occurred_at <= st.occurred_at + {window}"
    )
    st_keys = "".join(f"st.{n}, " for n in names)
    # Grouped by the expression, not the alias: Trino does not group by an alias.
    first_keys = "".join(f"{expr}, " for expr, _ in _keys(group_by, "s"))
    if definition.kind == "rate":
        return (
            f"WITH {attrs}, starts AS (SELECT {select_keys}s.id, s.candidate_key, s.message_id, "
            f"s.occurred_at FROM {TABLE} s LEFT JOIN attrs a ON a.candidate_key = s.candidate_key "
            f"WHERE {_matches('s', definition.start)} AND {in_range}), "
            f"tied AS (SELECT {st_keys}st.id, MAX(CASE WHEN e.id IS NULL THEN 0 ELSE 1 END) "
            f"AS hit FROM starts st {hit} GROUP BY {st_keys}st.id) "
            f"SELECT {outer_keys}SUM(hit) AS numerator, COUNT(*) AS denominator FROM tied{by}"
        )
    if definition.kind == "duration":
        return (
            f"WITH {attrs}, firsts AS (SELECT {select_keys}s.candidate_key, "
            f"MIN(s.occurred_at) AS occurred_at "
            f"FROM {TABLE} s LEFT JOIN attrs a ON a.candidate_key = s.candidate_key "
            f"WHERE {_matches('s', definition.start)} AND {in_range} "
            f"AND s.candidate_key IS NOT NULL GROUP BY {first_keys}s.candidate_key), "
            f"ended AS (SELECT {st_keys}st.candidate_key, st.occurred_at, "
            f"MIN(e.occurred_at) AS ended_at "
            f"FROM firsts st {hit} GROUP BY {st_keys}st.candidate_key, st.occurred_at) "
            f"SELECT {outer_keys}COUNT(ended_at) AS numerator, COUNT(*) AS denominator, "
            f"APPROX_QUANTILE(DATE_DIFF('second', occurred_at, ended_at), 0.5) / 86400.0 "
            f"AS median_days "
            f"FROM ended{by}"
        )
    # lift: the rate after a message sent in a holdout's treatment arm against the rate
    # after a held-out one (a message without a holdout is in neither arm).
    held_out = FactRef(fact="Message Suppressed", where={"reason": "holdout"})
    templates = definition.start.where.get("template")
    held = _matches("s", held_out) + (
        f" AND s.template = {_quote(templates)}" if templates is not None else ""
    )
    treated = f"{_matches('s', definition.start)} AND s.arm = 'treatment'"
    return (
        f"WITH {attrs}, starts AS (SELECT {select_keys}s.id, s.candidate_key, s.message_id, "
        f"s.occurred_at, "
        f"CASE WHEN s.detail_type = 'Message Suppressed' THEN 'held_out' ELSE 'sent' END "
        f"AS arm FROM {TABLE} s LEFT JOIN attrs a ON a.candidate_key = s.candidate_key "
        f"WHERE (({treated}) OR ({held})) AND {in_range}), "
        f"tied AS (SELECT {st_keys}st.arm, st.id, "
        f"MAX(CASE WHEN e.id IS NULL THEN 0 ELSE 1 END) AS hit FROM starts st {hit} "
        f"GROUP BY {st_keys}st.arm, st.id) "
        f"SELECT {outer_keys}"
        f"SUM(CASE WHEN arm = 'sent' THEN hit ELSE 0 END) AS numerator, "
        f"SUM(CASE WHEN arm = 'sent' THEN 1 ELSE 0 END) AS denominator, "
        f"SUM(CASE WHEN arm = 'held_out' THEN hit ELSE 0 END) AS control_numerator, "
        f"SUM(CASE WHEN arm = 'held_out' THEN 1 ELSE 0 END) AS control_denominator "
        f"FROM tied{by}"
    )


def athena_sql(sql: str) -> str:
    """The same query in Athena's dialect (Trino)."""
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="athena")[0]
