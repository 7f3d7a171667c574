"""`make demo`: the event journey played on the local stack through the public contract.

Starts the local stack (`python -m devstack`) and plays one event, a week ahead of the
stack's clock, for the same five people: profiles and consents, registrations
(confirmations at once), the reminders at 09:00 the day before in each candidate's own
timezone, the check-ins a few hours after the start (follow-ups held for the candidates'
night, an outcome for an event the candidate never registered for, an attendance sent
twice), the no-show follow-up of the candidate whose check-in never came, and a malformed
event. The clock moves with POST /_local/clock; every moment is computed from its "now", so
the story works on any day.

It waits for the exact number of decisions each stage causes (and fails, exit 1, when they
do not come or more come), then prints who got which message and variant, when in their
local time, who was suppressed and why (the recorded reasons). Last, a test send of the
attendance follow-up as Ada would get it, to the local seed address (POST
/admin/messages/{name}/test): one more email, marked [TEST], and no decision. Each sent email
is written to out/ as .eml (the raw MIME exactly as SES received it) and .html. Everything
goes through the contract: PutEvents, a rule the demo adds to its own SQS queue to observe
Message Sent / Suppressed, /_local/outbox, /_local/clock, the signed admin API and the
talent-pool table.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import boto3
import requests

if TYPE_CHECKING:
    from talentops.adapters.talent_pool import TalentPoolRepository

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))
OUT = ROOT / "out"
REGION = "eu-west-1"
BUS = "talent-events"
EVENTS_PLATFORM = "talent.events-platform"
WAIT_SECONDS = 20.0  # per stage, for the decisions it causes
SETTLE_SECONDS = 3.0  # how long "nothing more happens" is watched for


@dataclass(frozen=True)
class Person:
    key: str
    email: str
    fields: dict[str, Any]
    consent: str | None  # events consent: "granted", "withdrawn" or None (no record)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(str(self.fields["timezone"]))


PEOPLE = [
    Person(
        "ada",
        "ada.keller@example.org",
        {
            "first_name": "Ada",
            "last_name": "Keller",
            "city": "Berlin",
            "country": "DE",
            "seniority": "lead",
            "role_family": "data",
            "language": "en",
            "timezone": "Europe/Berlin",
        },
        "granted",
    ),
    Person(
        "bruno",
        "bruno.marchand@example.org",
        {
            "first_name": "Bruno",
            "last_name": "Marchand",
            "city": "Lyon",
            "country": "FR",
            "seniority": "mid",
            "role_family": "engineering",
            "language": "en",
            "timezone": "Europe/Paris",
        },
        "granted",
    ),
    Person(
        "clara",
        "clara.vogel@example.org",
        {
            "first_name": "Clara",
            "last_name": "Vogel",
            "city": "Hamburg",
            "country": "DE",
            "seniority": "junior",
            "role_family": "data",
            "language": "de-DE",
            "timezone": "Europe/Berlin",
        },
        None,
    ),
    Person(
        "dan",
        "dan.ortiz@example.org",
        {
            "first_name": "Dan",
            "last_name": "Ortiz",
            "city": "Austin",
            "country": "US",
            "seniority": "senior",
            "role_family": "engineering",
            "language": "en",
            "timezone": "America/Chicago",
        },
        None,
    ),
    Person(
        "eva",
        "eva.schulz@example.org",
        {
            "first_name": "Eva",
            "last_name": "Schulz",
            "city": "Munich",
            "country": "DE",
            "seniority": "mid",
            "role_family": "design",
            "language": "de-DE",
            "timezone": "Europe/Berlin",
        },
        "granted",
    ),
]
BY_KEY = {p.key: p for p in PEOPLE}
EVENT_ZONE = ZoneInfo("Europe/Berlin")


class DemoFailed(Exception):
    """The story did not go as the journey says it must (the message says how)."""


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %d %b %H:%MZ")


def local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def at_local(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), tzinfo=zone).astimezone(UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_stack() -> Iterator[tuple[str, str]]:
    aws_port = int(os.environ.get("LOCAL_AWS_PORT") or free_port())
    api_port = int(os.environ.get("LOCAL_API_PORT") or free_port())
    env = {**os.environ, "LOCAL_AWS_PORT": str(aws_port), "LOCAL_API_PORT": str(api_port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise DemoFailed("the local stack exited before it was ready")
            if line.startswith("ready"):
                break
        else:
            raise DemoFailed("the local stack was not ready within 90 s")
        # The handlers log to stdout: keep reading it, or a full pipe would block the stack.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{api_port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Row:
    """One decision, as the report shows it."""

    who: str
    trigger: str
    outcome: str
    message: str
    reason: str
    subject: str
    when: str
    why: str


class Story:
    def __init__(self, aws_url: str, api_url: str):
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": aws_url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "demo",
                "AWS_SECRET_ACCESS_KEY": "demo",
            }
        )
        self.api = api_url
        self.events = boto3.client("events", endpoint_url=aws_url, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=aws_url, region_name=REGION)
        self.observed: list[dict[str, Any]] = []
        self.queue = self._observe()
        self.pool = self._pool(aws_url)
        self.ids: dict[str, str] = {}  # candidate_id -> person key
        self.shown = 0  # decisions already narrated

    # -- the contract ------------------------------------------------------------------------

    def _observe(self) -> str:
        """A rule of our own, to an SQS queue of our own: what the system emits."""
        url = self.sqs.create_queue(QueueName=f"demo-observer-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name="demo-observer",
            EventBusName=BUS,
            EventPattern=json.dumps(
                {
                    "source": ["talent.personalization"],
                    "detail-type": ["Message Sent", "Message Suppressed"],
                }
            ),
        )
        self.events.put_targets(
            Rule="demo-observer", EventBusName=BUS, Targets=[{"Id": "observer", "Arn": arn}]
        )
        return url

    @staticmethod
    def _pool(aws_url: str) -> TalentPoolRepository:
        from talentops.adapters.talent_pool import TalentPoolRepository

        cfn = boto3.client("cloudformation", endpoint_url=aws_url, region_name=REGION)
        table = cfn.describe_stack_resource(
            StackName=os.environ.get("LOCAL_STACK_NAME") or "local",
            LogicalResourceId="TalentPoolTable",
        )["StackResourceDetail"]["PhysicalResourceId"]
        return TalentPoolRepository(table)

    def put(self, detail_type: str, detail: dict[str, Any], source: str) -> str:
        resp = self.events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "EventBusName": BUS,
                }
            ]
        )
        entry = resp["Entries"][0]
        if "EventId" not in entry:
            raise DemoFailed(f"PutEvents refused {detail_type}: {entry.get('ErrorMessage')}")
        return str(entry["EventId"])

    def now(self) -> datetime:
        resp = requests.get(f"{self.api}/_local/clock", timeout=10)
        resp.raise_for_status()
        return datetime.fromisoformat(resp.json()["now"])

    def advance_to(self, moment: datetime) -> datetime:
        seconds = (moment - self.now()).total_seconds()
        if seconds <= 0:
            raise DemoFailed(f"the clock is already past {iso(moment)}")
        resp = requests.post(
            f"{self.api}/_local/clock", json={"advance_seconds": seconds}, timeout=60
        )
        resp.raise_for_status()
        return datetime.fromisoformat(resp.json()["now"])

    def outbox(self) -> list[dict[str, Any]]:
        resp = requests.get(f"{self.api}/_local/outbox", timeout=10)
        resp.raise_for_status()
        return list(resp.json())

    # -- observing ---------------------------------------------------------------------------

    def drain(self) -> None:
        while True:
            msgs = self.sqs.receive_message(
                QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            if not msgs:
                return
            self.observed.extend(json.loads(m["Body"]) for m in msgs)
            self.sqs.delete_message_batch(
                QueueUrl=self.queue,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)
                ],
            )

    def expect(self, count: int, stage: str) -> list[dict[str, Any]]:
        """Waits until exactly ``count`` new decisions have been announced since the last
        stage, watches a little longer that no more come, and returns them."""
        total = self.shown + count
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.observed) < total and time.monotonic() < deadline:
            self.drain()
        settle = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < settle:
            self.drain()
        got = len(self.observed) - self.shown
        if got != count:
            raise DemoFailed(
                f"{stage}: expected {count} decision(s), {got} arrived within "
                f"{WAIT_SECONDS:.0f} s (+{SETTLE_SECONDS:.0f} s to see that no more come)"
            )
        new = self.observed[self.shown :]
        self.shown = total
        return new

    def resolve_people(self) -> None:
        """Each person's candidate id, from the table (by email), once their profile and
        consent have landed: registrations come after, as in production they simply do."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            missing = []
            for p in PEOPLE:
                profile = self.pool.find_by_email(p.email)
                if profile is None or (p.consent and "events" not in profile.consent):
                    missing.append(p.key)
                else:
                    self.ids[profile.candidate_id] = p.key
            if not missing:
                return
            time.sleep(0.2)
        raise DemoFailed(f"profiles or consents did not land within {WAIT_SECONDS:.0f} s")

    def who(self, announcement: dict[str, Any]) -> Person | None:
        key = self.ids.get(announcement["detail"].get("candidate_id") or "")
        return BY_KEY.get(key) if key else None

    def narrate(self, decisions: list[dict[str, Any]]) -> None:
        mails = {m["message_id"]: m for m in self.outbox()}
        for event in sorted(decisions, key=lambda e: order(self.who(e))):
            d = event["detail"]
            person = self.who(event)
            name = person.key if person else "?"
            trigger = trigger_word(d)
            if event["detail-type"] == "Message Sent":
                mail = find_mail(mails, d.get("message_id"))
                when = ""
                if mail and mail.get("sent_at") and person:
                    when = f" at {local(datetime.fromisoformat(mail['sent_at']), person.zone)}"
                print(f"    {name:<6} {d['template']} / {d['variant']} sent{when} ({trigger})")
            else:
                print(f"    {name:<6} {d['template']} suppressed: {d['reason']} ({trigger})")


