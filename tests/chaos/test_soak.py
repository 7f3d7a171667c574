"""The chaos soak (issue 11, item 9): mixed events on a local stack of its own, with faults
injected at random between bursts, then the invariants that must hold whatever failed.

Traffic, through the contract only (PutEvents, the signed admin API, /_local/clock,
/_local/faults, /_local/outbox): candidates created by profile updates (countries that opt
in and that opt out), consents granted and withdrawn, event journeys (registered, then
attended or no-show once the event started; the clock moves so that reminders and
follow-ups fire), job views and applications of known jobs, jobs opened that match
candidates (job alerts), one campaign created and launched over the signed admin API,
erasures (the event and `DELETE /admin/candidates/{id}`), and a known set of malformed
events. Between bursts a fault may be set (seeded RNG; the seed is printed): `ses_throttle`,
`ses_reject`, `ddb_throttle`, `crash_before_send`, `crash_after_send`, at the rates the
system is built to absorb (docs/operations.md, "Chaos soak"). A fault stays until used, across
clock moves (timers and the reconciler get them too), except the crashes, cleared before the
clock moves (see the doc for why); every fault is cleared before the final checks.

At the end, past every lease and a reconciler run, it checks:

- every decision that says sent has exactly one email, and every email a decision (the
  outbox's `X-TalentOps-Decision` header against `GET /admin/candidates/{id}/decisions`);
  an erased candidate's mails are counted, none after the erasure was processed;
- no claimed send left unresolved (nothing lost);
- no candidate got more budgeted emails in any window than the contact budget allows;
- no erased candidate anywhere: tables, queues (visible messages), schedules;
- the DLQs of the template hold exactly the malformed events, once each;
- every send refused by `ses_reject` is recorded `failed` / `undeliverable`.

A check that found nothing to look at fails (a soak that sent nothing proves nothing), except
two whose subject a run may not produce: two budgeted sends of one candidate in a window, and
a send refused by `ses_reject`; their figures then say "nothing to check in this run".

`CHAOS_EVENTS` sets the number of events (default 300, the CI soak; `make chaos`: 5,000),
`CHAOS_SEED` the seed, `CHAOS_REPORT` a path to write the figures to as JSON.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import time as wall
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EVENTS = int(os.environ.get("CHAOS_EVENTS") or 300)
SEED = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 1_000_000))
REPORT = os.environ.get("CHAOS_REPORT", "")
BUS = "talent-events"
RUN = uuid.uuid4().hex[:6]
SIGNER = SigV4Auth(Credentials("AKIDCHAOSSOAK", "local-secret"), "execute-api", "eu-west-1")
PAST_THE_LEASE = 21 * 60  # the longest lease (15 minutes) and its 5-minute margin, and a minute
DECISION_HEADER = "X-TalentOps-Decision"
# The contact budget the stack runs with: template.yaml's ContactPolicy is empty, so the
# defaults of talentops.delivery.budget (ContactBudget / DEFAULT_CEILINGS) apply. Purposes map
# to priorities as the senders map them (events -> event logistics, job_alerts -> job alerts,
# marketing -> nurture or campaign: both 2).
MALFORMED_KINDS = 9  # the known set of malformed events (_malformed)

# (country, city, timezone): opt-in countries (DE, FR...) and opt-out ones, and the alias UK.
PLACES = [
    ("DE", "Berlin", "Europe/Berlin"),
    ("FR", "Paris", "Europe/Paris"),
    ("GB", "London", "Europe/London"),
    ("UK", "Manchester", "Europe/London"),
    ("IE", "Dublin", "Europe/Dublin"),
    ("NL", "Amsterdam", "Europe/Amsterdam"),
    ("ES", "Madrid", "Europe/Madrid"),
    ("US", "Austin", "America/Chicago"),
]
ROLES = ["data", "engineering", "design", "sales"]
SENIORITIES = ["junior", "mid", "senior"]
PURPOSES = ["marketing", "job_alerts", "events"]
FAULT_KINDS = [
    "ses_throttle",
    "ses_reject",
    "ddb_throttle",
    "crash_before_send",
    "crash_after_send",
]
# How many of each a burst may get (the rates the system absorbs: docs/operations.md).
FAULT_COUNTS = {
    "ses_throttle": (1, 2),
    "ses_reject": (1, 3),
    "ddb_throttle": (1, 2),
    "crash_before_send": (1, 1),
    "crash_after_send": (1, 1),
}
FAULT_CHANCE = 0.7  # of a burst getting a fault
CRASHES = ("crash_before_send", "crash_after_send")


def _malformed(now: datetime, n: int) -> tuple[str, dict[str, Any], str]:
    """The n-th malformed event of the known set: (detail-type, detail, what is wrong)."""
    who = {"email": f"malformed-{RUN}-{n}@example.org"}
    at = now.isoformat()
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "Candidate Profile Updated",
            {"candidate": who, "observed_at": at, "fields": {"shoe_size": "44"}},
            "unknown field",
        ),
        (
            "Candidate Profile Updated",
            {"candidate": who, "observed_at": at, "fields": {"country": "ZZ"}},
            "no country",
        ),
        (
            "Candidate Profile Updated",
            {"candidate": {"email": f"müller-{n}@example.de"}, "observed_at": at, "fields": {}},
            "non-ASCII local part",
        ),
        (
            "Candidate Consent Changed",
            {
                "candidate": who,
                "observed_at": (now + timedelta(days=365)).isoformat(),
                "channel": "email",
                "purpose": "events",
                "status": "granted",
            },
            "observed_at a year ahead",
        ),
        (
            "Candidate Consent Changed",
            {
                "candidate": who,
                "observed_at": at,
                "channel": "email",
                "purpose": "spam",
                "status": "granted",
            },
            "unknown purpose",
        ),
        (
            "Candidate Event Registered",
            {
                "candidate": who,
                "observed_at": at,
                "event": {
                    "id": f"bad-{n}",
                    "name": "Bad",
                    "starts_at": "9999-12-31T23:59:59-05:00",
                },
            },
            "starts_at beyond the calendar",
        ),
        (
            "Candidate Event Attended",
            {"candidate": who, "observed_at": at},
            "no event",
        ),
        (
            "Job Opened",
            {
                "job": {
                    "id": f"bad-job-{RUN}-{n}",
                    "title": "Overlord",
                    "role_family": "data",
                    "seniority": "overlord",
                },
                "observed_at": at,
            },
            "unknown seniority",
        ),
        (
            "Candidate Erasure Requested",
            {"candidate": who, "observed_at": "yesterday"},
            "observed_at not a date",
        ),
    ]
    return cases[n % len(cases)]


@dataclass
class Candidate:
    key: int
    email: str
    country: str
    city: str
    timezone: str
    role: str
    seniority: str
    candidate_id: str = ""
    registrations: dict[str, bool] = field(default_factory=dict)  # event id -> outcome sent
    erased_at: datetime | None = None
    decisions_at_erasure: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Figures:
    seed: int = SEED
    events: Counter[str] = field(default_factory=Counter)
    faults_set: Counter[str] = field(default_factory=Counter)
    faults_injected: dict[str, int] = field(default_factory=dict)
    emails: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    candidates: int = 0
    erased: int = 0
    campaign: dict[str, Any] = field(default_factory=dict)
    dlq: Counter[str] = field(default_factory=Counter)
    clock_moved_hours: float = 0.0
    wall_seconds: float = 0.0
    checks: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "events": sum(self.events.values()),
            "events_by_kind": dict(sorted(self.events.items())),
            "faults_set": dict(sorted(self.faults_set.items())),
            "faults_injected": self.faults_injected,
            "candidates": self.candidates,
            "erased": self.erased,
            "emails": self.emails,
            "decisions": dict(sorted(self.decisions.items())),
            "campaign": self.campaign,
            "dlq_messages": dict(sorted(self.dlq.items())),
            "clock_moved_hours": round(self.clock_moved_hours, 1),
            "wall_seconds": round(self.wall_seconds),
            "checks": self.checks,
        }


class Soak:
    """The traffic and the faults, and what the checks need to know of them."""

    def __init__(self, stack: LocalStack, rng: random.Random, total: int):
        self.stack = stack
        self.rng = rng
        self.total = total
        self.figures = Figures()
        self.candidates: list[Candidate] = []
        self.jobs: list[dict[str, Any]] = []
        self.shows: list[dict[str, Any]] = []  # events candidates register for
        self.malformed: dict[str, str] = {}  # event id -> what is wrong with it
        self.events = stack.client("events")
        self.tick = 0
        self.burst_size = max(15, min(60, total // 20))
        # Every kind of fault at least once, in an order of the seed's; then at random.
        self.fault_cycle = rng.sample(FAULT_KINDS, len(FAULT_KINDS))
        self.rounds = 0
        self.base = datetime.now(UTC)  # the stack's clock at the start of a burst
        # read at the end (the soak fixture), checked by the tests
        self.rejected: list[str] = []
        self.outbox: list[dict[str, Any]] = []
        self.decided: dict[str, list[dict[str, Any]]] = {}

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def sent(self) -> int:
        return sum(self.figures.events.values())

    def now(self) -> datetime:
        return datetime.fromisoformat(self.stack.now())

    def at(self) -> str:
        """observed_at: the stack's clock, a millisecond further at each call (order kept)."""
        self.tick += 1
        return (self.base + timedelta(milliseconds=self.tick)).isoformat()

    def put(self, entries: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
        """PutEvents in batches of 10: (kind, detail-type, detail); the event ids."""
        ids: list[str] = []
        for start in range(0, len(entries), 10):
            chunk = entries[start : start + 10]
            response = self.events.put_events(
                Entries=[
                    {
                        "EventBusName": BUS,
                        "Source": "talent.chaos",
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                    }
                    for _, detail_type, detail in chunk
                ]
            )
            assert response["FailedEntryCount"] == 0, response
            ids.extend(str(e["EventId"]) for e in response["Entries"])
            for kind, _, _ in chunk:
                self.figures.events[kind] += 1
        return ids

    def signed(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        url = self.stack.api_url + path
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SIGNER.add_auth(request)
        return requests.request(
            method, url, headers=dict(request.headers.items()), data=data, timeout=60, **kwargs
        )

    def faults(self, **counts: int) -> dict[str, Any]:
        if counts:
            response = self.stack.post("/_local/faults", json=counts)
        else:
            response = self.stack.get("/_local/faults")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def clear_faults(self, kinds: tuple[str, ...] = tuple(FAULT_KINDS)) -> None:
        self.faults(**dict.fromkeys(kinds, 0))

    def settle(self, quiet: float = 1.5, timeout: float = 300.0) -> None:
        """Waits until the stack is idle: no event in its rule queues (visible or in flight),
        nothing visible on its work queues, and the outbox unchanged for ``quiet`` s."""
        deadline = wall.monotonic() + timeout
        last, since = -1, wall.monotonic()
        while wall.monotonic() < deadline:
            busy = self._busy()
            size = len(self.stack.outbox())
            if busy or size != last:
                last, since = size, wall.monotonic()
            elif wall.monotonic() - since >= quiet:
                return
            wall.sleep(0.3)
        raise AssertionError(f"the stack did not settle within {timeout} s (seed {SEED})")

    def _busy(self) -> bool:
        sqs = self.stack.client("sqs")
        for url in self.queue_urls():
            name = url.rsplit("/", 1)[1]
            if "DLQ" in name:
                continue
            attributes = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            visible = int(attributes["ApproximateNumberOfMessages"])
            # A rule's queue holds an event in flight until its handler is done; a work queue
            # (SQS event source) may keep a failed message invisible for its visibility
            # timeout (minutes of wall time): only what is visible counts there.
            in_flight = int(attributes["ApproximateNumberOfMessagesNotVisible"])
            if visible or ("Mirror" in name and in_flight):
                return True
        return False

    _queue_urls: list[str] | None = None

    def queue_urls(self) -> list[str]:
        if self._queue_urls is None:
            urls = self.stack.client("sqs").list_queues().get("QueueUrls", [])
            self._queue_urls = [u for u in urls if "/local-" in u]
        return self._queue_urls

    def advance(self, seconds: float) -> None:
        # No crash across a clock move: the reconciler (MaximumRetryAttempts 0) would leave
        # its scheduled event in its DLQ; the other faults stay until used.
        self.clear_faults(CRASHES)
        # What fell due runs before the answer: with a large pool, longer than a request's
        # usual 30 s.
        response = requests.post(
            self.stack.api_url + "/_local/clock", json={"advance_seconds": seconds}, timeout=900
        )
        assert response.status_code == 200, response.text
        self.figures.clock_moved_hours += seconds / 3600
        self.settle()

    # -- traffic --------------------------------------------------------------------------------

    def new_candidate(self) -> Candidate:
        country, city, tz = self.rng.choice(PLACES)
        key = len(self.candidates)
        candidate = Candidate(
            key=key,
            email=f"soak-{RUN}-{key}@example.org",
            country=country,
            city=city,
            timezone=tz,
            role=self.rng.choice(ROLES),
            seniority=self.rng.choice(SENIORITIES),
        )
        self.candidates.append(candidate)
        return candidate

    def profile(self, c: Candidate, *, full: bool) -> tuple[str, str, dict[str, Any]]:
        fields: dict[str, Any] = {}
        if full:
            fields = {
                "email": c.email,
                "first_name": f"Soak{c.key}",
                "country": c.country,
                "city": c.city,
                "timezone": c.timezone,
                "role_family": c.role,
                "seniority": c.seniority,
            }
        else:  # a move, a new role or seniority
            change = self.rng.choice(["place", "role", "seniority"])
            if change == "place":
                c.country, c.city, c.timezone = self.rng.choice(PLACES)
                fields = {"country": c.country, "city": c.city, "timezone": c.timezone}
            elif change == "role":
                c.role = self.rng.choice(ROLES)
                fields = {"role_family": c.role}
            else:
                c.seniority = self.rng.choice(SENIORITIES)
                fields = {"seniority": c.seniority}
        detail = {"candidate": {"email": c.email}, "observed_at": self.at(), "fields": fields}
        return ("profile_update", "Candidate Profile Updated", detail)

    def consent(self, c: Candidate, purpose: str, status: str) -> tuple[str, str, dict[str, Any]]:
        detail = {
            "candidate": {"email": c.email},
            "observed_at": self.at(),
            "channel": "email",
            "purpose": purpose,
            "status": status,
        }
        return (f"consent_{status}", "Candidate Consent Changed", detail)

    def job_opened(self, like: Candidate | None = None) -> tuple[str, str, dict[str, Any]]:
        n = len(self.jobs)
        country, city, _ = (
            self.rng.choice(PLACES) if like is None else (like.country, like.city, "")
        )
        job = {
            "id": f"job-{RUN}-{n}",
            "title": f"Soak role {n}",
            "role_family": like.role if like else self.rng.choice(ROLES),
            "seniority": like.seniority if like else self.rng.choice(SENIORITIES),
            "city": city,
            "country": "GB" if country == "UK" else country,
            "remote": self.rng.random() < 0.3,
            "url": f"https://careers.example.com/jobs/{RUN}-{n}",
        }
        self.jobs.append(job)
        return ("job_opened", "Job Opened", {"job": job, "observed_at": self.at()})

    def show(self) -> dict[str, Any]:
        """An event to register for, starting one to three days from now at 18:00 UTC."""
        upcoming = [s for s in self.shows if s["starts"] > self.base + timedelta(hours=12)]
        if len(upcoming) < 3:
            n = len(self.shows)
            day = (self.base + timedelta(days=self.rng.randint(1, 3))).date()
            starts = datetime(day.year, day.month, day.day, 18, tzinfo=UTC)
            show = {"id": f"show-{RUN}-{n}", "name": f"Soak Night {n}", "starts": starts}
            self.shows.append(show)
            upcoming.append(show)
        return self.rng.choice(upcoming)

    def registered(self, c: Candidate) -> tuple[str, str, dict[str, Any]]:
        show = self.show()
        c.registrations.setdefault(show["id"], False)
        detail = {
            "candidate": {"email": c.email},
            "observed_at": self.at(),
            "event": {
                "id": show["id"],
                "name": show["name"],
                "starts_at": show["starts"].isoformat(),
                "city": "Berlin",
            },
        }
        return ("event_registered", "Candidate Event Registered", detail)

    def outcome(self, c: Candidate, show_id: str) -> tuple[str, str, dict[str, Any]]:
        show = next(s for s in self.shows if s["id"] == show_id)
        c.registrations[show_id] = True
        attended = self.rng.random() < 0.6
        detail = {
            "candidate": {"email": c.email},
            "observed_at": self.at(),
            "event": {
                "id": show["id"],
                "name": show["name"],
                "starts_at": show["starts"].isoformat(),
            },
        }
        if attended:
            return ("event_attended", "Candidate Event Attended", detail)
        return ("event_no_show", "Candidate Event No-Show", detail)

    def job_event(self, c: Candidate, kind: str) -> tuple[str, str, dict[str, Any]]:
        job = self.rng.choice(self.jobs)
        detail = {
            "candidate": {"email": c.email},
            "observed_at": self.at(),
            "job": {"id": job["id"]},
        }
        if kind == "job_viewed":
            return (kind, "Candidate Job Viewed", detail)
        return (kind, "Candidate Application Submitted", detail)

    def live(self) -> list[Candidate]:
        return [c for c in self.candidates if c.erased_at is None]

    def one_event(self) -> tuple[str, str, dict[str, Any]] | None:
        live = self.live()
        c = self.rng.choice(live)
        roll = self.rng.random()
        if roll < 0.16:
            return self.profile(c, full=False)
        if roll < 0.34:
            status = "granted" if self.rng.random() < 0.6 else "withdrawn"
            return self.consent(c, self.rng.choice(PURPOSES), status)
        if roll < 0.48:
            return self.registered(c)
        if roll < 0.58:
            due = [
                (x, sid)
                for x in live
                for sid, done in x.registrations.items()
                if not done and self._started(sid)
            ]
            if due:
                return self.outcome(*self.rng.choice(due))
            return self.registered(c)
        if roll < 0.76:
            return self.job_event(c, "job_viewed")
        if roll < 0.82:
            return self.job_event(c, "application_submitted")
        if roll < 0.88:
            return self.job_opened(like=c)
        if roll < 0.90:
            return None  # a malformed one
        return self.consent(c, self.rng.choice(PURPOSES), "granted")

    def _started(self, show_id: str) -> bool:
        show = next(s for s in self.shows if s["id"] == show_id)
        return bool(show["starts"] <= self.base)

    def burst(self, size: int) -> None:
        self.base = self.now()
        self.tick = 0
        entries: list[tuple[str, str, dict[str, Any]]] = []
        malformed: list[tuple[str, str, dict[str, Any], str]] = []
        for index in range(size):
            # the first burst carries the whole known set of malformed events
            first = not self.malformed and index < MALFORMED_KINDS
            entry = None if first else self.one_event()
            if entry is None:
                n = len(self.malformed) + len(malformed)
                detail_type, detail, what = _malformed(self.base, n)
                malformed.append(("malformed", detail_type, detail, what))
            else:
                entries.append(entry)
        self.put(entries)
        if malformed:
            for (_, _, _, what), event_id in zip(
                malformed, self.put([m[:3] for m in malformed]), strict=True
            ):
                self.malformed[event_id] = what

    def seed_pool(self, count: int) -> None:
        """Candidates (full profiles and some consents) and the first jobs."""
        self.base = self.now()
        self.tick = 0
        entries: list[tuple[str, str, dict[str, Any]]] = []
        for _ in range(count):
            c = self.new_candidate()
            entries.append(self.profile(c, full=True))
            for purpose in PURPOSES:
                if self.rng.random() < 0.6:
                    entries.append(self.consent(c, purpose, "granted"))
        for c in self.rng.sample(self.candidates, min(len(self.candidates), 8)):
            entries.append(self.job_opened(like=c))
        self.put(entries)
        self.settle()
        for c in self.candidates:
            c.candidate_id = self.stack.wait_for(functools.partial(self._candidate_id, c), 60)
        self.figures.candidates = len(self.candidates)

    def _candidate_id(self, c: Candidate) -> str:
        response = self.signed("GET", "/admin/candidates", params={"email": c.email})
        return str(response.json()["candidate_id"]) if response.status_code == 200 else ""

    def erase(self, by_api: bool) -> None:
        live = self.live()
        if len(live) <= 10:
            return
        c = self.rng.choice(live)
        response = self.signed("GET", f"/admin/candidates/{c.candidate_id}/decisions")
        assert response.status_code == 200, response.text
        c.decisions_at_erasure = list(response.json()["decisions"])
        if by_api:
            response = self.signed("DELETE", f"/admin/candidates/{c.candidate_id}")
            assert response.status_code == 202, response.text
            self.figures.events["erasure_api"] += 1
        else:
            self.base = self.now()
            self.put(
                [
                    (
                        "erasure_event",
                        "Candidate Erasure Requested",
                        {
                            "candidate": {"email": c.email},
                            "observed_at": self.at(),
                            "request_id": f"soak-{RUN}-{c.key}",
                        },
                    )
                ]
            )
            self.stack.wait_for(
                lambda: (
                    self.signed("GET", f"/admin/candidates/{c.candidate_id}").status_code == 404
                ),
                timeout=60,
            )
        c.erased_at = self.now()
        self.figures.erased += 1

    def inject(self) -> None:
        if self.rng.random() >= FAULT_CHANCE:
            return
        kind = self.fault_cycle.pop() if self.fault_cycle else self.rng.choice(FAULT_KINDS)
        low, high = FAULT_COUNTS[kind]
        count = self.rng.randint(low, high)
        self.faults(**{kind: count})
        self.figures.faults_set[kind] += count

    def campaign(self) -> None:
        """One campaign over the signed admin API: created, launched (the faults of the burst
        in force)."""
        body = {
            "name": f"Chaos soak {RUN}",
            "purpose": "marketing",
            "segment": [{"field": "candidate.role_family", "op": "in", "value": ROLES[:3]}],
            "content": {"template": "spring_hiring"},
        }
        created = self.signed("POST", "/admin/campaigns", body)
        assert created.status_code == 201, created.text
        campaign_id = created.json()["campaign_id"]
        launched = self.signed("POST", f"/admin/campaigns/{campaign_id}/launch")
        assert launched.status_code == 202, launched.text
        self.figures.events["campaign_launch"] += 1
        self.campaign_id = campaign_id

    campaign_id = ""

    def progress(self) -> str:
        return f"{len(self.live())} candidates live, clock +{self.figures.clock_moved_hours:.0f} h"

    def run(self) -> None:
        self.seed_pool(max(12, self.total // 15))
        campaign_at = self.total // 2
        while self.sent < self.total:
            self.rounds += 1
            self.inject()
            if self.rounds <= 2 or self.rng.random() < 0.2:  # both ways at least once
                self.erase(by_api=self.rounds == 1 or (self.rounds > 2 and self.rng.random() < 0.5))
            if not self.campaign_id and self.sent >= campaign_at:
                self.campaign()
            self.burst(min(self.burst_size, max(1, self.total - self.sent)))
            self.settle()
            step = self.rng.choice([0, 0, 3600, 6 * 3600, 14 * 3600, 26 * 3600])
            if step:
                self.advance(step)
            if self.rounds % 10 == 0:
                print(f"  round {self.rounds}: {self.sent} events, {self.progress()}", flush=True)
        # No fault any more; past every lease, and the reconciler's runs.
        self.clear_faults()
        self.advance(PAST_THE_LEASE)
        self.advance(10 * 60)
        if self.campaign_id:
            status = self.signed("GET", f"/admin/campaigns/{self.campaign_id}").json()
            self.figures.campaign = {"status": status["status"], "counts": status["counts"]}


# -- what the checks read -------------------------------------------------------------------------


def _decisions(soak: Soak) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in soak.live():
        response = soak.signed("GET", f"/admin/candidates/{c.candidate_id}/decisions")
        assert response.status_code == 200, (c.key, response.text)
        out[c.email] = [d for d in response.json()["decisions"] if d["kind"] == "message"]
    return out


def _snapshot(soak: Soak) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """The outbox and every live candidate's decisions, read until the outbox did not change
    while the decisions were read (a late redelivery would make them disagree)."""
    for _ in range(5):
        before = soak.stack.outbox()
        decisions = _decisions(soak)
        after = soak.stack.outbox()
        if len(after) == len(before):
            return after, decisions
        soak.settle()
    raise AssertionError("the outbox kept changing")


def _header(mail: dict[str, Any]) -> str:
    value = mail["headers"].get(DECISION_HEADER, "")
    return str(value[0] if isinstance(value, list) else value).strip()


def _scan_all(soak: Soak) -> list[tuple[str, str]]:
    """(where, text) of every item of every table, visible message of every queue and
    schedule of the stack."""
    found: list[tuple[str, str]] = []
    ddb = soak.stack.client("dynamodb")
    for table in ddb.list_tables()["TableNames"]:
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = ddb.scan(**kwargs)
            found.extend((f"table {table}", json.dumps(i)) for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    sqs = soak.stack.client("sqs")
    for url in soak.queue_urls():
        if "DLQ" in url:
            continue  # drained and checked on their own (the malformed events only)
        seen: set[str] = set()
        for _ in range(50):  # visible messages, left visible again a second later
            batch = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for m in fresh:
                seen.add(m["MessageId"])
                found.append((f"queue {url.rsplit('/', 1)[1]}", m["Body"]))
    scheduler = soak.stack.client("scheduler")
    for group in scheduler.list_schedule_groups()["ScheduleGroups"]:
        token: dict[str, Any] = {}
        while True:
            page = scheduler.list_schedules(GroupName=group["Name"], **token)
            for s in page["Schedules"]:
                detail = scheduler.get_schedule(GroupName=group["Name"], Name=s["Name"])
                text = json.dumps({"name": s["Name"], "input": detail["Target"].get("Input", "")})
                found.append((f"schedule {group['Name']}", text))
            if not page.get("NextToken"):
                break
            token = {"NextToken": page["NextToken"]}
    return found


def _template_dlqs() -> list[str]:
    text = (ROOT / "template.yaml").read_text()
    return re.findall(r"^  (\w+DLQ):\n    Type: AWS::SQS::Queue", text, flags=re.MULTILINE)


# -- the soak -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def soak(start_stack: Callable[..., LocalStack]) -> Iterator[Soak]:
    print(f"\nchaos soak: {EVENTS} events, seed {SEED} (CHAOS_SEED={SEED} to replay)")
    stack = start_stack(None)
    started = wall.monotonic()
    try:
        run = Soak(stack, random.Random(SEED), EVENTS)
        run.run()
        run.figures.faults_injected = run.faults()["injected"]
        run.rejected = list(run.faults()["rejected"])
        run.outbox, run.decided = _snapshot(run)
        yield run
    finally:
        if "run" in locals():
            run.figures.wall_seconds = wall.monotonic() - started
            figures = run.figures.as_dict()
            print("chaos soak figures:", json.dumps(figures, indent=1))
            if REPORT:
                Path(REPORT).parent.mkdir(parents=True, exist_ok=True)
                Path(REPORT).write_text(json.dumps(figures, indent=1) + "\n")
        stack.stop()


def _assert_check_held(
    soak: Soak, name: str, problems: list[str], *, checked: int, may_be_none: bool = False
) -> None:
    """The check's verdict in the figures, with how many things it looked at. A check that
    looked at nothing proves nothing: a soak whose run gives it nothing fails it (``checked``
    is 0), except where the run cannot promise anything to look at (``may_be_none``: two
    budgeted sends in a window, a send refused while ``ses_reject`` is armed)."""
    soak.figures.checks[name] = (
        f"{len(problems)} problems"
        if problems
        else f"ok ({checked} checked)"
        if checked
        else "nothing to check in this run"
        if may_be_none
        else "failed: nothing to check"
    )
    assert not problems, f"seed {SEED}: " + "; ".join(problems[:20])
    assert checked or may_be_none, f"seed {SEED}: {name}: the soak gave it nothing to look at"


def test_every_sent_decision_has_one_email_and_every_email_a_decision(soak: Soak) -> None:
    by_decision: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for mail in soak.outbox:
        by_decision[_header(mail)].append(mail)
    soak.figures.emails = len(soak.outbox)
    erased = {c.email: c for c in soak.candidates if c.erased_at is not None}
    erased_sent = Counter(
        d["decision_id"]
        for c in erased.values()
        for d in c.decisions_at_erasure
        if d["kind"] == "message" and d["status"] == "sent"
    )
    problems: list[str] = [
        f"erased candidate's sent decision {decision_id} has {len(by_decision.get(decision_id, []))} emails"
        for decision_id in erased_sent
        if len(by_decision.get(decision_id, [])) != 1
    ]
    sent_ids: set[str] = set()
    all_ids: set[str] = set()
    for email, decisions in soak.decided.items():
        for d in decisions:
            soak.figures.decisions[d["status"]] += 1
            all_ids.add(d["decision_id"])
            if d["status"] != "sent":
                if by_decision.get(d["decision_id"]):
                    problems.append(f"{d['decision_id']} ({d['status']}) has an email")
                continue
            sent_ids.add(d["decision_id"])
            mails = by_decision.get(d["decision_id"], [])
            if len(mails) != 1:
                problems.append(f"sent decision {d['decision_id']} has {len(mails)} emails")
            elif email not in mails[0]["to"]:
                problems.append(f"decision {d['decision_id']}'s email went to someone else")
    for decision_id, mails in by_decision.items():
        if decision_id in sent_ids:
            continue
        for mail in mails:
            to = mail["to"][0] if mail["to"] else ""
            if to in erased:  # their decisions are gone: those they had before the erasure
                sent_at = datetime.fromisoformat(mail["sent_at"])
                if sent_at > erased[to].erased_at:  # type: ignore[operator]
                    problems.append(f"an email to an erased candidate after the erasure ({to})")
                elif decision_id not in erased_sent:
                    problems.append(f"email {mail['message_id']} to erased {to}: no sent decision")
                continue
            problems.append(
                f"email {mail['message_id']} (decision {decision_id!r}) has no sent decision"
            )
    _assert_check_held(
        soak, "one email per sent decision, a decision per email", problems, checked=len(sent_ids)
    )


def test_no_claimed_send_is_left_unresolved(soak: Soak) -> None:
    claims = [d for decisions in soak.decided.values() for d in decisions if d["outcome"] == "send"]
    problems = [
        f"{d['decision_id']} ({d['template']}) still {d['status']}"
        for d in claims
        if d["status"] not in ("sent", "failed")
    ]
    _assert_check_held(soak, "no claim left unresolved", problems, checked=len(claims))


def test_no_candidate_got_more_than_the_contact_budget(soak: Soak) -> None:
    from talentops.delivery.budget import PRIORITY_OF_PURPOSE, ContactBudget

    budget = ContactBudget()  # template.yaml's ContactPolicy is empty: the defaults
    problems: list[str] = []
    checked = 0  # budgeted sends with another one in their window: those a ceiling could stop
    for email, decisions in soak.decided.items():
        sent = sorted(
            (datetime.fromisoformat(d["decided_at"]), d["purpose"], d["decision_id"])
            for d in decisions
            if d["status"] == "sent" and d["purpose"] in budget.purposes
        )
        for at, purpose, decision_id in sent:
            ceiling = budget.ceilings.get(PRIORITY_OF_PURPOSE[purpose])
            if ceiling is None:
                continue
            # budgeted sends in the window that ends at this one (the same instant included)
            counted = [
                t for t, _, other in sent if at - budget.window < t <= at and other != decision_id
            ]
            checked += bool(counted)
            if len(counted) >= ceiling:
                problems.append(
                    f"{email}: {purpose} {decision_id} sent with {len(counted)} budgeted "
                    f"in the {budget.describe_window()} before it (ceiling {ceiling})"
                )
    # A run may give no candidate two budgeted sends in a window (a short CHAOS_EVENTS).
    _assert_check_held(soak, "contact budget held", problems, checked=checked, may_be_none=True)


def test_no_erased_candidate_anywhere(soak: Soak) -> None:
    erased = [c for c in soak.candidates if c.erased_at is not None]
    assert erased, "the soak erased nobody"
    needles = {c.candidate_id.lower(): c.key for c in erased} | {
        c.email.lower(): c.key for c in erased
    }
    problems = []
    for where, text in _scan_all(soak):
        lower = text.lower()
        for needle, key in needles.items():
            if needle in lower:
                problems.append(f"erased candidate {key} in {where}")
    _assert_check_held(soak, "no erased candidate anywhere", problems, checked=len(erased))


def test_dead_letter_queues_hold_exactly_the_malformed_events(soak: Soak) -> None:
    dlqs = _template_dlqs()
    assert len(dlqs) >= 8, dlqs
    found: Counter[str] = Counter()
    problems: list[str] = []
    for logical_id in dlqs:
        for message in soak.stack.drain(soak.stack.queue(logical_id), wait=1):
            soak.figures.dlq[logical_id] += 1
            try:
                envelope = json.loads(message["Body"])
            except ValueError:
                envelope = {}
            event_id = str(envelope.get("id", "")) if isinstance(envelope, dict) else ""
            if event_id in soak.malformed:
                found[event_id] += 1
                continue
            reason = message.get("MessageAttributes", {}).get("ErrorMessage", {}).get("StringValue")
            kind = envelope.get("detail-type") if isinstance(envelope, dict) else None
            problems.append(f"{logical_id}: {kind or 'a message'} that is not malformed ({reason})")
    for event_id, what in soak.malformed.items():
        if found[event_id] != 1:
            problems.append(f"malformed event ({what}) in {found[event_id]} DLQs")
    _assert_check_held(
        soak, "DLQs hold exactly the malformed events", problems, checked=len(soak.malformed)
    )


def test_refused_sends_are_recorded_undeliverable(soak: Soak) -> None:
    decisions = {d["decision_id"]: d for ds in soak.decided.values() for d in ds}
    for c in soak.candidates:  # an erased candidate's, as they stood before the erasure
        decisions.update({d["decision_id"]: d for d in c.decisions_at_erasure})
    problems = []
    for decision_id in soak.rejected:
        d = decisions.get(decision_id)
        if d is None:
            problems.append(f"refused send {decision_id!r} has no decision")
            continue
        if d["status"] != "failed" or d["reason"] != "undeliverable":
            problems.append(f"refused send {decision_id} is {d['status']} / {d['reason']}")
    _assert_check_held(
        soak,
        "refused sends recorded undeliverable",
        problems,
        checked=len(soak.rejected),
        may_be_none=True,
    )
