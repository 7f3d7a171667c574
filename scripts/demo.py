"""`make demo`: an event story played on the local stack through the public contract.

Starts the local stack (`python -m devstack`), puts candidate events on the bus with
PutEvents, waits for every decision, then prints who got which message and variant, who was
suppressed and why (with the recorded reasons), and writes each sent email to out/ as .eml
and .html. Everything goes through the contract: PutEvents, a rule the demo adds to its own
SQS queue to observe what the system emits, the outbox, and the talent-pool table.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))
OUT = ROOT / "out"
REGION = "eu-west-1"
BUS = "talent-events"

EVENT = {
    "id": "evt-data-summit-2026",
    "name": "Data & AI Careers Summit",
    "starts_at": "2026-12-03T17:30:00Z",
    "city": "Berlin",
    "url": "https://careers.example.com/events/data-ai-summit",
}


@dataclass(frozen=True)
class Person:
    key: str
    email: str
    fields: dict[str, Any]
    consent: str | None  # events consent: "granted", "withdrawn" or None (no record)


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
                raise SystemExit("the local stack exited before it was ready")
            if line.startswith("ready"):
                break
        else:
            raise SystemExit("the local stack was not ready within 90 s")
        yield f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{api_port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


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
        self.sent_event_ids: dict[str, tuple[str, str]] = {}  # EventId -> (person, what)

    def _observe(self) -> str:
        """A rule of our own, to an SQS queue of our own: what the system emits."""
        url = self.sqs.create_queue(QueueName=f"demo-observer-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name="demo-observer",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": ["talent.personalization"]}),
        )
        self.events.put_targets(
            Rule="demo-observer", EventBusName=BUS, Targets=[{"Id": "observer", "Arn": arn}]
        )
        return url

    def put(
        self, detail_type: str, detail: dict[str, Any], source: str, who: str = "", what: str = ""
    ) -> str:
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
        event_id = str(resp["Entries"][0].get("EventId", ""))
        if who:
            self.sent_event_ids[event_id] = (who, what)
        return event_id

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

    def outcomes(self) -> list[dict[str, Any]]:
        return [
            e for e in self.observed if e["detail-type"] in ("Message Sent", "Message Suppressed")
        ]

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.outcomes()) < count and time.monotonic() < deadline:
            self.drain()
        self.drain()


def play(story: Story) -> int:
    """The story; returns how many decisions it expects."""
    for p in PEOPLE:
        story.put(
            "Candidate Profile Updated",
            {
                "candidate": {"email": p.email, "ref": f"ats:{p.key.upper()}-1"},
                "observed_at": "2026-11-20T09:00:00Z",
                "fields": {"email": p.email, **p.fields},
            },
            "talent.ats",
        )
        if p.consent:
            story.put(
                "Candidate Consent Changed",
                {
                    "candidate": {"email": p.email},
                    "observed_at": "2026-11-20T09:05:00Z",
                    "channel": "email",
                    "purpose": "events",
                    "status": p.consent,
                    "evidence": "events signup form on the careers site",
                },
                "talent.careers-site",
            )
    time.sleep(1.5)  # profiles land before behaviour (in production they simply arrive)
    for p in PEOPLE[:4]:
        story.put(
            "Candidate Event Registered",
            {
                "candidate": {"email": p.email},
                "observed_at": "2026-11-21T12:00:00Z",
                "event": EVENT,
            },
            "talent.events-platform",
            p.key,
            "registered",
        )
    outcomes = {
        "ada": "Attended",
        "bruno": "No-Show",
        "clara": "Attended",
        "dan": "Attended",
        "eva": "No-Show",
    }
    for p in PEOPLE:
        story.put(
            f"Candidate Event {outcomes[p.key]}",
            {
                "candidate": {"email": p.email},
                "observed_at": "2026-12-03T20:00:00Z",
                "event": EVENT,
            },
            "talent.events-platform",
            p.key,
            outcomes[p.key].lower(),
        )
    # The events platform sends Ada's attendance again (a new EventBridge id, the same fact).
    story.put(
        "Candidate Event Attended",
        {
            "candidate": {"email": PEOPLE[0].email},
            "observed_at": "2026-12-03T20:00:00Z",
            "event": EVENT,
        },
        "talent.events-platform",
        "ada",
        "attended (sent again)",
    )
    # A malformed event: no candidate reference, a date that is not a date.
    story.put(
        "Candidate Event Attended",
        {"candidate": {}, "observed_at": "yesterday", "event": {"id": "x"}},
        "talent.events-platform",
    )
    return 4 + len(PEOPLE) + 1


def dead_letters(story: Story) -> list[str]:
    reasons = []
    for url in story.sqs.list_queues().get("QueueUrls", []):
        if "DLQ" not in url:
            continue
        msgs = story.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        for m in msgs:
            attr = m.get("MessageAttributes", {}).get("ErrorMessage", {})
            reasons.append(f"{url.rsplit('/', 1)[-1]}: {attr.get('StringValue', '?')}")
    return reasons


def write_outbox(api: str) -> list[dict[str, Any]]:
    mails = requests.get(f"{api}/_local/outbox", timeout=10).json()
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("demo-*"):
        old.unlink()
    for n, mail in enumerate(mails, 1):
        stem = f"demo-{n:02d}-{mail['to'][0].split('@')[0]}"
        (OUT / f"{stem}.html").write_text(mail["html"])
        raw = mail.get("raw")
        if raw is None:
            headers = "".join(
                f"{k}: {v}\n" for k, v in mail["headers"].items() if isinstance(v, str)
            )
            raw = f"{headers}\n{mail['text']}"
        (OUT / f"{stem}.eml").write_text(raw)
    return mails


def report(story: Story, mails: list[dict[str, Any]]) -> None:
    from talentops.adapters.talent_pool import TalentPoolRepository

    tables = boto3.client(
        "dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=REGION
    ).list_tables()["TableNames"]
    repo = TalentPoolRepository(tables[0])
    subjects = {m["message_id"]: m["subject"] for m in mails}
    rows = []
    for event in story.outcomes():
        d = event["detail"]
        who, what = story.sent_event_ids.get(d["trigger"]["event_id"], ("?", "?"))
        reasons = []
        if d.get("candidate_id"):
            for decision in repo.decisions(d["candidate_id"]):
                if decision.trigger["event_id"] == d["trigger"]["event_id"] or (
                    d.get("reason") == "duplicate" and decision.template == d.get("template")
                ):
                    reasons = decision.reasons
        subject = next((s for mid, s in subjects.items() if d.get("message_id", "-") in mid), "")
        if d.get("reason") == "duplicate":
            reasons = [
                "the same fact (detail-type, candidate, event, observed_at) was already "
                "decided; the send ledger holds it once"
            ]
        if len(subject) > 64:
            subject = subject[:61] + "..."
        rows.append(
            (
                who,
                what,
                "sent" if event["detail-type"] == "Message Sent" else "suppressed",
                d.get("template", "-") + (f" / {d['variant']}" if d.get("variant") else ""),
                d.get("reason", ""),
                subject,
                "; ".join(reasons),
            )
        )
    order = {p.key: i for i, p in enumerate(PEOPLE)}
    put_order = {what: i for i, (_, what) in enumerate(story.sent_event_ids.values())}
    rows.sort(key=lambda r: (order.get(r[0], 99), put_order.get(r[1], 99)))
    headers = ("candidate", "trigger", "outcome", "message / variant", "reason", "subject")
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(6)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r[:6], widths, strict=True)))
    print("\nWhy (the recorded reasons of each decision):")
    for r in rows:
        print(f"  {r[0]:<6} {r[1]:<22} {r[6] or '-'}")


def main() -> int:
    print("starting the local stack ...", flush=True)
    with local_stack() as (aws_url, api_url):
        story = Story(aws_url, api_url)
        expected = play(story)
        story.wait_for(expected)
        time.sleep(2)  # let the malformed event use up its retries
        mails = write_outbox(api_url)
        print(f"\n{len(mails)} emails sent, {len(story.outcomes())} decisions\n")
        report(story, mails)
        print("\nDead-lettered (rejected) events:")
        for reason in dead_letters(story) or ["(none yet)"]:
            print(f"  {reason}")
        print(f"\nEach sent email is in {OUT.relative_to(ROOT)}/ as .eml and .html")
        if len(story.outcomes()) < expected:
            print(f"only {len(story.outcomes())} of {expected} decisions arrived", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
