"""Campaigns through the real handlers under moto: the admin routes (create, preview, launch,
status) of the API function, the campaign queue, the campaign worker (fan-out and pages,
BatchProcessor with partial failures), SES, and the Scheduler timers of deferred recipients;
with the table of template.yaml."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from talentops.campaigns.launch import Backoff
from talentops.clock import SYSTEM_CLOCK
from talentops.errors import StorageError
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord
from tests.conftest import load_handler
from tests.support.apigw import json_body
from tests.support.job_alerts import counting, put_profiles, sqs_event
from tests.support.privacy import api_call

# A Wednesday, 10:00 UTC: 11:00 in Berlin and Dublin, 05:00 in New York (quiet hours), 23:00
# in Auckland (quiet hours).
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
T0 = NOW - timedelta(days=30)
TABLE = "talent-pool-test"
TIMER_GROUP = "campaign-timers-test"

SPRING = {
    "name": "Spring hiring: data",
    "purpose": "marketing",
    "segment": [
        {"field": "candidate.role_family", "op": "eq", "value": "data"},
        {"field": "country", "op": "in", "value": ["DE", "IE", "US", "NZ"]},
    ],
    "content": {"template": "spring_hiring"},
}


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions():
    """moto copies the whole table per transaction item; see devstack/moto_patches.py."""
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


class Rig:
    """The campaign queue in the emulated account, the API and the worker around it."""

    def __init__(self, aws: Any, context: Any, url: str, arn: str, previews: tuple[str, str]):
        self.aws = aws
        self.context = context
        self.url = url
        self.arn = arn
        self.preview_url, self.preview_arn = previews
        self.api = load_handler("api")
        self.worker = load_handler("campaign_worker")
        self.failures: list[str] = []
        self.sleeps: list[float] = []

    # -- the API ----------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, *, iam: bool = True) -> Any:
        response = api_call(self.api, self.context, method, path, body=body, iam=iam)
        return response["statusCode"], json_body(response) if response.get("body") else None

    def create(self, definition: dict[str, Any] | None = None) -> str:
        status, body = self.call("POST", "/admin/campaigns", definition or SPRING)
        assert status == 201, body
        return str(body["campaign_id"])

    def status(self, campaign_id: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/admin/campaigns/{campaign_id}")
        assert status == 200, body
        return body

    def launch(self, campaign_id: str) -> dict[str, Any]:
        status, body = self.call("POST", f"/admin/campaigns/{campaign_id}/launch")
        assert status == 202, body
        return body

    def preview(self, campaign_id: str) -> dict[str, Any]:
        """POST (202, running), the preview's segments through the worker, GET (200)."""
        status, body = self.call("POST", f"/admin/campaigns/{campaign_id}/preview")
        assert status == 202 and body["preview"] == "running", body
        self.drain_previews()
        status, body = self.call("GET", f"/admin/campaigns/{campaign_id}/preview")
        assert status == 200 and body["preview"] == "done", body
        return body

    def preview_messages(self) -> list[dict[str, Any]]:
        return self.receive(1000, url=self.preview_url)

    def deliver_previews(self, messages: list[dict[str, Any]]) -> None:
        """As Lambda's poller on the preview queue (batch size 1)."""
        sqs = self.aws.client("sqs")
        for m in messages:
            result = self.worker.handler(sqs_event([m], self.preview_arn), self.context)
            assert result == {"batchItemFailures": []}, result
            sqs.delete_message(QueueUrl=self.preview_url, ReceiptHandle=m["ReceiptHandle"])

    def drain_previews(self, rounds: int = 20) -> int:
        delivered = 0
        for _ in range(rounds):
            batch = self.preview_messages()
            if not batch:
                return delivered
            self.deliver_previews(batch)
            delivered += len(batch)
        raise AssertionError("the preview queue did not drain")

    # -- the queue and the worker -----------------------------------------------------------

    def receive(self, limit: int = 10, url: str | None = None) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            resp = sqs.receive_message(
                QueueUrl=url or self.url,
                MaxNumberOfMessages=min(10, limit - len(out)),
                VisibilityTimeout=300,
            )
            msgs = resp.get("Messages", [])
            if not msgs:
                break
            out += msgs
        return out

    def deliver(self, messages: list[dict[str, Any]]) -> list[str]:
        """As Lambda's SQS poller: delete what succeeded, make the failed visible again."""
        sqs = self.aws.client("sqs")
        result = self.worker.handler(sqs_event(messages, self.arn), self.context)
        failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        self.failures += failed
        for m in messages:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return failed

    def drain(self, rounds: int = 60) -> int:
        delivered = 0
        for _ in range(rounds):
            batch = self.receive(10)
            if not batch:
                return delivered
            self.deliver(batch)
            delivered += len(batch)
        raise AssertionError("the campaign queue did not drain")

    def schedules(self) -> list[dict[str, Any]]:
        scheduler = self.aws.client("scheduler")
        names = [
            s["Name"]
            for s in scheduler.list_schedules(GroupName=TIMER_GROUP).get("Schedules", [])
            if s["Name"].startswith("cmp-")
        ]
        return [scheduler.get_schedule(Name=n, GroupName=TIMER_GROUP) for n in sorted(names)]

    def fire_timers(self) -> int:
        """What Scheduler does when the timers fall due: put their input on the queue (and
        delete them, ActionAfterCompletion DELETE)."""
        scheduler, sqs = self.aws.client("scheduler"), self.aws.client("sqs")
        fired = 0
        for schedule in self.schedules():
            assert schedule["Target"]["Arn"] == self.arn
            sqs.send_message(QueueUrl=self.url, MessageBody=schedule["Target"]["Input"])
            scheduler.delete_schedule(Name=schedule["Name"], GroupName=TIMER_GROUP)
            fired += 1
        return fired

    def mails(self) -> list[Any]:
        import email
        from email import policy

        out = []
        for m in self.aws.sent_emails():
            raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
            out.append(email.message_from_bytes(raw, policy=policy.default))
        return out

    def recipients(self) -> list[str]:
        return sorted(str(m["To"]) for m in self.mails())


@pytest.fixture
def rig(aws, context, monkeypatch):
    import os

    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TalentOpsTest")
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="campaigns")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    monkeypatch.setenv("CAMPAIGN_QUEUE_URL", url)
    monkeypatch.setenv("CAMPAIGN_QUEUE_ARN", arn)
    preview_url = sqs.create_queue(QueueName="campaign-previews")["QueueUrl"]
    preview_arn = sqs.get_queue_attributes(QueueUrl=preview_url, AttributeNames=["QueueArn"])
    monkeypatch.setenv("CAMPAIGN_PREVIEW_QUEUE_URL", preview_url)
    aws.client("scheduler").create_schedule_group(Name=TIMER_GROUP)
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", TIMER_GROUP)
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.campaigns import wiring

    wiring.reset()
    rig = Rig(aws, context, url, arn, (preview_url, preview_arn["Attributes"]["QueueArn"]))
    worker = wiring.campaign_worker()
    worker.sleep = rig.sleeps.append  # backoff without waiting
    yield rig
    wiring.reset()


