"""1b. AWS requests per recipient of a job alert or a campaign (the fan-out).

The hook for the fan-out scenarios. `measure()` runs inside the same emulated account and
with the same request counter as bench/requests.py. Each scenario is one function in
`SCENARIOS`: it seeds a pool, triggers one fan-out (a `Job Opened` event, a campaign launch)
through the real handlers, drains whatever queues the fan-out uses by calling the worker
handlers, and returns a `RecipientRun`. Requests per recipient are then

    (all requests of the run - the SendEmail calls) / recipients

for the recipients that were sent to, and for the suppressed ones separately, because the
goal is stated besides the send.

Until a fan-out exists there is nothing to call, and the figure is reported as
"not yet measurable" (never estimated).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .account import (
    RequestCounter,
    load_handler,
    project_once,
    quietly,
    sent_mail_count,
    table_definition,
)
from .capacity import Units
from .common import FUNCTIONS, LAYER, REGION, TABLE
from .fixtures import FakeContext, envelope

GOAL_BESIDES_SEND = 0.2
FLOOR_BESIDES_SEND = 0.16  # the design's estimate (pages, batches); no reference run yet

# Where a fan-out would show up: function directories and modules of the shared package.
_FANOUT_HINTS = ("job_alert", "alert", "campaign", "fanout", "fan_out", "send_worker")


@dataclass
class RecipientRun:
    name: str
    recipients_sent: int
    recipients_suppressed: int
    calls: Counter[str] = field(default_factory=Counter)  # a run where everyone is sent to
    suppressed_calls: Counter[str] = field(default_factory=Counter)  # a run of suppressed only
    poller_calls: Counter[str] = field(default_factory=Counter)  # stand-in for Lambda's poller
    note: str = ""
    units: Units | None = None  # DynamoDB's request units of the run where everyone is sent to


# -- job alerts: Job Opened -> job_fanout -> SQS -> job_alert_worker ---------------------------

JOB_SENT_POOL = 300  # candidates who fit the job and have granted job alerts
JOB_SUPPRESSED_POOL = 100  # candidates who fit another job, in an opt-in country, no grant


def _seed_pool(city: str, n: int, *, consent: bool) -> None:
    """n candidates who fit a data / mid job in `city`, written as ingest writes profiles
    (the repository's bulk path), observed recently enough to be fresh."""
    from talentops.adapters.talent_pool import ProfileWrite, TalentPoolRepository
    from talentops.models.state import ConsentState, FieldValue, Profile

    at = datetime.now(UTC) - timedelta(days=5)
    repo = TalentPoolRepository(TABLE)
    entries = []
    for i in range(n):
        address = f"{city.lower()}.{i}@example.org"
        p = Profile(candidate_id=f"c_{city.lower()[:3]}{i:07d}", created_at=at)
        fields = {
            "email": address,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": "DE",
            "city": city,
            "role_family": "data",
            "seniority": ("junior", "mid", "senior")[i % 3],
            "language": "en-GB" if i % 2 else "de-DE",
            "timezone": "Europe/Berlin",
        }
        for name, value in fields.items():
            p.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=at)
        history = []
        if consent:
            state = ConsentState(status="granted", source="talent.careers-site", observed_at=at)
            p.consent["job_alerts"] = state
            history.append(("job_alerts", state))
        entries.append(
            ProfileWrite(p, 0, new_aliases=[("email", address)], consent_history=history)
        )
    failed = repo.save_profiles(entries)
    if failed:
        raise RuntimeError(f"seeding the pool: {len(failed)} profiles were not written")


def _job_opened(city: str) -> dict[str, Any]:
    job_id = f"job-bench-{city.lower()}"
    return envelope(
        "Job Opened",
        {
            "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "job": {
                "id": job_id,
                "title": "Data Engineer",
                "role_family": "data",
                "seniority": "mid",
                "city": city,
                "country": "DE",
                "remote": False,
                "url": f"https://careers.example.com/jobs/{job_id}",
            },
        },
        source="talent.ats",
    )


