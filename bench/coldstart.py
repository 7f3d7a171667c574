"""4. Cold start per function, against a bare handler, in fresh processes; and the layer size.

For each function with a typical event, the parent first runs the real handler once in an
emulated account (moto, in this process) and records every AWS response it got. A fresh
child process (bench/coldstart_child.py) then imports the function and handles the same
event with botocore's Stubber answering those responses: no emulator is imported there.
The bare child imports boto3, creates the same clients and returns. The figure is the wall
time of `subprocess.run` of each child (same interpreter, same flags, same environment),
median over RUNS runs, real and bare interleaved; anything a handler defers to its first call
is inside the measurement.

Bytecode: the children share a PYTHONPYCACHEPREFIX that two warm-up runs fill, so that every
module (the layer's too) loads from bytecode, as from a layer built with compiled bytecode.
The content the children read is a copy of templates/ built as `make build` ships it: the
catalogue and the journeys compiled to JSON, the templates compiled to Jinja2 bytecode (by the
bench's own interpreter, where the build uses the runtime's); the talent pool policy is
compiled to JSON beside its YAML in the layer, as `make build` does.

Breakdown: phases from time.perf_counter (CLOCK_MONOTONIC on Linux, one clock for parent and
child), import cost by package from `-X importtime` (self time of each module, summed by
top-level package), and in-process figures for the first call's main costs.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .common import (
    FUNCTION_ENV,
    FUNCTIONS,
    LAYER,
    TEMPLATES,
    apply_function_env,
    median,
    spread,
    use_repository,
)

GOAL_RATIO = 1.5
# Environment a typical event's setup gives its function (queues, schedule groups), passed on
# to the children as template.yaml would give it to the function.
SETUP_ENV = (
    "JOB_ALERT_QUEUE_URL",
    "TIMER_GROUP",
    "TIMER_QUEUE_ARN",
    "SCHEDULER_ROLE_ARN",
    "CAMPAIGN_QUEUE_URL",
    "CAMPAIGN_QUEUE_ARN",
    "CAMPAIGN_SCHEDULE_GROUP",
    "CAMPAIGN_SCHEDULER_ROLE_ARN",
)
RUNS = 15
WARMUPS = 1
IMPORTTIME_RUNS = 3
CHILD = Path(__file__).with_name("coldstart_child.py")


# -- typical events -----------------------------------------------------------------------


def _ingest_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS, profile_event

    s = h.seed(PERSONAS[2])
    return profile_event(
        {"email": s.email}, {"city": "Manchester"}, observed_at="2026-11-20T09:00:00Z"
    )


def _followup_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS, behaviour_event

    s = h.seed(PERSONAS[0])
    return behaviour_event("Candidate Event Attended", {"email": s.email})


def _followup_ok(result: dict[str, Any]) -> bool:
    return [d["outcome"] for d in result.get("decisions", [])] == ["send"]


JOB_POOL = 20  # fitting candidates with a grant, for the job-alert functions' typical events


def _job_queue() -> tuple[str, str]:
    import boto3

    from .common import REGION

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="bench-coldstart-job-alerts")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    os.environ["JOB_ALERT_QUEUE_URL"] = url
    from talentops.job_alerts import wiring as job_wiring

    job_wiring.reset()
    return url, arn


def _fanout_event(h: Any) -> dict[str, Any]:
    from .per_recipient import _job_opened, _seed_pool

    _job_queue()
    _seed_pool("Berlin", JOB_POOL, consent=True)
    return _job_opened("Berlin")


def _worker_event(h: Any) -> dict[str, Any]:
    import boto3

    from .account import load_handler, quietly
    from .common import REGION
    from .per_recipient import _job_opened, _seed_pool, _sqs_event

    url, arn = _job_queue()
    _seed_pool("Berlin", JOB_POOL, consent=True)
    quietly(load_handler("job_fanout").handler, _job_opened("Berlin"), h.context)
    messages = boto3.client("sqs", region_name=REGION).receive_message(
        QueueUrl=url, MaxNumberOfMessages=10
    )["Messages"]
    return _sqs_event(messages, arn)


# -- the other functions' typical events ---------------------------------------------------

SCHEDULE_GROUP = "bench-coldstart-timers"
FUTURE_EVENT_DAYS = 6  # the registered event starts this many days ahead: a reminder is due


def _timer_env() -> None:
    """A timer queue and schedule group, as template.yaml gives journeys and journey_timer."""
    import boto3

    from .common import REGION

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="bench-coldstart-timers")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    scheduler = boto3.client("scheduler", region_name=REGION)
    if not any(
        g["Name"] == SCHEDULE_GROUP for g in scheduler.list_schedule_groups()["ScheduleGroups"]
    ):
        scheduler.create_schedule_group(Name=SCHEDULE_GROUP)
    os.environ["TIMER_GROUP"] = SCHEDULE_GROUP
    os.environ["TIMER_QUEUE_ARN"] = arn
    os.environ["SCHEDULER_ROLE_ARN"] = f"arn:aws:iam::123456789012:role/{SCHEDULE_GROUP}"
    from talentops import wiring

    wiring.reset()


def _future_event() -> dict[str, Any]:
    from .fixtures import EVENT

    starts = datetime.now(UTC).replace(hour=17, minute=30, second=0, microsecond=0)
    return {
        **EVENT,
        "id": "evt-coldstart",
        "starts_at": (starts + timedelta(days=FUTURE_EVENT_DAYS)).isoformat(),
    }


def _sqs_record(body: str, arn: str) -> dict[str, Any]:
    from .common import REGION

    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "r",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


# Zones whose offsets cover every hour: one of them is always in its working day.
DAYTIME_ZONES = (
    "Pacific/Auckland",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/Dublin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Pacific/Honolulu",
)


def _daytime_zone() -> str:
    """A timezone where it is now between 10:00 and 16:00: a send decided now is outside
    quiet hours whenever the bench runs."""
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    for name in DAYTIME_ZONES:
        local = now.astimezone(ZoneInfo(name))
        if 10 <= local.hour + local.minute / 60 < 16:
            return name
    raise AssertionError("no zone in its working day (DAYTIME_ZONES must cover every hour)")


def _timer_event(h: Any) -> dict[str, Any]:
    """Registered yesterday for an event that starts tomorrow: the reminder (09:00 local, the
    day before) is due, and it is daytime where the candidate lives."""
    from zoneinfo import ZoneInfo

    import boto3

    from talentops.clock import SYSTEM_CLOCK

    from .account import load_handler, quietly
    from .common import REGION
    from .fixtures import EVENT, PERSONAS, Persona, behaviour_event

    _timer_env()
    zone = _daytime_zone()
    local_now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    starts = (local_now + timedelta(days=1)).replace(hour=17, minute=30, second=0, microsecond=0)
    registered_at = (local_now - timedelta(days=1)).astimezone(UTC)
    persona = Persona("tim", {**PERSONAS[0].fields, "timezone": zone}, {"events": "granted"})
    s = h.seed(persona)
    event = {**EVENT, "id": "evt-coldstart", "starts_at": starts.astimezone(UTC).isoformat()}
    registered = behaviour_event(
        "Candidate Event Registered",
        {"email": s.email},
        observed_at=(registered_at - timedelta(minutes=5)).isoformat(),
        event=event,
    )
    SYSTEM_CLOCK.fixed = registered_at
    try:
        quietly(load_handler("journeys").handler, registered, h.context)
    finally:
        SYSTEM_CLOCK.fixed = None
    scheduler = boto3.client("scheduler", region_name=REGION)
    names = [x["Name"] for x in scheduler.list_schedules(GroupName=SCHEDULE_GROUP)["Schedules"]]
    if len(names) != 1:
        raise AssertionError(f"journey_timer: expected one reminder timer, found {names}")
    target = scheduler.get_schedule(Name=names[0], GroupName=SCHEDULE_GROUP)["Target"]
    scheduler.delete_schedule(Name=names[0], GroupName=SCHEDULE_GROUP)
    return {"Records": [_sqs_record(target["Input"], target["Arn"])]}


def _timer_ok(result: dict[str, Any]) -> bool:
    return result.get("batchItemFailures") == []


def _record_event_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS, behaviour_event

    s = h.seed(PERSONAS[2])
    return behaviour_event("Candidate Event Registered", {"email": s.email}, event=_future_event())


def _erasure_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS, envelope

    s = h.seed(PERSONAS[2])
    _timer_env()  # erasure deletes the candidate's timers in the timers' group
    return envelope(
        "Candidate Erasure Requested",
        {
            "candidate": {"email": s.email},
            "observed_at": datetime.now(UTC).isoformat(),
            "request_id": "dsar-coldstart",
        },
        source="talent.privacy",
    )


def _bounce_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS, envelope

    s = h.seed(PERSONAS[2])
    detail = {
        "eventType": "Bounce",
        "mail": {
            "timestamp": "2026-11-26T10:00:00.000Z",
            "source": "careers@talent.example.com",
            "messageId": "0102018f-coldstart",
            "destination": [s.email],
            "tags": {"ses:configuration-set": ["talentops-bench"]},
        },
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": s.email, "status": "5.1.1"}],
            "timestamp": "2026-11-26T10:00:01.000Z",
        },
    }
    return envelope("Email Bounced", detail, source="aws.ses")


def _sweep_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS

    for persona in PERSONAS:
        h.seed(persona)
    _timer_env()
    return {}  # the hourly EventBridge schedule's input


def _reconcile_event(h: Any) -> dict[str, Any]:
    from .fixtures import PERSONAS

    h.seed(PERSONAS[0])
    return {}  # the five-minute schedule's input: no lease has run out, the usual case


def _lake_batch_event(h: Any) -> dict[str, Any]:
    import base64
    import json

    from .fixtures import PERSONAS, envelope

    s = h.seed(PERSONAS[0])
    detail = {
        "message_id": "m_coldstart",
        "candidate_id": s.candidate_id,
        "template": "event_reminder",
        "variant": "default",
        "purpose": "events",
        "trigger": {"detail_type": "Candidate Event Registered", "event_id": "e-coldstart"},
        "at": "2026-11-26T10:00:00+00:00",
    }
    fact = envelope("Message Sent", detail, source="talent.personalization")
    data = base64.b64encode(json.dumps(fact).encode()).decode()
    return {  # Firehose's invocation of its Lambda processor: one fact
        "invocationId": "coldstart",
        "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/lake",
        "region": "eu-west-1",
        "records": [{"recordId": "r-1", "approximateArrivalTimestamp": 0, "data": data}],
    }


def _content_event(h: Any) -> dict[str, Any]:
    from talentops.tokens import TokenSigner
    from tests.support.apigw import http_event

    from .common import TOKEN_KEY
    from .fixtures import PERSONAS

    s = h.seed(PERSONAS[0])
    token = TokenSigner(TOKEN_KEY.encode()).issue(
        candidate_id=s.candidate_id,
        purpose="events",
        message_id="m_coldstart",
        scope="link",
        now=datetime.now(UTC),
        ttl=timedelta(days=30),
    )
    return http_event("GET", "/content/hero", headers={"Authorization": f"Bearer {token}"})


def _content_ok(result: dict[str, Any]) -> bool:
    if result.get("statusCode") != 200:
        return False
    return bool(json.loads(result["body"]).get("variant") not in (None, "anonymous"))


CAMPAIGN_POOL = 20


def _campaign_event(h: Any) -> dict[str, Any]:
    """A page of the launch's fan-out: CAMPAIGN_POOL candidates, all in the segment."""
    import boto3

    from talentops.adapters.talent_pool import ProfileWrite, TalentPoolRepository
    from talentops.campaigns import wiring as campaign_wiring
    from talentops.models.state import ConsentState, FieldValue, Profile
    from tests.support.apigw import http_event

    from .account import load_handler, quietly
    from .common import REGION, TABLE

    _timer_env()
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="bench-coldstart-campaigns")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    os.environ.update(
        {
            "CAMPAIGN_QUEUE_URL": url,
            "CAMPAIGN_QUEUE_ARN": arn,
            "CAMPAIGN_SCHEDULE_GROUP": SCHEDULE_GROUP,
            "CAMPAIGN_SCHEDULER_ROLE_ARN": f"arn:aws:iam::123456789012:role/{SCHEDULE_GROUP}",
        }
    )
    campaign_wiring.reset()
    at = datetime.now(UTC) - timedelta(days=5)
    zone = _daytime_zone()
    entries = []
    for i in range(CAMPAIGN_POOL):
        address = f"campaign.{i}@example.org"
        p = Profile(candidate_id=f"c_cmp{i:07d}", created_at=at)
        fields = {
            "email": address,
            "first_name": "Ada",
            "country": "IE",
            "city": "Dublin",
            "role_family": "data",
            "seniority": "mid",
            "language": "en-IE",
            "timezone": zone,
        }
        for name, value in fields.items():
            p.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=at)
        state = ConsentState(status="granted", source="talent.careers-site", observed_at=at)
        p.consent["marketing"] = state
        entries.append(
            ProfileWrite(
                p, 0, new_aliases=[("email", address)], consent_history=[("marketing", state)]
            )
        )
    if TalentPoolRepository(TABLE).save_profiles(entries):
        raise RuntimeError("seeding the campaign pool failed")
    api = load_handler("api").handler
    iam = {
        "iam": {
            "accessKey": "AKIDEXAMPLE",
            "accountId": "123456789012",
            "callerId": "AIDAEXAMPLE",
            "userArn": "arn:aws:iam::123456789012:user/ops",
            "userId": "AIDAEXAMPLE",
        }
    }

    def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
        event = http_event(method, path, body=body)
        event["requestContext"]["authorizer"] = iam
        response: dict[str, Any] = quietly(api, event, h.context)
        if response["statusCode"] >= 300:
            raise AssertionError(f"campaign_worker setup: {method} {path}: {response}")
        return json.loads(response["body"])

    created = call(
        "POST",
        "/admin/campaigns",
        {
            "name": "Cold start",
            "purpose": "marketing",
            "segment": [{"field": "candidate.role_family", "op": "eq", "value": "data"}],
            "content": {"template": "spring_hiring"},
        },
    )
    call("POST", f"/admin/campaigns/{created['campaign_id']}/launch")
    worker = load_handler("campaign_worker").handler
    for _ in range(5):  # the fan-out message(s) first; the first page is the typical event
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            break
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        if json.loads(messages[0]["Body"]).get("kind") == "page":
            return {"Records": [_sqs_record(messages[0]["Body"], arn)]}
        quietly(worker, {"Records": [_sqs_record(messages[0]["Body"], arn)]}, h.context)
    raise AssertionError("campaign_worker setup: the launch queued no page")