def person(
    name: str,
    *,
    country: str = "DE",
    role_family: str | None = "data",
    language: str = "en",
    seniority: str = "mid",
    tz: str | None = "Europe/Berlin",
    consent: str | None = "granted",
    recent: tuple[datetime, ...] = (),
    suppressed: bool = False,
) -> Profile:
    profile = Profile(candidate_id=f"c_{name}0000", created_at=T0, suppressed=suppressed)
    fields = {
        "email": f"{name}@example.org",
        "first_name": name.title(),
        "country": country,
        "role_family": role_family,
        "language": language,
        "seniority": seniority,
        "timezone": tz,
        "city": "Berlin",
    }
    for key, value in fields.items():
        if value is not None:
            profile.fields[key] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    if consent:
        profile.consent["marketing"] = ConsentState(
            status=consent, source="talent.crm", observed_at=T0
        )
    for i, at in enumerate(recent):
        profile.recent[f"earlier{i}"] = SentRecord(at=at, purpose="events", template="earlier")
    return profile


POOL = [
    person("ada", language="de"),  # de
    person("ben", country="IE", seniority="senior", tz="Europe/Dublin"),  # senior
    person("cal", country="IE", tz="Europe/Dublin"),  # default
    person("cat", country="IE", tz="Europe/Dublin", language="de-AT"),  # de
    person("dan", consent=None),  # no grant in an opt-in country
    person("eve", consent="withdrawn"),
    person("fay", suppressed=True),  # bounced
    # Two event messages this week: the budget is full; room again in a day (deferred).
    person("gus", recent=(NOW - timedelta(days=6), NOW - timedelta(days=1))),
    # Two this week, the older one yesterday: room only in six days (suppressed).
    person("hal", recent=(NOW - timedelta(days=1), NOW - timedelta(hours=2))),
    # 23:00 in Auckland: waits for 08:00 there (deferred, quiet hours).
    person("ivy", country="NZ", tz="Pacific/Auckland"),
    # Outside the segment.
    person("jon", role_family="design"),
    person("kim", country="FR"),
]
SENT_NOW = ["ada", "ben", "cal", "cat"]
DEFERRED = {"gus": "frequency_cap", "ivy": "quiet_hours"}


def seed(aws, profiles=POOL):
    put_profiles(aws.client("dynamodb"), TABLE, list(profiles))


def addresses(names):
    return sorted(f"{n}@example.org" for n in names)


def published(aws, kind):
    return [e["detail"] for e in aws.drain() if e["detail-type"] == kind]


# -- create, preview, launch, status ------------------------------------------------------------


def test_create_preview_launch_status_end_to_end(rig, aws):
    seed(aws)
    campaign_id = rig.create()
    assert campaign_id.startswith("cmp_")
    view = rig.status(campaign_id)
    assert view["status"] == "draft" and view["counts"]["queued"] == 0
    assert view["template"] == "spring_hiring" and view["name"] == "Spring hiring: data"

    preview = rig.preview(campaign_id)
    assert preview["scanned"] == len(POOL)
    assert preview["in_segment"] == 10
    assert preview["by_variant"] == {"de": 2, "default": 3, "senior": 1}
    assert preview["would_send"] == 6
    assert preview["deferred"] == {"frequency_cap": 1, "quiet_hours": 1}
    assert preview["suppressed"] == {
        "consent_withdrawn": 1,
        "frequency_cap": 1,
        "no_consent": 1,
        "suppressed_address": 1,
    }
    assert {h["reason"] for h in preview["held_back"]} == set(preview["suppressed"])
    # A sample of each variant first, rendered as it would be sent.
    assert len(preview["samples"]) == 3
    assert {s["variant"] for s in preview["samples"]} == {"de", "default", "senior"}
    for sample in preview["samples"]:
        assert sample["subject"] and sample["candidate_id"].startswith("c_")
        assert "Unsubscribe" in sample["text"] or "Abmelden" in sample["text"]
        assert "<html" in sample["html"] and "/unsubscribe?token=" in sample["html"]
    de = next(s for s in preview["samples"] if s["variant"] == "de")
    assert de["subject"].startswith("Wir stellen ein")
    # The preview sent and queued nothing.
    assert rig.mails() == [] and rig.receive() == []

    launched = rig.launch(campaign_id)
    assert launched["launch"] == "started" and launched["status"] == "launching"
    rig.drain()
    assert rig.recipients() == addresses(SENT_NOW)
    status = rig.status(campaign_id)
    counts = status["counts"]
    assert counts["queued"] == preview["in_segment"]
    assert counts["sent"] == len(SENT_NOW)
    assert counts["suppressed"] == preview["suppressed"]
    assert counts["deferred"] == preview["deferred"]
    assert counts["waiting"] == 2 and counts["failed"] == 0
    assert status["status"] == "launched"  # two recipients still wait
    sent_events = published(aws, "Message Sent")
    assert sorted(e["variant"] for e in sent_events) == ["de", "de", "default", "senior"]
    assert {e["trigger"]["event_id"] for e in sent_events} == {campaign_id}

    # The deferred recipients have one-time timers to the campaign queue.
    timers = rig.schedules()
    assert len(timers) == 2
    inputs = [json.loads(t["Target"]["Input"]) for t in timers]
    assert sorted(i["candidates"][0] for i in inputs) == ["c_gus0000", "c_ivy0000"]
    assert all(i["first_tried_at"].startswith("2026-12-02T10:00:00") for i in inputs)
    assert all(t["ActionAfterCompletion"] == "DELETE" for t in timers)

    # When both have fallen due (19:30 UTC next day: 20:30 in Berlin, 08:30 in Auckland):
    # decided again, sent.
    SYSTEM_CLOCK.fixed = NOW + timedelta(days=1, hours=9, minutes=30)
    assert rig.fire_timers() == 2
    rig.drain()
    assert rig.recipients() == addresses([*SENT_NOW, *DEFERRED])
    final = rig.status(campaign_id)
    assert final["counts"]["sent"] == preview["would_send"] == 6
    assert final["counts"]["waiting"] == 0 and final["status"] == "sent"

    # The campaign's own item holds counts, never a candidate (erasure removes the
    # candidate's decision records with its partition).
    meta = aws.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": f"CAMPAIGN#{campaign_id}"}, "sk": {"S": "META"}}
    )["Item"]
    assert "@" not in json.dumps(meta) and "c_" not in json.dumps(meta)
    assert "fanout_cursor" not in meta

    # Every recipient's decision record carries its inputs (issue 14), under 4 KB.
    records = [
        i
        for i in aws.client("dynamodb").scan(TableName=TABLE)["Items"]
        if i["sk"]["S"].startswith("DECISION#")
    ]
    assert records
    for item in records:
        assert set(item["inputs"]["M"]["content"]["M"]) == {"catalogue", "journeys", "policy"}
        assert {"email", "country"} <= set(item["inputs"]["M"]["fields"]["M"])
        assert len(json.dumps(item)) < 4096

    # Launching again sends nothing.
    again = rig.launch(campaign_id)
    assert again["launch"] == "already_launched"
    rig.drain()
    assert len(rig.mails()) == 6
    assert rig.status(campaign_id)["counts"] == final["counts"]


