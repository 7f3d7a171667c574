"""The ledger of recent sends is kept only as long as a window reads it, and a decision
record stays small whatever the catalogue (issue 12, item 4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from talentops.delivery import ledger
from talentops.delivery.budget import ContactPolicy
from talentops.models.state import (
    PASSED_OVER_NAMED,
    REASON_CHARS,
    Decision,
    SentRecord,
    passed_over,
)

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def _ledger(days_ago: list[float]) -> dict[str, SentRecord]:
    return {
        f"d{i:03d}": SentRecord(at=NOW - timedelta(days=d), purpose="events", template="t")
        for i, d in enumerate(days_ago)
    }


def test_outdated_names_the_traces_past_the_window_oldest_first() -> None:
    recent = _ledger([1, 8, 6.9, 30, 7])
    assert ledger.outdated(recent, NOW, timedelta(days=7)) == ("d003", "d001", "d004")
    assert ledger.outdated(recent, NOW, timedelta(days=31)) == ()


def test_outdated_removes_at_most_a_bounded_number_per_write() -> None:
    recent = _ledger([10 + i for i in range(ledger.MAX_REMOVALS + 50)])
    removed = ledger.outdated(recent, NOW, timedelta(days=7))
    assert len(removed) == ledger.MAX_REMOVALS
    assert removed[0] == f"d{ledger.MAX_REMOVALS + 49:03d}"  # the oldest go first


def test_the_window_is_the_longest_configured_one_and_never_under_a_week() -> None:
    assert ledger.longest([timedelta(days=2), None]) == timedelta(days=7)
    assert ledger.longest([timedelta(days=14), timedelta(days=7)]) == timedelta(days=14)
    assert ledger._window("", 7) == timedelta(days=7)
    assert ledger._window(json.dumps({"budget": {"window_days": 21}}), 7) == timedelta(days=21)
    assert ledger._window("", 30) == timedelta(days=30)
    assert ContactPolicy.from_config("").budget is not None


def test_passed_over_names_a_few_variants_then_counts() -> None:
    reasons = [f"not v{i}: rule {i} does not hold" for i in range(1000)] + ["variant v1000: x"]
    bounded = passed_over(reasons)
    assert bounded[:PASSED_OVER_NAMED] == reasons[:PASSED_OVER_NAMED]
    assert bounded[PASSED_OVER_NAMED] == f"and {1000 - PASSED_OVER_NAMED} more variants passed over"
    assert bounded[-1] == "variant v1000: x" and len(bounded) == PASSED_OVER_NAMED + 2
    assert passed_over(["variant a: fallback"]) == ["variant a: fallback"]
    assert passed_over([]) == []
    long = passed_over(["not a: " + "x" * 5000, "variant b: " + "y" * 5000])
    assert all(len(r) == REASON_CHARS for r in long)


def test_a_decision_of_a_large_catalogue_stays_under_4_kb() -> None:
    reasons = passed_over(
        [f"not v{i:04d}: candidate.role_family eq family_{i:04d} does not hold" for i in range(999)]
        + ["variant v0999: fallback"]
    )
    decision = Decision(
        decision_id="d" * 32,
        candidate_id="c_" + "a" * 30,
        trigger={"detail_type": "Candidate Event Attended", "event_id": "e" * 36},
        template="event_attended_followup",
        purpose="events",
        outcome="send",
        variant="v0999",
        reasons=["consent: events granted (talent.crm, 2026-11-01)", *reasons],
        message_id="m_" + "d" * 32,
        decided_at=NOW,
    )
    assert len(json.dumps(decision.model_dump(mode="json")).encode()) < 4096


def test_a_decision_with_its_inputs_stays_under_4_kb_whatever_the_catalogue() -> None:
    """Every profile field read (a thousand variants, each naming one), each with the longest
    value kept (longer ones are kept as digests) and a long source (cut), microseconds in
    every time."""
    from talentops.content.catalogue import MessageSpec
    from talentops.delivery.decide import PROFILE_FIELDS
    from talentops.delivery.inputs import SUBJECT_KEPT, VALUE_CHARS, record_inputs
    from talentops.models.state import ConsentState, FieldValue, Profile

    names = [*PROFILE_FIELDS]
    variants = [
        {
            "name": f"v{i:04d}",
            "rules": [{"field": f"candidate.{names[i % len(names)]}", "op": "eq", "value": "x"}],
            "requires_fresh": [names[i % len(names)]],
            "subject": "s",
            "html": "a.html",
            "text": "a.txt",
        }
        for i in range(999)
    ]
    # Rules on names the profile does not have, and on many of the trigger's values.
    letters = ["".join(chr(97 + int(d)) for d in str(i)) for i in range(50)]
    variants[0]["rules"] = [
        *({"field": f"candidate.not_a_field_{x}", "op": "exists", "value": True} for x in letters),
        *({"field": f"job.value_{x}", "op": "exists", "value": True} for x in letters),
    ]
    variants.append({"name": "v0999", "subject": "s", "html": "a.html", "text": "a.txt"})
    spec = MessageSpec.model_validate({"purpose": "events", "variants": variants})
    profile = Profile(candidate_id="c_" + "a" * 30)
    for name in names:
        profile.fields[name] = FieldValue(
            value="v" * (VALUE_CHARS - 2),
            source="s" * 256,
            observed_at=NOW + timedelta(microseconds=1),
        )
    profile.consent["events"] = ConsentState(
        status="granted", source="s" * 256, observed_at=NOW + timedelta(microseconds=1)
    )
    inputs = record_inputs(
        profile=profile,
        spec=spec,
        payload={"job": {f"value_{x}": "v" * (VALUE_CHARS - 2) for x in letters}},
        versions={"catalogue": "a" * 12, "journeys": "b" * 12, "policy": "c" * 12},
        sent=1000,
    )
    assert set(inputs.fields) == set(names)
    assert len(inputs.subject) == SUBJECT_KEPT
    reasons = passed_over([f"not v{i:04d}: " + "r" * 400 for i in range(999)] + ["v" * 400])
    decision = Decision(
        decision_id="d" * 32,
        candidate_id="c_" + "a" * 30,
        trigger={"detail_type": "Candidate Event Attended", "event_id": "e" * 36},
        template="event_attended_followup",
        purpose="events",
        outcome="send",
        variant="v0999",
        reasons=["consent: events granted (talent.crm, 2026-11-01)", *reasons],
        message_id="m_" + "d" * 32,
        decided_at=NOW,
        inputs=inputs,
    )
    # The inputs take at most about 1.6 KB: room is left for the record's other fields.
    assert len(json.dumps(inputs.model_dump(mode="json")).encode()) < 1600
    assert len(json.dumps(decision.model_dump(mode="json")).encode()) < 4096