# function -> (what the event is, how to make it in the emulated account, result check)
TYPICAL: dict[str, tuple[str, Callable[[Any], dict[str, Any]], Callable[[Any], bool]]] = {
    "api": (
        "GET /content/hero with a candidate's link token: the candidate's variant",
        _content_event,
        _content_ok,
    ),
    "campaign_worker": (
        f"one SQS record of a launch's fan-out: a page of {CAMPAIGN_POOL} candidates",
        _campaign_event,
        lambda r: r.get("batchItemFailures") == [],
    ),
    "candidate_erasure": (
        "Candidate Erasure Requested for a known candidate (by email)",
        _erasure_event,
        lambda r: r.get("erased") is True,
    ),
    "ingest_profile": (
        "Candidate Profile Updated for a known candidate (by email)",
        _ingest_event,
        lambda r: bool(r.get("candidate_id")),
    ),
    "journeys": (
        "Candidate Event Attended, candidate by email, consent granted: one email sent",
        _followup_event,
        _followup_ok,
    ),
    "journey_timer": (
        "the reminder timer of a registration falls due: one SQS record, one email sent",
        _timer_event,
        _timer_ok,
    ),
    "job_fanout": (
        f"Job Opened that {JOB_POOL} candidates fit: one page, one queue message",
        _fanout_event,
        lambda r: r.get("status") == "done" and r.get("enqueued") == JOB_POOL,
    ),
    "job_alert_worker": (
        f"one SQS record of the fan-out: a job and {JOB_POOL} candidates, all alerted",
        _worker_event,
        lambda r: r.get("batchItemFailures") == [],
    ),
    "record_event": (
        "Candidate Event Registered: the event stored for the careers site",
        _record_event_event,
        lambda r: r.get("stored") is True,
    ),
    "retention_sweeper": (
        "the hourly schedule: a pass over a pool of 4 candidates",
        _sweep_event,
        lambda r: r.get("status") in ("done", "finished", "complete") or "scanned" in r,
    ),
    "send_reconciler": (
        "the five-minute schedule: no lease has run out (the usual case)",
        _reconcile_event,
        lambda r: r.get("found") == 0,
    ),
    "ses_feedback": (
        "a permanent bounce of a candidate's address",
        _bounce_event,
        lambda r: r.get("kind") == "bounce" or bool(r.get("addresses")),
    ),
    "lake_transform": (
        "Firehose's batch of one fact (a Message Sent) into its lake row",
        _lake_batch_event,
        lambda r: [x.get("result") for x in r.get("records", [])] == ["Ok"],
    ),
}


