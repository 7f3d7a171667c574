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