def _sqs_event(messages: list[dict[str, Any]], arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def job_alerts(counter: RequestCounter) -> RecipientRun:
    """One Job Opened through job_fanout and job_alert_worker (the real handlers), the queue
    between them drained as Lambda's SQS poller would (ten messages an invocation)."""
    import boto3

    from talentops.job_alerts import wiring as job_wiring

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="bench-job-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    os.environ["JOB_ALERT_QUEUE_URL"] = url
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.delete_table(TableName=TABLE)  # an empty table: only the pool of this scenario
    ddb.create_table(TableName=TABLE, **table_definition())
    job_wiring.reset()
    fanout = load_handler("job_fanout").handler
    worker = load_handler("job_alert_worker").handler
    context = FakeContext()
    _seed_pool("Berlin", JOB_SENT_POOL, consent=True)
    _seed_pool("Hamburg", JOB_SUPPRESSED_POOL, consent=False)

    def run_job(city: str) -> tuple[Counter[str], Counter[str], int, int]:
        calls: Counter[str] = Counter()
        poller: Counter[str] = Counter()
        mails = sent_mail_count()
        with counter.window() as seen:
            result = quietly(fanout, _job_opened(city), context)
        calls += seen
        if result.get("status") != "done":
            raise AssertionError(f"job_fanout: {result}")
        while True:
            with counter.window() as seen:
                msgs = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300
                ).get("Messages", [])
            poller += seen
            if not msgs:
                break
            with counter.window() as seen:
                out = quietly(worker, _sqs_event(msgs, arn), context)
            calls += seen
            if out.get("batchItemFailures"):
                raise AssertionError(f"job_alert_worker failed items: {out}")
            with counter.window() as seen:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(msgs)
                    ],
                )
            poller += seen
        return calls, poller, int(result.get("enqueued", 0)), sent_mail_count() - mails

    before = counter.units_total.copy()
    calls, poller, enqueued, sent = run_job("Berlin")
    units = counter.units_total.minus(before)
    if sent != JOB_SENT_POOL or enqueued != JOB_SENT_POOL:
        raise AssertionError(
            f"job alerts: {enqueued} enqueued, {sent} sent, expected {JOB_SENT_POOL} of each"
        )
    supp_calls, supp_poller, supp_enqueued, supp_sent = run_job("Hamburg")
    if supp_sent or supp_enqueued != JOB_SUPPRESSED_POOL:
        raise AssertionError(
            f"job alerts, suppressed run: {supp_enqueued} enqueued, {supp_sent} sent"
        )
    return RecipientRun(
        name=f"job alert (Job Opened, {JOB_SENT_POOL} fitting candidates with a grant)",
        recipients_sent=sent,
        recipients_suppressed=supp_enqueued,
        calls=calls,
        suppressed_calls=supp_calls,
        poller_calls=poller + supp_poller,
        units=units,
        note=(
            f"job alert, {JOB_SUPPRESSED_POOL} fitting candidates in an opt-in country "
            "without a grant (no_consent)"
        ),
    )


# -- campaigns: POST launch -> fan-out -> SQS -> campaign_worker (pages of 100) ---------------

CAMPAIGN_POOL = 5_000  # profiles of the addressable pool (every campaign Scans them all)
# role_family of the pool's profiles, by share: a campaign per segment. Disjoint, so that a
# campaign's sends never meet another's in a contact budget.
CAMPAIGN_SEGMENTS = (("data", 0.5), ("design", 0.125), ("sales", 0.02))
CAMPAIGN_SUPPRESSED = ("support", 0.02)  # in the segment, no marketing grant (opt-in country)
# A Wednesday, 10:00 UTC: 11:00 in Berlin (no quiet hours), whatever the time of the run.
CAMPAIGN_NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _campaign_role(i: int) -> str:
    """The role family of the pool's i-th profile: the shares of CAMPAIGN_SEGMENTS and
    CAMPAIGN_SUPPRESSED spread evenly over the pool (every Scan page holds each)."""
    slot = (i * 997) % 1000  # every 1,000 profiles take each slot once
    edge = 0
    for role, share in (*CAMPAIGN_SEGMENTS, CAMPAIGN_SUPPRESSED):
        edge += round(share * 1000)
        if slot < edge:
            return role
    return "operations"