def test_preview_counts_are_what_the_launch_sends(rig, aws):
    seed(aws)
    campaign_id = rig.create(
        {**SPRING, "content": {"template": "spring_hiring", "variants": ["de", "default"]}}
    )
    preview = rig.preview(campaign_id)
    assert preview["by_variant"] == {"de": 2, "default": 4}
    rig.launch(campaign_id)
    rig.drain()
    events = aws.drain()
    sent = [e["detail"] for e in events if e["detail-type"] == "Message Sent"]
    suppressed = [e["detail"] for e in events if e["detail-type"] == "Message Suppressed"]
    now_sent = preview["would_send"] - sum(preview["deferred"].values())
    assert len(sent) == len(rig.mails()) == now_sent
    assert sorted(e["reason"] for e in suppressed) == sorted(
        r for r, n in preview["suppressed"].items() for _ in range(n)
    )
    SYSTEM_CLOCK.fixed = NOW + timedelta(days=1, hours=9, minutes=30)
    rig.fire_timers()
    rig.drain()
    variants = {}
    for event in published(aws, "Message Sent") + sent:
        variants[event["variant"]] = variants.get(event["variant"], 0) + 1
    assert variants == preview["by_variant"]


def test_the_same_definition_is_the_same_campaign(rig, aws):
    first = rig.call("POST", "/admin/campaigns", SPRING)
    second = rig.call("POST", "/admin/campaigns", SPRING)
    assert first[0] == second[0] == 201
    assert first[1]["campaign_id"] == second[1]["campaign_id"]
    assert first[1]["created"] is True and second[1]["created"] is False
    other = rig.call("POST", "/admin/campaigns", {**SPRING, "name": "Spring hiring: data, again"})
    assert other[1]["campaign_id"] != first[1]["campaign_id"]


def test_a_second_launch_while_the_first_runs_sends_nothing_twice(rig, aws):
    seed(aws)
    campaign_id = rig.create()
    rig.launch(campaign_id)
    assert rig.launch(campaign_id)["launch"] == "resumed"  # two fan-out messages queued
    rig.drain()
    assert rig.recipients() == addresses(SENT_NOW)
    status = rig.status(campaign_id)
    assert status["counts"]["queued"] == 10  # one fan-out counted each page
    assert status["counts"]["sent"] == len(SENT_NOW)
    assert rig.launch(campaign_id)["launch"] == "already_launched"
    rig.drain()
    assert len(rig.mails()) == len(SENT_NOW)


def test_a_campaign_with_send_at_is_scheduled_then(rig, aws):
    seed(aws)
    send_at = "2026-12-03T09:00:00+01:00"
    campaign_id = rig.create({**SPRING, "send_at": send_at})
    launched = rig.launch(campaign_id)
    assert launched["launch"] == "scheduled" and launched["status"] == "scheduled"
    assert rig.receive() == []
    scheduler = aws.client("scheduler")
    timer = scheduler.get_schedule(Name=f"campaign-launch-{campaign_id}", GroupName=TIMER_GROUP)
    assert timer["ScheduleExpression"] == "at(2026-12-03T08:00:00)"
    assert json.loads(timer["Target"]["Input"]) == {
        "v": 1,
        "kind": "fanout",
        "campaign_id": campaign_id,
        "page": 0,
        "candidates": [],
        "first_tried_at": None,
    }
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    aws.client("sqs").send_message(QueueUrl=rig.url, MessageBody=timer["Target"]["Input"])
    rig.drain()
    assert set(addresses(SENT_NOW)) <= set(rig.recipients())


# -- throttling and crashes ----------------------------------------------------------------------


class ThrottlingSes:
    """Stands in for the SES client: raises a throttling ClientError on the calls ``plan``
    says (by the recipient's address: how many times in a row), else sends through moto."""

    def __init__(self, real: Any, plan: dict[str, int], code: str = "TooManyRequestsException"):
        self.real = real
        self.plan = dict(plan)
        self.code = code
        self.throttled = 0

    def send_email(self, **kwargs: Any) -> Any:
        to = kwargs["Destination"]["ToAddresses"][0]
        if self.plan.get(to, 0) > 0:
            self.plan[to] -= 1
            self.throttled += 1
            raise ClientError(
                {"Error": {"Code": self.code, "Message": "Maximum sending rate exceeded."}},
                "SendEmail",
            )
        return self.real.send_email(**kwargs)


def _throttle(monkeypatch, plan, code="TooManyRequestsException"):
    from talentops.campaigns import wiring

    sender = wiring.campaign_worker().sender
    fake = ThrottlingSes(sender.ses, plan, code)
    monkeypatch.setattr(sender, "_ses", fake)
    return fake


@pytest.mark.parametrize(
    "code", ["Throttling", "ThrottlingException", "TooManyRequestsException", "MaxSendRateExceeded"]
)
def test_brief_throttling_is_waited_out_with_jittered_backoff(rig, aws, monkeypatch, code):
    seed(aws)
    fake = _throttle(monkeypatch, {"ben@example.org": 3, "cal@example.org": 1}, code)
    campaign_id = rig.create()
    rig.launch(campaign_id)
    rig.drain()
    assert fake.throttled == 4
    assert rig.recipients() == addresses(SENT_NOW)  # each once
    assert rig.failures == []  # waited in place, no redelivery
    backoff = Backoff()
    # Full jitter: each wait is between 0 and the capped exponential bound of its retry.
    bounds = [min(backoff.cap, backoff.base * 2**n) for n in (0, 1, 2, 0)]
    assert len(rig.sleeps) == 4
    assert all(0 <= s <= b for s, b in zip(rig.sleeps, bounds, strict=True))
    assert rig.status(campaign_id)["counts"]["sent"] == len(SENT_NOW)


def test_throttling_past_the_backoff_fails_only_that_message_and_loses_nothing(
    rig, aws, monkeypatch
):
    many = [person(f"p{n:02d}", country="IE", tz="Europe/Dublin") for n in range(30)]
    seed(aws, many)
    from talentops.campaigns import wiring

    worker = wiring.campaign_worker()
    attempts = worker.backoff.attempts
    # p07 is throttled on every try of the first delivery, then SES recovers.
    fake = _throttle(monkeypatch, {"p07@example.org": attempts})
    campaign_id = rig.create()
    rig.launch(campaign_id)
    rig.drain()
    assert fake.throttled == attempts
    assert len(rig.failures) == 1  # the page of p07, once; SQS delivered it again
    to = [str(m["To"]) for m in rig.mails()]
    assert sorted(to) == addresses(f"p{n:02d}" for n in range(30))
    assert len(set(to)) == len(to)  # nobody twice
    status = rig.status(campaign_id)
    assert status["counts"]["sent"] == 30 and status["counts"]["queued"] == 30
    assert status["status"] == "sent"
    sent = published(aws, "Message Sent")
    assert len(sent) == 30 and len({e["candidate_id"] for e in sent}) == 30