def order(person: Person | None) -> int:
    return PEOPLE.index(person) if person else len(PEOPLE)


def trigger_word(detail: dict[str, Any]) -> str:
    kind = str(detail.get("trigger", {}).get("detail_type", "?"))
    return "timer" if kind == "Journey Timer" else kind


def find_mail(mails: dict[str, dict[str, Any]], message_id: str | None) -> dict[str, Any] | None:
    if not message_id:
        return None
    return next((m for mid, m in mails.items() if message_id in mid), None)


# -- the story ------------------------------------------------------------------------------


def clock_line(moment: datetime, people: list[Person]) -> None:
    """Where the clock is now, in UTC and for each of ``people`` in their own timezone."""
    zones: dict[str, list[str]] = {}
    for p in people:
        zones.setdefault(p.zone.key, []).append(p.key)
    where = ", ".join(
        f"{moment.astimezone(ZoneInfo(z)).strftime('%H:%M')} in {z} ({', '.join(keys)})"
        for z, keys in zones.items()
    )
    print(f"\n  clock -> {utc(moment)}: {where}")


def play(story: Story) -> None:
    start = story.now()
    event_day = start.date() + timedelta(days=7)
    starts_at = datetime.combine(event_day, clock_time(17, 30), tzinfo=UTC)
    event = {
        "id": f"evt-data-summit-{event_day.isoformat()}",
        "name": "Data & AI Careers Summit",
        "starts_at": iso(starts_at),
        "city": "Berlin",
        "url": "https://careers.example.com/events/data-ai-summit",
    }
    registered = PEOPLE[:4]
    print(
        f"clock: {utc(start)}; the event: {event['name']}, Berlin, "
        f"{local(starts_at, EVENT_ZONE)} ({utc(starts_at)})"
    )

    # 1. Profiles and consents, then four registrations: confirmations at once.
    print("\n1. Profiles, consents; Ada, Bruno, Clara and Dan register")
    for p in PEOPLE:
        story.put(
            "Candidate Profile Updated",
            {
                "candidate": {"email": p.email, "ref": f"ats:{p.key.upper()}-1"},
                "observed_at": iso(start),
                "fields": {"email": p.email, **p.fields},
            },
            "talent.ats",
        )
        if p.consent:
            story.put(
                "Candidate Consent Changed",
                {
                    "candidate": {"email": p.email},
                    "observed_at": iso(start),
                    "channel": "email",
                    "purpose": "events",
                    "status": p.consent,
                    "evidence": "events signup form on the careers site",
                },
                "talent.careers-site",
            )
    story.resolve_people()
    for p in registered:
        story.put(
            "Candidate Event Registered",
            {"candidate": {"email": p.email}, "observed_at": iso(story.now()), "event": event},
            EVENTS_PLATFORM,
        )
    story.narrate(story.expect(4, "confirmations"))

    # 2. The day before: reminders at 09:00 in each candidate's own timezone.
    day_before = event_day - timedelta(days=1)
    europe = at_local(day_before, 9, 1, BY_KEY["ada"].zone)
    chicago = at_local(day_before, 9, 1, BY_KEY["dan"].zone)
    print("\n2. The day before: reminders at 09:00 in each candidate's timezone, not the server's")
    clock_line(story.advance_to(europe), registered)
    story.narrate(story.expect(3, "reminders in Europe"))
    print("    dan    nothing yet: it is still night in Chicago")
    clock_line(story.advance_to(chicago), registered)
    story.narrate(story.expect(1, "reminder in Chicago"))

    # 3. Three hours after the start, the events platform syncs the check-ins.
    print("\n3. Three hours after the start: the check-ins (Dan's never comes)")
    evening = story.advance_to(starts_at + timedelta(hours=3))
    clock_line(evening, PEOPLE)
    outcomes = [
        ("ada", "Attended"),
        ("bruno", "No-Show"),
        ("clara", "Attended"),
        ("eva", "No-Show"),
    ]
    for key, outcome in outcomes:
        story.put(
            f"Candidate Event {outcome}",
            {
                "candidate": {"email": BY_KEY[key].email},
                "observed_at": iso(evening),
                "event": event,
            },
            EVENTS_PLATFORM,
        )
    print("    ada Attended, bruno No-Show, clara Attended; eva No-Show (she never registered)")
    story.narrate(story.expect(1, "Eva's follow-up from the catalogue"))
    print(
        f"    ada, bruno, clara: no decision yet; it is {local(evening, EVENT_ZONE)} for them, "
        "their follow-ups wait out the quiet hours"
    )
    # The events platform sends Ada's attendance again: a new EventBridge id, the same fact.
    story.put(
        "Candidate Event Attended",
        {"candidate": {"email": BY_KEY["ada"].email}, "observed_at": iso(evening), "event": event},
        EVENTS_PLATFORM,
    )
    story.expect(0, "Ada's attendance sent again")
    print("    ada's attendance again (a new EventBridge id): nothing happens, no decision at all")

    morning = at_local(event_day + timedelta(days=1), 8, 1, EVENT_ZONE)
    print("\n   The next morning: the follow-ups held for the night")
    clock_line(story.advance_to(morning), PEOPLE[:3])
    story.narrate(story.expect(3, "follow-ups held for the night"))

    # 4. A day after the start: no word from Dan counts as a no-show.
    print("\n4. A day after the start: no check-in from Dan, so the no-show follow-up")
    clock_line(story.advance_to(starts_at + timedelta(days=1, minutes=1)), [BY_KEY["dan"]])
    story.narrate(story.expect(1, "Dan's no-show follow-up"))

    # 5. A malformed event: no candidate reference, a date that is not a date.
    print("\n5. A malformed event")
    story.put(
        "Candidate Event Attended",
        {"candidate": {}, "observed_at": "yesterday", "event": {"id": "x"}},
        EVENTS_PLATFORM,
    )
    story.expect(0, "the malformed event")
    for reason in dead_letters(story):
        print(f"    dead-lettered: {reason}")


