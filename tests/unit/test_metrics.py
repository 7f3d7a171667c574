"""Metric definitions as versioned data, and each metric's query over a lake with known
facts (issue 13, items 3 and 4): the answers are counted by hand from the facts below."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from talentops.journeys.source import SourceError
from talentops.metrics.definitions import load_metrics, parse_metrics
from talentops.metrics.lake import COLUMNS, candidate_of, lake_record
from talentops.metrics.local import append_facts, duckdb_runner
from talentops.metrics.queries import athena_sql, metric_sql
from talentops.metrics.report import Z95, metric_report, wilson

ROOT = Path(__file__).resolve().parents[2]
IDS = itertools.count()
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
RANGE = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
METRICS = load_metrics(ROOT / "templates")


def fact(detail_type: str, at: datetime, n: int = 0, **detail: Any) -> dict[str, Any]:
    key = (
        "at"
        if detail_type.startswith("Message ")
        and detail_type
        not in (
            "Message Sent",
            "Message Suppressed",
        )
        else "observed_at"
    )
    return {
        "id": f"e{next(IDS)}",
        "detail-type": detail_type,
        "source": "talent.personalization",
        "time": at.isoformat(),
        "detail": {key: at.isoformat(), **detail},
    }


def sent(message: str, candidate: str, at: datetime, variant: str = "default") -> dict:
    return fact(
        "Message Sent",
        at,
        candidate_id=candidate,
        message_id=message,
        purpose="events",
        template="event_followup",
        variant=variant,
        trigger={"detail_type": "Candidate Event Attended", "event_id": "e"},
    )


def treated(event: dict, holdout: str = "event_followup") -> dict:
    """The fact of a decision in the treatment arm of ``holdout`` (its experiments)."""
    event["detail"]["experiments"] = [{"experiment": holdout, "arm": "treatment"}]
    return event


def engaged(kind: str, message: str, candidate: str, at: datetime) -> dict:
    return fact(
        f"Message {kind}",
        at,
        message_id=message,
        candidate_id=candidate,
        template="event_followup",
        variant="default",
        decision_id="d",
    )


def applied(candidate: str, at: datetime) -> dict:
    return fact("Candidate Application Submitted", at, candidate={"id": candidate}, job={"id": "j"})


def country(candidate: str, code: str, at: datetime) -> dict:
    return fact(
        "Candidate Profile Changed",
        at,
        candidate_id=candidate,
        changed={"country": {"value": code, "source": "ats", "observed_at": at.isoformat()}},
    )


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    day = timedelta(days=1)
    facts = [
        country("c1", "DE", T0 - day),
        country("c2", "FR", T0 - day),
        country("c1", "AT", T0 - 2 * day),  # older: DE is c1's latest
        sent("m1", "c1", T0, "senior"),
        sent("m2", "c2", T0, "senior"),
        sent("m3", "c3", T0, "default"),
        sent("m4", "c4", T0, "default"),
        sent("m0", "c9", RANGE[0] - day),  # before the range: counts nowhere
        engaged("Delivered", "m1", "c1", T0 + timedelta(minutes=1)),
        engaged("Delivered", "m2", "c2", T0 + timedelta(minutes=1)),
        engaged("Delivered", "m3", "c3", T0 + timedelta(minutes=1)),
        engaged(
            "Delivered",
            "m3",
            "c3",
            T0 + timedelta(minutes=2),
        ),  # twice: one message
        engaged("Delivered", "m4", "c4", T0 + 5 * day),  # past the 3-day window
        engaged("Opened", "m1", "c1", T0 + timedelta(hours=1)),
        engaged("Opened", "m3", "c3", T0 + timedelta(hours=2)),
        engaged("Clicked", "m1", "c1", T0 + timedelta(hours=1)),
        fact("Candidate Page Viewed", T0 + day, candidate={"id": "c1"}, url="https://x.example/"),
        applied("c1", T0 + 2 * day),  # 2 days after the message, 1 after the visit
        applied("c2", T0 + 20 * day),  # outside application_rate's 14 days
        fact(
            "Message Suppressed",
            T0,
            candidate_id="c5",
            purpose="events",
            reason="frequency_cap",
            trigger={"detail_type": "x", "event_id": "e"},
        ),
        fact(
            "Message Suppressed",
            T0,
            1,
            candidate_id="c6",
            purpose="events",
            reason="frequency_cap",
            trigger={"detail_type": "x", "event_id": "e"},
        ),
        fact(
            "Message Suppressed",
            T0,
            candidate_id="c7",
            purpose="events",
            reason="no_consent",
            trigger={"detail_type": "x", "event_id": "e"},
        ),
    ]
    assert append_facts(tmp_path, facts) == len(facts)
    return tmp_path


def report(lake: Path, name: str, group_by: list[str] | None = None, version: int | None = None):
    definition = METRICS.get(name, version)
    assert definition is not None
    return metric_report(definition, group_by or [], *RANGE, duckdb_runner(lake))


def test_the_shipped_definitions_hold_every_metric_the_issue_names() -> None:
    names = {(d.name, d.version) for d in METRICS.all}
    for wanted in (
        "delivery_rate",
        "open_rate",
        "click_rate",
        "application_rate",
        "unsubscribe_rate",
        "suppressed_by_reason",
        "application_lift",
    ):
        assert (wanted, 1) in names
    assert {("time_to_apply", 1), ("time_to_apply", 2)} <= names
    first, second = METRICS.get("time_to_apply", 1), METRICS.get("time_to_apply", 2)
    assert first is not None and second is not None
    assert first.start.facts != second.start.facts  # the clocks start differently
    assert METRICS.get("time_to_apply") == second  # the newest by default


def test_rates_count_each_message_once_inside_its_window(lake: Path) -> None:
    [delivery] = report(lake, "delivery_rate")["rows"]
    assert (delivery["numerator"], delivery["denominator"]) == (3, 4)
    assert delivery["value"] == 0.75
    low, high = delivery["ci95"]
    assert (low, high) == pytest.approx(wilson(3, 4))
    assert low < 0.75 < high
    [opened] = report(lake, "open_rate")["rows"]
    assert (opened["numerator"], opened["denominator"]) == (2, 4)
    [clicked] = report(lake, "click_rate")["rows"]
    assert (clicked["numerator"], clicked["denominator"]) == (1, 4)
    [applied_] = report(lake, "application_rate")["rows"]
    assert (applied_["numerator"], applied_["denominator"]) == (1, 4)


def test_breakdowns_by_the_facts_variant_and_the_candidates_latest_country(lake: Path) -> None:
    by_variant = {r["group"]["variant"]: r for r in report(lake, "open_rate", ["variant"])["rows"]}
    assert {v: (r["numerator"], r["denominator"]) for v, r in by_variant.items()} == {
        "default": (1, 2),
        "senior": (1, 2),
    }
    by_country = {
        r["group"]["country"]: (r["numerator"], r["denominator"])
        for r in report(lake, "delivery_rate", ["country"])["rows"]
    }
    assert by_country == {"DE": (1, 1), "FR": (1, 1), None: (1, 2)}


def test_time_to_apply_under_each_definition(lake: Path) -> None:
    [v1] = report(lake, "time_to_apply", version=1)["rows"]
    # c1: 2 days after the message; c2: 20 days (inside 60); c3, c4 never.
    assert (v1["numerator"], v1["denominator"]) == (2, 4)
    assert v1["value"] in (2.0, 20.0, 11.0)  # an approximate median of {2, 20}
    [v2] = report(lake, "time_to_apply", version=2)["rows"]
    assert (v2["numerator"], v2["denominator"], v2["value"]) == (1, 1, 1.0)


def test_counts_by_reason(lake: Path) -> None:
    rows = {
        r["group"]["reason"]: r for r in report(lake, "suppressed_by_reason", ["reason"])["rows"]
    }
    assert {k: (r["numerator"], r["denominator"]) for k, r in rows.items()} == {
        "frequency_cap": (2, 3),
        "no_consent": (1, 3),
    }


def test_lift_against_the_holdout_with_its_interval(tmp_path: Path) -> None:
    facts = []
    for n in range(20):
        candidate = f"h{n}"
        if n < 10:
            facts.append(treated(sent(f"m{n}", candidate, T0)))
        else:
            facts.append(
                fact(
                    "Message Suppressed",
                    T0,
                    candidate_id=candidate,
                    purpose="events",
                    reason="holdout",
                    template="event_followup",
                    trigger={"detail_type": "x", "event_id": "e"},
                )
            )
        if n < 5 or n == 10:  # 5 of 10 sent apply, 1 of 10 held out
            facts.append(applied(candidate, T0 + timedelta(days=3)))
    # A message sent without a holdout is in neither arm, applied or not.
    facts += [sent("m_plain", "p1", T0), applied("p1", T0 + timedelta(days=1))]
    facts.append(sent("m_plain2", "p2", T0))
    append_facts(tmp_path, facts)
    [row] = report(tmp_path, "application_lift")["rows"]
    assert (row["numerator"], row["denominator"]) == (5, 10)
    assert row["control"] == {"numerator": 1, "denominator": 10}
    assert row["value"] == pytest.approx(0.4)
    se = math.sqrt(0.5 * 0.5 / 10 + 0.1 * 0.9 / 10)
    assert row["ci95"] == pytest.approx([0.4 - Z95 * se, 0.4 + Z95 * se])


def test_a_range_without_data_answers_zero_denominators(tmp_path: Path) -> None:
    for name in METRICS.names():
        [row] = report(tmp_path, name)["rows"]
        nothing = 0 if name == "suppressed_by_reason" else None  # a count of nothing is 0
        assert (row["numerator"], row["denominator"], row["value"]) == (0, 0, nothing)


def test_a_report_names_its_definition_and_version(lake: Path) -> None:
    body = report(lake, "time_to_apply", version=1)
    assert (body["metric"], body["version"]) == ("time_to_apply", 1)
    assert body["definition"]["start"]["fact"] == "Message Sent"


def test_a_breakdown_the_definition_does_not_allow_is_refused() -> None:
    definition = METRICS.get("time_to_apply")
    assert definition is not None
    with pytest.raises(ValueError, match="not a breakdown of time_to_apply: variant"):
        metric_sql(definition, ["variant"], *RANGE)


def test_every_query_has_an_athena_form_that_parses() -> None:
    for definition in METRICS.all:
        for group_by in ([], list(definition.breakdowns)):
            athena = athena_sql(metric_sql(definition, group_by, *RANGE))
            sqlglot.parse_one(athena, read="athena")
            assert "APPROX_QUANTILE" not in athena and "ARG_MAX" not in athena


def test_the_lake_holds_ids_never_addresses_names_or_tokens() -> None:
    event = fact(
        "Candidate Profile Updated",
        T0,
        candidate={"email": "ada@example.org"},
        fields={"first_name": "Ada", "last_name": "Lovelace", "country": "GB"},
    )
    assert candidate_of(event) is None  # named by email only: recorded without a key
    row = lake_record(event, None)
    assert row is not None and set(row) == set(COLUMNS)
    assert "ada" not in str(row).lower() and "lovelace" not in str(row).lower()
    assert row["candidate_key"] is None
    viewed = fact(
        "Candidate Page Viewed",
        T0,
        candidate={"id": "c1"},
        url="https://careers.example.com/?t=v2.k0.secret.sig&utm_source=email",
    )
    assert candidate_of(viewed) == "c1"
    page = lake_record(viewed, "k_pseudonym")
    assert page is not None and page["candidate_key"] == "k_pseudonym"
    assert "c1" not in page.values()
    assert page["url"] == "https://careers.example.com/?utm_source=email"


BAD = """\
metrics:
  - name: open_rate
    version: 1
    description: x
    kind: rate
    start: {fact: Message Sent}
    end: {fact: Message Glanced}
    population: all
    breakdowns: [variant, shoe_size]
  - name: open_rate
    version: 1
    description: y
    kind: duration
    start: {fact: Message Sent, where: {colour: red}}
    end: {fact: Candidate Application Submitted}
    population: all
    breakdowns: [template]