# What a typical event must have done, beyond its handler's result.
MUST_CALL: dict[str, tuple[str, ...]] = {
    "journeys": ("sesv2.send_email",),
    "journey_timer": ("sesv2.send_email",),
    "campaign_worker": ("sesv2.send_email",),
    "job_alert_worker": ("sesv2.send_email",),
    "candidate_erasure": ("events.put_events",),
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return value


def record_specs(functions: list[str]) -> dict[str, dict[str, Any]]:
    """Run each function's typical event under moto and keep what AWS answered."""
    from talentops import wiring

    from .account import RequestCounter, emulated_account, quietly
    from .requests import Harness

    counter = RequestCounter()
    counter.install()
    wiring.reset()
    specs: dict[str, dict[str, Any]] = {}
    with emulated_account():
        h = Harness(counter)
        from .common import silence_logs

        silence_logs()
        from .account import load_handler

        for function in functions:
            describe, make, check = TYPICAL[function]
            h.fresh_table()
            event = make(h)
            handler = load_handler(function).handler
            _reset_services()  # nothing cached from the seeding: the trace of a first call
            with counter.recording() as trace:
                result = quietly(handler, event, h.context)
            if not check(result):
                raise AssertionError(f"{function}: the typical event did not do its job: {result}")
            calls = [f"{service}.{method}" for service, method, _ in trace]
            for needed in MUST_CALL.get(function, ()):
                if needed not in calls:
                    raise AssertionError(f"{function}: the typical event made no {needed}: {calls}")
            stubs: dict[str, list[tuple[str, Any]]] = defaultdict(list)
            for service, method, response in trace:
                stubs[service].append((method, _jsonable(response)))
            specs[function] = {
                "event": event,
                "describe": describe,
                "stubs": dict(stubs),
                "services": sorted(stubs),
                "calls": calls,
                "app": str(FUNCTIONS / function / "app.py"),
                "sys_path": [str(LAYER)],
                "env": {name: os.environ.get(name, "") for name in SETUP_ENV},
            }
    _reset_services()
    return specs


def _reset_services() -> None:
    """Forget every cached service and client of every wiring module."""
    import importlib

    for name in ("job_alerts", "campaigns", "privacy"):
        module = importlib.import_module(f"talentops.{name}.wiring")
        reset = getattr(module, "reset", None)
        if reset is not None:
            reset()
    from talentops import wiring

    wiring.reset()


# -- the children -------------------------------------------------------------------------


def _child_env(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPATH", None)
    env.update(FUNCTION_ENV)
    env["AWS_LAMBDA_FUNCTION_NAME"] = "coldstart"  # as Lambda sets it (talentops.coldstart)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _spawn(
    spec_path: Path, out_path: Path, env: dict[str, str], flags: tuple[str, ...] = ()
) -> tuple[float, dict[str, Any], str]:
    """Wall ms of one child, its output, its stderr; out["cpu_ms"] is the child's CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *flags, str(CHILD), str(spec_path), str(out_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=120,
    )
    t1 = time.perf_counter()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({spec_path.name}): {proc.stderr.strip()[-1500:]}")
    out = json.loads(out_path.read_text(encoding="utf-8"))
    out["t_spawn"] = t0
    out["t_exit"] = t1
    out["cpu_ms"] = 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return (t1 - t0) * 1000, out, proc.stderr


SHARED_CLOCK = time.get_clock_info("perf_counter").implementation == (
    "clock_gettime(CLOCK_MONOTONIC)"
)


def _phases(out: dict[str, Any]) -> dict[str, float]:
    ms = {
        "interpreter_start": out["t_top"] - out["t_spawn"],
        "imports": out["t_import"] - out["t_top"],
        "first_call": out["t_handler"] - out["t_import"],
        "exit": out["t_exit"] - out["t_handler"],
    }
    return {k: v * 1000 for k, v in ms.items()}


def _to_handler_done(ms_process: float, out: dict[str, Any]) -> float:
    """Process start to the handler's return: the cold start as Lambda sees it (the process
    then lives on; its teardown is not part of it). Needs one clock for parent and child;
    without it, the whole process's wall time."""
    if SHARED_CLOCK:
        return (out["t_handler"] - out["t_spawn"]) * 1000
    return ms_process


