"""SES refusing a message for good (issue 11, item 4): the decision is recorded failed with
SES's code, announced as suppressed ``undeliverable``, its room in the budget given back, and
the work goes on: a journey's outbox is cleared, a batch sends to everyone else. Transient
trouble still retries."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from talentops import wiring
from talentops.adapters import ses as ses_adapter
from talentops.adapters.journeys import JourneyRepository
from talentops.adapters.ses import classify
from talentops.clock import SYSTEM_CLOCK
from talentops.models.events import CandidateRef
from tests.conftest import TABLE, load_handler
from tests.support.events import EVENT, consent, envelope, profile
from tests.support.job_alerts import JobAlertRig, consent_fact, job_opened, profile_fact

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class RefusingSes:
    """The real (moto) SES client, except that sends to ``refused`` fail with ``code``."""

    def __init__(self, real: Any, refused: set[str], code: str, message: str = "refused"):
        self.real, self.refused, self.code, self.message = real, refused, code, message
        self.calls: list[str] = []

    def send_email(self, **kwargs: Any) -> Any:
        to = kwargs["Destination"]["ToAddresses"][0]
        self.calls.append(to)
        if to in self.refused:
            raise ClientError({"Error": {"Code": self.code, "Message": self.message}}, "SendEmail")
        return self.real.send_email(**kwargs)


def refuse(monkeypatch: pytest.MonkeyPatch, aws: Any, refused: set[str], code: str) -> RefusingSes:
    fake = RefusingSes(aws.client("sesv2"), refused, code)
    monkeypatch.setattr(ses_adapter, "client", lambda service: fake)
    return fake


def mails(aws: Any) -> list[email.message.EmailMessage]:
    out = []
    for m in aws.sent_emails():
        raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
        out.append(email.message_from_bytes(raw, policy=policy.default))
    return out


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", T0)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))


def test_the_codes_sort_into_refused_retryable_and_account() -> None:
    assert classify("InvalidParameterValue", "Local address contains control", "") == "refused"
    assert classify("MessageRejected", "Address blacklisted.", "noreply@x.example") == "refused"
    assert classify("BadRequestException", "Illegal address", "") == "refused"
    # ... but the same code for a mistake of our own request fails no recipient.
    assert classify("BadRequestException", "Invalid message tag value", "") == "account"
    # Our own sender not verified is the account's problem, not the recipient's.
    assert (
        classify(
            "MessageRejected",
            "Email address is not verified: noreply@x.example",
            "noreply@x.example",
        )
        == "account"
    )
    for code in ("Throttling", "TooManyRequestsException", "ServiceUnavailable"):
        assert classify(code, "", "") == "retryable"
    for code in ("SendingPausedException", "AccountSuspendedException", "SomethingNew"):
        assert classify(code, "", "") == "account"


def test_a_refused_journey_send_is_recorded_failed_and_the_journey_moves_on(
    aws: Any, handlers: dict[str, Any], context: Any, fixed_clock: None, monkeypatch
) -> None:
    address = "muller@example.org"
    ingest = handlers["ingest_profile"].handler
    ingest(profile(address, first_name="Jo", country="DE", city="Berlin"), context)
    ingest(consent(address, "granted", purpose="events"), context)
    candidate = wiring.repository().resolve(CandidateRef(email=address))
    assert candidate is not None
    fake = refuse(monkeypatch, aws, {address}, "InvalidParameterValue")
    aws.drain()
    registered = envelope(
        "Candidate Event Registered",
        {"candidate": {"email": address}, "observed_at": "2026-11-30T11:00:00Z", "event": EVENT},
        source="talent.events-platform",
    )
    handlers["journeys"].handler(registered, context)  # no exception: nothing to retry
    assert fake.calls == [address] and mails(aws) == []
    [decision] = [d for d in wiring.repository().decisions(candidate.candidate_id)]
    assert decision.status == "failed" and decision.reason == "undeliverable"
    assert "SES refused the send: InvalidParameterValue" in decision.reasons
    # The outbox is cleared and the budget room given back.
    assert all(not i.outbox for i in JourneyRepository(TABLE).instances(candidate.candidate_id))
    after = wiring.repository().get_profile(candidate.candidate_id)
    assert after is not None and decision.decision_id not in after.recent
    announced = [e["detail"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert [(a["reason"], a["template"]) for a in announced] == [
        ("undeliverable", decision.template)
    ]
    # The candidate's next event is handled, not sent to the DLQ behind a stuck outbox.
    attended = envelope(
        "Candidate Event Attended",
        {"candidate": {"email": address}, "observed_at": "2026-11-30T11:30:00Z", "event": EVENT},
        source="talent.events-platform",
    )
    handlers["journeys"].handler(attended, context)


@pytest.fixture
def rig(aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="job-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    monkeypatch.setenv("JOB_ALERT_QUEUE_URL", url)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.job_alerts import wiring as alert_wiring

    alert_wiring.reset()
    handlers = {n: load_handler(n) for n in ("ingest_profile", "job_fanout", "job_alert_worker")}
    yield JobAlertRig(aws, handlers, context, url, arn)
    alert_wiring.reset()


def test_a_refused_job_alert_fails_alone_and_the_batch_goes_on(
    rig: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        address = f"{name}@example.org"
        rig.ingest(
            profile_fact(
                email_address=address,
                observed_at="2026-10-01T09:00:00Z",
                first_name=name.title(),
                country="DE",
                role_family="data",
                seniority="mid",
                city="Berlin",
            )
        )
        rig.ingest(consent_fact(address, status="granted", observed_at="2026-10-01T09:00:00Z"))
    refuse(monkeypatch, aws, {"b@example.org"}, "MessageRejected")
    aws.drain()
    rig.open_job(job_opened(event_id="refusal"))
    [message] = rig.receive()
    assert rig.deliver([message]) == []  # the message succeeds: nothing comes back
    assert sorted(str(m["To"]) for m in rig.mails()) == ["a@example.org", "c@example.org"]
    published = aws.drain()
    suppressed = [e["detail"] for e in published if e["detail-type"] == "Message Suppressed"]
    assert [s["reason"] for s in suppressed] == ["undeliverable"]
    assert len([e for e in published if e["detail-type"] == "Message Sent"]) == 2
    refused = wiring.repository().resolve(CandidateRef(email="b@example.org"))
    assert refused is not None and refused.recent == {}
    [decision] = wiring.repository().decisions(refused.candidate_id)
    assert (decision.status, decision.reason) == ("failed", "undeliverable")
    assert "SES refused the send: MessageRejected" in decision.reasons