def _seed_campaign_pool() -> dict[str, int]:
    """CAMPAIGN_POOL profile items as ingest writes them (index keys included; 25 a
    BatchWriteItem, as the campaign tests seed: ingest's transactions would take minutes
    under moto), each with what a real profile carries besides its fields (a consent, two
    past sends outside the budget's window), so that a Scan page holds about as many as on
    AWS (1 MB pages; docs/performance.md assumes profiles of about 1.8 KB). Returns how many
    profiles each role family has."""
    import boto3

    from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord
    from tests.support.job_alerts import put_profiles

    at = CAMPAIGN_NOW - timedelta(days=30)
    roles: Counter[str] = Counter()
    profiles = []
    for i in range(CAMPAIGN_POOL):
        role = _campaign_role(i)
        roles[role] += 1
        p = Profile(candidate_id=f"c_pool{i:07d}", created_at=at)
        fields = {
            "email": f"pool.{i}@example.org",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "country": ("DE", "IE")[i % 2],
            "city": ("Berlin", "Dublin")[i % 2],
            "role_family": role,
            "seniority": ("junior", "mid", "senior")[i % 3],
            "language": ("en-GB", "de-DE")[i % 2],
            "timezone": ("Europe/Berlin", "Europe/Dublin")[i % 2],
            "phone": f"+49 30 {i:07d}",
            "current_title": "Senior Data Engineer",
            "current_company": "Example Analytics GmbH",
            "linkedin_url": f"https://www.linkedin.com/in/pool-{i:07d}",
        }
        for name, value in fields.items():
            p.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=at)
        if role != CAMPAIGN_SUPPRESSED[0]:
            p.consent["marketing"] = ConsentState(
                status="granted", source="talent.crm", observed_at=at
            )
        for k in range(2):  # outside the budget's week: counted by no budget
            p.recent[f"earlier{k}"] = SentRecord(
                at=CAMPAIGN_NOW - timedelta(days=10 + k), purpose="events", template="earlier"
            )
        profiles.append(p)
    put_profiles(boto3.client("dynamodb", region_name=REGION), TABLE, profiles)
    return dict(roles)


class _CampaignRig:
    """The campaign queue and the schedule group in the bench's account, the api and
    campaign_worker handlers, and Lambda's SQS poller played by hand (ten messages an
    invocation, the successful ones deleted)."""

    def __init__(self, counter: RequestCounter) -> None:
        import boto3

        self.counter = counter
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.url = self.sqs.create_queue(QueueName="bench-campaigns")["QueueUrl"]
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        previews = self.sqs.create_queue(QueueName="bench-campaign-previews")["QueueUrl"]
        boto3.client("scheduler", region_name=REGION).create_schedule_group(
            Name="bench-campaign-timers"
        )
        os.environ.update(
            CAMPAIGN_QUEUE_URL=self.url,
            CAMPAIGN_QUEUE_ARN=self.arn,
            CAMPAIGN_PREVIEW_QUEUE_URL=previews,
            CAMPAIGN_SCHEDULE_GROUP="bench-campaign-timers",
            CAMPAIGN_SCHEDULER_ROLE_ARN="arn:aws:iam::123456789012:role/bench-scheduler",
        )
        self.api = load_handler("api").handler
        self.worker = load_handler("campaign_worker").handler
        self.context = FakeContext()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        import json

        from tests.support.apigw import http_event

        event = http_event(method, path, body=body)
        event["requestContext"]["authorizer"] = {  # the IAM authorizer of the admin routes
            "iam": {
                "accessKey": "AKIDEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "userArn": "arn:aws:iam::123456789012:user/ops",
                "userId": "AIDAEXAMPLE",
            }
        }
        response = quietly(self.api, event, self.context)
        text = response.get("body")
        return response["statusCode"], json.loads(text) if text else None

    def create(self, role: str) -> str:
        status, body = self.call(
            "POST",
            "/admin/campaigns",
            {
                "name": f"Bench: {role}",
                "purpose": "marketing",
                "segment": [
                    {"field": "candidate.role_family", "op": "eq", "value": role},
                    {"field": "country", "op": "in", "value": ["DE", "IE"]},
                ],
                "content": {"template": "spring_hiring"},
            },
        )
        if status != 201:
            raise AssertionError(f"creating the {role} campaign: {status} {body}")
        return str(body["campaign_id"])

    def launch(self, campaign_id: str) -> tuple[Counter[str], Counter[str], dict[str, Any]]:
        """The launch route, then the queue drained: (calls, the poller's calls, the
        campaign's status at the end)."""
        calls: Counter[str] = Counter()
        poller: Counter[str] = Counter()
        with self.counter.window() as seen:
            status, body = self.call("POST", f"/admin/campaigns/{campaign_id}/launch")
        calls += seen
        if status != 202:
            raise AssertionError(f"launching {campaign_id}: {status} {body}")
        for _ in range(1000):
            with self.counter.window() as seen:
                msgs = self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=300
                ).get("Messages", [])
            poller += seen
            if not msgs:
                break
            with self.counter.window() as seen:
                out = quietly(self.worker, _sqs_event(msgs, self.arn), self.context)
            calls += seen
            if out.get("batchItemFailures"):
                raise AssertionError(f"campaign_worker failed items: {out}")
            with self.counter.window() as seen:
                self.sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(msgs)
                    ],
                )
            poller += seen
        else:
            raise AssertionError("the campaign queue did not drain")
        status, view = self.call("GET", f"/admin/campaigns/{campaign_id}")
        if status != 200:
            raise AssertionError(f"the campaign's status: {status} {view}")
        return calls, poller, view


