"""The contact budget under concurrency (issue 11, item 6): a journey's send, a campaign page
and a job alert for one candidate with room for one more budgeted message, interleaved so
that all three read the profile before any of them writes. Every sender's send trace is
conditional on the profile's send counter: exactly one sends; the others read again and are
decided again (over the budget: suppressed frequency_cap, or the campaign waits)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talentops import wiring
from talentops.adapters.talent_pool import TalentPoolRepository
from talentops.campaigns.launch import CampaignMessage
from talentops.clock import SYSTEM_CLOCK
from talentops.delivery.budget import ContactBudget
from talentops.job_alerts.messages import AlertBatch
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord
from tests.conftest import TABLE, load_handler
from tests.support.apigw import json_body
from tests.support.job_alerts import JOB, put_profiles
from tests.support.privacy import api_call

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # 10:00 in Dublin: no quiet hours
T0 = NOW - timedelta(days=30)
TIMER_GROUP = "campaign-timers-test"
# Every class at the last room: one budgeted message in the window, ceilings of two.
CONTACT_POLICY = {"budget": {"ceilings": {"job_alerts": 2, "nurture": 2, "campaign": 2}}}
CAMPAIGN = {
    "name": "Spring hiring: data",
    "purpose": "marketing",
    "segment": [{"field": "candidate.role_family", "op": "eq", "value": "data"}],
    "content": {"template": "spring_hiring"},
}


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions() -> Any:
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


def candidate() -> Profile:
    profile = Profile(candidate_id="c_last0000", created_at=T0)
    fields = {
        "email": "last@example.org",
        "first_name": "Lee",
        "country": "IE",
        "role_family": "data",
        "seniority": "mid",
        "timezone": "Europe/Dublin",
        "city": "Berlin",
        "language": "en",
    }
    for key, value in fields.items():
        profile.fields[key] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    for purpose in ("marketing", "job_alerts"):
        profile.consent[purpose] = ConsentState(
            status="granted", source="talent.crm", observed_at=T0
        )
    profile.recent["earlier"] = SentRecord(
        at=NOW - timedelta(days=6), purpose="events", template="event_reminder"
    )
    return profile


@pytest.fixture
def setting(aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    sqs = aws.client("sqs")
    for name, variable in (("campaigns", "CAMPAIGN_QUEUE"), ("job-alerts", "JOB_ALERT_QUEUE")):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        monkeypatch.setenv(f"{variable}_URL", url)
        monkeypatch.setenv(f"{variable}_ARN", arn)
    aws.client("scheduler").create_schedule_group(Name=TIMER_GROUP)
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", TIMER_GROUP)
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    monkeypatch.setenv("CONTACT_POLICY", json.dumps(CONTACT_POLICY))
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.campaigns import wiring as campaign_wiring
    from talentops.job_alerts import wiring as alert_wiring

    for module in (campaign_wiring, alert_wiring, wiring):
        module.reset()
    put_profiles(aws.client("dynamodb"), TABLE, [candidate()])
    response = api_call(
        load_handler("api"), context, "POST", "/admin/campaigns", body=CAMPAIGN, iam=True
    )
    assert response["statusCode"] == 201, response
    yield campaign_wiring, alert_wiring, str(json_body(response)["campaign_id"])
    for module in (campaign_wiring, alert_wiring, wiring):
        module.reset()


def test_a_journey_a_campaign_and_a_job_alert_at_the_last_room_send_exactly_once(
    aws: Any, setting: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_wiring, alert_wiring, campaign_id = setting
    cid = "c_last0000"
    aws.drain()
    outcomes: dict[str, Any] = {}

    def job_alert() -> None:
        batch = AlertBatch(
            job=JOB, event_id="job-opened", opened_at=NOW - timedelta(hours=1), candidates=[cid]
        )
        outcomes["job_alert"] = alert_wiring.alert_worker().process(batch)

    def journey() -> None:
        profile = wiring.repository().get_profile(cid)  # read before anyone writes
        outcomes["journey"] = wiring.delivery_service().send_planned(
            template="job_nurture",
            decision_id="j" * 32,
            trigger={"detail_type": "Candidate Job Viewed", "event_id": "viewed"},
            payload={"job": JOB},
            profile=profile,
            observed_at=NOW,
            budget=wiring.contact_policy(),
            priority="nurture",
        )

    # Each batch sender's claim first lets the next sender read (and, last, the journey
    # write): all three read the profile at its last room, then all write.
    interleave = [job_alert, journey]
    claim = TalentPoolRepository.claim_decisions

    def claim_after_the_others(self: TalentPoolRepository, claims: Any) -> Any:
        if interleave:
            interleave.pop(0)()
        return claim(self, claims)

    monkeypatch.setattr(TalentPoolRepository, "claim_decisions", claim_after_the_others)
    page = CampaignMessage(kind="page", campaign_id=campaign_id, candidates=[cid])
    report = campaign_wiring.campaign_worker().page(page, lambda: 900.0)
    assert not interleave  # all three ran

    sent = [m for m in aws.sent_emails()]
    assert len(sent) == 1  # exactly one of the three
    assert outcomes["journey"].status == "sent"  # the one that wrote first
    assert outcomes["job_alert"].sent == 0
    assert dict(outcomes["job_alert"].suppressed) == {"frequency_cap": 1}
    assert report.sent == 0 and sum(report.suppressed.values()) + sum(report.deferred.values())
    profile = wiring.repository().get_profile(cid)
    assert profile is not None
    assert len(ContactBudget().counted(profile.recent.values(), NOW)) == 2  # never three
    announced = aws.drain()
    assert [e["detail"]["template"] for e in announced if e["detail-type"] == "Message Sent"] == [
        "job_nurture"
    ]


def test_a_journey_send_that_lost_the_race_is_decided_again(
    aws: Any, setting: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other order: the job alert writes first; the journey's send, read before, is
    decided again on the profile as it is now and suppressed frequency_cap."""
    _, alert_wiring, _ = setting
    cid = "c_last0000"
    stale = wiring.repository().get_profile(cid)
    batch = AlertBatch(
        job=JOB, event_id="job-opened", opened_at=NOW - timedelta(hours=1), candidates=[cid]
    )
    assert alert_wiring.alert_worker().process(batch).sent == 1
    decision = wiring.delivery_service().send_planned(
        template="job_nurture",
        decision_id="j" * 32,
        trigger={"detail_type": "Candidate Job Viewed", "event_id": "viewed"},
        payload={"job": JOB},
        profile=stale,
        observed_at=NOW,
        budget=wiring.contact_policy(),
        priority="nurture",
    )
    assert (decision.outcome, decision.reason) == ("suppress", "frequency_cap")
    assert len(aws.sent_emails()) == 1
