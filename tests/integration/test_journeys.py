"""The journeys through the real handlers under moto: candidate events into the journeys
function, timers (EventBridge Scheduler one-time schedules) fired into the timer function the
way the local stack fires them, and the emails as SES received them.

The clock is fixed (talentops.clock.SYSTEM_CLOCK) and moved by hand. The event of
tests/support/events.py starts 2026-12-03T17:30Z: 18:30 in Berlin, 12:30 in New York (both on
winter time), so "09:00 the day before" is 08:00Z for Berlin and 14:00Z for New York.
"""

from __future__ import annotations

import contextlib
import email
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from talentops import wiring
from talentops.adapters.bus import EventPublisher
from talentops.adapters.journeys import JourneyRepository, StoredInstance
from talentops.adapters.scheduler import TimerScheduler
from talentops.adapters.ses import SesSender
from talentops.clock import SYSTEM_CLOCK
from talentops.delivery import leases
from talentops.errors import DeliveryError, StorageError
from talentops.models.events import CandidateRef, JobInfo
from talentops.models.state import Decision
from tests.conftest import REGION, TABLE, Aws, FakeContext, load_handler
from tests.support.apigw import http_event
from tests.support.events import EVENT, consent, envelope, profile
from tests.support.job_alerts import counting
from tests.support.timers import due_at, fire_due, payload, schedules, sqs_record

Handlers = dict[str, ModuleType]

REGISTERED = "Candidate Event Registered"
ATTENDED = "Candidate Event Attended"
JOB_VIEWED = "Candidate Job Viewed"
APPLIED = "Candidate Application Submitted"

T0 = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 23:00 in Berlin, 17:00 in New York
STARTS = datetime(2026, 12, 3, 17, 30, tzinfo=UTC)  # EVENT["starts_at"]
BERLIN_NINE = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # 09:00 CET the day before
NEW_YORK_NINE = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)  # 09:00 EST the day before
DEADLINE = STARTS + timedelta(days=1)  # the event journey's wait for the check-in

MEETUP = {
    "id": "evt-meetup-2026",
    "name": "Analytics Meetup",
    "starts_at": "2026-11-28T18:00:00Z",
    "city": "Berlin",
    "url": "https://careers.example.com/events/meetup-2026",
}
VIEWED_JOB = {
    "id": "job-data-eng",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "mid",
    "city": "Berlin",
    "country": "DE",
    "url": "https://careers.example.com/jobs/job-data-eng",
}
SIMILAR_JOB = JobInfo(
    id="job-analytics-eng",
    title="Analytics Engineer",
    role_family="data",
    seniority="senior",  # type: ignore[arg-type]
    city="Munich",
    country="DE",
    remote=True,
    url="https://careers.example.com/jobs/job-analytics-eng",
)
UNFIT_JOB = JobInfo(
    id="job-sales-lead",
    title="Sales Lead",
    role_family="sales",
    seniority="mid",  # type: ignore[arg-type]
    city="Berlin",
    country="DE",
    url="https://careers.example.com/jobs/job-sales-lead",
)


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[Callable[[datetime], None]]:
    """SYSTEM_CLOCK fixed at T0; call the fixture's value to move it."""
    offset = SYSTEM_CLOCK.offset
    SYSTEM_CLOCK.offset = timedelta(0)
    SYSTEM_CLOCK.fixed = T0

    def move(moment: datetime) -> None:
        SYSTEM_CLOCK.fixed = moment

    yield move
    SYSTEM_CLOCK.fixed = None
    SYSTEM_CLOCK.offset = offset


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _seed(
    handlers: Handlers,
    context: FakeContext,
    address: str,
    *,
    tz: str = "Europe/Berlin",
    city: str = "Berlin",
    country: str = "DE",
) -> str:
    """A mid-level data candidate with events and marketing grants; returns the id."""
    ingest = handlers["ingest_profile"].handler
    observed = "2026-11-01T09:00:00Z"
    ingest(
        profile(
            address,
            observed_at=observed,
            first_name="Ada",
            country=country,
            city=city,
            timezone=tz,
            seniority="mid",
            role_family="data",
        ),
        context,
    )
    for purpose in ("events", "marketing"):
        ingest(consent(address, "granted", purpose=purpose, observed_at=observed), context)
    found = wiring.repository().resolve(CandidateRef(email=address))
    assert found is not None
    return found.candidate_id


def _candidate_event(
    handlers: Handlers,
    context: FakeContext,
    detail_type: str,
    address: str,
    observed_at: datetime,
    *,
    event: dict[str, Any] | None = None,
    job: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {"candidate": {"email": address}, "observed_at": _iso(observed_at)}
    if event is not None:
        detail["event"] = event
    if job is not None:
        detail["job"] = job
    source = "talent.events-platform" if event is not None else "talent.careers-site"
    result: dict[str, Any] = handlers["journeys"].handler(
        _envelope(detail_type, detail, source, event_id), context
    )
    return result


def _envelope(
    detail_type: str, detail: dict[str, Any], source: str, event_id: str | None
) -> dict[str, Any]:
    return envelope(detail_type, detail, source=source, event_id=event_id)


def _mails(aws: Aws, to: str | None = None) -> list[EmailMessage]:
    out = []
    for m in aws.sent_emails():
        raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if to is None or to in str(message["To"]):
            out.append(message)
    return out


def _subjects(aws: Aws, to: str) -> list[str]:
    return [str(m["Subject"]) for m in _mails(aws, to)]


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def _decisions(candidate_id: str) -> list[Decision]:
    return wiring.repository().decisions(candidate_id)


def _instances(candidate_id: str) -> list[StoredInstance]:
    return JourneyRepository(TABLE).instances(candidate_id)


def _timers(candidate_id: str) -> list[dict[str, Any]]:
    return [s for s in schedules() if payload(s)["candidate_id"] == candidate_id]


def _deliver(handlers: Handlers, context: FakeContext, body: str) -> dict[str, Any]:
    """One SQS delivery of a timer's message to the timer function (the schedule stays)."""
    result: dict[str, Any] = handlers["journey_timer"].handler(
        {"Records": [sqs_record(body)]}, context
    )
    return result


def _fire(handlers: Handlers, context: FakeContext, now: datetime) -> int:
    return fire_due(handlers["journey_timer"], context, now)


def _bus(aws: Aws, detail_type: str) -> list[dict[str, Any]]:
    return [e for e in aws.drain() if e["detail-type"] == detail_type]


def _fails_once(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    name: str,
    error: Exception,
    when: Callable[..., bool] = lambda *args, **kwargs: True,
) -> None:
    """``owner.name`` raises ``error`` the first time it is called with arguments ``when``
    accepts, and behaves as before otherwise."""
    original = getattr(owner, name)
    failed: list[bool] = []

    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not failed and when(*args, **kwargs):
            failed.append(True)
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, patched)