def import_breakdown(stderr: str) -> dict[str, float]:
    """Self time of each imported module (from -X importtime), summed by top-level package,
    in ms; the standard library is one entry."""
    by_package: dict[str, float] = defaultdict(float)
    stdlib = set(sys.stdlib_module_names)
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        self_us, name = parts[0], parts[2]
        top = name.strip().split(".")[0]
        key = "(standard library)" if top in stdlib or top.startswith("_") else top
        by_package[key] += int(self_us.strip()) / 1000
    return dict(sorted(by_package.items(), key=lambda kv: -kv[1]))


def measure_function(
    function: str, spec: dict[str, Any], workdir: Path, env: dict[str, str], runs: int
) -> dict[str, Any]:
    check = TYPICAL[function][2]
    env = {**env, **{k: v for k, v in spec.get("env", {}).items() if v}}
    paths = {}
    for mode in ("real", "bare"):
        paths[mode] = workdir / f"{function}.{mode}.json"
        paths[mode].write_text(json.dumps({**spec, "mode": mode}), encoding="utf-8")
    out_path = workdir / f"{function}.out.json"
    for _ in range(WARMUPS):
        for mode in ("real", "bare"):
            _spawn(paths[mode], out_path, env)
    wall: dict[str, list[float]] = {"real": [], "bare": []}
    process: dict[str, list[float]] = {"real": [], "bare": []}
    cpu: dict[str, list[float]] = {"real": [], "bare": []}
    phases: dict[str, list[dict[str, float]]] = {"real": [], "bare": []}
    for i in range(runs):
        order = ("real", "bare") if i % 2 == 0 else ("bare", "real")
        for mode in order:
            ms, out, _ = _spawn(paths[mode], out_path, env)
            if mode == "real" and not check(out["result"]):
                raise AssertionError(f"{function}: cold handler result {out['result']}")
            wall[mode].append(_to_handler_done(ms, out))
            process[mode].append(ms)
            cpu[mode].append(out["cpu_ms"])
            phases[mode].append(_phases(out))
    ratios = [r / b for r, b in zip(wall["real"], wall["bare"], strict=True)]
    ratio = median(wall["real"]) / median(wall["bare"])
    importtime = {}
    for mode in ("real", "bare"):
        runs_by_package: dict[str, list[float]] = defaultdict(list)
        for _ in range(IMPORTTIME_RUNS):
            _, _, stderr = _spawn(paths[mode], out_path, env, flags=("-X", "importtime"))
            for pkg, ms_ in import_breakdown(stderr).items():
                runs_by_package[pkg].append(ms_)
        importtime[mode] = dict(
            sorted(
                (
                    (k, median(v + [0.0] * (IMPORTTIME_RUNS - len(v))))
                    for k, v in runs_by_package.items()
                ),
                key=lambda kv: -kv[1],
            )
        )
    extra = {
        pkg: importtime["real"].get(pkg, 0.0) - importtime["bare"].get(pkg, 0.0)
        for pkg in importtime["real"]
    }
    return {
        "function": function,
        "event": spec["describe"],
        "aws_calls": spec["calls"],
        "real_ms": spread(wall["real"]),
        "bare_ms": spread(wall["bare"]),
        "ratio": ratio,
        "ratio_of_pairs": spread(ratios),
        "measured_to": "handler done" if SHARED_CLOCK else "process exit",
        "real_process_ms": spread(process["real"]),
        "bare_process_ms": spread(process["bare"]),
        "process_ratio": median(process["real"]) / median(process["bare"]),
        "real_cpu_ms": spread(cpu["real"]),
        "bare_cpu_ms": spread(cpu["bare"]),
        "cpu_ratio": median(cpu["real"]) / median(cpu["bare"]),
        "goal_ratio": GOAL_RATIO,
        "met": ratio <= GOAL_RATIO,
        "phases_ms": {
            mode: {k: median([p[k] for p in phases[mode]]) for k in phases[mode][0]}
            for mode in phases
        },
        "imports_self_ms_by_package": importtime,
        "imports_extra_ms_by_package": dict(
            sorted(((k, v) for k, v in extra.items() if v > 0.5), key=lambda kv: -kv[1])
        ),
    }


