"""Job alerts through the real handlers under moto: Job Opened -> fan-out (matching index,
page by page) -> SQS -> send worker (BatchProcessor) -> SES, with the table and queue keys of
template.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.errors import DeliveryError, StorageError
from tests.conftest import load_handler
from tests.support.job_alerts import (
    JobAlertRig,
    consent_fact,
    counting,
    job_opened,
    profile_fact,
    put_profiles,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
T0 = "2026-09-01T09:00:00Z"
T1 = "2026-10-01T09:00:00Z"
T2 = "2026-11-01T09:00:00Z"


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions():
    """moto copies the whole table per transaction item; see devstack/moto_patches.py."""
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


@pytest.fixture
def rig(aws, context, monkeypatch):
    import os

    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TalentOpsTest")
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="job-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    monkeypatch.setenv("JOB_ALERT_QUEUE_URL", url)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    from talentops.job_alerts import wiring

    wiring.reset()
    handlers = {n: load_handler(n) for n in ("ingest_profile", "job_fanout", "job_alert_worker")}
    yield JobAlertRig(aws, handlers, context, url, arn)
    wiring.reset()


def seed(rig, address, *, ref=None, consent="granted", at=T1, country="DE", **fields):
    base = {"first_name": address.split("@")[0].title(), "country": country}
    base.update(fields)
    rig.ingest(profile_fact(ref=ref, email_address=address, observed_at=at, **base))
    if consent:
        rig.ingest(consent_fact(address, status=consent, observed_at=at))


def events_of(aws, kind):
    return [e["detail"] for e in aws.drain() if e["detail-type"] == kind]


def test_job_opened_reaches_exactly_who_fits_now(rig, aws):
    fit = dict(role_family="data", seniority="mid", city="Berlin")
    seed(rig, "ada@example.org", **fit)
    seed(rig, "gus@example.org", **{**fit, "seniority": "senior"})
    # Moved to Munich after Berlin: the job fits the old profile only.
    seed(rig, "ben@example.org", **fit)
    rig.ingest(profile_fact(email_address="ben@example.org", observed_at=T2, city="Munich"))
    # Moved to Munich; then a late, older fact still says Berlin: it must not undo the move.
    seed(rig, "dan@example.org", **fit)
    rig.ingest(profile_fact(email_address="dan@example.org", observed_at=T2, city="Munich"))
    rig.ingest(profile_fact(email_address="dan@example.org", observed_at=T0, city="Berlin"))
    # Became too senior; another role family; no grant in an opt-in country; withdrawn.
    seed(rig, "eve@example.org", **fit)
    rig.ingest(profile_fact(email_address="eve@example.org", observed_at=T2, seniority="principal"))
    seed(rig, "fay@example.org", **{**fit, "role_family": "design"})
    seed(rig, "hal@example.org", consent=None, **fit)
    seed(rig, "wil@example.org", consent="withdrawn", **fit)
    aws.drain()

    opened = job_opened(event_id="job-opened-1")
    result = rig.open_job(opened)
    assert result["status"] == "done"
    rig.drain()

    assert sorted(str(m["To"]) for m in rig.mails()) == ["ada@example.org", "gus@example.org"]
    [gus] = rig.mails_to("gus@example.org")
    [ada] = rig.mails_to("ada@example.org")
    assert "Data Engineer" in str(ada["Subject"]) and "Berlin" in str(ada["Subject"])
    assert "opening we'd like you to see first" in str(gus["Subject"])  # the senior variant
    for mail in (ada, gus):
        assert mail["List-Unsubscribe"].startswith("<http://127.0.0.1:3000/unsubscribe?token=")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = mail.get_body(("plain",)).get_content()
        assert "https://careers.example.com/jobs/job-de-data-42?t=v2." in text
    published = aws.drain()
    sent = [e["detail"] for e in published if e["detail-type"] == "Message Sent"]
    suppressed = [e["detail"] for e in published if e["detail-type"] == "Message Suppressed"]
    assert len(sent) == 2 and {s["variant"] for s in sent} == {"default", "senior"}
    assert all(s["template"] == "job_alert" and s["purpose"] == "job_alerts" for s in sent)
    assert all(
        s["trigger"] == {"detail_type": "Job Opened", "event_id": "job-opened-1"} for s in sent
    )
    # Only the candidate who fits but has no grant is decided and suppressed; the others are
    # not part of the matching pool at all (the index leaves them out).
    assert [s["reason"] for s in suppressed] == ["no_consent"]

    # The same Job Opened again: redelivered (same id) and resent by the ATS (new id).
    assert rig.open_job(opened)["status"] == "already_done"
    assert rig.open_job(job_opened(event_id="job-opened-2"))["status"] == "already_done"
    rig.drain()
    assert len(rig.mails()) == 2


def test_the_job_is_stored_for_the_careers_site(rig, aws):
    rig.open_job(job_opened(event_id="jo-1"))
    item = aws.client("dynamodb").get_item(
        TableName="talent-pool-test", Key={"pk": {"S": "JOB#job-de-data-42"}, "sk": {"S": "JOB"}}
    )["Item"]
    assert item["title"]["S"] == "Data Engineer" and item["remote"]["BOOL"] is False
    assert item["opened_at"]["S"].startswith("2026-12-01T09:00:00")
    assert item["event_id"]["S"] == "jo-1" and item["fanout_status"]["S"] == "done"
    assert item["listing"]["S"] == "JOB"


def test_remote_jobs_reach_every_city(rig, aws):
    seed(rig, "lis@example.org", role_family="data", seniority="mid", city="Lisbon", country="PT")
    seed(rig, "osl@example.org", role_family="data", seniority="junior", city="Oslo", country="NO")
    seed(rig, "lon@example.org", role_family="data", seniority="lead", city="London", country="GB")
    rig.open_job(job_opened({"id": "remote-1", "remote": True, "city": None}, event_id="r1"))
    rig.drain()
    assert sorted(str(m["To"]) for m in rig.mails()) == ["lis@example.org", "osl@example.org"]
    [lis] = rig.mails_to("lis@example.org")
    assert str(lis["Subject"]) == "Remote Data Engineer: work from Lisbon"


def test_weekly_cap_holds_and_frees_up_after_the_window(rig, aws):
    seed(rig, "cap@example.org", role_family="data", seniority="mid", city="Berlin")
    for n in range(4):
        rig.open_job(job_opened({"id": f"job-{n}", "title": f"Data Role {n}"}, event_id=f"j{n}"))
        rig.drain()
    assert len(rig.mails()) == 3
    reasons = [e["reason"] for e in events_of(aws, "Message Suppressed")]
    assert reasons == ["frequency_cap"]
    SYSTEM_CLOCK.fixed = NOW + timedelta(days=8)
    rig.open_job(job_opened({"id": "job-later"}, event_id="jl"))
    rig.drain()
    assert len(rig.mails()) == 4


def test_stale_fields_suppress_or_fall_back_and_the_record_says_since_when(rig, aws):
    old = "2026-03-01T09:00:00Z"  # more than 180 days before NOW
    seed(rig, "old@example.org", at=T1, role_family="data", seniority="mid")
    rig.ingest(profile_fact(email_address="old@example.org", observed_at=old, city="Berlin"))
    rig.open_job(job_opened(event_id="s1"))
    rig.drain()
    assert rig.mails() == []
    [suppressed] = events_of(aws, "Message Suppressed")
    assert suppressed["reason"] == "stale_profile"
    repo = _repo()
    [decision] = repo.decisions(suppressed["candidate_id"])
    assert decision.reason == "stale_profile"
    # The record carries what it read (issue 14): the content versions, the stale city with
    # its source and time, the job's remote flag that made the city required.
    assert decision.inputs is not None
    assert set(decision.inputs.content) == {"catalogue", "journeys", "policy"}
    assert decision.inputs.fields["city"][0] == "Berlin"
    assert decision.inputs.fields["city"][2] == "2026-03-01T09:00:00+00:00"
    assert decision.inputs.subject.get("job.remote") in (False, None)
    assert decision.inputs.sent == 0
    assert any(
        r.startswith("stale: city stale since 2026-08-28T09:00:00+00:00") for r in decision.reasons
    )
    # A remote job does not need the city; its remote variant does, so it falls back.
    rig.open_job(job_opened({"id": "remote-2", "remote": True}, event_id="s2"))
    rig.drain()
    [mail] = rig.mails()
    [sent] = events_of(aws, "Message Sent")
    assert sent["variant"] == "default" and "Lisbon" not in str(mail["Subject"])
    decision = repo.get_decision(sent["candidate_id"], sent["message_id"].removeprefix("m_"))
    assert any(r.startswith("not remote: city stale since") for r in decision.reasons)


def _repo():
    from talentops.wiring import repository

    return repository()


def test_a_fanout_that_dies_half_way_resumes_without_alerting_twice(rig, aws, monkeypatch):
    monkeypatch.setenv("TALENT_POOL_POLICY", json.dumps({"job_alerts": {"page_size": 5}}))
    from talentops.adapters.job_store import JobRepository
    from talentops.job_alerts import wiring

    wiring.reset()
    for n in range(23):
        seed(rig, f"p{n:02d}@example.org", role_family="data", seniority="mid", city="Berlin")
    opened = job_opened(event_id="half")
    original = JobRepository.save_progress
    calls = {"n": 0}

    def dies_on_the_third_page(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # page 3 is on the queue, its cursor never saved
            raise StorageError("the function died")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(JobRepository, "save_progress", dies_on_the_third_page)
    with pytest.raises(StorageError):
        rig.open_job(opened)
    rig.drain()  # the worker sends what was queued before the crash
    assert len(rig.mails()) == 15
    # Lambda retries the same event: the fan-out resumes at page 3 (queued again).
    result = rig.open_job(opened)
    assert result["status"] == "done" and result["pages"] == 5
    rig.drain()
    to = [str(m["To"]) for m in rig.mails()]
    assert len(to) == 23 and len(set(to)) == 23
    reasons = [e["reason"] for e in events_of(aws, "Message Suppressed")]
    assert reasons == []  # page 3's second delivery re-announced, never re-sent
    item = JobRepository("talent-pool-test").get("job-de-data-42")
    assert item["fanout_status"] == "done" and "fanout_cursor" not in item


def test_a_failed_send_fails_only_its_message_and_its_retry_alerts_nobody_twice(
    rig, aws, monkeypatch
):
    for n in range(3):
        seed(rig, f"s{n}@example.org", role_family="data", seniority="mid", city="Berlin")
    from talentops.adapters.ses import SesSender

    original = SesSender.send_raw
    failures = {"s1@example.org": 1}

    def flaky(self, *, sender, to, raw, **kw):
        if failures.get(to):
            failures[to] -= 1
            error = DeliveryError("SES refused the send: TooManyRequestsException")
            error.retryable = True
            raise error
        return original(self, sender=sender, to=to, raw=raw, **kw)

    monkeypatch.setattr(SesSender, "send_raw", flaky)
    rig.open_job(job_opened(event_id="flaky"))
    [message] = rig.receive()
    assert rig.deliver([message]) == [message["MessageId"]]
    assert sorted(str(m["To"]) for m in rig.mails()) == ["s0@example.org", "s2@example.org"]
    rig.drain()  # SQS delivers the failed message again
    to = sorted(str(m["To"]) for m in rig.mails())
    assert to == ["s0@example.org", "s1@example.org", "s2@example.org"]


def test_two_jobs_at_once_cannot_both_use_the_last_alert_of_the_week(rig, aws, monkeypatch):
    monkeypatch.setenv("TALENT_POOL_POLICY", json.dumps({"job_alerts": {"cap_limit": 1}}))
    from talentops.adapters.talent_pool import TalentPoolRepository
    from talentops.job_alerts import wiring

    wiring.reset()
    seed(rig, "one@example.org", role_family="data", seniority="mid", city="Berlin")
    rig.open_job(job_opened({"id": "a"}, event_id="a"))
    rig.open_job(job_opened({"id": "b"}, event_id="b"))
    first, second = rig.receive(2)
    original = TalentPoolRepository.claim_decisions
    state = {"interleaved": False}

    def claim_after_the_other_job(self, claims):
        if not state["interleaved"]:
            state["interleaved"] = True
            rig.deliver([second])  # job b is decided, claimed and sent meanwhile
        return original(self, claims)

    monkeypatch.setattr(TalentPoolRepository, "claim_decisions", claim_after_the_other_job)
    rig.deliver([first])
    assert len(rig.mails()) == 1
    reasons = [e["reason"] for e in events_of(aws, "Message Suppressed")]
    assert reasons == ["frequency_cap"]


def test_requests_per_recipient_stay_under_the_goal(rig, aws):
    """At most 0.2 AWS requests besides the SES send per recipient: per message of 100
    candidates one BatchGetItem, two claim transactions, four completion batches and ten
    PutEvents (0.17), plus a few requests per job (the JOB item, one index page, one
    SendMessageBatch, the token key)."""
    from talentops.models.state import ConsentState, FieldValue, Profile

    at = datetime(2026, 11, 1, tzinfo=UTC)
    n = 400
    profiles = []
    for i in range(n):
        p = Profile(candidate_id=f"c_bench{i:05d}", created_at=at)
        for name, value in {
            "email": f"b{i}@example.org",
            "first_name": "Bo",
            "country": "DE",
            "city": "Berlin",
            "role_family": "data",
            "seniority": ["junior", "mid", "senior"][i % 3],
        }.items():
            p.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=at)
        p.consent["job_alerts"] = ConsentState(
            status="granted", source="talent.crm", observed_at=at
        )
        profiles.append(p)
    put_profiles(aws.client("dynamodb"), "talent-pool-test", profiles)
    with counting() as counter:
        rig.open_job(job_opened(event_id="bench"))
        rig.drain()
    sends = counter.calls["sesv2.SendEmail"]
    assert sends == n and len(rig.mails()) == n
    # The system's own requests (the test's SQS receive and delete stand in for the Lambda
    # poller, which AWS runs and bills to nobody's request count here).
    own = counter.besides("sesv2.SendEmail", "sqs.ReceiveMessage", "sqs.DeleteMessage")
    assert own / n <= 0.2, dict(counter.calls)
    assert counter.calls["dynamodb.BatchGetItem"] == n // 100
    assert counter.calls["events.PutEvents"] == n // 10
    assert "dynamodb.Scan" not in counter.calls


def test_the_single_message_path_keeps_its_request_count(rig, aws, handlers):
    from tests.support.events import behaviour, consent, profile

    # The check-ins below are observed the evening of the event (tests.support.events): the
    # clock is past them (a fact dated ahead of the receiving clock is refused).
    SYSTEM_CLOCK.fixed = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
    rig.ingest(profile("one@example.org", first_name="Ona", country="DE"))
    rig.ingest(consent("one@example.org"))
    handlers["journeys"].handler(behaviour("Attended", "one@example.org"), rig.context)
    with counting() as counter:
        handlers["journeys"].handler(behaviour("No-Show", "one@example.org"), rig.context)
    # Beside the token key (read from SSM once per process, then cached for 5 minutes).
    # One query: the candidate by email (its profile counts no journey instance, so none is
    # read; the catalogue's follow-up answers the event).
    counter.calls.pop("ssm.GetParameter", None)
    assert dict(counter.calls) == {
        "dynamodb.Query": 1,
        "dynamodb.TransactWriteItems": 1,
        "sesv2.SendEmail": 1,
        # The send recorded (its claim's lease and message dropped): a claim is a lease.
        "dynamodb.UpdateItem": 1,
        "events.PutEvents": 1,
    }


def test_the_contact_budget_shared_with_journeys_holds_job_alerts_back(rig, aws, handlers):
    """Four event follow-ups this week fill the job-alert ceiling of the contact budget
    (docs/journeys.md): the alert is suppressed frequency_cap, saying so; job alerts do not
    wait for room."""
    from tests.support.events import behaviour

    seed(rig, "busy@example.org", role_family="data", seniority="mid", city="Berlin")
    rig.ingest(consent_fact("busy@example.org", purpose="events", observed_at=T1))
    for n in range(4):
        event = {
            "id": f"ev-{n}",
            "name": f"Meetup {n}",
            "starts_at": "2026-11-30T18:00:00Z",
            "city": "Berlin",
        }
        handlers["journeys"].handler(
            behaviour("Attended", "busy@example.org", event=event, observed_at=T2), rig.context
        )
    assert len(rig.mails()) == 4  # the catalogue's follow-ups (no journey follows them)
    aws.drain()
    rig.open_job(job_opened({"id": "job-busy", "title": "Data Role"}, event_id="jb"))
    rig.drain()
    assert len(rig.mails()) == 4
    suppressed = events_of(aws, "Message Suppressed")
    assert [e["reason"] for e in suppressed] == ["frequency_cap"]
    candidate_id = suppressed[0]["candidate_id"]
    from talentops.adapters.talent_pool import TalentPoolRepository

    decision = next(
        d
        for d in TalentPoolRepository("talent-pool-test").decisions(candidate_id)
        if d.template == "job_alert"
    )
    assert any("4 budgeted messages in the last 7 days" in r for r in decision.reasons)