def dead_letters(story: Story) -> list[str]:
    """The rejected event's reason in the dead-letter queue it reached: one, the queue of
    the function that owns its detail-type (record_event for an event message; journeys drops
    it); fails when none got it."""
    reasons: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while not reasons and time.monotonic() < deadline:
        for url in story.sqs.list_queues().get("QueueUrls", []):
            if "DLQ" not in url:
                continue
            msgs = story.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            ).get("Messages", [])
            for m in msgs:
                attr = m.get("MessageAttributes", {}).get("ErrorMessage", {})
                reasons.append(f"{url.rsplit('/', 1)[-1]}: {attr.get('StringValue', '?')}")
    if not reasons:
        raise DemoFailed(f"the malformed event reached no dead-letter queue in {WAIT_SECONDS} s")
    return reasons


def write_outbox(mails: list[dict[str, Any]], out: Path = OUT) -> list[Path]:
    """Each sent email as ``.eml``, the raw MIME exactly as SES received it (the outbox's
    ``raw``), and its HTML part as ``.html``; the files written. A send that was not raw
    (none of the system's) has no MIME of its own to write: only its ``.html``."""
    out.mkdir(exist_ok=True)
    for old in out.glob("demo-*"):
        old.unlink()
    written = []
    for n, mail in enumerate(mails, 1):
        stem = f"demo-{n:02d}-{mail['to'][0].split('@')[0]}"
        if mail.get("html") is not None:
            written.append(out / f"{stem}.html")
            written[-1].write_text(mail["html"], encoding="utf-8")
        if mail.get("raw") is not None:
            written.append(out / f"{stem}.eml")
            # Bytes, not text: no newline translation, no re-encoding.
            written[-1].write_bytes(mail["raw"].encode("utf-8", "surrogateescape"))
    return written