# -- in-process figures for the breakdown -------------------------------------------------------


def _copy_templates(root: Path, extra_variants: int = 0) -> Path:
    """The shipped templates in a new directory (a new Jinja2 environment: nothing compiled
    yet), plus a message of ``extra_variants`` variants (no trigger; each variant its own
    HTML and text template), so that the catalogue grows while the work of a message does
    not; built as `make build` builds it: the catalogue and the journeys compiled to JSON, the
    templates to bytecode (by this interpreter, as the build does with the runtime's)."""
    import yaml

    from talentops.content.render import compile_bytecode

    shutil.copytree(TEMPLATES, root, ignore=shutil.ignore_patterns("*.compiled.json"))
    if extra_variants:
        source = "event_attended_followup"
        html = (root / "email" / source / "default.html").read_text(encoding="utf-8")
        text = (root / "email" / source / "default.txt").read_text(encoding="utf-8")
        (root / "email" / "growth").mkdir()
        variants = []
        for i in range(extra_variants):
            tag = f"v{i:04d}"
            (root / "email" / "growth" / f"{tag}.html").write_text(
                html.replace("Thanks", f"Thanks ({tag})"), encoding="utf-8"
            )
            (root / "email" / "growth" / f"{tag}.txt").write_text(
                text.replace("Thank", f"Thank ({tag})"), encoding="utf-8"
            )
            variant: dict[str, Any] = {
                "name": tag,
                "subject": f"Thanks for coming to {{{{ event.name }}}} ({tag})",
                "html": f"email/growth/{tag}.html",
                "text": f"email/growth/{tag}.txt",
            }
            if i < extra_variants - 1:
                variant["rules"] = [
                    {"field": "candidate.role_family", "op": "eq", "value": f"family_{i:04d}"}
                ]
            variants.append(variant)
        path = root / "catalogue.yaml"
        catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
        catalogue["messages"]["bench_catalogue_growth"] = {
            "purpose": "events",
            "description": "generated by bench/coldstart.py: the catalogue grows",
            "variants": variants,
        }
        path.write_text(yaml.safe_dump(catalogue, sort_keys=False), encoding="utf-8")
    # As `make build` ships it: the catalogue and the journeys compiled to JSON beside their
    # YAML.
    from talentops.content.catalogue import Catalogue, compile_catalogue_file
    from talentops.journeys.loader import compile_journeys_file, messages_of

    compile_catalogue_file(root)
    compile_journeys_file(root / "journeys", messages_of(Catalogue.load(root)))
    compile_bytecode(str(root), bytecode_of(root))
    return root


