"""Engagement, tied to the decision (issue 13, item 1), under moto: SES's Delivery, Open and
Click events for a sent message become Message Delivered / Opened / Clicked on the bus, with
the message id, template and variant of the decision that sent it; what cannot be tied to a
sent message is an orphan, published never and retried never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops import wiring
from talentops.clock import SYSTEM_CLOCK
from talentops.models.events import OUTBOUND_EVENTS, CandidateRef
from tests.conftest import load_handler
from tests.support.events import EVENT, consent, envelope, profile

REGISTERED = envelope(
    "Candidate Event Registered",
    {
        "candidate": {"email": "eve@example.org"},
        "observed_at": "2026-11-30T11:00:00Z",
        "event": EVENT,
    },
    source="talent.events-platform",
    event_id="registered-eve",
)


def _sent(aws: Any, handlers: Any, context: Any) -> Any:
    ingest = handlers["ingest_profile"].handler
    ingest(profile("eve@example.org", first_name="Eve", country="DE", city="Berlin"), context)
    ingest(consent("eve@example.org", "granted", purpose="events"), context)
    handlers["journeys"].handler(REGISTERED, context)
    found = wiring.repository().resolve(CandidateRef(email="eve@example.org"))
    assert found is not None
    [decision] = [
        d for d in wiring.repository().decisions(found.candidate_id) if d.status == "sent"
    ]
    aws.drain()
    return decision


def _ses(kind: str, tags: dict[str, list[str]], **record: Any) -> dict[str, Any]:
    detail_type = {"Delivery": "Email Delivered", "Open": "Email Opened", "Click": "Email Clicked"}
    return envelope(
        detail_type[kind],
        {
            "eventType": kind,
            "mail": {
                "messageId": "0100-ses-id",
                "timestamp": "2026-11-30T12:00:00Z",
                "destination": ["eve@example.org"],
                "tags": tags,
            },
            **record,
        },
        source="aws.ses",
    )


@pytest.fixture
def feedback(monkeypatch: pytest.MonkeyPatch) -> Any:
    # The registration's own day: a journey confirms a registration only before the event.
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    return load_handler("ses_feedback")


def test_delivery_open_and_click_become_facts_naming_the_decisions_message(
    aws: Any, handlers: Any, context: Any, feedback: Any
) -> None:
    decision = _sent(aws, handlers, context)
    tags = {"decision_id": [decision.decision_id], "candidate_id": [decision.candidate_id]}
    link = "https://careers.example.com/events/summit?utm_source=email&t=v2.k0.secret.sig#top"
    for kind, record in (
        ("Delivery", {"delivery": {"timestamp": "2026-11-30T12:00:05Z"}}),
        ("Open", {"open": {"timestamp": "2026-11-30T13:00:00Z"}}),
        ("Click", {"click": {"timestamp": "2026-11-30T13:01:00Z", "link": link}}),
    ):
        assert feedback.handler(_ses(kind, tags, **record), context)["kind"] == kind.lower()
    facts = {e["detail-type"]: e for e in aws.drain()}
    assert set(facts) == {"Message Delivered", "Message Opened", "Message Clicked"}
    for detail_type, fact in facts.items():
        assert fact["source"] == "talent.personalization"
        detail = fact["detail"]
        OUTBOUND_EVENTS[detail_type].model_validate(detail)  # the contract's shape
        assert detail["message_id"] == decision.message_id
        assert detail["candidate_id"] == decision.candidate_id
        assert (detail["template"], detail.get("variant")) == (decision.template, decision.variant)
        assert detail["decision_id"] == decision.decision_id
    assert facts["Message Opened"]["detail"]["at"].startswith("2026-11-30T13:00:00")
    # The link as sent, without the token it carried (nor its fragment).
    assert facts["Message Clicked"]["detail"]["url"] == (
        "https://careers.example.com/events/summit?utm_source=email"
    )


@pytest.mark.parametrize(
    "tags",
    [
        {},  # not a message of ours
        {"decision_id": ["d_unknown"], "candidate_id": ["c_unknown"]},  # erased, or never sent
    ],
)
def test_engagement_that_names_no_sent_message_is_an_orphan_and_never_published(
    aws: Any, context: Any, feedback: Any, tags: dict[str, list[str]]
) -> None:
    event = _ses("Open", tags, open={"timestamp": "2026-11-30T13:00:00Z"})
    assert feedback.handler(event, context)["kind"] == "orphan"
    assert aws.drain() == []
