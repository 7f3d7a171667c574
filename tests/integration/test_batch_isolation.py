"""One bad record never blocks others (issue 11, item 4): a candidate whose data cannot be
decided or rendered (an exception in that one record) is recorded failed with its reason,
and the rest of the job-alert batch or campaign page goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops import wiring
from talentops.campaigns import launch
from talentops.campaigns.launch import CampaignMessage
from talentops.clock import SYSTEM_CLOCK
from talentops.job_alerts import worker as alert_worker_module
from talentops.models.events import CandidateRef
from talentops.models.state import ConsentState, FieldValue, Profile
from tests.conftest import TABLE, load_handler
from tests.support.apigw import json_body
from tests.support.job_alerts import (
    JobAlertRig,
    consent_fact,
    job_opened,
    profile_fact,
    put_profiles,
)
from tests.support.privacy import api_call

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=30)


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions() -> Any:
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


def _poison(original: Any, bad: str) -> Any:
    def deciding(*args: Any, **kwargs: Any) -> Any:
        if kwargs["profile"].email == bad:
            raise OverflowError("date value out of range")
        return original(*args, **kwargs)

    return deciding


@pytest.fixture
def rig(aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="job-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    monkeypatch.setenv("JOB_ALERT_QUEUE_URL", url)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.job_alerts import wiring as alert_wiring

    alert_wiring.reset()
    handlers = {n: load_handler(n) for n in ("ingest_profile", "job_fanout", "job_alert_worker")}
    yield JobAlertRig(aws, handlers, context, url, arn)
    alert_wiring.reset()


def test_a_job_alert_candidate_that_cannot_be_decided_fails_alone(
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
    monkeypatch.setattr(
        alert_worker_module, "decide", _poison(alert_worker_module.decide, "b@example.org")
    )
    aws.drain()
    rig.open_job(job_opened(event_id="poison"))
    [message] = rig.receive()
    assert rig.deliver([message]) == []  # the message succeeds
    assert sorted(str(m["To"]) for m in rig.mails()) == ["a@example.org", "c@example.org"]
    bad = wiring.repository().resolve(CandidateRef(email="b@example.org"))
    assert bad is not None
    [decision] = wiring.repository().decisions(bad.candidate_id)
    assert (decision.status, decision.reason) == ("failed", "decision_error")
    assert decision.reasons == ["this candidate could not be decided: OverflowError"]
    suppressed = [e["detail"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert [s["reason"] for s in suppressed] == ["decision_error"]


def _person(name: str) -> Profile:
    profile = Profile(candidate_id=f"c_{name}0000", created_at=T0)
    fields = {
        "email": f"{name}@example.org",
        "first_name": name.title(),
        "country": "IE",
        "role_family": "data",
        "seniority": "mid",
        "timezone": "Europe/Dublin",
        "language": "en",
    }
    for key, value in fields.items():
        profile.fields[key] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    profile.consent["marketing"] = ConsentState(status="granted", source="crm", observed_at=T0)
    return profile


def test_a_campaign_candidate_that_cannot_be_decided_fails_alone(
    aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="campaigns")["QueueUrl"]
    monkeypatch.setenv("CAMPAIGN_QUEUE_URL", url)
    monkeypatch.setenv("CAMPAIGN_QUEUE_ARN", "arn:aws:sqs:eu-west-1:123456789012:campaigns")
    aws.client("scheduler").create_schedule_group(Name="campaign-timers-test")
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", "campaign-timers-test")
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.campaigns import wiring as campaign_wiring

    campaign_wiring.reset()
    put_profiles(aws.client("dynamodb"), TABLE, [_person(n) for n in ("ann", "bob", "cid")])
    definition = {
        "name": "Isolation",
        "purpose": "marketing",
        "segment": [{"field": "candidate.role_family", "op": "eq", "value": "data"}],
        "content": {"template": "spring_hiring"},
    }
    response = api_call(
        load_handler("api"), context, "POST", "/admin/campaigns", body=definition, iam=True
    )
    campaign_id = str(json_body(response)["campaign_id"])
    monkeypatch.setattr(
        launch, "decide_recipient", _poison(launch.decide_recipient, "bob@example.org")
    )
    page = CampaignMessage(
        kind="page", campaign_id=campaign_id, candidates=["c_ann0000", "c_bob0000", "c_cid0000"]
    )
    report = campaign_wiring.campaign_worker().page(page, lambda: 900.0)
    assert report.sent == 2 and report.status == "done"
    assert sorted(m.destinations[0] for m in aws.sent_emails()) == [
        "ann@example.org",
        "cid@example.org",
    ]
    [decision] = wiring.repository().decisions("c_bob0000")
    assert (decision.status, decision.reason) == ("failed", "decision_error")
    status = api_call(
        load_handler("api"), context, "GET", f"/admin/campaigns/{campaign_id}", iam=True
    )
    assert json_body(status)["counts"]["failed"] == 1
    campaign_wiring.reset()


def test_a_campaign_send_refused_for_good_fails_alone_and_is_announced(
    aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SES refusing one recipient's message (MessageRejected) fails that recipient alone:
    recorded failed, announced as suppressed undeliverable, counted failed; the page goes on
    and is done (not delivered again)."""
    from tests.integration.test_send_refusals import refuse

    sqs = aws.client("sqs")
    monkeypatch.setenv("CAMPAIGN_QUEUE_URL", sqs.create_queue(QueueName="campaigns")["QueueUrl"])
    monkeypatch.setenv("CAMPAIGN_QUEUE_ARN", "arn:aws:sqs:eu-west-1:123456789012:campaigns")
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", "campaign-timers-test")
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.campaigns import wiring as campaign_wiring

    campaign_wiring.reset()
    put_profiles(aws.client("dynamodb"), TABLE, [_person(n) for n in ("ann", "bob", "cid")])
    definition = {
        "name": "Refusal",
        "purpose": "marketing",
        "segment": [{"field": "candidate.role_family", "op": "eq", "value": "data"}],
        "content": {"template": "spring_hiring"},
    }
    api = load_handler("api")
    response = api_call(api, context, "POST", "/admin/campaigns", body=definition, iam=True)
    campaign_id = str(json_body(response)["campaign_id"])
    refuse(monkeypatch, aws, {"bob@example.org"}, "MessageRejected")
    aws.drain()
    page = CampaignMessage(
        kind="page", campaign_id=campaign_id, candidates=["c_ann0000", "c_bob0000", "c_cid0000"]
    )
    report = campaign_wiring.campaign_worker().page(page, lambda: 900.0)
    assert (report.status, report.sent, report.failed) == ("done", 2, 1)
    [decision] = wiring.repository().decisions("c_bob0000")
    assert (decision.status, decision.reason) == ("failed", "undeliverable")
    assert "SES refused the send: MessageRejected" in decision.reasons
    bob = wiring.repository().get_profile("c_bob0000")
    assert bob is not None and bob.recent == {}  # the budget room given back
    suppressed = [e["detail"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"]
    assert [s["reason"] for s in suppressed] == ["undeliverable"]
    status = api_call(api, context, "GET", f"/admin/campaigns/{campaign_id}", iam=True)
    assert json_body(status)["counts"]["failed"] == 1
    campaign_wiring.reset()