def test_a_worker_crash_mid_page_resumes_without_repeating(rig, aws, monkeypatch):
    many = [person(f"q{n:02d}", country="IE", tz="Europe/Dublin") for n in range(12)]
    seed(aws, many)
    from talentops.campaigns import wiring

    sender = wiring.campaign_worker().sender
    real = sender.ses
    calls = {"n": 0}

    class Crashing:
        def send_email(self, **kwargs):
            calls["n"] += 1
            if calls["n"] == 5:
                raise RuntimeError("the worker died")
            return real.send_email(**kwargs)

    monkeypatch.setattr(sender, "_ses", Crashing())
    campaign_id = rig.create()
    rig.launch(campaign_id)
    rig.drain()
    assert len(rig.failures) == 1
    to = [str(m["To"]) for m in rig.mails()]
    assert sorted(to) == addresses(f"q{n:02d}" for n in range(12)) and len(set(to)) == 12
    assert rig.status(campaign_id)["counts"]["sent"] == 12


@pytest.mark.parametrize("page_size", [5, 7])  # 7: messages end in the middle of pages
def test_a_fanout_that_dies_half_way_resumes_from_its_cursor(rig, aws, monkeypatch, page_size):
    many = [person(f"r{n:02d}", country="IE", tz="Europe/Dublin") for n in range(23)]
    many += [person(f"s{n:02d}", role_family="design") for n in range(5)]
    seed(aws, many)
    from talentops.adapters.campaigns import CampaignRepository
    from talentops.campaigns import wiring

    worker = wiring.campaign_worker()
    # Messages of 5 candidates, a save after each message.
    worker.page_size, worker.message_size, worker.flush_messages = page_size, 5, 1
    original = CampaignRepository.save_progress
    calls = {"n": 0}

    def dies_on_the_third_page(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # message 3 is on the queue, its cursor never saved
            raise StorageError("the function died")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CampaignRepository, "save_progress", dies_on_the_third_page)
    campaign_id = rig.create()
    rig.launch(campaign_id)
    rig.drain()
    assert len(rig.failures) == 1  # the fan-out message, delivered again
    to = [str(m["To"]) for m in rig.mails()]
    assert sorted(to) == addresses(f"r{n:02d}" for n in range(23)) and len(set(to)) == 23
    status = rig.status(campaign_id)
    assert status["counts"]["queued"] == 23  # message 3 queued twice, counted once
    assert status["progress"]["profiles_scanned"] == 28
    assert status["progress"]["fanout_done"] is True and status["status"] == "sent"
    assert status["counts"]["sent"] == 23
    assert "frequency_cap" not in status["counts"]["suppressed"]


def test_launch_again_after_a_crash_resumes_the_fanout(rig, aws, monkeypatch):
    many = [person(f"t{n:02d}", country="IE", tz="Europe/Dublin") for n in range(12)]
    seed(aws, many)
    from talentops.campaigns import wiring

    wiring.campaign_worker().page_size = 5
    campaign_id = rig.create()
    rig.launch(campaign_id)
    [fanout] = rig.receive()
    # The fan-out message is lost (e.g. deleted by hand); the campaign stays launching.
    aws.client("sqs").delete_message(QueueUrl=rig.url, ReceiptHandle=fanout["ReceiptHandle"])
    assert rig.status(campaign_id)["status"] == "launching"
    assert rig.launch(campaign_id)["launch"] == "resumed"
    rig.drain()
    assert rig.recipients() == addresses(f"t{n:02d}" for n in range(12))


# -- bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        (
            {**SPRING, "segment": [{"field": "candidate.shoe_size", "op": "eq", "value": 44}]},
            {"segment[0].field"},
        ),
        ({**SPRING, "content": {"template": "spring_hirin"}}, {"content.template"}),
        (
            {**SPRING, "content": {"template": "job_alert"}},
            {"content.template"},
        ),
        (
            {**SPRING, "content": {"template": "spring_hiring", "variants": ["de"]}},
            {"content.variants"},
        ),
        (
            {**SPRING, "content": {"template": "spring_hiring", "variants": ["fr", "default"]}},
            {"content.variants[0]"},
        ),
        ({k: v for k, v in SPRING.items() if k != "purpose"}, {""}),
        ({**SPRING, "segment": []}, {"segment"}),
        ({**SPRING, "colour": "red"}, {"colour"}),
        ({**SPRING, "send_at": "tomorrow"}, {"send_at"}),
    ],
)
def test_bad_campaign_bodies_are_422_naming_the_path(rig, aws, body, paths):
    status, answer = rig.call("POST", "/admin/campaigns", body)
    assert status == 422
    error = answer["error"]
    assert error["code"] == "invalid_campaign"
    assert {p["path"] for p in error["problems"]} == paths
    assert all(p["message"] for p in error["problems"])
    for path in paths - {""}:
        assert path in error["message"]
    assert rig.call("POST", "/admin/campaigns/cmp_0000000000000000/preview")[0] == 404


def test_other_bad_requests(rig, aws):
    response = api_call(
        rig.api,
        rig.context,
        "POST",
        "/admin/campaigns",
        body="{not json",
        headers={"content-type": "application/json"},
        iam=True,
    )
    assert response["statusCode"] == 400
    assert json_body(response)["error"]["code"] == "malformed_json"
    status, answer = rig.call("POST", "/admin/campaigns", None)
    assert status == 400 and answer["error"]["code"]
    response = api_call(
        rig.api,
        rig.context,
        "POST",
        "/admin/campaigns",
        body="[1, 2]",
        headers={"content-type": "application/json"},
        iam=True,
    )
    assert response["statusCode"] == 400
    for method, path in [
        ("GET", "/admin/campaigns/cmp_0123456789abcdef"),
        ("POST", "/admin/campaigns/cmp_0123456789abcdef/preview"),
        ("POST", "/admin/campaigns/cmp_0123456789abcdef/launch"),
        ("GET", "/admin/campaigns/not-an-id"),
    ]:
        status, answer = rig.call(method, path)
        assert status == 404 and answer["error"]["code"] == "unknown_campaign", (path, answer)
    assert rig.call("POST", "/admin/campaigns", SPRING, iam=False)[0] == 403
    campaign_id = rig.create()
    assert rig.call("GET", f"/admin/campaigns/{campaign_id}", iam=False)[0] == 403
    assert rig.call("POST", f"/admin/campaigns/{campaign_id}/launch", iam=False)[0] == 403


# -- the preview at scale ------------------------------------------------------------------------