def _scan() -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb", region_name=REGION)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE}
    while True:
        resp = ddb.scan(**kwargs)
        items.extend(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


# -- 1. the event journey ------------------------------------------------------------------------


def test_event_journey_confirms_at_once_and_reminds_at_nine_in_each_candidates_timezone(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    berlin = _seed(handlers, context, "berlin@example.org")
    new_york = _seed(
        handlers,
        context,
        "newyork@example.org",
        tz="America/New_York",
        city="New York",
        country="US",
    )
    aws.drain()
    # Registered at 23:00 in Berlin: the confirmation goes at once, quiet hours or not.
    for address in ("berlin@example.org", "newyork@example.org"):
        result = _candidate_event(
            handlers, context, REGISTERED, address, T0 - timedelta(minutes=2), event=EVENT
        )
        assert _subjects(aws, address) == ["You're registered: Data & AI Careers Summit"]
        # The handler's answer names the journey's decision (not the catalogue's fallback).
        assert result["decisions"] == [
            {
                "template": "event_registration_confirmation",
                "outcome": "send",
                "reason": None,
                "variant": "default",
            }
        ]
        assert result["fallback"] is False
    [confirmed] = [d for d in _decisions(berlin) if d.template.startswith("event_registration")]
    assert confirmed.outcome == "send" and confirmed.decided_at == T0
    # A journey's send records the inputs it read (issue 14) as a trigger's does.
    assert confirmed.inputs is not None
    assert set(confirmed.inputs.content) == {"catalogue", "journeys", "policy"}
    assert {"email", "country", "language", "seniority"} <= set(confirmed.inputs.fields)

    # One timer each, at 09:00 the day before in the candidate's own timezone.
    [berlin_timer] = _timers(berlin)
    [new_york_timer] = _timers(new_york)
    assert berlin_timer["ScheduleExpression"] == "at(2026-12-02T08:00:00)"
    assert new_york_timer["ScheduleExpression"] == "at(2026-12-02T14:00:00)"
    assert due_at(berlin_timer) == BERLIN_NINE and due_at(new_york_timer) == NEW_YORK_NINE
    assert berlin_timer["ScheduleExpressionTimezone"] == "UTC"
    [berlin_instance] = _instances(berlin)
    assert payload(berlin_timer) == {
        "candidate_id": berlin,
        "instance_id": berlin_instance.data["instance_id"],
        "timer_id": berlin_timer["Name"],
    }

    # A minute before Berlin's 09:00 nothing is due.
    clock(BERLIN_NINE - timedelta(minutes=1))
    assert _fire(handlers, context, BERLIN_NINE - timedelta(minutes=1)) == 0
    # Berlin's 09:00: Berlin's reminder only.
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 1
    assert _subjects(aws, "berlin@example.org")[1:] == [
        "See you tomorrow at Data & AI Careers Summit"
    ]
    assert len(_mails(aws, "newyork@example.org")) == 1
    # New York's 09:00: New York's.
    clock(NEW_YORK_NINE)
    assert _fire(handlers, context, NEW_YORK_NINE) == 1
    assert _subjects(aws, "newyork@example.org")[1:] == [
        "See you tomorrow at Data & AI Careers Summit"
    ]
    assert len(_mails(aws, "berlin@example.org")) == 2
    # Both now wait for the check-in until a day after the start.
    assert [due_at(s) for s in _timers(berlin)] == [DEADLINE]
    assert [due_at(s) for s in _timers(new_york)] == [DEADLINE]


def test_event_journey_follows_up_by_outcome_and_a_late_attended_changes_nothing(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    attendee = _seed(handlers, context, "came@example.org")
    absentee = _seed(handlers, context, "away@example.org")
    for address in ("came@example.org", "away@example.org"):
        _candidate_event(handlers, context, REGISTERED, address, T0, event=EVENT)
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 2
    assert len(_mails(aws, "came@example.org")) == 2
    assert len(_mails(aws, "away@example.org")) == 2

    # The check-in syncs late in the evening, inside the deadline: the attended follow-up,
    # and the timeout timer is gone.
    clock(STARTS + timedelta(hours=20))
    _candidate_event(
        handlers,
        context,
        ATTENDED,
        "came@example.org",
        STARTS + timedelta(minutes=10),
        event=EVENT,
    )
    assert _subjects(aws, "came@example.org")[2:] == [
        "Thanks for coming to Data & AI Careers Summit: your next steps"
    ]
    assert _timers(attendee) == []
    [done] = _instances(attendee)
    assert done.data["status"] == "completed" and done.outbox == []

    # No word for the other one by start + 1 day: the no-show follow-up.
    clock(DEADLINE - timedelta(minutes=1))
    assert _fire(handlers, context, DEADLINE - timedelta(minutes=1)) == 0
    clock(DEADLINE)
    assert _fire(handlers, context, DEADLINE) == 1
    assert _subjects(aws, "away@example.org")[2:] == [
        "Sorry we missed you at Data & AI Careers Summit: catch up and see the next dates"
    ]
    [ended] = _instances(absentee)
    assert ended.data["status"] == "completed"
    aws.drain()

    # An Attended after the no-show follow-up went out: no second follow-up, and not the
    # catalogue's fallback either (a journey followed this event for the candidate).
    clock(DEADLINE + timedelta(hours=2))
    _candidate_event(
        handlers,
        context,
        ATTENDED,
        "away@example.org",
        STARTS + timedelta(minutes=30),
        event=EVENT,
    )
    assert len(_mails(aws, "away@example.org")) == 3
    published = aws.drain()
    assert [e for e in published if e["detail-type"].startswith("Message ")] == []
    assert "event_attended_followup" not in {d.template for d in _decisions(absentee)}
    assert _instances(absentee)[0].data["status"] == "completed"
    # The attendance still reaches the profile's behaviours.
    held = wiring.repository().get_profile(absentee)
    assert held is not None
    assert held.behaviours["event_attended"]["subject_id"] == EVENT["id"]


def test_an_ended_journey_keeps_a_summary_where_triggers_read_and_its_trail_apart(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    """Every trigger about a candidate reads their journey instances: an ended one keeps
    there only what re-entry and a late event's owner are decided from, and its trail sorts
    outside that range (read by the access export, through ``in_full``)."""
    from talentops.adapters.dynamo import from_item
    from talentops.adapters.journeys import ENDED_FIELDS, in_full
    from talentops.privacy.wiring import access_service

    attendee = _seed(handlers, context, "came@example.org")
    _candidate_event(handlers, context, REGISTERED, "came@example.org", T0, event=EVENT)
    [running] = _instances(attendee)
    assert running.data["trail"] and running.data["context"]["event"]["id"] == EVENT["id"]
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 1
    clock(STARTS + timedelta(hours=2))
    _candidate_event(
        handlers, context, ATTENDED, "came@example.org", STARTS + timedelta(minutes=10), event=EVENT
    )
    assert len(_mails(aws, "came@example.org")) == 3

    [summary] = _instances(attendee)
    partition = [from_item(i) for i in _scan() if i["pk"]["S"] == f"CAND#{attendee}"]
    [full] = [i for i in in_full(partition) if str(i["sk"]).startswith("JOURNEY#")]
    full_data = json.loads(full["instance"])
    assert summary.data["status"] == full_data["status"] == "completed"
    assert sorted(summary.data) == sorted(ENDED_FIELDS)
    assert summary.data == {name: full_data[name] for name in ENDED_FIELDS}
    assert summary.outbox == json.loads(full["outbox"]) == [] and summary.seq == full["seq"]
    assert any("thank_attendee: send" in line for line in full_data["trail"]), full_data
    keys = sorted(str(i["sk"]) for i in partition)
    instance_id = summary.data["instance_id"]
    assert f"JOURNEY#{instance_id}" in keys and f"JEND#{instance_id}" in keys

    # Re-entry is decided from the summary: registering again for the event starts nothing.
    _candidate_event(
        handlers, context, REGISTERED, "came@example.org", STARTS + timedelta(hours=3), event=EVENT
    )
    assert len(_mails(aws, "came@example.org")) == 3
    assert len(_instances(attendee)) == 1

    # The access export holds the journey once, in full.
    exported = access_service().export(attendee)
    journeys = [r for r in exported["other_records"] if r["record"] == "journey"]
    assert len(journeys) == 1 and json.loads(journeys[0]["instance"]) == full_data, journeys


def test_an_outcome_of_an_event_not_registered_for_gets_the_catalogue_follow_up(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    candidate = _seed(handlers, context, "walkin@example.org")
    # A journey runs for another event; the meetup was never registered for through us.
    _candidate_event(handlers, context, REGISTERED, "walkin@example.org", T0, event=EVENT)
    [before] = _instances(candidate)
    aws.drain()
    outcome = _candidate_event(
        handlers,
        context,
        ATTENDED,
        "walkin@example.org",
        T0 - timedelta(days=2),
        event=MEETUP,
    )
    assert outcome["fallback"] is True
    assert _subjects(aws, "walkin@example.org")[1:] == [
        "Thanks for coming to Analytics Meetup: your next steps"
    ]
    sent = _bus(aws, "Message Sent")
    assert [e["detail"]["template"] for e in sent] == ["event_attended_followup"]
    # The running journey about the summit waits on, for its own reminder.
    [after] = _instances(candidate)
    assert after.data["step"] == before.data["step"] == "day_before"
    assert [due_at(s) for s in _timers(candidate)] == [BERLIN_NINE]


def test_journeys_merged_into_a_candidate_are_read_by_the_next_outcome(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    """A merge moves another candidate's journey instances onto the survivor, whose profile
    listed none: it forgets the count and the list first, so the next outcome reads the
    instances and the moved journey owns it (not the catalogue)."""
    ingest = handlers["ingest_profile"].handler
    fact = {"observed_at": "2026-10-01T09:00:00Z", "fields": {"city": "Berlin"}}
    clock(T0 - timedelta(days=30))  # known first: it survives the merge
    survivor = ingest(
        envelope(
            "Candidate Profile Updated",
            {"candidate": {"ref": "ats:M-1"}, **fact},
            source="talent.ats",
        ),
        context,
    )["candidate_id"]
    clock(T0)
    moved = _seed(handlers, context, "merged@example.org")
    _candidate_event(handlers, context, REGISTERED, "merged@example.org", T0, event=EVENT)
    assert [s.data["status"] for s in _instances(moved)] == ["active"]
    # The ATS learns the address of its candidate: one person, and the older one survives.
    linked = {"observed_at": "2026-11-02T09:00:00Z", "fields": {"email": "merged@example.org"}}
    result = ingest(
        envelope(
            "Candidate Profile Updated",
            {"candidate": {"ref": "ats:M-1", "email": "merged@example.org"}, **linked},
            source="talent.ats",
        ),
        context,
    )
    assert result["candidate_id"] == survivor
    [instance] = _instances(survivor)
    aws.drain()
    clock(STARTS + timedelta(hours=2))
    outcome = _candidate_event(
        handlers,
        context,
        ATTENDED,
        "merged@example.org",
        STARTS + timedelta(minutes=10),
        event=EVENT,
    )
    # The journey owns it (before its reminder went out, the check-in waits in its inbox for
    # the step that counts it): no catalogue follow-up.
    assert outcome["fallback"] is False
    [after] = _instances(survivor)
    assert after.data["instance_id"] == instance.data["instance_id"]
    assert f"{ATTENDED}|{EVENT['id']}" in after.data["inbox"]
    assert _bus(aws, "Message Sent") == []


# -- 2. idempotence ------------------------------------------------------------------------------


def test_a_registration_delivered_twice_or_re_sent_starts_one_journey(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    candidate = _seed(handlers, context, "twice@example.org")
    observed = T0 - timedelta(minutes=1)
    for event_id in ("reg-1", "reg-1", "reg-2"):  # a redelivery, then a producer's re-send
        _candidate_event(
            handlers,
            context,
            REGISTERED,
            "twice@example.org",
            observed,
            event=EVENT,
            event_id=event_id,
        )
    assert len(_instances(candidate)) == 1
    assert len(_mails(aws, "twice@example.org")) == 1
    assert len(_timers(candidate)) == 1
    confirmations = [d for d in _decisions(candidate) if d.outcome == "send"]
    assert [d.template for d in confirmations] == ["event_registration_confirmation"]


def test_the_same_timer_fired_twice_sends_one_reminder(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    candidate = _seed(handlers, context, "timer@example.org")
    _candidate_event(handlers, context, REGISTERED, "timer@example.org", T0, event=EVENT)
    [timer] = _timers(candidate)
    clock(BERLIN_NINE)
    body = timer["Target"]["Input"]
    assert _deliver(handlers, context, body) == {"batchItemFailures": []}
    assert _deliver(handlers, context, body) == {"batchItemFailures": []}  # SQS at least once
    assert _subjects(aws, "timer@example.org")[1:] == [
        "See you tomorrow at Data & AI Careers Summit"
    ]
    reminders = [d for d in _decisions(candidate) if d.template == "event_reminder"]
    assert len(reminders) == 1
    # The stray second delivery did not move the journey past its wait for the check-in.
    [instance] = _instances(candidate)
    assert instance.data["step"] == "await_outcome"


# -- 3. crash safety -----------------------------------------------------------------------------


def test_a_failed_send_stays_in_the_outbox_and_the_next_delivery_sends_it_once(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    candidate = _seed(handlers, context, "crash@example.org")
    _candidate_event(handlers, context, REGISTERED, "crash@example.org", T0, event=EVENT)
    [timer] = _timers(candidate)
    calls: list[str] = []
    send_raw = SesSender.send_raw

    def flaky(self: SesSender, *, sender: str, to: str, raw: bytes, **kw: Any) -> str:
        calls.append(to)
        if len(calls) == 1:
            raise DeliveryError("SES refused the send: ServiceUnavailable")
        return send_raw(self, sender=sender, to=to, raw=raw, **kw)

    monkeypatch.setattr(SesSender, "send_raw", flaky)
    clock(BERLIN_NINE)
    record = sqs_record(timer["Target"]["Input"])
    result = handlers["journey_timer"].handler({"Records": [record]}, context)
    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert len(_mails(aws, "crash@example.org")) == 1  # the confirmation only
    [stored] = _instances(candidate)
    kept = [(e["type"], e.get("template")) for e in stored.outbox]
    assert ("SendMessage", "event_reminder") in kept
    assert "event_reminder" not in {
        d.template for d in _decisions(candidate) if d.outcome == "send"
    }

    # SQS delivers it again: the outbox is carried out, once.
    clock(BERLIN_NINE + timedelta(minutes=1))
    assert _deliver(handlers, context, timer["Target"]["Input"]) == {"batchItemFailures": []}
    assert _deliver(handlers, context, timer["Target"]["Input"]) == {"batchItemFailures": []}
    assert _subjects(aws, "crash@example.org")[1:] == [
        "See you tomorrow at Data & AI Careers Summit"
    ]
    assert len(calls) == 2  # the failed try, then the one send
    [stored] = _instances(candidate)
    assert stored.outbox == [] and stored.data["step"] == "await_outcome"
    assert DEADLINE in [due_at(s) for s in _timers(candidate)]


# -- 4. versions ---------------------------------------------------------------------------------


def _templates_copy(tmp_path: Path) -> Path:
    """A copy of templates/ to change (TEMPLATES_DIR, then wiring.reset(), to load it)."""
    copy = tmp_path / "templates"
    shutil.copytree(Path(wiring.get_settings().templates_dir), copy)
    return copy


def _templates_without_reminder(tmp_path: Path) -> Path:
    """A copy of templates/ whose event journey has no reminder any more."""
    copy = _templates_copy(tmp_path)
    path = copy / "journeys" / "event.yaml"
    text = path.read_text(encoding="utf-8")
    reminder = (
        "  - id: remind\n"
        "    send: event_reminder\n"
        "    not_after: event.starts_at  # a reminder held back (quiet hours, budget) past the start is dropped\n"
        "\n"
    )
    assert reminder in text
    path.write_text(text.replace(reminder, ""), encoding="utf-8")
    return copy


def test_a_journey_version_is_kept_in_the_transaction_of_its_first_instance(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    """The version a new instance runs is written with it (no PutItem of its own), once a
    process: a timer that finds the instance later can read the version it started on."""
    calls: list[str] = []
    wiring.journey_runtime().store.ddb.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    candidate = _seed(handlers, context, "kept@example.org")
    calls.clear()
    _candidate_event(handlers, context, REGISTERED, "kept@example.org", T0, event=EVENT)
    [started] = _instances(candidate)
    key = {"pk": {"S": "JVER#event"}, "sk": {"S": f"V#{started.data['version']}"}}
    ddb = boto3.client("dynamodb", region_name=REGION)
    stored = ddb.get_item(TableName=TABLE, Key=key).get("Item")
    assert stored is not None
    assert json.loads(stored["definition"]["S"])["name"] == "event"
    assert "PutItem" not in calls and "TransactWriteItems" in calls


def test_a_running_instance_finishes_on_the_version_it_started_on(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    early = _seed(handlers, context, "early@example.org")
    _candidate_event(handlers, context, REGISTERED, "early@example.org", T0, event=EVENT)
    [started] = _instances(early)
    v1 = started.data["version"]
    ddb = boto3.client("dynamodb", region_name=REGION)
    key = {"pk": {"S": "JVER#event"}, "sk": {"S": f"V#{v1}"}}
    stored_version = ddb.get_item(TableName=TABLE, Key=key).get("Item")
    assert stored_version is not None
    assert json.loads(stored_version["definition"]["S"])["name"] == "event"

    # Marketing ops drop the reminder; the functions start again with the new files.
    monkeypatch.setenv("TEMPLATES_DIR", str(_templates_without_reminder(tmp_path)))
    wiring.reset()
    [current] = [j for j in wiring.journey_runtime().registry.current() if j.name == "event"]
    v2 = current.version
    assert v2 != v1
    loaded: list[tuple[str, str]] = []
    load_version = JourneyRepository.load_version

    def spy(self: JourneyRepository, name: str, version: str) -> Any:
        loaded.append((name, version))
        return load_version(self, name, version)

    monkeypatch.setattr(JourneyRepository, "load_version", spy)

    late = _seed(handlers, context, "late@example.org")
    _candidate_event(handlers, context, REGISTERED, "late@example.org", T0, event=EVENT)
    assert _instances(late)[0].data["version"] == v2

    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 2
    # The run that started on v1 still reminds; the run on v2 does not.
    assert _subjects(aws, "early@example.org")[1:] == [
        "See you tomorrow at Data & AI Careers Summit"
    ]
    assert len(_mails(aws, "late@example.org")) == 1
    assert ("event", v1) in loaded
    [finished_on_v1] = _instances(early)
    assert finished_on_v1.data["version"] == v1
    assert finished_on_v1.data["status"] == "active"
    assert finished_on_v1.data["step"] == "await_outcome"
    [on_v2] = _instances(late)
    assert on_v2.data["step"] == "await_outcome"


# -- 5. the job nurture --------------------------------------------------------------------------

VIEWED_AT = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
NUDGE_AT = VIEWED_AT + timedelta(days=3)


def _list_jobs() -> None:
    listings = wiring.listings()
    listings.put_job(UNFIT_JOB, VIEWED_AT - timedelta(days=2))
    listings.put_job(SIMILAR_JOB, VIEWED_AT - timedelta(days=1))
    listings.put_job(JobInfo.model_validate(VIEWED_JOB), VIEWED_AT - timedelta(days=3))


def test_a_job_view_gets_similar_jobs_three_days_later(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "viewer@example.org")
    _candidate_event(handlers, context, JOB_VIEWED, "viewer@example.org", VIEWED_AT, job=VIEWED_JOB)
    [timer] = _timers(candidate)
    assert due_at(timer) == NUDGE_AT
    assert _mails(aws, "viewer@example.org") == []

    clock(NUDGE_AT)
    assert _fire(handlers, context, NUDGE_AT) == 1
    [nudge] = _mails(aws, "viewer@example.org")
    assert str(nudge["Subject"]) == "Roles like Data Engineer, picked for you"
    text = _text(nudge)
    assert "Analytics Engineer" in text and str(SIMILAR_JOB.url) in text
    assert "Sales Lead" not in text  # another role family
    assert text.count(str(VIEWED_JOB["url"])) == 1  # the job viewed is not among the similar
    [decision] = [d for d in _decisions(candidate) if d.template == "job_nurture"]
    assert decision.outcome == "send" and decision.variant == "similar"
    [instance] = _instances(candidate)
    assert instance.data["status"] == "completed"
    assert _timers(candidate) == []


def test_an_application_before_the_timer_ends_the_nurture(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "applies@example.org")
    _candidate_event(
        handlers, context, JOB_VIEWED, "applies@example.org", VIEWED_AT, job=VIEWED_JOB
    )
    [timer] = _timers(candidate)
    clock(VIEWED_AT + timedelta(days=1))
    _candidate_event(
        handlers,
        context,
        APPLIED,
        "applies@example.org",
        VIEWED_AT + timedelta(days=1),
        job={"id": "job-other"},  # any job ends it
    )
    [instance] = _instances(candidate)
    assert instance.data["status"] == "exited" and instance.data["end_reason"] == "applied"
    assert _timers(candidate) == []  # the timer was cancelled
    # Even a timer that fires anyway (cancelled too late) sends nothing.
    clock(NUDGE_AT)
    assert _deliver(handlers, context, timer["Target"]["Input"]) == {"batchItemFailures": []}
    assert _mails(aws, "applies@example.org") == []
    assert [d for d in _decisions(candidate) if d.template == "job_nurture"] == []


def test_no_nurture_for_a_candidate_who_applied_in_the_last_30_days(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "applied@example.org")
    _candidate_event(
        handlers,
        context,
        APPLIED,
        "applied@example.org",
        VIEWED_AT - timedelta(days=10),
        job={"id": "job-earlier"},
    )
    outcome = _candidate_event(
        handlers, context, JOB_VIEWED, "applied@example.org", VIEWED_AT, job=VIEWED_JOB
    )
    assert _instances(candidate) == []
    assert _timers(candidate) == []
    assert [j["status"] for j in outcome["journeys"]] == ["not_entered"]


# -- 6. quiet hours and the contact budget -------------------------------------------------------


def test_a_nudge_due_in_the_night_waits_for_eight_in_the_morning(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    candidate = _seed(handlers, context, "night@example.org")
    aws.drain()
    # Viewed at 23:00 in Berlin: three days on it is 23:00 again.
    _candidate_event(handlers, context, JOB_VIEWED, "night@example.org", T0, job=VIEWED_JOB)
    due = T0 + timedelta(days=3)
    clock(due)
    assert _fire(handlers, context, due) == 1
    assert _mails(aws, "night@example.org") == []
    # Held, not decided: no decision yet, nothing announced.
    assert [d for d in _decisions(candidate) if d.template == "job_nurture"] == []
    assert [e for e in aws.drain() if e["detail-type"].startswith("Message ")] == []
    morning = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    [held] = _timers(candidate)
    assert due_at(held) == morning
    [instance] = _instances(candidate)
    assert instance.data["waiting"]["kind"] == "send"

    clock(morning)
    assert _fire(handlers, context, morning) == 1
    [nudge] = _mails(aws, "night@example.org")
    assert "Analytics Engineer" in _text(nudge)
    [decision] = [d for d in _decisions(candidate) if d.template == "job_nurture"]
    assert decision.outcome == "send" and decision.decided_at == morning
    # The decision says it was held, since when and why.
    assert f"deferred since {due.isoformat().replace('+00:00', 'Z')} (quiet_hours)" in (
        decision.reasons
    )


def _two_event_messages(
    handlers: Handlers, context: FakeContext, address: str, series: str = "a"
) -> None:
    """Two follow-ups (budgeted, purpose events) through the catalogue's fallback, now."""
    for n in (1, 2):
        event = {**MEETUP, "id": f"evt-meetup-{series}{n}", "name": f"Meetup {series}{n}"}
        _candidate_event(
            handlers,
            context,
            ATTENDED,
            address,
            SYSTEM_CLOCK.now() - timedelta(hours=1),
            event=event,
        )


def test_a_nudge_over_the_budget_is_deferred_until_the_window_frees_up(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    sent_at = VIEWED_AT - timedelta(days=2)
    clock(sent_at)
    candidate = _seed(handlers, context, "busy@example.org")
    _two_event_messages(handlers, context, "busy@example.org")
    assert len(_mails(aws, "busy@example.org")) == 2
    clock(VIEWED_AT)
    _candidate_event(handlers, context, JOB_VIEWED, "busy@example.org", VIEWED_AT, job=VIEWED_JOB)
    aws.drain()

    clock(NUDGE_AT)
    assert _fire(handlers, context, NUDGE_AT) == 1
    assert len(_mails(aws, "busy@example.org")) == 2
    assert [d for d in _decisions(candidate) if d.template == "job_nurture"] == []
    frees = sent_at + timedelta(days=7)  # two budgeted messages; nurture needs fewer than 2
    [held] = _timers(candidate)
    assert due_at(held) == frees
    [instance] = _instances(candidate)
    assert instance.data["waiting"]["kind"] == "send"
    assert any("frequency_cap" in line for line in instance.data["trail"])

    clock(frees)
    assert _fire(handlers, context, frees) == 1
    assert len(_mails(aws, "busy@example.org")) == 3
    [decision] = [d for d in _decisions(candidate) if d.template == "job_nurture"]
    assert decision.outcome == "send"


def test_a_nudge_that_cannot_wait_for_the_budget_is_suppressed_and_announced(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "full@example.org")
    _two_event_messages(handlers, context, "full@example.org")
    _candidate_event(handlers, context, JOB_VIEWED, "full@example.org", VIEWED_AT, job=VIEWED_JOB)
    aws.drain()

    # Room again only 7 days after the two follow-ups: later than a nurture may wait (3 days).
    clock(NUDGE_AT)
    assert _fire(handlers, context, NUDGE_AT) == 1
    assert len(_mails(aws, "full@example.org")) == 2
    [decision] = [d for d in _decisions(candidate) if d.template == "job_nurture"]
    assert decision.outcome == "suppress" and decision.reason == "frequency_cap"
    assert decision.status == "suppressed" and decision.purpose == "marketing"
    [announced] = _bus(aws, "Message Suppressed")
    assert announced["detail"]["candidate_id"] == candidate
    assert announced["detail"]["reason"] == "frequency_cap"
    assert announced["detail"]["template"] == "job_nurture"
    assert _timers(candidate) == []
    [instance] = _instances(candidate)
    assert instance.data["status"] == "completed"


def test_a_deferred_nudge_is_suppressed_when_the_budget_fills_again_past_its_wait(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    clock(VIEWED_AT - timedelta(days=2))
    candidate = _seed(handlers, context, "tight@example.org")
    _two_event_messages(handlers, context, "tight@example.org", "a")
    clock(VIEWED_AT)
    _candidate_event(handlers, context, JOB_VIEWED, "tight@example.org", VIEWED_AT, job=VIEWED_JOB)
    clock(NUDGE_AT)
    assert _fire(handlers, context, NUDGE_AT) == 1
    [held] = _timers(candidate)
    frees = VIEWED_AT + timedelta(days=5)
    assert due_at(held) == frees
    # Two more event messages meanwhile: when the timer fires the room is gone again, and
    # it would come back later than 3 days after the first try.
    clock(VIEWED_AT + timedelta(days=4))
    _two_event_messages(handlers, context, "tight@example.org", "b")
    aws.drain()
    clock(frees)
    assert _fire(handlers, context, frees) == 1
    assert len(_mails(aws, "tight@example.org")) == 4  # the four follow-ups, no nudge
    [decision] = [d for d in _decisions(candidate) if d.template == "job_nurture"]
    assert decision.outcome == "suppress" and decision.reason == "frequency_cap"
    [announced] = _bus(aws, "Message Suppressed")
    assert announced["detail"]["reason"] == "frequency_cap"
    assert _timers(candidate) == []


# -- 7. erasure ----------------------------------------------------------------------------------


def _erase(via: str, candidate_id: str, address: str, context: FakeContext) -> None:
    if via == "api":
        event = http_event("DELETE", f"/admin/candidates/{candidate_id}")
        event["requestContext"]["authorizer"] = {
            "iam": {
                "accessKey": "AKIDEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "userArn": "arn:aws:iam::123456789012:user/ops",
                "userId": "AIDAEXAMPLE",
            }
        }
        response = load_handler("api").handler(event, context)
        assert response["statusCode"] == 202, response
        return
    load_handler("candidate_erasure").handler(
        envelope(
            "Candidate Erasure Requested",
            {
                "candidate": {"email": address},
                "observed_at": _iso(T0),
                "request_id": "dsar-journeys",
            },
        ),
        context,
    )


@pytest.mark.parametrize("via", ["bus", "api"])
def test_erasure_leaves_no_journey_of_the_candidate_and_its_timers_do_nothing(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None], via: str
) -> None:
    candidate = _seed(handlers, context, "forget@example.org")
    keep = _seed(handlers, context, "keep@example.org")
    for address in ("forget@example.org", "keep@example.org"):
        _candidate_event(handlers, context, REGISTERED, address, T0, event=EVENT)
    _candidate_event(handlers, context, JOB_VIEWED, "forget@example.org", T0, job=VIEWED_JOB)
    assert len(_instances(candidate)) == 2
    _erase(via, candidate, "forget@example.org", context)
    assert _instances(candidate) == []
    for item in _scan():
        assert candidate not in json.dumps(item)
    assert len(_instances(keep)) == 1

    # The erased candidate's timers are gone with it (their schedules carried its id); the
    # other candidate's reminder still comes.
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 1
    assert len(_mails(aws, "forget@example.org")) == 1  # the confirmation before the erasure
    assert len(_mails(aws, "keep@example.org")) == 2
    clock(T0 + timedelta(days=3))
    assert _fire(handlers, context, T0 + timedelta(days=3)) == 0
    assert _instances(candidate) == []
    journeys = [i["pk"]["S"] for i in _scan() if i["sk"]["S"].startswith("JOURNEY#")]
    assert journeys == [f"CAND#{keep}"]


def test_an_erasure_between_the_read_and_the_write_leaves_no_journey(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registration processed while the candidate is being erased: the erasure runs
    after the runtime read the profile and before it writes the new instance."""
    erasure = load_handler("candidate_erasure")
    candidate = _seed(handlers, context, "racing@example.org")
    save = JourneyRepository.save
    erased: list[bool] = []

    def erase_first(self: JourneyRepository, candidate_id: str, *args: Any, **kwargs: Any) -> None:
        if not erased:
            erased.append(True)
            erasure.handler(
                envelope(
                    "Candidate Erasure Requested",
                    {"candidate": {"id": candidate_id}, "observed_at": _iso(T0)},
                ),
                context,
            )
        save(self, candidate_id, *args, **kwargs)

    monkeypatch.setattr(JourneyRepository, "save", erase_first)
    for _ in range(2):  # the first attempt, then Lambda's retry of the event
        with contextlib.suppress(StorageError):
            _candidate_event(handlers, context, REGISTERED, "racing@example.org", T0, event=EVENT)
    assert erased == [True]
    assert _mails(aws, "racing@example.org") == []
    assert _instances(candidate) == []


# -- the conditional write and the metrics -------------------------------------------------------


def test_a_concurrent_start_of_the_same_fact_loses_the_conditional_write(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    candidate = _seed(handlers, context, "race@example.org")
    _candidate_event(
        handlers, context, REGISTERED, "race@example.org", T0, event=EVENT, event_id="reg-a"
    )
    instances = JourneyRepository.instances
    stale: list[bool] = [True]

    def read_before_the_other_wrote(self: JourneyRepository, cid: str) -> list[StoredInstance]:
        if stale:
            stale.clear()
            return []
        return instances(self, cid)

    # The re-sent registration read the candidate's journeys before the first one wrote.
    monkeypatch.setattr(JourneyRepository, "instances", read_before_the_other_wrote)
    _candidate_event(
        handlers, context, REGISTERED, "race@example.org", T0, event=EVENT, event_id="reg-b"
    )
    assert stale == []
    assert len(_instances(candidate)) == 1
    assert len(_mails(aws, "race@example.org")) == 1
    assert len(_timers(candidate)) == 1


def _metrics(stdout: str) -> dict[str, Any]:
    """The Powertools EMF blobs printed by the handlers: metric name -> values."""
    found: dict[str, Any] = {}
    for line in stdout.splitlines():
        if line.startswith('{"_aws"'):
            blob = json.loads(line)
            for spec in blob["_aws"]["CloudWatchMetrics"]:
                for metric in spec["Metrics"]:
                    found.setdefault(metric["Name"], []).extend(blob[metric["Name"]])
    return found


def test_timers_and_exits_are_not_counted_as_suppressed_messages(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(handlers, context, "metrics@example.org")
    capsys.readouterr()
    # A confirmation sent and a timer scheduled: one message sent, none suppressed.
    _candidate_event(handlers, context, REGISTERED, "metrics@example.org", T0, event=EVENT)
    metrics = _metrics(capsys.readouterr().out)
    assert metrics.get("MessagesSent") == [1.0]
    assert "MessagesSuppressed" not in metrics
    assert not [name for name in metrics if name.startswith("Suppressed_")]


# -- 8. edges of the journeys --------------------------------------------------------------------


def test_a_registration_after_nine_the_day_before_skips_the_reminder(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    candidate = _seed(handlers, context, "lastminute@example.org")
    clock(BERLIN_NINE + timedelta(hours=3))
    _candidate_event(
        handlers,
        context,
        REGISTERED,
        "lastminute@example.org",
        BERLIN_NINE + timedelta(hours=3),
        event=EVENT,
    )
    assert _subjects(aws, "lastminute@example.org") == [
        "You're registered: Data & AI Careers Summit"
    ]
    [instance] = _instances(candidate)
    assert instance.data["step"] == "await_outcome"
    assert [due_at(s) for s in _timers(candidate)] == [DEADLINE]


def test_a_registration_over_a_day_after_the_start_starts_nothing(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    candidate = _seed(handlers, context, "toolate@example.org")
    clock(DEADLINE + timedelta(hours=1))
    outcome = _candidate_event(
        handlers,
        context,
        REGISTERED,
        "toolate@example.org",
        STARTS - timedelta(days=1),
        event=EVENT,
    )
    assert [j["status"] for j in outcome["journeys"]] == ["not_entered"]
    assert _instances(candidate) == [] and _timers(candidate) == []
    assert _mails(aws, "toolate@example.org") == []


def test_a_failed_confirmation_is_sent_once_by_the_retried_event(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    candidate = _seed(handlers, context, "retry@example.org")
    send_raw = SesSender.send_raw
    calls: list[str] = []

    def flaky(self: SesSender, *, sender: str, to: str, raw: bytes, **kw: Any) -> str:
        calls.append(to)
        if len(calls) == 1:
            raise DeliveryError("SES refused the send: Throttling")
        return send_raw(self, sender=sender, to=to, raw=raw, **kw)

    monkeypatch.setattr(SesSender, "send_raw", flaky)
    registration = _envelope(
        REGISTERED,
        {"candidate": {"email": "retry@example.org"}, "observed_at": _iso(T0), "event": EVENT},
        "talent.events-platform",
        "reg-retry",
    )
    with pytest.raises(DeliveryError):  # Lambda retries the event
        handlers["journeys"].handler(registration, context)
    [stored] = _instances(candidate)
    assert [e["type"] for e in stored.outbox] == ["SendMessage", "ScheduleTimer"]
    assert _timers(candidate) == []
    handlers["journeys"].handler(registration, context)
    handlers["journeys"].handler(registration, context)
    assert _subjects(aws, "retry@example.org") == ["You're registered: Data & AI Careers Summit"]
    [stored] = _instances(candidate)
    assert stored.outbox == []
    assert [due_at(s) for s in _timers(candidate)] == [BERLIN_NINE]


def test_a_confirmation_whose_write_lost_the_race_on_the_send_counter_is_decided_again(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The step's send is written with its instance, conditional on the profile's send
    counter: another sender that wrote between the read and the write makes the transaction
    fail whole (no instance moved, no claim), and the stimulus runs again on the profile read
    again: one confirmation, and both sends' traces on the profile."""
    candidate = _seed(handlers, context, "race@example.org")
    ddb = boto3.client("dynamodb", region_name=REGION)
    save = JourneyRepository.save
    raced: list[bool] = []

    def another_sender_first(self: JourneyRepository, *args: Any, **kw: Any) -> None:
        if kw.get("decision") is not None and not raced:
            raced.append(True)
            ddb.update_item(
                TableName=TABLE,
                Key={"pk": {"S": f"CAND#{candidate}"}, "sk": {"S": "PROFILE"}},
                UpdateExpression="SET #r.#k = :r ADD alert_seq :one",
                ExpressionAttributeNames={"#r": "recent", "#k": "another-sender"},
                ExpressionAttributeValues={
                    ":r": {
                        "M": {
                            "at": {"S": _iso(T0 - timedelta(minutes=5))},
                            "purpose": {"S": "marketing"},
                            "template": {"S": "spring_hiring"},
                        }
                    },
                    ":one": {"N": "1"},
                },
            )
        save(self, *args, **kw)

    monkeypatch.setattr(JourneyRepository, "save", another_sender_first)
    result = _candidate_event(handlers, context, REGISTERED, "race@example.org", T0, event=EVENT)
    assert raced
    assert [(d["outcome"], d["template"]) for d in result["decisions"]] == [
        ("send", "event_registration_confirmation")
    ]
    assert _subjects(aws, "race@example.org") == ["You're registered: Data & AI Careers Summit"]
    [sent] = [d for d in _decisions(candidate) if d.outcome == "send"]
    assert sent.status == "sent"
    held = wiring.repository().get_profile(candidate)
    assert held is not None
    assert {"another-sender", sent.decision_id} <= set(held.recent)
    [stored] = _instances(candidate)
    assert stored.outbox == [] and stored.data["step"] == "day_before"
    assert [due_at(s) for s in _timers(candidate)] == [BERLIN_NINE]


def test_a_confirmation_whose_sender_died_after_the_write_is_sent_once_by_the_reconciler(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The instance, the claim and its kept message are one write: a sender that dies after
    it (not an error SES answered) leaves the claim to its lease. The event's redelivery
    carries out the outbox: the send meets its claim in flight (nothing sent while the lease
    runs) and the timer is created; the reconciler
    sends the kept message once the lease ran out."""
    candidate = _seed(handlers, context, "died@example.org")
    send_raw = SesSender.send_raw
    died: list[bool] = []

    def dies_once(self: SesSender, *, sender: str, to: str, raw: bytes, **kw: Any) -> str:
        if not died:
            died.append(True)
            raise RuntimeError("the invocation timed out")
        return send_raw(self, sender=sender, to=to, raw=raw, **kw)

    monkeypatch.setattr(SesSender, "send_raw", dies_once)
    registration = _envelope(
        REGISTERED,
        {"candidate": {"email": "died@example.org"}, "observed_at": _iso(T0), "event": EVENT},
        "talent.events-platform",
        "reg-died",
    )
    with pytest.raises(RuntimeError):
        handlers["journeys"].handler(registration, context)
    [claim] = _decisions(candidate)
    assert (claim.template, claim.status) == ("event_registration_confirmation", "decided")
    [stored] = _instances(candidate)
    assert [e["type"] for e in stored.outbox] == ["SendMessage", "ScheduleTimer"]
    assert _timers(candidate) == []

    clock(T0 + timedelta(minutes=1))
    handlers["journeys"].handler(registration, context)
    assert _mails(aws, "died@example.org") == []  # the lease still runs
    [stored] = _instances(candidate)
    assert stored.outbox == []
    assert [due_at(s) for s in _timers(candidate)] == [BERLIN_NINE]

    clock(T0 + timedelta(hours=1))
    assert wiring.delivery_service().resolver().sweep()["sent"] == 1
    assert wiring.delivery_service().resolver().sweep()["found"] == 0
    assert _subjects(aws, "died@example.org") == ["You're registered: Data & AI Careers Summit"]
    [sent] = _decisions(candidate)
    assert sent.status == "sent"


def test_a_message_sent_whose_announcement_failed_is_announced_by_the_retry(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PutEvents failing after SES took the confirmation: the send is completed before the
    error goes on (never sent again) and the outbox keeps it, so that Lambda's retry
    announces it."""
    candidate = _seed(handlers, context, "pe@example.org")
    aws.drain()
    _fails_once(
        monkeypatch,
        EventPublisher,
        "publish",
        StorageError("publishing events failed"),
        when=lambda entries: any(t == "Message Sent" for t, _ in entries),
    )
    registration = _envelope(
        REGISTERED,
        {"candidate": {"email": "pe@example.org"}, "observed_at": _iso(T0), "event": EVENT},
        "talent.events-platform",
        "reg-pe",
    )
    with pytest.raises(StorageError):
        handlers["journeys"].handler(registration, context)
    [sent] = _decisions(candidate)
    assert sent.status == "sent"  # completed before the error went on
    assert _bus(aws, "Message Sent") == []

    handlers["journeys"].handler(registration, context)  # Lambda's retry
    assert _subjects(aws, "pe@example.org") == ["You're registered: Data & AI Careers Summit"]
    [announced] = _bus(aws, "Message Sent")
    assert announced["detail"]["message_id"] == sent.message_id
    [stored] = _instances(candidate)
    assert stored.outbox == []
    assert [due_at(s) for s in _timers(candidate)] == [BERLIN_NINE]


def test_a_timer_that_failed_after_ses_took_the_confirmation_never_sends_it_twice(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CreateSchedule failing after SES took the confirmation: the send is completed before
    the error goes on, so neither the retry nor the reconciler past the lease (on AWS
    without the SES Send event recorded yet) sends it again."""
    monkeypatch.setattr(leases, "ACCEPTANCE_LOOKUPS", [])
    candidate = _seed(handlers, context, "ts@example.org")
    _fails_once(
        monkeypatch,
        TimerScheduler,
        "schedule",
        StorageError("creating a timer failed: ThrottlingException"),
    )
    registration = _envelope(
        REGISTERED,
        {"candidate": {"email": "ts@example.org"}, "observed_at": _iso(T0), "event": EVENT},
        "talent.events-platform",
        "reg-ts",
    )
    with pytest.raises(StorageError):
        handlers["journeys"].handler(registration, context)
    assert len(_mails(aws, "ts@example.org")) == 1
    [sent] = _decisions(candidate)
    assert sent.status == "sent"

    clock(T0 + timedelta(minutes=1))
    handlers["journeys"].handler(registration, context)  # Lambda's retry
    assert [due_at(s) for s in _timers(candidate)] == [BERLIN_NINE]
    clock(T0 + timedelta(hours=1))
    assert wiring.delivery_service().resolver().sweep()["found"] == 0
    assert _subjects(aws, "ts@example.org") == ["You're registered: Data & AI Careers Summit"]


def test_a_follow_up_goes_at_once_when_cancelling_the_no_show_timer_fails(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Attended step cancels the check-in timer and sends the follow-up: the send,
    written with the instance, goes first, so that a DeleteSchedule failing does not hold it
    back until the reconciler; the retry cancels the timer and sends nothing again."""
    candidate = _seed(handlers, context, "came@example.org")
    _candidate_event(handlers, context, REGISTERED, "came@example.org", T0, event=EVENT)
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 1
    assert len(_mails(aws, "came@example.org")) == 2
    _fails_once(
        monkeypatch,
        TimerScheduler,
        "cancel",
        StorageError("deleting a timer failed: ThrottlingException"),
    )
    now = STARTS + timedelta(hours=20)
    clock(now)
    attended = _envelope(
        ATTENDED,
        {
            "candidate": {"email": "came@example.org"},
            "observed_at": _iso(STARTS + timedelta(minutes=10)),
            "event": EVENT,
        },
        "talent.events-platform",
        "att-1",
    )
    with pytest.raises(StorageError):
        handlers["journeys"].handler(attended, context)
    assert len(_mails(aws, "came@example.org")) == 3  # the follow-up went before the cancel
    clock(now + timedelta(minutes=1))
    handlers["journeys"].handler(attended, context)  # Lambda's retry a minute later
    assert len(_mails(aws, "came@example.org")) == 3
    assert _timers(candidate) == []
    assert [d.status for d in _decisions(candidate)].count("sent") == 3


def test_a_withdrawal_before_the_reminder_suppresses_it_and_the_journey_goes_on(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    candidate = _seed(handlers, context, "optout@example.org")
    _candidate_event(handlers, context, REGISTERED, "optout@example.org", T0, event=EVENT)
    clock(T0 + timedelta(hours=1))  # a fact is received once observed (never ahead: issue 11)
    handlers["ingest_profile"].handler(
        consent("optout@example.org", "withdrawn", observed_at=_iso(T0 + timedelta(hours=1))),
        context,
    )
    aws.drain()
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 1
    assert len(_mails(aws, "optout@example.org")) == 1
    [suppressed] = _bus(aws, "Message Suppressed")
    assert suppressed["detail"]["reason"] == "consent_withdrawn"
    assert suppressed["detail"]["template"] == "event_reminder"
    assert [due_at(s) for s in _timers(candidate)] == [DEADLINE]


def test_an_attended_that_arrives_before_its_registration_gets_one_follow_up(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    """EventBridge does not keep order: the check-in, then the registration (observed days
    earlier, delivered late, within a day of the start)."""
    candidate = _seed(handlers, context, "unordered@example.org")
    clock(STARTS + timedelta(hours=2))
    _candidate_event(
        handlers,
        context,
        ATTENDED,
        "unordered@example.org",
        STARTS + timedelta(minutes=5),
        event=EVENT,
    )
    clock(STARTS + timedelta(hours=3))
    _candidate_event(handlers, context, REGISTERED, "unordered@example.org", T0, event=EVENT)
    clock(DEADLINE)
    _fire(handlers, context, DEADLINE)
    followups = [s for s in _subjects(aws, "unordered@example.org") if "Thanks for coming" in s]
    assert len(followups) == 1, _subjects(aws, "unordered@example.org")
    sent = [d.template for d in _decisions(candidate) if d.outcome == "send"]
    assert sent.count("event_attended_followup") == 1


def test_a_reminder_timer_that_fires_after_the_start_sends_no_reminder(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    """The timer is delivered late (a Scheduler or SQS outage, a DLQ redrive): "See you
    tomorrow" after the event began is wrong; the journey goes on to the outcome."""
    candidate = _seed(handlers, context, "delayed@example.org")
    _candidate_event(handlers, context, REGISTERED, "delayed@example.org", T0, event=EVENT)
    [timer] = _timers(candidate)
    clock(STARTS + timedelta(hours=1))
    assert _deliver(handlers, context, timer["Target"]["Input"]) == {"batchItemFailures": []}
    assert "event_reminder" not in {
        d.template for d in _decisions(candidate) if d.outcome == "send"
    }
    assert len(_mails(aws, "delayed@example.org")) == 1


def test_a_second_view_while_a_nurture_runs_starts_no_second_one(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "browser@example.org")
    _candidate_event(
        handlers, context, JOB_VIEWED, "browser@example.org", VIEWED_AT, job=VIEWED_JOB
    )
    clock(VIEWED_AT + timedelta(days=1))
    _candidate_event(
        handlers,
        context,
        JOB_VIEWED,
        "browser@example.org",
        VIEWED_AT + timedelta(days=1),
        job={"id": SIMILAR_JOB.id, "title": SIMILAR_JOB.title},
    )
    assert len(_instances(candidate)) == 1
    assert [due_at(s) for s in _timers(candidate)] == [NUDGE_AT]
    clock(NUDGE_AT)
    assert _fire(handlers, context, NUDGE_AT) == 1
    assert len(_mails(aws, "browser@example.org")) == 1


def test_a_late_attended_after_a_journey_change_still_changes_nothing(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    candidate = _seed(handlers, context, "absent@example.org")
    _candidate_event(handlers, context, REGISTERED, "absent@example.org", T0, event=EVENT)
    clock(BERLIN_NINE)
    _fire(handlers, context, BERLIN_NINE)
    clock(DEADLINE)
    _fire(handlers, context, DEADLINE)
    assert _subjects(aws, "absent@example.org")[2:] == [
        "Sorry we missed you at Data & AI Careers Summit: catch up and see the next dates"
    ]
    # The journey file changes and the functions start again; then the check-in syncs.
    monkeypatch.setenv("TEMPLATES_DIR", str(_templates_without_reminder(tmp_path)))
    wiring.reset()
    clock(DEADLINE + timedelta(hours=2))
    _candidate_event(
        handlers,
        context,
        ATTENDED,
        "absent@example.org",
        STARTS + timedelta(minutes=30),
        event=EVENT,
    )
    assert len(_mails(aws, "absent@example.org")) == 3
    assert "event_attended_followup" not in {d.template for d in _decisions(candidate)}


def test_erasure_leaves_no_timer_naming_the_candidate(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    erasure = load_handler("candidate_erasure")
    candidate = _seed(handlers, context, "timers@example.org")
    _candidate_event(handlers, context, REGISTERED, "timers@example.org", T0, event=EVENT)
    assert len(_timers(candidate)) == 1
    erasure.handler(
        envelope(
            "Candidate Erasure Requested",
            {"candidate": {"id": candidate}, "observed_at": _iso(T0)},
        ),
        context,
    )
    assert [s["Name"] for s in schedules() if candidate in json.dumps(s, default=str)] == []


def test_a_journey_goes_on_after_its_candidate_was_merged_into_another(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    ingest = handlers["ingest_profile"].handler
    clock(T0 - timedelta(days=30))
    survivor = ingest(
        envelope(
            "Candidate Profile Updated",
            {
                "candidate": {"ref": "ats:A-9"},
                "observed_at": "2026-10-01T09:00:00Z",
                "fields": {"first_name": "Lin", "country": "DE", "timezone": "Europe/Berlin"},
            },
        ),
        context,
    )["candidate_id"]
    clock(T0)
    merged = _seed(handlers, context, "lin@example.org")
    _candidate_event(handlers, context, REGISTERED, "lin@example.org", T0, event=EVENT)
    assert [payload(s)["candidate_id"] for s in schedules()] == [merged]
    # The ATS learns the address of its candidate: one person; the one known first survives.
    ingest(
        envelope(
            "Candidate Profile Updated",
            {
                "candidate": {"ref": "ats:A-9", "email": "lin@example.org"},
                "observed_at": "2026-11-02T09:00:00Z",
                "fields": {"email": "lin@example.org", "last_name": "Park"},
            },
        ),
        context,
    )
    assert wiring.repository().get_profile(merged) is None
    assert wiring.repository().get_profile(survivor) is not None
    assert len(_instances(survivor)) == 1  # the journey moved with the candidate
    clock(BERLIN_NINE)
    assert _fire(handlers, context, BERLIN_NINE) == 1
    assert _subjects(aws, "lin@example.org")[1:] == ["See you tomorrow at Data & AI Careers Summit"]


def test_a_profile_change_no_journey_watches_reads_nothing_and_harms_nothing(
    aws: Aws, handlers: Handlers, context: FakeContext, clock: Callable[[datetime], None]
) -> None:
    """`Candidate Profile Changed` as the ingest function publishes it reaches the journeys
    function. The shipped journeys enter on events and the nurture's profile exit names a
    behaviour, which no profile change carries: a changed city is answered without a read
    and the nurture goes on (a candidate's import costs no read here)."""
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "mover@example.org")
    _candidate_event(handlers, context, JOB_VIEWED, "mover@example.org", VIEWED_AT, job=VIEWED_JOB)
    aws.drain()
    handlers["ingest_profile"].handler(
        profile("mover@example.org", observed_at=_iso(VIEWED_AT), city="Hamburg"), context
    )
    [changed] = _bus(aws, "Candidate Profile Changed")
    assert changed["detail"]["candidate_id"] == candidate
    assert "city" in changed["detail"]["changed"]
    before = _instances(candidate)
    with counting(("dynamodb",)) as counter:
        outcome = handlers["journeys"].handler(changed, context)
    assert outcome["journeys"] == []
    assert not counter.calls
    assert _instances(candidate) == before
    clock(NUDGE_AT)
    assert _fire(handlers, context, NUDGE_AT) == 1
    [nudge] = _mails(aws, "mover@example.org")
    assert "Analytics Engineer" in _text(nudge)  # remote: fits in Hamburg too


RELOCATION_EXIT = """\
  - when:
      - {field: candidate.city, op: eq, value: Hamburg}
    reason: moved_to_hamburg
"""


def test_a_profile_change_of_a_field_a_profile_exit_names_ends_the_journey(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A profile exit that names a candidate field is checked when that field changes: the
    nurture ends there and then, and its timer sends nothing; a change of another field
    reads nothing."""
    templates = _templates_copy(tmp_path)
    nurture = templates / "journeys" / "job_nurture.yaml"
    text = nurture.read_text(encoding="utf-8")
    assert "\nexit:\n" in text
    nurture.write_text(text.replace("\nexit:\n", "\nexit:\n" + RELOCATION_EXIT), encoding="utf-8")
    monkeypatch.setenv("TEMPLATES_DIR", str(templates))
    wiring.reset()
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "mover@example.org")
    _candidate_event(handlers, context, JOB_VIEWED, "mover@example.org", VIEWED_AT, job=VIEWED_JOB)
    aws.drain()

    def change(**fields: Any) -> dict[str, Any]:
        handlers["ingest_profile"].handler(
            profile("mover@example.org", observed_at=_iso(SYSTEM_CLOCK.now()), **fields), context
        )
        [changed] = _bus(aws, "Candidate Profile Changed")
        aws.drain()
        result: dict[str, Any] = handlers["journeys"].handler(changed, context)
        return result

    clock(VIEWED_AT + timedelta(minutes=1))
    assert change(seniority="senior")["journeys"] == []  # not a field the exit names
    [running] = _instances(candidate)
    assert running.data["status"] == "active"
    clock(VIEWED_AT + timedelta(minutes=2))
    moved = change(city="Hamburg")
    assert [j["journey"] for j in moved["journeys"]] == ["job_nurture"]
    [ended] = _instances(candidate)
    assert (ended.data["status"], ended.data["end_reason"]) == ("exited", "moved_to_hamburg")
    clock(NUDGE_AT)
    _fire(handlers, context, NUDGE_AT)
    assert _mails(aws, "mover@example.org") == []


def _left_by_a_failed_timer(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, dict[str, Any]]:
    """A nurture whose nudge SES refused once: its outbox holds the send. The candidate and
    the timer (to deliver again)."""
    _list_jobs()
    clock(VIEWED_AT)
    candidate = _seed(handlers, context, "left@example.org")
    _candidate_event(handlers, context, JOB_VIEWED, "left@example.org", VIEWED_AT, job=VIEWED_JOB)
    [timer] = _timers(candidate)
    _fails_once(
        monkeypatch,
        SesSender,
        "send_raw",
        DeliveryError("SES refused the send: ServiceUnavailable"),
    )
    clock(NUDGE_AT)
    failed = _deliver(handlers, context, timer["Target"]["Input"])
    assert len(failed["batchItemFailures"]) == 1
    assert _mails(aws, "left@example.org") == []
    [nurture] = _instances(candidate)
    assert nurture.outbox
    return candidate, timer


def test_an_outbox_left_by_a_failed_timer_is_carried_out_by_the_next_event_it_hears(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The next stimulus that reads the instance carries out what an earlier attempt left,
    before it moves any journey; the timer's own redelivery then sends nothing more."""
    candidate, timer = _left_by_a_failed_timer(aws, handlers, context, clock, monkeypatch)
    # Before SQS delivers the timer again, the candidate views the same job once more.
    clock(NUDGE_AT + timedelta(minutes=5))
    _candidate_event(
        handlers,
        context,
        JOB_VIEWED,
        "left@example.org",
        NUDGE_AT + timedelta(minutes=5),
        job=VIEWED_JOB,
    )
    assert _subjects(aws, "left@example.org") == ["Roles like Data Engineer, picked for you"]
    assert _deliver(handlers, context, timer["Target"]["Input"]) == {"batchItemFailures": []}
    assert len(_mails(aws, "left@example.org")) == 1
    [nurture] = _instances(candidate)
    assert (nurture.data["status"], nurture.outbox) == ("completed", [])


def test_an_event_no_instance_hears_leaves_the_outbox_to_the_timers_redelivery(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A registration for an event does not reach the nurture (``needs_instances``): it is
    answered without reading the instances, and the outbox waits for the timer's redelivery,
    which carries it out."""
    candidate, timer = _left_by_a_failed_timer(aws, handlers, context, clock, monkeypatch)
    clock(NUDGE_AT + timedelta(minutes=5))
    with counting(("dynamodb",)) as counter:
        _candidate_event(
            handlers,
            context,
            REGISTERED,
            "left@example.org",
            NUDGE_AT + timedelta(minutes=5),
            event={**EVENT, "id": "evt-later", "starts_at": "2026-12-20T17:30:00Z"},
        )
    assert counter.calls["dynamodb.Query"] == 1  # the profile by address; no instances
    assert _subjects(aws, "left@example.org") == ["You're registered: Data & AI Careers Summit"]
    assert _deliver(handlers, context, timer["Target"]["Input"]) == {"batchItemFailures": []}
    assert sorted(_subjects(aws, "left@example.org")) == sorted(
        ["Roles like Data Engineer, picked for you", "You're registered: Data & AI Careers Summit"]
    )
    nurture = [s for s in _instances(candidate) if s.data["journey"] == "job_nurture"]
    assert [(s.data["status"], s.outbox) for s in nurture] == [("completed", [])]


# -- a segment entry -----------------------------------------------------------------------------

WELCOME = """\
format: 1
name: welcome_design
description: Candidates who move into design get the spring campaign's message once.
category: nurture
entry:
  segment:
    - {field: candidate.role_family, op: eq, value: design}
re_entry: never
steps:
  - id: hello
    send: spring_hiring
"""


def test_a_profile_change_into_a_segment_enters_the_journey_once(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    templates = _templates_copy(tmp_path)
    (templates / "journeys" / "welcome_design.yaml").write_text(WELCOME, encoding="utf-8")
    monkeypatch.setenv("TEMPLATES_DIR", str(templates))
    wiring.reset()
    candidate = _seed(handlers, context, "mover@example.org")
    aws.drain()

    def change(**fields: Any) -> None:
        handlers["ingest_profile"].handler(
            profile("mover@example.org", observed_at=_iso(SYSTEM_CLOCK.now()), **fields), context
        )
        for event in aws.drain():
            if event["detail-type"] == "Candidate Profile Changed":
                handlers["journeys"].handler(event, context)

    change(city="Hamburg")  # a field the segment does not name: nobody enters
    assert [i.data["journey"] for i in _instances(candidate)] == []
    clock(T0 + timedelta(hours=1))
    change(role_family="design")  # into the segment: enters; it is night in Berlin
    [instance] = _instances(candidate)
    assert instance.data["journey"] == "welcome_design"
    assert _mails(aws, "mover@example.org") == []
    morning = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    clock(morning)
    assert _fire(handlers, context, morning) == 1
    [mail] = _mails(aws, "mover@example.org")
    assert "Ada" in _text(mail)
    # Out of the segment and back in: re_entry never.
    clock(morning + timedelta(hours=1))
    change(role_family="data")
    clock(morning + timedelta(hours=2))
    change(role_family="design")
    assert len(_instances(candidate)) == 1
    assert len(_mails(aws, "mover@example.org")) == 1
