"""What an SES engagement record becomes (engagement/service.py), pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentops.engagement.service import engagement_of, without_token
from talentops.models.ses import parse_ses_detail
from talentops.models.state import Decision

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _decision(**changes: object) -> Decision:
    base = {
        "decision_id": "d_1",
        "candidate_id": "c_1",
        "trigger": {"detail_type": "Candidate Event Attended", "event_id": "e1"},
        "template": "event_followup",
        "purpose": "events",
        "outcome": "send",
        "variant": "senior",
        "message_id": "m_d_1",
        "decided_at": NOW,
        "status": "sent",
    }
    return Decision.model_validate({**base, **changes})


def _record(kind: str, **fields: object) -> object:
    return parse_ses_detail({"eventType": kind, "mail": {"messageId": "x"}, **fields})


def test_an_open_names_the_decisions_message_template_and_variant() -> None:
    record = _record("Open", open={"timestamp": "2026-12-04T13:00:00Z"})
    found = engagement_of(record, _decision(), received_at=NOW)  # type: ignore[arg-type]
    assert found.detail_type == "Message Opened" and found.orphan is None
    assert found.detail is not None
    assert (found.detail.message_id, found.detail.template, found.detail.variant) == (
        "m_d_1",
        "event_followup",
        "senior",
    )
    assert found.detail.at == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)


def test_without_a_timestamp_the_fact_is_dated_when_it_was_received() -> None:
    found = engagement_of(_record("Delivery"), _decision(), received_at=NOW)  # type: ignore[arg-type]
    assert found.detail is not None and found.detail.at == NOW


@pytest.mark.parametrize(
    ("decision", "reason"),
    [
        (None, "no_decision"),
        (_decision(outcome="suppress", status="suppressed", message_id=None), "not_sent"),
    ],
)
def test_what_was_never_sent_is_an_orphan(decision: Decision | None, reason: str) -> None:
    found = engagement_of(_record("Open"), decision, received_at=NOW)  # type: ignore[arg-type]
    assert (found.orphan, found.detail) == (reason, None)


def test_a_click_without_its_link_is_an_orphan() -> None:
    found = engagement_of(_record("Click", click={}), _decision(), received_at=NOW)  # type: ignore[arg-type]
    assert found.orphan == "click_without_link"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("https://careers.example.com/jobs/1?t=v2.k0.a.b", "https://careers.example.com/jobs/1"),
        (
            "https://careers.example.com/?utm_source=email&T=abc&token=x&x=1",
            "https://careers.example.com/?utm_source=email&x=1",
        ),
        ("https://user:pw@careers.example.com:8443/a#frag", "https://careers.example.com:8443/a"),
    ],
)
def test_a_clicked_link_travels_without_its_token(sent: str, kept: str) -> None:
    assert without_token(sent) == kept
