"""`make demo-insight`: a month of candidates simulated on the local stack, and whether the
report recovers what was simulated (docs/metrics.md, "The demo that proves the measurement").

    python scripts/demo_insight.py [--pool data/sample-pool.jsonl | --small 300]
                                   [--seed 20261205] [--holdout 0.2] [--out out/report.html]

A *world* (``World``, pure, seeded) says, per variant of the spring_hiring campaign, how likely
a sent message is delivered, opened, clicked and followed by an application, and how likely a
held-out candidate applies anyway. The driver (``Insight``) plays it through the contract:
the pool imported (scripts/import_pool.py), one campaign with a holdout over the candidates
in the time zones where it is day created and launched over the signed admin API, each sent
message's delivery, open and click drawn and made SES's events with POST /_local/engage,
each candidate's application (treatment and holdout alike) drawn and put on the bus as
`Candidate Application Submitted` on the day it falls, the stack's clock moved through the
month (STEP_DAYS at a time). Then the metrics are asked over GET /admin/metrics/{name}, the HTML
report is written from the local lake (scripts/report.py), and a table shows truth against
measurement: every rate must lie within TOLERANCE_SIGMAS standard errors of its simulated
value (the standard error of a proportion over the report's own denominator), and every true
lift inside the report's 95 % interval. Exit 1 when the truth is not recovered.

Every draw comes from a generator seeded by the seed and the candidate id, and the
candidates' ids are derived from the seed when the pool is imported (``stable_ids``), so
the holdout's assignment (a hash of candidate and campaign) and every draw are the same
from one run to the next: a seed gives one outcome, not a 95 % chance of one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))
sys.path.insert(0, str(ROOT))

REGION = "eu-west-1"
BUS = "talent-events"
TEMPLATE = "spring_hiring"
SAMPLE = ROOT / "data" / "sample-pool.jsonl"
REPORT = ROOT / "out" / "report.html"
SEED = 20261205
MONTH_DAYS = 30
DAYLIGHT_AHEAD = timedelta(hours=2)  # how long the campaign's zones must stay in daylight
STEP_DAYS = 10  # the clock moves through the month in steps of this many days
APPLY_WITHIN_HOURS = (1.0, 13 * 24.0)  # inside application_rate's 14-day window
# A rate is recovered when it lies within this many standard errors of the simulated value
# (the standard error sqrt(p (1 - p) / n) of a proportion p over the report's n): a false
# alarm has a probability of about 6e-5 per rate.
TOLERANCE_SIGMAS = 4.0
WAIT_SECONDS = 120.0
RATES = ("delivery_rate", "open_rate", "click_rate", "application_rate")


class InsightFailed(Exception):
    """The simulation could not be played as the world says (the message says how)."""


# -- the world: what is true --------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """Per message sent: the probability it is delivered, opened (at least once), clicked,
    and followed by an application within 14 days. Opened implies delivered, clicked opened."""

    delivery: float
    open: float
    click: float
    application: float

    def __post_init__(self) -> None:
        if not 0 <= self.click <= self.open <= self.delivery <= 1:
            raise ValueError("needs 0 <= click <= open <= delivery <= 1")
        if not 0 <= self.application <= 1:
            raise ValueError("application is a probability")

    def of(self, metric: str) -> float:
        return float(getattr(self, metric.removesuffix("_rate")))


@dataclass(frozen=True)
class World:
    """The simulated truth: per variant of the treatment arm, and for the holdout arm (no
    message: only the probability of applying anyway)."""

    seed: int
    variants: Mapping[str, Rates]
    holdout_application: float

    def _rng(self, what: str, candidate_id: str) -> random.Random:
        return random.Random(f"{self.seed}:{what}:{candidate_id}")

    def engagement(self, candidate_id: str, variant: str) -> list[str]:
        """What SES sees of the message sent to ``candidate_id``: a prefix of delivery, open,
        click (one uniform draw against nested thresholds gives each its marginal rate)."""
        rates = self.variants[variant]
        u = self._rng("engage", candidate_id).random()
        return [
            kind
            for kind, p in (
                ("delivery", rates.delivery),
                ("open", rates.open),
                ("click", rates.click),
            )
            if u < p
        ]

    def application_after(
        self, candidate_id: str, arm: str, variant: str | None
    ) -> timedelta | None:
        """How long after the decision the candidate applies, or None: with the treatment
        variant's probability, or the holdout's."""
        rng = self._rng("apply", candidate_id)
        p = (
            self.holdout_application
            if arm == "holdout"
            else self.variants[str(variant)].application
        )
        if rng.random() >= p:
            return None
        return timedelta(hours=rng.uniform(*APPLY_WITHIN_HOURS))

    def lift(self, sent: Mapping[str, int]) -> float:
        """The true application lift for the variants' mix actually sent: the treatment's
        expected rate (each variant's probability, weighted by its messages) minus the
        holdout's."""
        total = sum(sent.values())
        if not total:
            raise InsightFailed("nothing was sent")
        treated = sum(n * self.variants[v].application for v, n in sent.items()) / total
        return treated - self.holdout_application


WORLD = World(
    seed=SEED,
    variants={
        "de": Rates(delivery=0.97, open=0.46, click=0.12, application=0.15),
        "senior": Rates(delivery=0.98, open=0.55, click=0.21, application=0.19),
        "default": Rates(delivery=0.95, open=0.35, click=0.08, application=0.11),
    },
    holdout_application=0.06,
)


# -- comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    metric: str
    group: str
    truth: float
    measured: float | None
    n: int
    low: float | None  # the report's 95 % interval
    high: float | None
    ok: bool
    rule: str


def check_rate(metric: str, group: str, truth: float, row: Mapping[str, Any]) -> Check:
    """A rate is recovered when it is within TOLERANCE_SIGMAS standard errors of the truth,
    the standard error of a proportion at the truth over the report's denominator."""
    n = int(row.get("denominator") or 0)
    value = row.get("value")
    low, high = row.get("ci95") or (None, None)
    if not n or value is None:
        return Check(metric, group, truth, None, n, None, None, False, "no messages")
    tolerance = TOLERANCE_SIGMAS * math.sqrt(truth * (1 - truth) / n)
    ok = abs(float(value) - truth) <= tolerance
    return Check(metric, group, truth, float(value), n, low, high, ok, f"±{tolerance:.3f}")


def check_lift(group: str, truth: float, row: Mapping[str, Any]) -> Check:
    """A lift is recovered when the truth lies inside the report's 95 % interval."""
    n = int(row.get("denominator") or 0) + int((row.get("control") or {}).get("denominator") or 0)
    value = row.get("value")
    ci = row.get("ci95")
    if value is None or not ci:
        return Check("application_lift", group, truth, None, n, None, None, False, "no arms")
    low, high = float(ci[0]), float(ci[1])
    return Check(
        "application_lift",
        group,
        truth,
        float(value),
        n,
        low,
        high,
        low <= truth <= high,
        "in 95 % CI",
    )


def table(checks: list[Check]) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:6.2f} %"

    headers = ("metric", "group", "truth", "measured", "n", "95 % interval", "rule", "")
    cells = [
        (
            c.metric,
            c.group,
            pct(c.truth),
            pct(c.measured),
            f"{c.n:,}",
            "-" if c.low is None else f"{pct(c.low)} to {pct(c.high)}",
            c.rule,
            "ok" if c.ok else "NOT RECOVERED",
        )
        for c in checks
    ]
    widths = [max(len(str(r[i])) for r in [headers, *cells]) for i in range(len(headers))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("-" * len(lines[0]))
    lines += [
        "  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells
    ]
    return "\n".join(lines)


# -- pools --------------------------------------------------------------------------------------


def daylight_zone(now: datetime, ahead: timedelta = DAYLIGHT_AHEAD + timedelta(hours=1)) -> str:
    """A time zone where it is day (08:00 to 21:00, outside the default quiet hours) now and
    ``ahead`` from now: a small pool there is sent at once, nothing waits for a morning."""
    zones = [
        "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Auckland", "America/New_York",
        "America/Los_Angeles", "Pacific/Honolulu", "Atlantic/Azores",
    ]  # fmt: skip
    for name in zones:
        hours = [(now + d).astimezone(ZoneInfo(name)).hour for d in (timedelta(0), ahead)]
        if all(8 <= h < 21 for h in hours):
            return name
    raise InsightFailed("no time zone of the list is in daylight")  # pragma: no cover


def daylight_zones(pool: Path, now: datetime, ahead: timedelta = DAYLIGHT_AHEAD) -> list[str]:
    """The time zones of ``pool`` where it is day (08:00 to 21:00, outside the default quiet
    hours) now and ``ahead`` from now: a campaign over them sends at once, and nobody waits
    for a morning (a move of the clock through the night works through the whole pool)."""
    zones = set()
    for line in pool.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError, AttributeError):
            zone = json.loads(line).get("timezone")
            if isinstance(zone, str):
                zones.add(zone)
    found = []
    for name in sorted(zones):
        try:
            tz = ZoneInfo(name)
        except (KeyError, ValueError):
            continue
        if all(8 <= (now + d).astimezone(tz).hour < 21 for d in (timedelta(0), ahead)):
            found.append(name)
    if not found:
        raise InsightFailed("no time zone of the pool is in daylight now")
    return found