def test_the_preview_is_a_job_no_request_of_which_depends_on_the_pool(rig, aws):
    """POST and GET cost a fixed handful of requests whatever the pool; the job reads each
    segment in Scan pages (a page per MB, all segments together one pass over the pool),
    nothing per candidate, and writes only the campaign's own items (progress, parts, the
    result). CAMPAIGN_PREVIEW_PROFILES=10000 runs it at a larger scale."""
    n = int(os.environ.get("CAMPAIGN_PREVIEW_PROFILES", "2000"))
    countries = ["DE", "IE", "US", "FR", "NZ"]
    pool = [
        person(
            f"z{i:05d}",
            country=countries[i % 5],
            role_family=["data", "design"][i % 2],
            language=["en", "de"][i % 3 == 0],
            seniority=["junior", "mid", "senior"][i % 3],
            consent=["granted", None, "withdrawn"][i % 3],
        )
        for i in range(n)
    ]
    seed(aws, pool)
    campaign_id = rig.create()
    with counting() as post:
        status, running = rig.call("POST", f"/admin/campaigns/{campaign_id}/preview")
    assert status == 202 and running["preview"] == "running" and running["scanned"] == 0
    segments = running["segments"]
    assert segments == 16  # the default
    # The campaign (and again after the start), the start, the segments' messages.
    assert dict(post.calls) == {
        "dynamodb.GetItem": 2,
        "dynamodb.UpdateItem": 1,
        "sqs.SendMessageBatch": 2,
    }
    messages = rig.preview_messages()
    assert len(messages) == segments
    with counting() as job:
        started = time.perf_counter()
        rig.deliver_previews(messages)
        elapsed = time.perf_counter() - started
    with counting() as get:
        status, preview = rig.call("GET", f"/admin/campaigns/{campaign_id}/preview")
    assert status == 200 and preview["preview"] == "done"
    assert dict(get.calls) == {"dynamodb.GetItem": 2}  # the campaign, the result
    print(f"preview of {n} profiles under moto: {elapsed:.2f} s, {dict(job.calls)}")
    assert preview["scanned"] == n
    # data (even i) in DE, IE, US or NZ (not FR: i % 5 == 3)
    assert preview["in_segment"] == sum(1 for i in range(n) if i % 2 == 0 and i % 5 != 3)
    calls = job.calls
    assert set(calls) <= {
        "dynamodb.GetItem",  # the campaign, once a segment
        "dynamodb.Scan",
        "dynamodb.UpdateItem",  # progress after a page, the segment done, the preview done
        "dynamodb.PutItem",  # a segment's part, the result
        "dynamodb.Query",  # the parts, by the last segment
        "dynamodb.BatchWriteItem",  # the parts removed
    }, calls
    assert calls["dynamodb.GetItem"] == segments
    assert segments <= calls["dynamodb.Scan"] <= segments + n // 1000 + 2  # 1 MB pages
    assert calls["dynamodb.PutItem"] == segments + 1 and calls["dynamodb.Query"] == 1
    # No wall-time assertion (it flakes on a loaded machine): the request counts above are
    # what does not depend on the pool; bench/campaign_scale.py measures the time.
    assert rig.mails() == [] and rig.receive() == []


def _segment_messages(rig: Rig) -> list[dict[str, Any]]:
    return sorted(rig.preview_messages(), key=lambda m: json.loads(m["Body"])["segment"])


def test_post_answers_202_then_get_shows_progress_then_200(rig, aws, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_PREVIEW_SEGMENTS", "4")
    from talentops.campaigns import wiring

    wiring.reset()
    seed(aws)
    campaign_id = rig.create()
    path = f"/admin/campaigns/{campaign_id}/preview"
    status, started = rig.call("POST", path)
    assert status == 202
    assert started["campaign_id"] == campaign_id and started["preview"] == "running"
    assert (started["segments"], started["segments_done"]) == (4, 0)
    # A second POST while it runs starts nothing more.
    again = rig.call("POST", path)
    assert again[0] == 202 and again[1]["started_at"] == started["started_at"]
    messages = _segment_messages(rig)
    assert [json.loads(m["Body"])["segment"] for m in messages] == [0, 1, 2, 3]
    assert rig.call("GET", path) == (202, {**started, "scanned": 0})
    # Two segments done: their profiles are counted, the preview still runs.
    rig.deliver_previews(messages[:2])
    status, halfway = rig.call("GET", path)
    assert status == 202 and halfway["preview"] == "running"
    assert halfway["segments_done"] == 2
    in_first_two = sum(
        aws.client("dynamodb").scan(
            TableName=TABLE, IndexName="by_email", Segment=seg, TotalSegments=4, Select="COUNT"
        )["Count"]
        for seg in (0, 1)
    )
    assert halfway["scanned"] == in_first_two < len(POOL)
    rig.deliver_previews(messages[2:])
    status, done = rig.call("GET", path)
    assert status == 200 and done["preview"] == "done" and done["stale"] is False
    assert done["scanned"] == len(POOL) and done["would_send"] == 6
    assert done["by_variant"] == {"de": 2, "default": 3, "senior": 1}
    assert len(done["samples"]) == 3 and {s["variant"] for s in done["samples"]} == {
        "de",
        "default",
        "senior",
    }
    assert done["decided_at"] == NOW.isoformat() == done["computed_at"]
    # Fresh: POST answers the result at once, queues nothing.
    assert rig.call("POST", path) == (200, done)
    assert rig.preview_messages() == []
    # The parts are merged and gone; the result and META hold what GET shows.
    items = aws.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}"}},
    )["Items"]
    assert sorted(i["sk"]["S"].split("#")[0] for i in items) == ["META", "PREVIEW"]
    result = next(i for i in items if i["sk"]["S"] != "META")
    assert int(result["expires_at"]["N"]) == int((NOW + timedelta(days=1)).timestamp())


def test_a_stale_preview_is_computed_again(rig, aws):
    seed(aws)
    campaign_id = rig.create()
    path = f"/admin/campaigns/{campaign_id}/preview"
    first = rig.preview(campaign_id)
    assert first["would_send"] == 6
    # Eleven minutes later: the pool has moved (one more candidate), the result is stale.
    seed(aws, [person("lea", country="IE", tz="Europe/Dublin")])
    SYSTEM_CLOCK.fixed = NOW + timedelta(minutes=11)
    status, shown = rig.call("GET", path)
    assert status == 200 and shown["stale"] is True and shown["would_send"] == 6
    status, running = rig.call("POST", path)
    assert status == 202 and running["preview"] == "running"
    rig.drain_previews()
    status, second = rig.call("GET", path)
    assert status == 200 and second["stale"] is False
    assert second["would_send"] == 7 and second["scanned"] == len(POOL) + 1
    assert second["computed_at"] == (NOW + timedelta(minutes=11)).isoformat()
    # The first run's result is gone with it.
    sks = [
        i["sk"]["S"]
        for i in aws.client("dynamodb").query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}"}},
        )["Items"]
    ]
    assert len(sks) == 2


def test_a_superseded_run_does_nothing_and_a_stalled_one_is_replaced(rig, aws):
    seed(aws)
    campaign_id = rig.create()
    path = f"/admin/campaigns/{campaign_id}/preview"
    rig.call("POST", path)
    old = rig.preview_messages()
    # A segment failed for good (dead-lettered): the run never ends; 15 minutes on, a POST
    # replaces it.
    SYSTEM_CLOCK.fixed = NOW + timedelta(minutes=14)
    assert rig.call("POST", path)[0] == 202 and rig.preview_messages() == []
    SYSTEM_CLOCK.fixed = NOW + timedelta(minutes=15)
    status, running = rig.call("POST", path)
    assert status == 202 and running["scanned"] == 0
    new = rig.preview_messages()
    assert len(new) == len(old)
    rig.deliver_previews(old)  # the old run's messages: nothing
    assert rig.call("GET", path)[0] == 202
    rig.deliver_previews(new)
    status, done = rig.call("GET", path)
    assert status == 200 and done["scanned"] == len(POOL)


