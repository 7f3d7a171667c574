"""The event lake's record: one row per fact the system receives or announces.

Every fact on the bus becomes one flat row with the columns below (on AWS a bus rule sends
the facts to Firehose, whose transform, functions/lake_transform, builds the rows that land
in S3 by day for Athena; on the local stack the same transform writes JSON Lines files by
day, read with DuckDB). The row is built here, from a fixed list of fields: a candidate
appears only by their lake key (adapters/lake_keys.py: a pseudonym that erasure deletes),
never by id, address or name, so nothing a producer adds to a fact (an email, a first name)
reaches the lake. A fact that names its candidate only by email or ref is recorded without
a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..engagement.urls import without_token
from ..models import detail_types

# column -> SQL type (DuckDB's names; the Glue table declares the same with Hive's).
COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "detail_type": "VARCHAR",
    "source": "VARCHAR",
    "occurred_at": "TIMESTAMP",  # the fact's own time (observed_at, or at)
    "day": "VARCHAR",
    "candidate_key": "VARCHAR",  # the candidate's lake key (a pseudonym), never the id
    "message_id": "VARCHAR",
    "template": "VARCHAR",
    "variant": "VARCHAR",
    "purpose": "VARCHAR",
    "reason": "VARCHAR",
    "status": "VARCHAR",
    # A message's holdout and the decision's arm of it (holdout / treatment), and the
    # experiment its variant ran (the arm is the variant): from the decision's experiments.
    "holdout": "VARCHAR",
    "arm": "VARCHAR",
    "experiment": "VARCHAR",
    "trigger_type": "VARCHAR",
    "job_id": "VARCHAR",
    "url": "VARCHAR",
    "country": "VARCHAR",
    "seniority": "VARCHAR",
    "role_family": "VARCHAR",
}
# What a report may break a metric down by: the fact's own columns (`day`: the start fact's
# day), and the candidate's country, seniority and role family (their latest `Candidate
# Profile Changed` values).
FACT_BREAKDOWNS = (
    "template",
    "variant",
    "purpose",
    "reason",
    "trigger_type",
    "day",
    "holdout",
    "experiment",
)
CANDIDATE_BREAKDOWNS = ("country", "seniority", "role_family")
BREAKDOWN_COLUMNS = frozenset(FACT_BREAKDOWNS + CANDIDATE_BREAKDOWNS)
# What a definition's `where` may test (equality).
FILTER_COLUMNS = frozenset((*FACT_BREAKDOWNS, "status", "source", "job_id", "arm"))
HOLDOUT_ARMS = ("holdout", "treatment")
KNOWN_FACTS = detail_types.INBOUND | detail_types.OUTBOUND | detail_types.CAREERS_SITE


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def candidate_of(event: Mapping[str, Any]) -> str | None:
    """The candidate id a fact names (`candidate_id`, or `candidate.id`); None otherwise."""
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    candidate = detail.get("candidate")
    return _text(detail.get("candidate_id")) or (
        _text(candidate.get("id")) if isinstance(candidate, Mapping) else None
    )


def assignments(detail: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(holdout, arm, experiment) of a Message Sent / Suppressed: the holdout the decision
    was held out by, else the first it was in the treatment of; and the experiment its
    variant ran (the variant is that experiment's arm)."""
    entries = detail.get("experiments")
    if not isinstance(entries, list):
        return None, None, None
    pairs = [
        (_text(e.get("experiment")), _text(e.get("arm"))) for e in entries if isinstance(e, Mapping)
    ]
    holdouts = [(name, arm) for name, arm in pairs if name and arm in HOLDOUT_ARMS]
    held = [pair for pair in holdouts if pair[1] == "holdout"]
    holdout, arm = (held or holdouts)[0] if holdouts else (None, None)
    experiment = next((name for name, arm in pairs if name and arm not in HOLDOUT_ARMS), None)
    return holdout, arm, experiment


def lake_record(event: Mapping[str, Any], candidate_key: str | None) -> dict[str, Any] | None:
    """The lake's row for an EventBridge event (pure), naming its candidate by
    `candidate_key`; None for what is not a fact."""
    detail = event.get("detail")
    detail_type = event.get("detail-type")
    if not isinstance(detail, Mapping) or not isinstance(detail_type, str):
        return None
    at = _when(detail.get("at")) or _when(detail.get("observed_at")) or _when(event.get("time"))
    if at is None:
        return None
    trigger = detail.get("trigger")
    job = detail.get("job")
    changed = detail.get("changed") if isinstance(detail.get("changed"), Mapping) else {}

    def changed_value(field: str) -> str | None:
        entry = changed.get(field) if isinstance(changed, Mapping) else None
        return _text(entry.get("value")) if isinstance(entry, Mapping) else None

    holdout, arm, experiment = assignments(detail)

    return {
        "id": _text(event.get("id")),
        "detail_type": detail_type,
        "source": _text(event.get("source")),
        "occurred_at": at.replace(tzinfo=None).isoformat(sep=" "),
        "day": at.date().isoformat(),
        "candidate_key": candidate_key,
        "message_id": _text(detail.get("message_id")),
        "template": _text(detail.get("template")),
        "variant": _text(detail.get("variant")),
        "purpose": _text(detail.get("purpose")),
        "reason": _text(detail.get("reason")),
        "status": _text(detail.get("status")),
        "holdout": holdout,
        "arm": arm,
        "experiment": experiment,
        "trigger_type": _text(trigger.get("detail_type")) if isinstance(trigger, Mapping) else None,
        "job_id": _text(job.get("id")) if isinstance(job, Mapping) else None,
        # A page's address without a link token it may carry.
        "url": without_token(url) if (url := _text(detail.get("url"))) else None,
        "country": changed_value("country"),
        "seniority": changed_value("seniority"),
        "role_family": changed_value("role_family"),
    }