def small_pool(count: int, seed: int, now: datetime) -> list[dict[str, Any]]:
    """``count`` fictitious candidates in the importer's JSON Lines shape, all with marketing
    consent and fresh profiles, a third each German-speaking (variant de), senior (senior)
    and neither (default), in one time zone in daylight."""
    rng = random.Random(f"{seed}:pool")
    zone = daylight_zone(now)
    rows = []
    for n in range(count):
        kind = n % 3
        rows.append(
            {
                "ref": f"ats:INS-{n + 1:05d}",
                "email": f"insight.{seed}.{n + 1}@example.org",
                "observed_at": (now - timedelta(days=rng.randint(1, 60))).isoformat(),
                "first_name": rng.choice(["Ada", "Bruno", "Clara", "Dan", "Eva", "Femi"]),
                "last_name": rng.choice(["Keller", "Marchand", "Vogel", "Ortiz", "Schulz"]),
                "country": "DE" if kind == 0 else "GB",
                "seniority": ["mid", "senior", "junior"][kind] if kind else "mid",
                "role_family": rng.choice(["data", "software_engineering", "sales"]),
                "language": "de-DE" if kind == 0 else "en",
                "timezone": zone,
                "consent_marketing": "granted",
            }
        )
    return rows


@contextlib.contextmanager
def stable_ids(seed: int) -> Iterator[None]:
    """New candidates get ids drawn from ``seed`` while importing (in this process), so that
    the same seed gives the same ids and so the same holdout assignment."""
    from talentops.talent_pool import importer

    rng = random.Random(f"{seed}:ids")

    class Seeded:
        @staticmethod
        def token_hex(nbytes: int = 32) -> str:
            return rng.randbytes(nbytes).hex()

    real = importer.secrets
    importer.secrets = Seeded  # type: ignore[assignment]
    try:
        yield
    finally:
        importer.secrets = real