def rows(story: Story, mails: list[dict[str, Any]]) -> list[Row]:
    by_id = {m["message_id"]: m for m in mails}
    decisions = {cid: story.pool.decisions(cid) for cid in story.ids}
    result = []
    for event in story.observed:
        d = event["detail"]
        person = story.who(event)
        trigger = d.get("trigger", {})
        recorded = next(
            (
                x
                for x in decisions.get(d.get("candidate_id") or "", [])
                if x.trigger.get("event_id") == trigger.get("event_id")
                and x.template == d.get("template")
            ),
            None,
        )
        sent = event["detail-type"] == "Message Sent"
        mail = find_mail(by_id, d.get("message_id")) if sent else None
        moment = None
        if mail and mail.get("sent_at"):
            moment = datetime.fromisoformat(mail["sent_at"])
        elif recorded is not None:
            moment = recorded.decided_at
        subject = str(mail["subject"]) if mail else ""
        if len(subject) > 56:
            subject = subject[:53] + "..."
        result.append(
            Row(
                who=person.key if person else "?",
                trigger=trigger_word(d),
                outcome="sent" if sent else "suppressed",
                message=d.get("template", "-") + (f" / {d['variant']}" if d.get("variant") else ""),
                reason=d.get("reason", ""),
                subject=subject,
                when=local(moment, person.zone) if moment and person else "",
                why="; ".join(recorded.reasons) if recorded else "",
            )
        )
    result.sort(key=lambda r: order(BY_KEY.get(r.who)))  # stable: in time order per person
    return result