def test_a_segment_short_of_time_goes_on_in_another_message(rig, aws, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_PREVIEW_SEGMENTS", "2")
    from talentops.campaigns import preview_job, wiring

    wiring.reset()
    many = [person(f"v{i:02d}", country="IE", tz="Europe/Dublin") for i in range(25)]
    seed(aws, [*POOL, *many])
    worker = wiring.preview_worker()
    worker.page_size = 4
    monkeypatch.setattr(preview_job, "MIN_SECONDS_LEFT", 10_000.0)  # always short of time
    campaign_id = rig.create()
    rig.call("POST", f"/admin/campaigns/{campaign_id}/preview")
    delivered = rig.drain_previews(rounds=40)
    assert delivered > 2  # continuations
    status, done = rig.call("GET", f"/admin/campaigns/{campaign_id}/preview")
    assert status == 200 and done["scanned"] == len(POOL) + 25
    assert done["would_send"] == 6 + 25
    assert done["suppressed"] == {
        "consent_withdrawn": 1,
        "frequency_cap": 1,
        "no_consent": 1,
        "suppressed_address": 1,
    }
    assert len(done["samples"]) == 3 and len(done["held_back"]) == 4


def test_preview_of_an_unknown_campaign_or_before_any_preview(rig, aws):
    for method in ("POST", "GET"):
        status, answer = rig.call(method, "/admin/campaigns/cmp_0123456789abcdef/preview")
        assert status == 404 and answer["error"]["code"] == "unknown_campaign"
    campaign_id = rig.create()
    status, answer = rig.call("GET", f"/admin/campaigns/{campaign_id}/preview")
    assert status == 404 and answer["error"]["code"] == "no_preview"
    assert rig.call("GET", f"/admin/campaigns/{campaign_id}/preview", iam=False)[0] == 403
    assert rig.call("POST", f"/admin/campaigns/{campaign_id}/preview", iam=False)[0] == 403


def test_a_deferred_recipient_is_decided_again_when_its_timer_fires(rig, aws):
    seed(aws, [person("ivy", country="NZ", tz="Pacific/Auckland")])
    campaign_id = rig.create()
    rig.launch(campaign_id)
    rig.drain()
    assert rig.mails() == []
    [timer] = rig.schedules()
    assert timer["ScheduleExpression"] == "at(2026-12-02T19:00:00)"  # 08:00 in Auckland
    # Delivered late, at 22:00 in Auckland on the next night: quiet hours again.
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    rig.fire_timers()
    rig.drain()
    assert rig.mails() == []
    counts = rig.status(campaign_id)["counts"]
    assert counts["deferred"] == {"quiet_hours": 2} and counts["waiting"] == 1
    [again] = rig.schedules()
    assert json.loads(again["Target"]["Input"])["first_tried_at"].startswith("2026-12-02T10:00")
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)
    rig.fire_timers()
    rig.drain()
    assert rig.recipients() == ["ivy@example.org"]
    status = rig.status(campaign_id)
    assert status["counts"]["waiting"] == 0 and status["counts"]["sent"] == 1
    assert status["status"] == "sent"
    # A timer delivered twice sends nothing twice.
    aws.client("sqs").send_message(QueueUrl=rig.url, MessageBody=again["Target"]["Input"])
    rig.drain()
    assert len(rig.mails()) == 1
    assert rig.status(campaign_id)["counts"] == status["counts"]


def test_two_campaigns_at_once_cannot_both_use_the_last_room_in_the_budget(rig, aws, monkeypatch):
    # One event message six days ago: room for one more budgeted message this week.
    seed(aws, [person("one", country="IE", tz="Europe/Dublin", recent=(NOW - timedelta(days=6),))])
    first = rig.create()
    second = rig.create({**SPRING, "name": "Spring hiring: data, second wave"})
    rig.launch(first)
    rig.launch(second)
    fanouts = rig.receive(2)
    assert len(fanouts) == 2
    rig.deliver(fanouts)  # both fan-outs: one page message each
    pages = rig.receive(2)
    assert len(pages) == 2
    from talentops.adapters.talent_pool import TalentPoolRepository

    original = TalentPoolRepository.claim_decisions
    state = {"interleaved": False}

    def claim_after_the_other_campaign(self, claims):
        if not state["interleaved"]:
            state["interleaved"] = True
            rig.deliver([pages[1]])  # the other campaign decides, claims and sends meanwhile
        return original(self, claims)

    monkeypatch.setattr(TalentPoolRepository, "claim_decisions", claim_after_the_other_campaign)
    rig.deliver([pages[0]])
    assert rig.recipients() == ["one@example.org"]  # once, not twice
    counts = [rig.status(c)["counts"] for c in (first, second)]
    assert sorted(c["sent"] for c in counts) == [0, 1]
    # The loser was read again and decided again: the budget is full until the old message
    # leaves the window (in a day), so it waits.
    assert sorted(c["deferred_total"] for c in counts) == [0, 1]


# -- a sparse segment: ids packed across Scan pages ---------------------------------------------