# -- the driver ---------------------------------------------------------------------------------


@dataclass
class Decision:
    candidate_id: str
    arm: str  # treatment or holdout
    variant: str | None
    message_id: str | None
    at: datetime  # the stack's clock when it was observed


@dataclass
class Played:
    decisions: list[Decision] = field(default_factory=list)
    engagements: Counter[str] = field(default_factory=Counter)
    applications: Counter[str] = field(default_factory=Counter)
    started: datetime | None = None
    ended: datetime | None = None


class Insight:
    def __init__(
        self,
        aws_url: str,
        api_url: str,
        lake_dir: Path,
        world: World = WORLD,
        say: Callable[[str], None] = print,
    ):
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": aws_url,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "demo",
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "demo",
            }
        )
        from botocore.credentials import Credentials

        from scripts.campaign import Api

        self.api_url = api_url
        self.lake_dir = lake_dir
        self.world = world
        self.say = say
        self.admin = Api(api_url, region=REGION, credentials=Credentials("demo", "demo"))
        self.events = boto3.client("events", endpoint_url=aws_url, region_name=REGION)
        self.sqs = boto3.client("sqs", endpoint_url=aws_url, region_name=REGION)
        self.http = requests.Session()
        self.queue = ""

    # -- the stack ----------------------------------------------------------------------

    def now(self) -> datetime:
        response = self.http.get(f"{self.api_url}/_local/clock", timeout=30)
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["now"])

    def advance(self, seconds: float) -> datetime:
        response = self.http.post(
            f"{self.api_url}/_local/clock", json={"advance_seconds": seconds}, timeout=600
        )
        response.raise_for_status()
        return datetime.fromisoformat(response.json()["now"])

    def put_all(self, entries: list[dict[str, Any]]) -> None:
        for i in range(0, len(entries), 10):
            batch = [{**e, "EventBusName": BUS} for e in entries[i : i + 10]]
            failed = self.events.put_events(Entries=batch).get("FailedEntryCount", 0)
            if failed:
                raise InsightFailed(f"PutEvents refused {failed} of {len(batch)} entries")

    def lake_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for path in self.lake_dir.glob("day=*/*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    kind = row["detail_type"]
                    if kind == "Message Suppressed":
                        kind += f" ({row.get('reason')})"
                    counts[kind] += 1
        return counts

    # -- the play -----------------------------------------------------------------------

    def import_pool(self, path: Path, seed: int) -> None:
        from scripts import import_pool

        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="insight-import-") as work, stable_ids(seed):
            code = import_pool.main(
                [str(path), "--no-events", "--restart", "--quiet", "--out", work]
            )
        if code:
            raise InsightFailed(f"importing {path.name} failed")
        self.say(f"  pool {path.name} imported ({time.monotonic() - began:.0f} s)")

    def observe(self) -> None:
        """A rule of our own to a queue of our own: the campaign's decisions as announced."""
        name = f"insight-{uuid.uuid4().hex[:8]}"
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.events.put_rule(
            Name=name,
            EventBusName=BUS,
            EventPattern=json.dumps(
                {
                    "source": ["talent.personalization"],
                    "detail-type": ["Message Sent", "Message Suppressed"],
                    "detail": {"template": [TEMPLATE]},
                }
            ),
        )
        self.events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])

    def campaign(self, holdout: float, seed: int, zones: list[str]) -> dict[str, Any]:
        """Created over the candidates in ``zones``, launched and waited for; sends that
        still wait for a candidate's morning are let through by moving the clock an hour at
        a time."""
        created = self.admin.call(
            "POST",
            "/admin/campaigns",
            {
                "name": f"Insight demo {seed}",
                "purpose": "marketing",
                "segment": [{"field": "candidate.timezone", "op": "in", "value": zones}],
                "content": {"template": TEMPLATE},
                "holdout": holdout,
            },
        )
        campaign_id = created["campaign_id"]
        self.admin.call("POST", f"/admin/campaigns/{campaign_id}/launch")
        deadline = time.monotonic() + 3600
        shown = time.monotonic()
        while time.monotonic() < deadline:
            view = self.admin.call("GET", f"/admin/campaigns/{campaign_id}")
            progress, counts = view["progress"], view["counts"]
            if time.monotonic() - shown > 30:
                shown = time.monotonic()
                self.say(
                    f"    ... {progress['profiles_scanned']:,} profiles read, "
                    f"{counts['sent']:,} sent, {counts['held_out']:,} held out, "
                    f"{counts['waiting']:,} waiting"
                )
            if progress["fanout_done"] and progress["messages_done"] >= progress["messages"]:
                if not counts["waiting"]:
                    return dict(view)
                self.advance(3600)  # someone waits for their morning
            time.sleep(0.5)
        raise InsightFailed("the campaign did not finish within an hour")

    def decisions(self, expected: int) -> list[Decision]:
        found: dict[str, Decision] = {}
        deadline = time.monotonic() + WAIT_SECONDS
        while len(found) < expected and time.monotonic() < deadline:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            moment = self.now() if messages else None
            for m in messages:
                event = json.loads(m["Body"])
                d = event["detail"]
                sent = event["detail-type"] == "Message Sent"
                if not sent and d.get("reason") != "holdout":
                    continue
                found[d["candidate_id"]] = Decision(
                    candidate_id=d["candidate_id"],
                    arm="treatment" if sent else "holdout",
                    variant=d.get("variant"),
                    message_id=d.get("message_id"),
                    at=moment or self.now(),
                )
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
        if len(found) != expected:
            raise InsightFailed(f"{expected} decisions expected, {len(found)} announced")
        return sorted(found.values(), key=lambda d: d.candidate_id)

    def engage(self, decisions: list[Decision]) -> Counter[str]:
        """Each sent message's delivery, open and click, as the world draws them."""
        calls = [
            (d.message_id, kind)
            for d in decisions
            if d.arm == "treatment" and d.variant is not None
            for kind in self.world.engagement(d.candidate_id, d.variant)
        ]

        def one(call: tuple[str | None, str]) -> None:
            message_id, kind = call
            body: dict[str, Any] = {"message_id": message_id, "kind": kind}
            if kind == "click":
                body["url"] = "https://careers.example.com/jobs"
            response = requests.post(f"{self.api_url}/_local/engage", json=body, timeout=60)
            if response.status_code != 202:
                raise InsightFailed(f"engage {kind}: {response.status_code} {response.text[:200]}")

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, calls))
        return Counter(kind for _, kind in calls)

    def month(self, decisions: list[Decision], start: datetime) -> Counter[str]:
        """The clock moved through MONTH_DAYS days, STEP_DAYS at a time (each move runs what
        the stack has scheduled: retention, digests...); after each move, the applications
        whose moment has come are put on the bus (observed_at their own moment)."""
        due: list[tuple[datetime, Decision]] = []
        for d in decisions:
            after = self.world.application_after(d.candidate_id, d.arm, d.variant)
            if after is not None:
                due.append((d.at + after, d))
        due.sort(key=lambda item: (item[0], item[1].candidate_id))
        applied: Counter[str] = Counter()
        now = self.now()
        for day in range(STEP_DAYS, MONTH_DAYS + STEP_DAYS, STEP_DAYS):
            step = (start + timedelta(days=min(day, MONTH_DAYS)) - now).total_seconds()
            if step > 0:
                now = self.advance(step)
            today = [(at, d) for at, d in due if at <= now]
            due = due[len(today) :]
            self.put_all(
                [
                    {
                        "Source": "talent.ats",
                        "DetailType": "Candidate Application Submitted",
                        "Detail": json.dumps(
                            {
                                "candidate": {"id": d.candidate_id},
                                "observed_at": at.isoformat(),
                                "job": {"id": f"job-insight-{n % 7}", "title": "Data Engineer"},
                            }
                        ),
                    }
                    for n, (at, d) in enumerate(today)
                ]
            )
            applied.update(d.arm for _, d in today)
        if due:
            raise InsightFailed(f"{len(due)} applications fell after the month")
        return applied

    def wait_for_lake(self, expected: Mapping[str, int]) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        counts: Counter[str] = Counter()
        while time.monotonic() < deadline:
            counts = self.lake_counts()
            if all(counts[k] >= v for k, v in expected.items()):
                return
            time.sleep(0.5)
        missing = {k: (counts[k], v) for k, v in expected.items() if counts[k] < v}
        raise InsightFailed(f"the lake is missing rows (have, want): {missing}")

    def metric(self, name: str, start: datetime, end: datetime, group_by: str = "") -> Any:
        from urllib.parse import urlencode

        query = {"from": start.isoformat(), "to": end.isoformat()}
        if group_by:
            query["group_by"] = group_by
        return self.admin.call("GET", f"/admin/metrics/{name}?{urlencode(query)}")

    def play(self, pool: Path, seed: int, holdout: float) -> Played:
        played = Played()
        self.import_pool(pool, seed)
        self.observe()
        played.started = self.now()
        began = time.monotonic()
        zones = daylight_zones(pool, played.started)
        self.say(f"  the campaign's segment: the {len(zones)} time zones in daylight now")
        view = self.campaign(holdout, seed, zones)
        counts = view["counts"]
        self.say(
            f"  campaign: {counts['sent']:,} sent, {counts['held_out']:,} held out, "
            f"{counts['suppressed_total']:,} suppressed otherwise "
            f"({time.monotonic() - began:.0f} s)"
        )
        played.decisions = self.decisions(counts["sent"] + counts["held_out"])
        began = time.monotonic()
        played.engagements = self.engage(played.decisions)
        self.say(f"  engagement: {dict(played.engagements)} ({time.monotonic() - began:.0f} s)")
        began = time.monotonic()
        played.applications = self.month(played.decisions, played.started)
        played.ended = self.now()
        self.say(
            f"  a month on the clock: applications {dict(played.applications)} "
            f"({time.monotonic() - began:.0f} s)"
        )
        sent = sum(d.arm == "treatment" for d in played.decisions)
        self.wait_for_lake(
            {
                "Message Sent": sent,
                "Message Suppressed (holdout)": len(played.decisions) - sent,
                "Message Delivered": played.engagements["delivery"],
                "Message Opened": played.engagements["open"],
                "Message Clicked": played.engagements["click"],
                "Candidate Application Submitted": sum(played.applications.values()),
            }
        )
        return played

    def measure(self, played: Played) -> list[Check]:
        assert played.started is not None and played.ended is not None
        start, end = played.started - timedelta(days=1), played.ended + timedelta(hours=1)
        checks = []
        for name in RATES:
            # By template too: other messages (a repermission a consent's expiry sends during
            # the month) share variant names with the campaign's.
            rows = {
                r["group"]["variant"]: r
                for r in self.metric(name, start, end, "template,variant")["rows"]
                if r["group"]["template"] == TEMPLATE
            }
            for variant, rates in sorted(self.world.variants.items()):
                row = rows.get(variant)
                if row is None:
                    self.say(f"  {name}: variant {variant} was not sent (no row)")
                    continue
                checks.append(check_rate(name, variant, rates.of(name), row))
        sent = Counter(d.variant for d in played.decisions if d.arm == "treatment" and d.variant)
        [lift] = [
            r
            for r in self.metric("application_lift", start, end, "template")["rows"]
            if r["group"]["template"] == TEMPLATE
        ]
        checks.append(check_lift("all", self.world.lift(sent), lift))
        return checks