def report(story: Story, mails: list[dict[str, Any]]) -> None:
    table = rows(story, mails)
    headers = (
        "candidate",
        "trigger",
        "outcome",
        "message / variant",
        "reason",
        "subject",
        "sent / decided (local)",
    )
    cells = [(r.who, r.trigger, r.outcome, r.message, r.reason, r.subject, r.when) for r in table]
    widths = [max(len(str(c[i])) for c in [headers, *cells]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(str(v).ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    print("\nWhy (the recorded reasons of each decision):")
    for r in table:
        print(f"  {r.who:<6} {r.trigger:<27} {r.message.split(' / ')[0]:<32} {r.why or '-'}")


TEST_MESSAGE = "event_attended_followup"


def send_a_test(story: Story, mails: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A test of the attendance follow-up as Ada would get it, to the local seed address
    (POST /admin/messages/{name}/test, SigV4-signed as operations call it): one more email,
    marked [TEST], and no decision. The outbox with it."""
    sys.path.insert(0, str(ROOT))
    from botocore.credentials import Credentials

    from devstack.config import LOCAL_PARAMETER_DEFAULTS
    from scripts.campaign import Api

    seed = LOCAL_PARAMETER_DEFAULTS["TestSeedList"].split(",")[0].strip()
    ada = next(cid for cid, key in story.ids.items() if key == "ada")
    api = Api(story.api, region=REGION, credentials=Credentials("demo", "demo"))
    result = api.call(
        "POST", f"/admin/messages/{TEST_MESSAGE}/test", {"candidate_id": ada, "to": [seed]}
    )
    decided = len(story.observed)
    time.sleep(SETTLE_SECONDS)
    story.drain()
    after = story.outbox()
    if len(story.observed) != decided:
        raise DemoFailed("the test send was announced as a decision")
    if len(after) != len(mails) + 1 or not str(after[-1]["subject"]).startswith("[TEST] "):
        raise DemoFailed("the test send is not the one new email of the outbox")
    print(
        f"\nTest send of {TEST_MESSAGE} / {result['variant']} as Ada would get it, to {seed}: "
        f"{result['subject']!r} (no decision, no budget)"
    )
    return after


def main() -> int:
    began = time.monotonic()
    print("starting the local stack ...", flush=True)
    try:
        with local_stack() as (aws_url, api_url):
            story = Story(aws_url, api_url)
            try:
                play(story)
            finally:
                mails = story.outbox()
                write_outbox(mails)
            sent = sum(e["detail-type"] == "Message Sent" for e in story.observed)
            if len(mails) != sent:
                raise DemoFailed(f"{sent} Message Sent announced but {len(mails)} in the outbox")
            print(f"\n{len(mails)} emails sent, {len(story.observed)} decisions\n")
            report(story, mails)
            mails = send_a_test(story, mails)
            write_outbox(mails)
            print(f"\nEach sent email is in {OUT.relative_to(ROOT)}/ as .eml and .html")
    except DemoFailed as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    print(f"({time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
