"""Campaign launch, pure parts: which SES errors are throttling, the backoff (capped,
exponential, full jitter), one send's retries, the queue message, and the status view."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from talentops.adapters.campaigns import CampaignCounts, CampaignRecord
from talentops.adapters.ses import SesSender
from talentops.adapters.talent_pool import Claim
from talentops.campaigns.launch import (
    MIN_SECONDS_LEFT,
    Backoff,
    CampaignMessage,
    CampaignWorker,
    _Planned,
    throttling_code,
)
from talentops.campaigns.service import campaign_view
from talentops.delivery.context import Brand
from talentops.errors import DeliveryError
from talentops.models.state import Decision


def client_error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "SendEmail")


@pytest.mark.parametrize(
    "code", ["Throttling", "ThrottlingException", "TooManyRequestsException", "MaxSendRateExceeded"]
)
def test_the_throttling_codes_are_recognised_raw_and_wrapped(code):
    assert throttling_code(client_error(code)) == code
    wrapped = DeliveryError(f"SES refused the send: {code}")
    wrapped.__cause__ = client_error(code)
    assert throttling_code(wrapped) == code


def test_other_refusals_are_not_throttling():
    assert throttling_code(client_error("MessageRejected", "Email address is not verified")) is None
    assert throttling_code(DeliveryError("SES refused the send: MessageRejected")) is None
    assert throttling_code(RuntimeError("boom")) is None
    # SES v1 says "Throttling" with this message when the send rate is exceeded.
    assert throttling_code(client_error("Other", "Maximum sending rate exceeded.")) == (
        "MaxSendRateExceeded"
    )


def test_backoff_is_capped_exponential_with_full_jitter():
    backoff = Backoff(attempts=8, base=0.2, cap=5.0)
    bounds: list[tuple[float, float]] = []

    def uniform(lo: float, hi: float) -> float:
        bounds.append((lo, hi))
        return hi / 2

    delays = [backoff.delay(n, uniform) for n in range(7)]
    assert bounds == [(0.0, b) for b in (0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0)]
    assert delays == [b / 2 for _, b in bounds]


class FakeSes:
    def __init__(self, errors: list[Exception]):
        self.errors = list(errors)
        self.calls = 0

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"MessageId": "m-1"}


def worker(ses: FakeSes, sleeps: list[float], backoff: Backoff | None = None) -> CampaignWorker:
    brand = Brand("Co", "Careers", "careers@example.com", "Street 1", "https://c", "https://a")
    none: Any = None
    return CampaignWorker(
        campaigns=none,
        pool=none,
        queue=none,
        timers=none,
        sender=SesSender(sesv2=ses),
        publisher=none,
        catalogue=none,
        consent=none,
        contact=none,
        brand=brand,
        signer=none,
        now=lambda: datetime(2026, 12, 2, tzinfo=UTC),
        backoff=backoff or Backoff(),
        sleep=sleeps.append,
        uniform=lambda lo, hi: hi,
    )


DECISION = Decision(
    decision_id="d" * 32,
    candidate_id="c_1",
    trigger={"detail_type": "Campaign Launched", "event_id": "cmp_1"},
    template="newsletter",
    purpose="marketing",
    outcome="send",
    decided_at=datetime(2026, 12, 2, tzinfo=UTC),
)
PLAN = _Planned(claim=Claim(DECISION, None, 1, 0), to="ada@example.org", raw=b"raw")


def test_a_throttled_send_waits_and_goes_through():
    sleeps: list[float] = []
    ses = FakeSes([client_error("Throttling"), client_error("TooManyRequestsException")])
    worker(ses, sleeps)._send_one(PLAN, lambda: 100.0)
    assert ses.calls == 3 and sleeps == [0.2, 0.4]


def test_a_send_still_throttled_after_the_backoff_is_a_retryable_failure():
    sleeps: list[float] = []
    ses = FakeSes([client_error("ThrottlingException")] * 10)
    with pytest.raises(DeliveryError) as caught:
        worker(ses, sleeps, Backoff(attempts=4))._send_one(PLAN, lambda: 100.0)
    assert caught.value.retryable is True  # type: ignore[attr-defined]
    assert ses.calls == 4 and sleeps == [0.2, 0.4, 0.8]


def test_no_waiting_past_the_invocation_s_time():
    sleeps: list[float] = []
    ses = FakeSes([client_error("Throttling")])
    with pytest.raises(DeliveryError, match="no time left"):
        worker(ses, sleeps)._send_one(PLAN, lambda: MIN_SECONDS_LEFT + 0.1)
    assert sleeps == [] and ses.calls == 1


def test_a_refused_send_is_not_retried():
    sleeps: list[float] = []
    ses = FakeSes([client_error("MessageRejected")])
    with pytest.raises(DeliveryError) as caught:
        worker(ses, sleeps)._send_one(PLAN, lambda: 100.0)
    assert caught.value.retryable is False  # type: ignore[attr-defined]
    assert ses.calls == 1 and sleeps == []


def test_the_queue_message():
    message = CampaignMessage(kind="page", campaign_id="cmp_0123456789abcdef", candidates=["c_1"])
    assert CampaignMessage.model_validate_json(message.model_dump_json()) == message
    with pytest.raises(ValidationError):
        CampaignMessage(kind="page", campaign_id="cmp_x", candidates=["c_1"])
    with pytest.raises(ValidationError):
        CampaignMessage(
            kind="page",
            campaign_id="cmp_0123456789abcdef",
            candidates=[f"c_{n}" for n in range(101)],
        )
    with pytest.raises(ValidationError):
        CampaignMessage.model_validate({"kind": "send", "campaign_id": "cmp_0123456789abcdef"})


def record(status: str, **counts: Any) -> CampaignRecord:
    base: dict[str, Any] = {
        "sent": 0,
        "failed": 0,
        "waiting": 0,
        "left_segment": 0,
        "missing": 0,
        "messages_done": 0,
        "suppressed": {},
        "deferred": {},
    }
    base.update(counts)
    return CampaignRecord(
        campaign_id="cmp_0123456789abcdef",
        definition={"name": "N", "purpose": "marketing", "content": {"template": "spring_hiring"}},
        fingerprint="0123456789abcdef",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=status,
        queued=10,
        messages=2,
        counts=base,
    )


def test_the_status_is_sent_once_every_message_is_done_and_nobody_waits():
    assert campaign_view(record("launching"))["status"] == "launching"
    assert campaign_view(record("launched", messages_done=1))["status"] == "launched"
    assert campaign_view(record("launched", messages_done=2, waiting=1))["status"] == "launched"
    view = campaign_view(
        record("launched", messages_done=2, sent=7, suppressed={"no_consent": 2, "x": 1})
    )
    assert view["status"] == "sent"
    assert view["counts"]["suppressed_total"] == 3 and view["counts"]["queued"] == 10


def test_counts_without_anything_are_not_written():
    assert CampaignCounts().empty()
    assert not CampaignCounts(suppressed={"no_consent": 1}).empty()
    assert not CampaignCounts(waiting=-1).empty()