"""


def test_an_unknown_fact_or_field_is_reported_at_its_path_and_line() -> None:
    with pytest.raises(SourceError) as caught:
        parse_metrics(BAD, "metrics.yaml")
    found = {(p.line, p.path, p.message) for p in caught.value.problems}
    assert (7, "metrics[0].end.fact", "unknown fact 'Message Glanced'") in found
    assert (9, "metrics[0].breakdowns[1]", "unknown field 'shoe_size'") in found
    assert (14, "metrics[1].start.where.colour", "unknown field 'colour'") in found
    assert any(
        p.path == "metrics[1].version" and "defined twice" in p.message
        for p in caught.value.problems
    )
    assert any(
        p.path == "metrics[1].breakdowns[0]" and "per candidate" in p.message
        for p in caught.value.problems
    )


def test_make_lint_fails_on_a_bad_definition_file(tmp_path: Path) -> None:
    (tmp_path / "metrics.yaml").write_text(BAD)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_metrics.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "metrics.yaml:7: metrics[0].end.fact: unknown fact 'Message Glanced'" in result.stderr


class FakeKeys:
    def __init__(self) -> None:
        self.keys = {"c_known": "k_known"}
        self.profiles = {"c_known", "c_new"}
        self.reads = 0
        self.creations = 0

    def existing(self, candidate_ids: Any) -> dict[str, str]:
        self.reads += 1
        return {c: self.keys[c] for c in candidate_ids if c in self.keys}

    def create_many(self, candidate_ids: Any) -> dict[str, str | None]:
        self.creations += 1
        return {
            c: self.keys.setdefault(c, f"k_{c}") if c in self.profiles else None
            for c in candidate_ids
        }


def test_the_firehose_transform_answers_each_record_and_reads_keys_once_a_batch() -> None:
    import base64
    import json

    from talentops.metrics.transform import LakeTransform

    def record(n: int, payload: Any) -> dict[str, Any]:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return {"recordId": f"r{n}", "data": base64.b64encode(data).decode()}

    keys = FakeKeys()
    answer = LakeTransform(keys).handle(
        {
            "records": [
                record(0, sent("m1", "c_known", T0)),
                record(1, sent("m2", "c_new", T0)),
                record(2, sent("m3", "c_erased", T0)),
                record(3, b"\xff not json"),
                record(4, {"detail-type": "x"}),  # no detail: not a fact
            ]
        }
    )
    results = [(r["recordId"], r["result"]) for r in answer["records"]]
    assert results == [
        ("r0", "Ok"),
        ("r1", "Ok"),
        ("r2", "Ok"),
        ("r3", "Dropped"),
        ("r4", "Dropped"),
    ]
    rows = [json.loads(base64.b64decode(r["data"])) for r in answer["records"][:3]]
    assert [r["candidate_key"] for r in rows] == ["k_known", "k_c_new", None]
    assert all(
        r["metadata"]["partitionKeys"] == {"day": "2026-11-02"} for r in answer["records"][:3]
    )
    assert keys.reads == 1 and keys.creations == 1


def test_the_lake_row_carries_the_holdout_arm_and_experiment_of_the_decision() -> None:
    """What decide() records (Message Sent / Suppressed `experiments`) is what the lift
    query reads: the holdout's name and arm, and the experiment the variant ran."""
    from talentops.delivery.service import announcement
    from talentops.models.state import Assignment, Decision

    base = Decision(
        decision_id="d1",
        candidate_id="c1",
        trigger={"detail_type": "Candidate Event Attended", "event_id": "e"},
        template="event_followup",
        purpose="events",
        outcome="send",
        variant="b",
        message_id="m_d1",
        decided_at=T0,
        experiments=[
            Assignment(experiment="event_followup", arm="treatment"),
            Assignment(experiment="subject_ab", arm="b"),
        ],
    )
    held = base.suppressed("holdout", []).model_copy(
        update={"experiments": [Assignment(experiment="event_followup", arm="holdout")]}
    )
    rows = []
    for decision in (base, held):
        detail_type, detail = announcement(decision)
        event = {
            "id": decision.decision_id,
            "detail-type": detail_type,
            "source": "talent.personalization",
            "time": T0.isoformat(),
            "detail": detail.model_dump(mode="json", exclude_none=True),
        }
        rows.append(lake_record(event, "k1"))
    sent_row, held_row = rows
    assert sent_row is not None and held_row is not None
    assert (sent_row["holdout"], sent_row["arm"], sent_row["experiment"]) == (
        "event_followup",
        "treatment",
        "subject_ab",
    )
    assert sent_row["variant"] == "b"
    assert (held_row["holdout"], held_row["arm"], held_row["reason"]) == (
        "event_followup",
        "holdout",
        "holdout",
    )
    plain = lake_record(sent("m9", "c9", T0), "k9")
    assert plain is not None and (plain["holdout"], plain["arm"], plain["experiment"]) == (
        None,
        None,
        None,
    )
