"""`POST /_local/engage` (devstack/engage.py) as pure logic: the request's checks, finding the
message in the outbox, and the SES record it publishes, which the application's own SES
model parses and its engagement service turns into the fact (so the local event is the one
the deployed path reads)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from devstack.engage import EngageRequest, find_message, parse_request, ses_record
from devstack.outbox import describe
from talentops.engagement.service import engagement_of
from talentops.models.ses import parse_ses_event
from talentops.models.state import Decision

NOW = datetime(2026, 12, 5, 9, 30, 15, 250_000, tzinfo=UTC)
DECISION_ID = "9b2f6c1d0e4a7b8c5d3e2f1a0b9c8d7e"
MAIL: dict[str, Any] = {
    "message_id": f"m_{DECISION_ID}@talent.example.com",
    "ses_message_id": "ses-0001",
    "from": "careers@talent.example.com",
    "to": ["ada@example.org"],
    "subject": "See you there",
    "headers": {"X-TalentOps-Decision": DECISION_ID, "Received": ["a", "b"]},
    "sent_at": "2026-12-05T09:00:00+00:00",
    "tags": {"decision_id": DECISION_ID, "candidate_id": "c_4f1e2d3c4b5a69788796"},
    "configuration_set": "talentops-local",
}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "expected a JSON object"),
        (b"[1]", "expected a JSON object"),
        (b"{", "expected a JSON object"),
        (b'{"message_id": "m_1", "kind": "open", "who": 1}', "unknown field 'who'"),
        (b'{"kind": "open"}', "message_id must be"),
        (b'{"message_id": " ", "kind": "open"}', "message_id must be"),
        (b'{"message_id": 7, "kind": "open"}', "message_id must be"),
        (b'{"message_id": "m_1", "kind": "bounce"}', "kind must be one of delivery, open, click"),
        (b'{"message_id": "m_1"}', "kind must be one of"),
        (b'{"message_id": "m_1", "kind": "click"}', "a click needs url"),
        (b'{"message_id": "m_1", "kind": "click", "url": ""}', "a click needs url"),
        (b'{"message_id": "m_1", "kind": "click", "url": "javascript:x"}', "absolute http(s)"),
        (b'{"message_id": "m_1", "kind": "click", "url": "https://"}', "absolute http(s)"),
        (b'{"message_id": "m_1", "kind": "delivery", "url": "https://a.example"}', "click only"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: bytes, problem: str) -> None:
    refused = parse_request(body)
    assert isinstance(refused, str) and problem in refused


def test_good_requests() -> None:
    assert parse_request(b'{"message_id": "m_1", "kind": "open"}') == EngageRequest("m_1", "open")
    assert parse_request(
        b'{"message_id": "m_1", "kind": "click", "url": "https://careers.example.com/?t=x"}'
    ) == EngageRequest("m_1", "click", "https://careers.example.com/?t=x")


def test_a_message_is_found_by_the_applications_the_mime_or_the_ses_id() -> None:
    other = {**MAIL, "message_id": "m_other@talent.example.com", "ses_message_id": "ses-0002"}
    outbox = [MAIL, other]
    for name in (f"m_{DECISION_ID}", MAIL["message_id"], "ses-0001"):
        assert find_message(outbox, name) is MAIL
    assert find_message(outbox, "m_other") is other
    assert find_message(outbox, "m_unknown") is None
    assert find_message(outbox, "talent.example.com") is None


@pytest.mark.parametrize(
    ("kind", "url", "detail_type", "fact"),
    [
        ("delivery", None, "Email Delivered", "Message Delivered"),
        ("open", None, "Email Opened", "Message Opened"),
        ("click", "https://careers.example.com/e?x=1&t=SECRET", "Email Clicked", "Message Clicked"),
    ],
)
def test_the_record_is_what_ses_publishes_and_the_application_reads(
    kind: str, url: str | None, detail_type: str, fact: str
) -> None:
    name, detail = ses_record(
        EngageRequest("m_x", kind, url), MAIL, now=NOW, account_id="123456789012"
    )
    assert name == detail_type
    envelope = {
        "version": "0",
        "id": "e-1",
        "detail-type": name,
        "source": "aws.ses",
        "account": "123456789012",
        "time": "2026-12-05T09:30:15Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": json.loads(json.dumps(detail)),
    }
    record = parse_ses_event(envelope).detail
    assert record.kind == detail["eventType"]
    assert record.mail is not None
    assert record.mail.tag("decision_id") == DECISION_ID
    assert record.mail.tag("ses:configuration-set") == "talentops-local"
    assert record.mail.message_id == "ses-0001"
    assert record.mail.header("Received") == "a"
    assert detail["mail"]["timestamp"] == "2026-12-05T09:00:00.000Z"
    decision = Decision(
        decision_id=DECISION_ID,
        candidate_id="c_4f1e2d3c4b5a69788796",
        trigger={"detail_type": "Candidate Event Registered", "event_id": "e-0"},
        template="event_registration_confirmation",
        purpose="events",
        outcome="send",
        variant="default",
        message_id=f"m_{DECISION_ID}",
        decided_at=NOW,
        status="sent",
    )
    engagement = engagement_of(record, decision, received_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert engagement.detail_type == fact and engagement.detail is not None
    assert engagement.detail.at == datetime(2026, 12, 5, 9, 30, 15, 250_000, tzinfo=UTC)
    if kind == "click":
        assert engagement.detail.url == "https://careers.example.com/e?x=1"  # type: ignore[attr-defined]


def test_the_outbox_describes_the_tags_and_configuration_set_of_a_send() -> None:
    raw = (
        "Message-ID: <m_1@talent.example.com>\r\nFrom: careers@talent.example.com\r\n"
        "To: ada@example.org\r\nSubject: Hi\r\nContent-Type: text/plain\r\n\r\nHello\r\n"
    )
    sent = SimpleNamespace(id="ses-1", destinations=[], source="", raw_data=raw)
    assert describe(sent)["tags"] == {} and describe(sent)["configuration_set"] is None
    sent.devstack_tags = {"decision_id": "d_1"}  # type: ignore[attr-defined]
    sent.devstack_configuration_set = "talentops-local"  # type: ignore[attr-defined]
    mail = describe(sent)
    assert mail["tags"] == {"decision_id": "d_1"}
    assert mail["configuration_set"] == "talentops-local"


def test_the_outbox_hook_keeps_email_tags_that_moto_drops() -> None:
    import boto3
    from moto import mock_aws

    from devstack.outbox import Outbox, install

    undo = install()
    try:
        with mock_aws():
            ses = boto3.client("sesv2", region_name="eu-west-1")
            ses.create_email_identity(EmailIdentity="talent.example.com")
            ses.send_email(
                FromEmailAddress="careers@talent.example.com",
                Destination={"ToAddresses": ["ada@example.org"]},
                Content={"Raw": {"Data": b"Subject: Hi\r\n\r\nHello\r\n"}},
                EmailTags=[{"Name": "decision_id", "Value": "d_9"}],
                ConfigurationSetName="talentops-local",
            )
            ses.send_email(
                FromEmailAddress="careers@talent.example.com",
                Destination={"ToAddresses": ["bob@example.org"]},
                Content={"Raw": {"Data": b"Subject: Hi\r\n\r\nHello\r\n"}},
            )
            first, second = Outbox("123456789012", "eu-west-1").messages()
    finally:
        undo()
    assert (first["tags"], first["configuration_set"]) == (
        {"decision_id": "d_9"},
        "talentops-local",
    )
    assert (second["tags"], second["configuration_set"]) == ({}, None)
