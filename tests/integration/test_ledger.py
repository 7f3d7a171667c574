"""The profile's ledger of recent sends does not grow (issue 12, item 4): each write of a
send's trace removes, in the same request, the traces older than the longest window any
sender reads (the contact budget, the caps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops import wiring
from talentops.adapters.dynamo import to_value
from talentops.adapters.talent_pool import PROFILE_SK, TalentPoolRepository, cand_pk
from talentops.clock import SYSTEM_CLOCK
from talentops.delivery import ledger
from talentops.models.events import CandidateRef
from talentops.models.state import Decision, SentRecord
from tests.conftest import TABLE
from tests.support.events import EVENT, behaviour, consent, envelope, profile

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", T0)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))


def _candidate(handlers: dict[str, Any], context: Any, address: str) -> str:
    ingest = handlers["ingest_profile"].handler
    ingest(profile(address, first_name="Jo", country="DE", city="Berlin"), context)
    ingest(consent(address, "granted", purpose="events"), context)
    found = wiring.repository().resolve(CandidateRef(email=address))
    assert found is not None
    return found.candidate_id


def _old_sends(ddb: Any, candidate_id: str, days_ago: list[float]) -> dict[str, SentRecord]:
    """Traces written as the ledger held them before it was pruned."""
    traces = {
        f"old{i:04d}": SentRecord(
            at=T0 - timedelta(days=d), purpose="events", template="event_reminder"
        )
        for i, d in enumerate(days_ago)
    }
    ddb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": cand_pk(candidate_id)}, "sk": {"S": PROFILE_SK}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "recent"},
        ExpressionAttributeValues={
            ":r": to_value({k: v.model_dump(mode="json") for k, v in traces.items()})
        },
    )
    return traces


def test_a_catalogue_follow_up_removes_the_outdated_traces_in_its_own_write(
    aws: Any, handlers: dict[str, Any], context: Any, fixed_clock: None
) -> None:
    candidate_id = _candidate(handlers, context, "ledger@example.org")
    # 150 sends over the last 300 days (one every 2 days), one of them 3 days ago.
    _old_sends(aws.client("dynamodb"), candidate_id, [3 + 2 * i for i in range(150)])
    result = handlers["journeys"].handler(
        behaviour("Attended", "ledger@example.org", observed_at="2026-11-30T11:00:00Z"), context
    )
    [decision] = result["decisions"]
    assert decision["outcome"] == "send"
    after = wiring.repository().get_profile(candidate_id)
    assert after is not None
    kept = sorted(after.recent)
    # The trace of 3 days ago and 5 days ago stay (inside the week), the new one is added.
    assert kept == sorted(["old0000", "old0001", *(k for k in kept if not k.startswith("old"))])
    assert len(kept) == 3


def test_a_journey_send_prunes_through_the_same_write(
    aws: Any, handlers: dict[str, Any], context: Any, fixed_clock: None
) -> None:
    candidate_id = _candidate(handlers, context, "journey.ledger@example.org")
    _old_sends(aws.client("dynamodb"), candidate_id, [1, 40, 41, 400])
    registered = envelope(
        "Candidate Event Registered",
        {
            "candidate": {"email": "journey.ledger@example.org"},
            "observed_at": "2026-11-30T11:00:00Z",
            "event": EVENT,
        },
        source="talent.events-platform",
    )
    handlers["journeys"].handler(registered, context)
    after = wiring.repository().get_profile(candidate_id)
    assert after is not None
    assert "old0000" in after.recent and not {"old0001", "old0002", "old0003"} & set(after.recent)
    assert len(after.recent) == 2  # the one of yesterday and the confirmation


def test_hundreds_of_sends_leave_only_the_window_on_the_profile(
    aws: Any, handlers: dict[str, Any], context: Any
) -> None:
    """300 sends through the repository's write, one every 8 hours (100 days), each with
    the removals the delivery computes from the profile as read: the ledger ends with the
    week's sends only."""
    candidate_id = _candidate(handlers, context, "many@example.org")
    repo = TalentPoolRepository(TABLE)
    window = timedelta(days=7)
    sizes = []
    for i in range(300):
        now = T0 + timedelta(hours=8 * i)
        current = repo.get_profile(candidate_id)
        assert current is not None
        decision = Decision(
            decision_id=f"d{i:05d}",
            candidate_id=candidate_id,
            trigger={"detail_type": "Candidate Event Attended", "event_id": f"e{i}"},
            template="event_attended_followup",
            purpose="events",
            outcome="send",
            variant="default",
            decided_at=now,
        )
        repo.record_decision(
            decision,
            sent=decision.send_trace(),
            behaviour=None,
            send_seq=current.alert_seq,
            prune=ledger.outdated(current.recent, now, window),
        )
        sizes.append(len(current.recent))
    final = repo.get_profile(candidate_id)
    assert final is not None
    assert len(final.recent) == 21  # 7 days of one send every 8 hours
    assert max(sizes) <= 22