def test_a_two_percent_segment_is_queued_in_full_messages_across_scan_pages(rig, aws):
    """5,000 profiles, 100 of them (2 %) spread over every Scan page: the fan-out queues one
    full message of 100 (not a small message, a SendMessageBatch and a save per page) and
    saves its cursor once. Per recipient, besides the send and the Scan pages, the launch
    costs at most 0.2 requests (the worker's page of 100 is most of it); the Scan pages are
    the pool's size over DynamoDB's 1 MB pages (docs/performance.md works the sum out)."""
    n, every = 5000, 50
    pool = [
        person(
            f"w{i:05d}",
            country="IE",
            tz="Europe/Dublin",
            role_family="data" if i % every == 0 else "design",
        )
        for i in range(n)
    ]
    seed(aws, pool)
    from talentops.campaigns import wiring

    worker = wiring.campaign_worker()
    worker.page_size = 600  # several Scan pages, as 1 MB pages of larger profiles would be
    campaign_id = rig.create()
    with counting() as counter:
        rig.launch(campaign_id)
        [fanout] = rig.receive()
        with counting() as fanout_counter:
            rig.deliver([fanout])
        pages = rig.receive()
        rig.deliver(pages)
        assert rig.receive() == []
    recipients = n // every
    assert [len(json.loads(m["Body"])["candidates"]) for m in pages] == [recipients]
    scans = -(-n // worker.page_size)
    assert dict(fanout_counter.calls) == {
        "dynamodb.GetItem": 2,  # the campaign; its status before queuing (pause, cancel)
        "dynamodb.Scan": scans,
        "sqs.SendMessageBatch": 1,
        "dynamodb.UpdateItem": 1,  # the cursor, once
    }
    status = rig.status(campaign_id)
    assert status["counts"]["queued"] == status["counts"]["sent"] == recipients
    assert status["progress"]["profiles_scanned"] == n
    assert status["progress"]["pages"] == scans
    assert status["progress"]["messages"] == 1 and status["status"] == "sent"
    calls = dict(counter.calls)
    assert calls.get("sesv2.SendEmail") == recipients
    # Once per campaign or per process, whatever the segment: the launch route (GetItem
    # twice, UpdateItem, SendMessageBatch), the campaign read by the fan-out (the worker's
    # process has it then), the token key. (The status reads, one per fan-out batch and one
    # per page message, are counted per recipient.)
    once = {"dynamodb.GetItem": 3, "dynamodb.UpdateItem": 1, "sqs.SendMessageBatch": 1}
    once["ssm.GetParameter"] = 1
    per_recipient = Counter(calls)
    per_recipient.subtract(once)
    per_recipient.subtract({"sesv2.SendEmail": recipients, "dynamodb.Scan": scans})
    assert min(per_recipient.values()) >= 0, per_recipient
    print(f"2 % segment of {n}: {calls}")
    # Pause and cancel cost a GetItem of the campaign's status per page message and per
    # fan-out batch (here one each: 0.02 a recipient of this small segment, 0.011 at scale);
    # everything else stays within the 0.2 budget.
    status_reads = len(pages) + 1
    assert per_recipient["dynamodb.GetItem"] == status_reads, per_recipient
    # The page's transactions: two of claims (a decision record and a profile trace each,
    # 200 items) and one recording the 100 sends (it took four, 25 sends each).
    assert per_recipient["dynamodb.TransactWriteItems"] == 3, per_recipient
    per_recipient.subtract({"dynamodb.GetItem": status_reads})
    assert sum(per_recipient.values()) / recipients <= 0.2, per_recipient


# -- control: list, cancel, pause, resume ---------------------------------------------------------


def listing(rig, **query: Any) -> tuple[int, Any]:
    params = {k: str(v) for k, v in query.items() if v is not None}
    response = api_call(rig.api, rig.context, "GET", "/admin/campaigns", query=params, iam=True)
    return response["statusCode"], json_body(response)


def control(rig, campaign_id: str, verb: str) -> tuple[int, Any]:
    return rig.call("POST", f"/admin/campaigns/{campaign_id}/{verb}")


def list_all(rig, status: str | None = None, limit: int = 2) -> tuple[list[str], int]:
    """Every campaign of the list, page by page: (ids in order, pages)."""
    ids: list[str] = []
    token, pages = None, 0
    while True:
        code, body = listing(rig, status=status, limit=limit, next=token)
        assert code == 200, body
        assert len(body["campaigns"]) <= limit
        ids += [c["campaign_id"] for c in body["campaigns"]]
        pages += 1
        token = body["next"]
        if token is None:
            return ids, pages
        assert pages < 20


def named(n: int) -> dict[str, Any]:
    return {**SPRING, "name": f"Spring hiring {n}"}


def test_the_list_is_newest_first_paged_and_filtered_by_status(rig, aws):
    seed(aws)
    created = []
    for n in range(5):
        SYSTEM_CLOCK.fixed = NOW + timedelta(minutes=n)
        created.append(rig.create(named(n)))
    newest_first = created[::-1]
    rig.launch(created[1])  # launching (its fan-out not run)
    assert control(rig, created[3], "cancel")[0] == 200

    ids, pages = list_all(rig, limit=2)
    assert ids == newest_first and pages == 3
    code, first = listing(rig, limit=2)
    assert [c["campaign_id"] for c in first["campaigns"]] == newest_first[:2]
    summary = first["campaigns"][0]
    assert summary["name"] == "Spring hiring 4" and summary["status"] == "draft"
    assert set(summary["counts"]) == {"queued", "sent", "suppressed_total", "waiting", "failed"}
    assert "definition" not in summary  # the list is a summary: GET .../{id} has the rest
    # The default page holds them all; the last page says so with next null.
    code, whole = listing(rig)
    assert [c["campaign_id"] for c in whole["campaigns"]] == newest_first
    assert whole["next"] is None

    assert list_all(rig, status="draft", limit=2)[0] == [created[4], created[2], created[0]]
    assert list_all(rig, status="cancelled")[0] == [created[3]]
    assert list_all(rig, status="running")[0] == [created[1]]
    assert list_all(rig, status="launching")[0] == [created[1]]
    assert list_all(rig, status="paused")[0] == []

    # A token answered for one filter is refused with another; a forged or damaged one too.
    code, page = listing(rig, status="draft", limit=1)
    assert code == 200 and page["next"]
    code, body = listing(rig, status="cancelled", limit=1, next=page["next"])
    assert code == 400 and body["error"]["code"] == "invalid_next"
    import base64

    forged = base64.urlsafe_b64encode(
        json.dumps({"v": 1, "after": "x' OR 1=1", "status": "draft"}).encode()
    ).decode()
    for token in (page["next"][:-3], "not a token", forged.rstrip("="), "e30", "A" * 301):
        code, body = listing(rig, status="draft", next=token)
        assert code == 400, (token, body)
        assert set(body["error"]) == {"code", "message"}
    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"status": "finished"}):
        code, body = listing(rig, **bad)
        assert code == 400 and body["error"]["code"] == "invalid_request", (bad, body)
    # IAM only, like every /admin route.
    response = api_call(rig.api, rig.context, "GET", "/admin/campaigns", iam=False)
    assert response["statusCode"] == 403


def test_a_cancelled_scheduled_campaign_never_starts(rig, aws):
    seed(aws)
    campaign_id = rig.create({**SPRING, "send_at": "2026-12-03T09:00:00+01:00"})
    assert rig.launch(campaign_id)["status"] == "scheduled"
    scheduler = aws.client("scheduler")
    name = f"campaign-launch-{campaign_id}"
    timer_input = scheduler.get_schedule(Name=name, GroupName=TIMER_GROUP)["Target"]["Input"]

    code, body = control(rig, campaign_id, "cancel")
    assert code == 200 and body["status"] == "cancelled" and body["changed"] is True
    with pytest.raises(ClientError) as gone:
        scheduler.get_schedule(Name=name, GroupName=TIMER_GROUP)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # Even a fan-out that was on its way (the timer fired as it was deleted) starts nothing.
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    aws.client("sqs").send_message(QueueUrl=rig.url, MessageBody=timer_input)
    rig.drain()
    assert rig.mails() == []
    view = rig.status(campaign_id)
    assert view["status"] == "cancelled" and view["counts"]["queued"] == 0
    # Cancelled is final: launching or resuming it is refused; cancelling again is a no-op.
    code, body = rig.call("POST", f"/admin/campaigns/{campaign_id}/launch")
    assert code == 409 and body["error"]["code"] == "invalid_transition"
    assert control(rig, campaign_id, "resume")[0] == 409
    assert control(rig, campaign_id, "pause")[0] == 409
    code, again = control(rig, campaign_id, "cancel")
    assert code == 200 and again["changed"] is False and again["status"] == "cancelled"


def _many(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:02d}" for i in range(n)]


def _small_messages(page_size: int | None = None) -> Any:
    from talentops.campaigns import wiring

    worker = wiring.campaign_worker()
    # Messages of 10 candidates, a SendMessageBatch and a save of the cursor after each.
    worker.message_size, worker.flush_messages = 10, 1
    if page_size:
        worker.page_size = page_size
    return worker


def test_a_cancel_mid_run_stops_sending_and_keeps_what_was_sent_counted(rig, aws):
    names = _many("u", 30)
    seed(aws, [person(n, country="IE", tz="Europe/Dublin") for n in names])
    _small_messages()
    campaign_id = rig.create()
    rig.launch(campaign_id)
    [fanout] = rig.receive(1)
    rig.deliver([fanout])  # three page messages of ten queued
    [page] = rig.receive(1)
    rig.deliver([page])
    assert len(rig.mails()) == 10

    code, body = control(rig, campaign_id, "cancel")
    assert code == 200 and body["status"] == "cancelled"
    assert rig.drain() == 2  # the two other pages: delivered, dropped
    assert len(rig.mails()) == 10 and rig.failures == []
    view = rig.status(campaign_id)
    assert view["status"] == "cancelled"
    assert view["counts"]["sent"] == 10 and view["counts"]["queued"] == 30
    sent_events = published(aws, "Message Sent")
    assert len(sent_events) == 10