def bytecode_of(templates: Path) -> Path:
    """Where the bench keeps the compiled templates of a copy (the build puts them in the
    shared layer; the children are pointed at this one with TEMPLATE_BYTECODE_DIR)."""
    return templates.with_name(f"{templates.name}.bytecode")


def content_env(templates: Path) -> dict[str, str]:
    """The variables that point a child at a built copy of the content and its bytecode."""
    return {"TEMPLATES_DIR": str(templates), "TEMPLATE_BYTECODE_DIR": str(bytecode_of(templates))}


GROWTH_VARIANTS = 1000
GROWTH_GOAL = 1.2  # "flat", as bench/scale.py reads it


def first_call_costs(repeats: int = 5) -> dict[str, Any]:
    """Main costs of a first call that imports do not show, measured in this process."""
    import boto3
    from botocore.config import Config

    from talentops.content.catalogue import Catalogue, check_catalogue

    out: dict[str, Any] = {}
    loads: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-templates-") as tmp:
        roots = {n: _copy_templates(Path(tmp) / f"n{n}", n) for n in (0, 100, GROWTH_VARIANTS)}
        for i in range(repeats):
            for n, root in roots.items():
                t0 = time.process_time_ns()
                Catalogue.load(root)  # what a cold start does: validate, check files exist
                loads[f"load_{n}"].append((time.process_time_ns() - t0) / 1e6)
            if i == 0:  # compiling every template: what loading did before; once (cached)
                for n, root in roots.items():
                    t0 = time.process_time_ns()
                    check_catalogue(root)
                    loads[f"compile_all_{n}"].append((time.process_time_ns() - t0) / 1e6)
    out["catalogue_load_ms"] = median(loads["load_0"])
    out["catalogue_compile_all_ms"] = median(loads["compile_all_0"])
    out["catalogue_load_by_extra_variants_ms"] = {
        n: median(loads[f"load_{n}"]) for n in (0, 100, GROWTH_VARIANTS)
    }
    out["catalogue_compile_all_by_extra_variants_ms"] = {
        n: median(loads[f"compile_all_{n}"]) for n in (0, 100, GROWTH_VARIANTS)
    }
    services = ("dynamodb", "sesv2", "events", "ssm")
    config = Config(retries={"mode": "standard", "total_max_attempts": 3})
    per_client: list[float] = []
    shared: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        for s in services:
            boto3.session.Session().client(s, config=config)  # type: ignore[call-overload]
        per_client.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        session = boto3.session.Session()
        for s in services:
            session.client(s, config=config)  # type: ignore[call-overload]
        shared.append((time.perf_counter() - start) * 1000)
    out["four_clients_one_session_each_ms"] = median(per_client)
    out["four_clients_one_shared_session_ms"] = median(shared)
    return out