def write_report(lake_dir: Path, played: Played, out: Path) -> None:
    from scripts import report

    assert played.started is not None and played.ended is not None
    report.main(
        [
            "--lake",
            str(lake_dir),
            "--from",
            (played.started - timedelta(days=1)).isoformat(),
            "--to",
            (played.ended + timedelta(hours=1)).isoformat(),
            "--out",
            str(out),
        ]
    )


def run(
    aws_url: str,
    api_url: str,
    lake_dir: Path,
    pool: Path,
    *,
    seed: int = SEED,
    holdout: float = 0.2,
    out: Path = REPORT,
    say: Callable[[str], None] = print,
) -> list[Check]:
    """The whole demo on a running stack: play, measure, write the report; the checks."""
    world = World(seed, WORLD.variants, WORLD.holdout_application)
    insight = Insight(aws_url, api_url, lake_dir, world, say)
    played = insight.play(pool, seed, holdout)
    checks = insight.measure(played)
    write_report(lake_dir, played, out)
    return checks


def main(argv: list[str] | None = None) -> int:
    from scripts.demo import DemoFailed, local_stack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=Path, default=SAMPLE, help="a pool file to import")
    parser.add_argument("--small", type=int, help="a generated pool of this many instead")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    began = time.monotonic()
    print("starting the local stack ...", flush=True)
    try:
        with local_stack() as (aws_url, api_url), tempfile.TemporaryDirectory() as work:
            pool = args.pool
            if args.small:
                pool = Path(work) / "insight-pool.jsonl"
                rows = small_pool(args.small, args.seed, datetime.now(UTC))
                pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
            data_dir = Path(os.environ.get("LOCAL_DATA_DIR") or ROOT / "out")
            checks = run(
                aws_url,
                api_url,
                data_dir / "lake",
                pool,
                seed=args.seed,
                holdout=args.holdout,
                out=args.out,
                say=lambda line: print(line, flush=True),
            )
    except (InsightFailed, DemoFailed) as exc:
        print(f"\ndemo-insight failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(table(checks))
    missed = [c for c in checks if not c.ok]
    print(f"\n({time.monotonic() - began:.0f} s)")
    if missed:
        print(f"\n{len(missed)} of {len(checks)} not recovered", file=sys.stderr)
        return 1
    print(f"every simulated rate and lift recovered; the report is {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