_CAMPAIGN_STATE: dict[str, Any] = {}


def _campaign_account(counter: RequestCounter) -> tuple[_CampaignRig, dict[str, int]]:
    """The pool and the rig, set up once for the campaign scenarios (each sends to its own
    segment of the same pool)."""
    if _CAMPAIGN_STATE.get("counter") is not counter:
        import boto3

        from devstack.moto_patches import install
        from talentops.campaigns import wiring as campaign_wiring

        # moto made fast enough for a pool of thousands (the same requests and answers);
        # undone by measure() once every scenario ran.
        _CAMPAIGN_STATE["uninstall"] = install()
        project_once()

        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.delete_table(TableName=TABLE)  # an empty table: only the pool of these scenarios
        ddb.create_table(TableName=TABLE, **table_definition())
        campaign_wiring.reset()
        _CAMPAIGN_STATE.update(
            counter=counter, roles=_seed_campaign_pool(), rig=_CampaignRig(counter)
        )
    return _CAMPAIGN_STATE["rig"], _CAMPAIGN_STATE["roles"]


def _campaign(role: str, share: float) -> Callable[[RequestCounter], RecipientRun]:
    def scenario(counter: RequestCounter) -> RecipientRun:
        """One campaign through the api's launch route, the fan-out and the page messages
        of campaign_worker (the real handlers), over a pool of CAMPAIGN_POOL profiles."""
        from talentops.clock import SYSTEM_CLOCK

        fixed, offset = SYSTEM_CLOCK.fixed, SYSTEM_CLOCK.offset
        SYSTEM_CLOCK.fixed, SYSTEM_CLOCK.offset = CAMPAIGN_NOW, timedelta(0)
        try:
            rig, roles = _campaign_account(counter)
            mails = sent_mail_count()
            before = counter.units_total.copy()
            calls, poller, view = rig.launch(rig.create(role))
            units = counter.units_total.minus(before)
            sent = sent_mail_count() - mails
            supp_calls: Counter[str] = Counter()
            suppressed = 0
            if role == CAMPAIGN_SEGMENTS[-1][0]:  # the sparsest: a suppressed run beside it
                supp_role = CAMPAIGN_SUPPRESSED[0]
                before = sent_mail_count()
                supp_calls, supp_poller, supp_view = rig.launch(rig.create(supp_role))
                suppressed = supp_view["counts"]["queued"]
                poller += supp_poller
                if sent_mail_count() != before or suppressed != roles[supp_role]:
                    raise AssertionError(f"campaign, suppressed run: {supp_view['counts']}")
        finally:
            SYSTEM_CLOCK.fixed, SYSTEM_CLOCK.offset = fixed, offset
        if sent != roles[role] or view["counts"]["sent"] != sent or view["status"] != "sent":
            raise AssertionError(
                f"campaign {role}: {sent} sent of {roles[role]}: {view['status']} {view['counts']}"
            )
        scans = calls.get("dynamodb.Scan", 0)
        return RecipientRun(
            name=(
                f"campaign, {share * 100:g} % segment ({sent:,} of a pool of {CAMPAIGN_POOL:,}; "
                f"{scans} Scan pages)"
            ),
            recipients_sent=sent,
            recipients_suppressed=suppressed,
            calls=calls,
            suppressed_calls=supp_calls,
            poller_calls=poller,
            units=units,
            note=(
                f"campaign, {CAMPAIGN_SUPPRESSED[1] * 100:g} % segment in an opt-in country "
                "without a marketing grant (no_consent)"
                if suppressed
                else ""
            ),
        )

    scenario.__name__ = f"campaign_{role}"
    return scenario


# A scenario gets the counter and returns its run. Add one per fan-out as it lands.
SCENARIOS: list[Callable[[RequestCounter], RecipientRun]] = [
    job_alerts,
    *(_campaign(role, share) for role, share in CAMPAIGN_SEGMENTS),
]