def catalogue_growth(
    spec: dict[str, Any], workdir: Path, env: dict[str, str], runs: int
) -> dict[str, Any]:
    """The journeys function's cold start (its typical event) with the shipped catalogue and
    with the same catalogue plus GROWTH_VARIANTS variants of another message, interleaved in
    fresh processes: the work of the message is the same, only the catalogue grows."""
    shipped = _copy_templates(workdir / "templates-shipped")
    grown = _copy_templates(workdir / "templates-grown", GROWTH_VARIANTS)
    path = workdir / "growth.real.json"
    path.write_text(json.dumps({**spec, "mode": "real"}), encoding="utf-8")
    out_path = workdir / "growth.out.json"
    envs = {
        "shipped": {**env, **content_env(shipped)},
        "grown": {**env, **content_env(grown)},
    }
    for e in envs.values():  # bytecode, and each environment's first run
        _spawn(path, out_path, e)
    wall: dict[str, list[float]] = {"shipped": [], "grown": []}
    cpu: dict[str, list[float]] = {"shipped": [], "grown": []}
    for i in range(runs):
        for name in ("shipped", "grown") if i % 2 == 0 else ("grown", "shipped"):
            ms, out, _ = _spawn(path, out_path, envs[name])
            if not _followup_ok(out["result"]):
                raise AssertionError(f"catalogue growth ({name}): {out['result']}")
            wall[name].append(_to_handler_done(ms, out))
            cpu[name].append(out["cpu_ms"])
    ratio = median(wall["grown"]) / median(wall["shipped"])
    return {
        "function": "journeys",
        "extra_variants": GROWTH_VARIANTS,
        "shipped_ms": spread(wall["shipped"]),
        "grown_ms": spread(wall["grown"]),
        "ratio": ratio,
        "cpu_ratio": median(cpu["grown"]) / median(cpu["shipped"]),
        "goal_ratio": GROWTH_GOAL,
        "met": ratio <= GROWTH_GOAL,
    }


# -- layer size ---------------------------------------------------------------------------------


def _tree_size(path: Path) -> tuple[int, int]:
    total = pycache = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            size = p.stat().st_size
            total += size
            if "__pycache__" in p.parts:
                pycache += size
    return total, pycache