def test_a_cancel_stops_the_fanout_from_queuing_more(rig, aws, monkeypatch):
    names = _many("v", 30)
    seed(aws, [person(n, country="IE", tz="Europe/Dublin") for n in names])
    _small_messages(page_size=5)
    from talentops.adapters.campaigns import CampaignRepository

    original = CampaignRepository.save_progress
    campaign_id = rig.create()

    def cancel_after_the_first_save(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if kwargs["expected_messages"] == 0:
            assert control(rig, campaign_id, "cancel")[0] == 200

    monkeypatch.setattr(CampaignRepository, "save_progress", cancel_after_the_first_save)
    rig.launch(campaign_id)
    rig.drain()
    assert rig.mails() == [] and rig.failures == []
    view = rig.status(campaign_id)
    assert view["status"] == "cancelled"
    assert view["counts"]["queued"] == 10  # one message, then it stopped queuing
    assert view["progress"]["messages"] == 1 and view["counts"]["sent"] == 0


def test_a_sent_campaign_cannot_be_cancelled_or_paused(rig, aws):
    seed(aws, [person(n, country="IE", tz="Europe/Dublin") for n in ("wa", "wb")])
    campaign_id = rig.create()
    rig.launch(campaign_id)
    rig.drain()
    assert rig.status(campaign_id)["status"] == "sent"
    for verb in ("cancel", "pause", "resume"):
        code, body = control(rig, campaign_id, verb)
        assert code == 409, (verb, body)
        assert body["error"]["code"] == "invalid_transition"
        assert "sent" in body["error"]["message"]
    assert rig.status(campaign_id)["status"] == "sent"
    assert control(rig, "cmp_0000000000000000", "cancel")[0] == 404
    assert control(rig, "cmp_0000000000000000", "pause")[0] == 404
    assert control(rig, "not-a-campaign", "resume")[0] == 404
    # A draft has nothing to pause or resume; it can be cancelled.
    draft = rig.create(named(9))
    assert control(rig, draft, "pause")[0] == 409
    assert control(rig, draft, "resume")[0] == 409
    assert control(rig, draft, "cancel")[0] == 200


def _recipients_once(rig, names: list[str]) -> None:
    sent = Counter(str(m["To"]) for m in rig.mails())
    assert sorted(sent) == addresses(names)
    assert set(sent.values()) == {1}, [a for a, n in sent.items() if n > 1]


def test_pause_mid_run_then_resume_sends_to_everyone_once_and_nobody_while_paused(rig, aws):
    names = _many("x", 30)
    seed(aws, [person(n, country="IE", tz="Europe/Dublin") for n in names])
    _small_messages()
    campaign_id = rig.create()
    rig.launch(campaign_id)
    [fanout] = rig.receive(1)
    rig.deliver([fanout])
    [page] = rig.receive(1)
    rig.deliver([page])
    assert len(rig.mails()) == 10

    code, body = control(rig, campaign_id, "pause")
    assert code == 200 and body["status"] == "paused" and body["paused_from"] == "launched"
    assert control(rig, campaign_id, "pause")[1]["changed"] is False
    # The two pages still queued arrive while paused: parked on the campaign, none sent,
    # nothing left to redeliver (no failures, so nothing drifts towards the DLQ).
    assert rig.drain() == 2
    assert len(rig.mails()) == 10 and rig.failures == []
    parked = aws.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={
            ":pk": {"S": f"CAMPAIGN#{campaign_id}"},
            ":p": {"S": "PARKED#"},
        },
    )["Items"]
    assert len(parked) == 2 and all("expires_at" in p for p in parked)
    assert rig.status(campaign_id)["status"] == "paused"
    assert listing(rig, status="paused")[1]["campaigns"][0]["campaign_id"] == campaign_id

    code, body = control(rig, campaign_id, "resume")
    assert code == 200 and body["status"] == "launched" and body["requeued"] == 2
    assert body["paused_from"] is None
    rig.drain()
    _recipients_once(rig, names)
    view = rig.status(campaign_id)
    assert view["status"] == "sent" and view["counts"]["sent"] == 30
    assert control(rig, campaign_id, "resume")[0] == 409  # not paused any more
    left = aws.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={
            ":pk": {"S": f"CAMPAIGN#{campaign_id}"},
            ":p": {"S": "PARKED#"},
        },
    )["Items"]
    assert left == []


def test_a_pause_during_the_fanout_resumes_from_its_cursor(rig, aws, monkeypatch):
    names = _many("y", 30)
    others = _many("z", 6)
    seed(
        aws,
        [person(n, country="IE", tz="Europe/Dublin") for n in names]
        + [person(n, role_family="design") for n in others],
    )
    _small_messages(page_size=7)
    from talentops.adapters.campaigns import CampaignRepository

    original = CampaignRepository.save_progress
    campaign_id = rig.create()

    def pause_after_the_first_save(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if kwargs["expected_messages"] == 0:
            assert control(rig, campaign_id, "pause")[0] == 200

    monkeypatch.setattr(CampaignRepository, "save_progress", pause_after_the_first_save)
    rig.launch(campaign_id)
    rig.drain()
    assert rig.mails() == [] and rig.failures == []  # its one page parked
    paused = rig.status(campaign_id)
    assert paused["status"] == "paused" and paused["paused_from"] == "launching"
    assert paused["counts"]["queued"] == 10 and paused["progress"]["fanout_done"] is False

    code, body = control(rig, campaign_id, "resume")
    assert code == 200 and body["status"] == "launching" and body["requeued"] == 1
    rig.drain()
    _recipients_once(rig, names)
    view = rig.status(campaign_id)
    assert view["status"] == "sent" and view["counts"]["sent"] == 30
    assert view["counts"]["queued"] == 30 and view["progress"]["profiles_scanned"] == 36


def test_a_scheduled_campaign_paused_past_its_send_at_starts_on_resume(rig, aws):
    names = ["sa", "sb"]
    seed(aws, [person(n, country="IE", tz="Europe/Dublin") for n in names])
    campaign_id = rig.create({**SPRING, "send_at": "2026-12-03T09:00:00+01:00"})
    rig.launch(campaign_id)
    timer = aws.client("scheduler").get_schedule(
        Name=f"campaign-launch-{campaign_id}", GroupName=TIMER_GROUP
    )
    assert control(rig, campaign_id, "pause")[1]["paused_from"] == "scheduled"
    # The timer fires while paused: its fan-out does nothing.
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    aws.client("sqs").send_message(QueueUrl=rig.url, MessageBody=timer["Target"]["Input"])
    rig.drain()
    assert rig.mails() == [] and rig.status(campaign_id)["status"] == "paused"
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    code, body = control(rig, campaign_id, "resume")
    assert code == 200 and body["status"] == "launching"
    rig.drain()
    _recipients_once(rig, names)