def fanout_code_present() -> list[str]:
    """Function directories and packages (or modules) of the shared package whose names
    say fan-out: where a per-recipient scenario is due."""
    found = []
    if FUNCTIONS.is_dir():
        found += [
            f"functions/{p.name}"
            for p in sorted(FUNCTIONS.iterdir())
            if p.is_dir() and any(h in p.name for h in _FANOUT_HINTS)
        ]
    package = LAYER / "talentops"
    if package.is_dir():
        for p in sorted(package.iterdir()):
            name = p.stem if p.suffix == ".py" else p.name
            if (p.is_dir() or p.suffix == ".py") and any(h in name for h in _FANOUT_HINTS):
                found.append(f"talentops/{p.name}")
    return found


# What each scenario covers (names as fanout_code_present() reports them).
COVERS = {
    "job_alerts": {"functions/job_fanout", "functions/job_alert_worker", "talentops/job_alerts"},
    **{
        f"campaign_{role}": {"functions/campaign_worker", "talentops/campaigns"}
        for role, _share in CAMPAIGN_SEGMENTS
    },
}


def _per_recipient(run: RecipientRun) -> dict[str, Any]:
    def besides_send(calls: Counter[str], n: int) -> float | None:
        if n == 0:
            return None
        other = sum(v for k, v in calls.items() if k != "sesv2.SendEmail")
        return other / n

    sent = besides_send(run.calls, run.recipients_sent)
    recipients = run.recipients_sent + run.recipients_suppressed
    return {
        "scenario": run.name,
        "note": run.note,
        "poller_stand_in_per_recipient": sum(run.poller_calls.values()) / max(recipients, 1),
        "poller_stand_in_calls": dict(sorted(run.poller_calls.items())),
        "suppressed_by_operation": dict(sorted(run.suppressed_calls.items())),
        "recipients_sent": run.recipients_sent,
        "recipients_suppressed": run.recipients_suppressed,
        "besides_send_per_recipient": sent,
        "besides_send_per_suppressed_recipient": besides_send(
            run.suppressed_calls, run.recipients_suppressed
        ),
        "by_operation": dict(sorted(run.calls.items())),
        "dynamodb_units_per_recipient": (
            {k: v / run.recipients_sent for k, v in run.units.as_dict().items()}
            if run.units is not None and run.recipients_sent
            else None
        ),
        "goal": GOAL_BESIDES_SEND,
        "met": None if sent is None else sent <= GOAL_BESIDES_SEND,
    }


def measure(counter: RequestCounter) -> dict[str, Any]:
    present = fanout_code_present()
    if not SCENARIOS:
        if present:
            note = (
                "not yet measurable: fan-out code is present ("
                + ", ".join(present)
                + ") but bench/per_recipient.py has no scenario for it yet"
            )
        else:
            functions = sorted(p.name for p in FUNCTIONS.iterdir() if p.is_dir())
            note = (
                "not yet measurable: no job-alert or campaign fan-out exists "
                f"(functions: {', '.join(functions)})"
            )
        return {
            "status": "not yet measurable",
            "note": note,
            "fanout_code": present,
            "goal": GOAL_BESIDES_SEND,
            "floor": FLOOR_BESIDES_SEND,
            "scenarios": [],
        }
    covered = set().union(*(COVERS.get(sc.__name__, set()) for sc in SCENARIOS))
    rest = [p for p in present if p not in covered]
    not_covered = (
        [f"not yet measurable: {', '.join(rest)} present, no scenario in bench/per_recipient.py"]
        if rest
        else []
    )
    try:
        scenarios = [_measure_one(scenario, counter) for scenario in SCENARIOS]
    finally:
        _CAMPAIGN_STATE.pop("uninstall", lambda: None)()
        _CAMPAIGN_STATE.clear()
    return {
        "status": "measured",
        "note": "",
        "not_covered": not_covered,
        "fanout_code": present,
        "goal": GOAL_BESIDES_SEND,
        "floor": FLOOR_BESIDES_SEND,
        "scenarios": scenarios,
    }


def _measure_one(
    scenario: Callable[[RequestCounter], RecipientRun], counter: RequestCounter
) -> dict[str, Any]:
    try:
        return _per_recipient(scenario(counter))
    except Exception as exc:  # a fan-out under construction: report it, keep the rest
        return {
            "scenario": scenario.__name__,
            "error": f"{type(exc).__name__}: {str(exc)[:500]}",
            "goal": GOAL_BESIDES_SEND,
            "met": None,
        }