def layer_size(timeout_s: int = 240) -> dict[str, Any]:
    """Unzipped size of the shared layer: its requirements resolved and installed by pip
    into an empty directory (python/ in the layer), plus the talentops package."""
    requirements = LAYER / "requirements.txt"
    package = LAYER / "talentops"
    pkg_total, pkg_pycache = _tree_size(package)
    pkg_bytes = pkg_total - pkg_pycache  # the layer ships the sources
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as tmp:
        target = Path(tmp) / "python"
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        cmd += ["--target", str(target), "-r", str(requirements)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout_s, check=False
            )
            ok = proc.returncode == 0
            why = proc.stderr.strip()[-500:]
        except subprocess.TimeoutExpired:
            ok, why = False, f"pip did not finish in {timeout_s} s"
        if ok:
            by_dist: dict[str, int] = defaultdict(int)
            for entry in target.iterdir():
                name = entry.name
                if name.endswith((".dist-info", ".egg-info")):
                    name = name.split("-")[0]
                key = name.lower().replace("_", "-").removesuffix(".py")
                by_dist[key] += _tree_size(entry)[0] if entry.is_dir() else entry.stat().st_size
            deps_total, deps_pycache = _tree_size(target)
            method = "pip install -r layers/talentops/requirements.txt --target (full resolution)"
            return _layer_result(method, deps_total, deps_pycache, pkg_bytes, dict(by_dist))
    return _layer_from_metadata(requirements, pkg_bytes, why)


def _layer_result(
    method: str, deps: int, pycache: int, package: int, by_dist: dict[str, int]
) -> dict[str, Any]:
    mb = 1024 * 1024
    top = sorted(by_dist.items(), key=lambda kv: -kv[1])[:8]
    sdk = sum(v for k, v in by_dist.items() if k in {"boto3", "botocore", "s3transfer"})
    return {
        "method": method,
        "total_mb": (deps + package) / mb,
        "bytecode_mb": pycache / mb,
        "talentops_package_mb": package / mb,
        "largest_mb": {k: v / mb for k, v in top},
        "boto3_botocore_s3transfer_mb": sdk / mb,
        "lambda_limit_mb": 250,
    }


def _layer_from_metadata(requirements: Path, package: int, why: str) -> dict[str, Any]:
    """Fallback: the installed files (RECORD) of the requirements and their dependencies in
    this virtual environment."""
    import importlib.metadata as md
    import re

    from packaging.requirements import Requirement

    names = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if line:
            names.append(Requirement(line).name)
    seen: set[str] = set()
    by_dist: dict[str, int] = {}
    pycache = 0
    while names:
        name = re.sub(r"[-_.]+", "-", names.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        size = 0
        for f in dist.files or []:
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                size += p.stat().st_size
                if "__pycache__" in p.parts:
                    pycache += p.stat().st_size
        by_dist[name] = size
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                names.append(req.name)
    return _layer_result(
        f"installed files of the resolved distributions in .venv (pip failed: {why})",
        sum(by_dist.values()),
        pycache,
        package,
        by_dist,
    )


# -- orchestration ------------------------------------------------------------------------------


def run(*, runs: int = RUNS, only: list[str] | None = None) -> dict[str, Any]:
    use_repository()
    apply_function_env()
    present = sorted(p.name for p in FUNCTIONS.iterdir() if (p / "app.py").is_file())
    measured = [f for f in present if f in TYPICAL and (only is None or f in only)]
    skipped = {
        f: "not selected" if f in TYPICAL else "no typical event defined in bench/coldstart.py yet"
        for f in present
        if f not in measured
    }
    specs = record_specs(measured)
    results = []
    growth: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as tmp:
        workdir = Path(tmp)
        env = _child_env(workdir / "pycache")
        # The functions read the content layer, and the shared layer's policy, as `make build`
        # ships them.
        env.update(content_env(_copy_templates(workdir / "templates")))
        from talentops.talent_pool.policy import compile_policy_file

        compile_policy_file()
        for function in measured:
            try:
                results.append(measure_function(function, specs[function], workdir, env, runs))
            except Exception as exc:  # one function's failure must not hide the others
                skipped[function] = f"failed: {type(exc).__name__}: {str(exc)[-600:]}"
        if "journeys" in specs:
            try:
                growth = catalogue_growth(specs["journeys"], workdir, env, runs)
            except Exception as exc:
                growth = {"failed": f"{type(exc).__name__}: {str(exc)[-600:]}"}
    return {
        "functions": results,
        "not_measured": skipped,
        "runs": runs,
        "python": sys.version.split()[0],
        "catalogue_growth": growth,
        "first_call_costs": first_call_costs(),
        "layer": layer_size(),
    }
