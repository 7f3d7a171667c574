"""5. Local stack throughput: events per second from PutEvents to mail in the outbox, through
`python -m devstack` (moto, the rules of template.yaml mirrored to queues, Lambda's async
invocation with its retries and dead-letter queues, SQS batches), and the time of
`make import` of the shipped pool (data/sample-pool.jsonl, 10,000 rows) into a fresh stack.

Throughput: seeds CANDIDATES candidates (profile and consent facts through PutEvents), waits
until the stack is idle (every queue it polls empty), registers each for an event and waits
for the confirmations, then puts EVENTS `Candidate Event Attended` events (EVENTS /
CANDIDATES outcomes of distinct events a candidate) in batches of ten as fast as PutEvents
accepts them and polls `GET /_local/outbox?since=N` until every email has arrived.
Throughput = emails / (time of the last email seen - time of the first PutEvents). The
stack's CPU seconds over the measured phase (from /proc, Linux) give its CPU per event.

Baseline in the same run: the same measurement with `LOCAL_AWS_IN_PROCESS=0` (the stack's
own AWS calls over HTTP to the moto server, as before devstack/inprocess.py), with
BASELINE_EVENTS events. The goal (>= 50 events/s) is absolute; the ratio shows what the
in-process transport is worth.

Import: `scripts/import_pool.py data/sample-pool.jsonl` as `make import` runs it, against a
fresh stack; the command's wall time, and the time until the stack has also handled the
`Candidate Profile Changed` events the import announced (idle again).

Skips with a note when the local stack is not in the repository or does not become ready.
LOCAL_STACK_EVENTS / LOCAL_STACK_CANDIDATES / LOCAL_STACK_IMPORT=0 change the sizes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from .common import BUS, FUNCTION_ENV, REGION, ROOT

READY_TIMEOUT_S = 90.0
DRAIN_TIMEOUT_S = 300.0
IDLE_TIMEOUT_S = 600.0
CANDIDATES = int(os.environ.get("LOCAL_STACK_CANDIDATES") or 250)
EVENTS = int(os.environ.get("LOCAL_STACK_EVENTS") or 1000)
BASELINE_EVENTS = int(os.environ.get("LOCAL_STACK_BASELINE_EVENTS") or 200)
IMPORT_FILE = ROOT / "data" / "sample-pool.jsonl"
GOAL_EVENTS_PER_SECOND = 50.0
GOAL_IMPORT_SECONDS = 90.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# What the other bench modules put in this process's environment to run handlers in process
# (a function's variables: TABLE_NAME, queue URLs, ...). The stack and the import are separate
# processes with their own settings; inheriting a handler's TABLE_NAME sent the import to a
# table the stack does not have (ResourceNotFoundException).
_IN_PROCESS_PREFIXES = ("AWS_", "POWERTOOLS_", "CAMPAIGN_", "TIMER_", "JOB_ALERT_", "SCHEDULER_")


def _own_env() -> dict[str, str]:
    """This process's environment without what the in-process benches set."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in FUNCTION_ENV and not k.startswith(_IN_PROCESS_PREFIXES)
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _skip(note: str) -> dict[str, Any]:
    return {"status": "skipped", "note": note}


class _Stack:
    def __init__(self, process: subprocess.Popen[str], aws_port: int, api_port: int):
        self.process = process
        self.aws_url = f"http://127.0.0.1:{aws_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.startup_s = 0.0

    def cpu_seconds(self) -> float | None:
        try:
            with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.aws_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def outbox(self, since: int = 0) -> list[Any]:
        url = f"{self.api_url}/_local/outbox?since={since}"
        with urllib.request.urlopen(url, timeout=60) as resp:
            return list(json.loads(resp.read()))

    def wait_idle(self, timeout: float = IDLE_TIMEOUT_S) -> float:
        """Waits until every queue but the dead-letter queues is empty three polls in a row;
        returns the seconds waited."""
        sqs = self.client("sqs")
        urls = [
            u
            for u in sqs.list_queues(MaxResults=1000).get("QueueUrls", [])
            if "dlq" not in u.lower() and "dead" not in u.lower()
        ]
        started = time.perf_counter()
        quiet = 0
        while quiet < 3:
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"the stack did not become idle in {timeout:.0f} s")
            busy = 0
            for url in urls:
                attributes = sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                    ],
                )["Attributes"]
                busy += sum(int(v) for v in attributes.values())
            quiet = quiet + 1 if busy == 0 else 0
            time.sleep(0.3)
        return time.perf_counter() - started


@contextmanager
def _stack(extra_env: dict[str, str] | None = None) -> Iterator[_Stack]:
    aws_port, api_port = _free_port(), _free_port()
    env = {
        **_own_env(),
        "LOCAL_AWS_PORT": str(aws_port),
        "LOCAL_API_PORT": str(api_port),
        "PYTHONUNBUFFERED": "1",
        # The stack's own log lines only: the functions log at the template's LogLevel
        # (INFO by default), as in a stack a person runs, and that is measured.
        "LOCAL_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    ready = threading.Event()
    ready_line: list[str] = []
    tail: deque[str] = deque(maxlen=40)

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            tail.append(line.rstrip())
            if line.startswith("ready") and not ready.is_set():
                ready_line.append(line.strip())
                ready.set()
        ready.set()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            tail.append(line.rstrip())

    for target in (read_stdout, read_stderr):
        threading.Thread(target=target, daemon=True).start()
    started = time.perf_counter()
    try:
        if not ready.wait(READY_TIMEOUT_S) or process.poll() is not None or not ready_line:
            last = " | ".join(list(tail)[-5:])
            raise _NotReadyError(f"it did not become ready ({last[-400:]})")
        stack = _Stack(process, aws_port, api_port)
        stack.startup_s = time.perf_counter() - started
        yield stack
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class _NotReadyError(RuntimeError):
    pass


def run() -> dict[str, Any]:
    if not (ROOT / "devstack" / "__main__.py").is_file():
        return _skip("local stack not available: devstack/ is not in the repository")
    try:
        with _stack() as stack:
            result: dict[str, Any] = {
                "status": "measured",
                "startup_s": stack.startup_s,
                **_throughput(stack, CANDIDATES, EVENTS),
            }
        with _stack({"LOCAL_AWS_IN_PROCESS": "0"}) as stack:
            baseline_candidates = max(1, CANDIDATES * BASELINE_EVENTS // max(EVENTS, 1))
            result["baseline_over_http"] = _throughput(stack, baseline_candidates, BASELINE_EVENTS)
        base = result["baseline_over_http"].get("events_per_second")
        result["ratio_to_baseline"] = (
            result["events_per_second"] / base if base and result["events_per_second"] else None
        )
        result["goal_events_per_second"] = GOAL_EVENTS_PER_SECOND
        if os.environ.get("LOCAL_STACK_IMPORT", "1") != "0" and IMPORT_FILE.is_file():
            with _stack() as stack:
                result["import"] = _import(stack)
        return result
    except _NotReadyError as exc:
        return _skip(f"local stack not available: {exc}")
    except Exception as exc:  # a stack under construction: report, do not fail the bench
        return _skip(f"local stack not usable: {type(exc).__name__}: {str(exc)[:700]}")


def _put(events: Any, batch: list[dict[str, Any]]) -> None:
    for start in range(0, len(batch), 10):
        entries = [
            {
                "Source": e["source"],
                "DetailType": e["detail-type"],
                "Detail": json.dumps(e["detail"]),
                "EventBusName": BUS,
            }
            for e in batch[start : start + 10]
        ]
        resp = events.put_events(Entries=entries)
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused {resp['FailedEntryCount']} entries")


def _wait_for(stack: _Stack, since: int, expected: int, timeout: float) -> tuple[int, float]:
    """Polls the outbox until `expected` emails arrived after the first `since`; returns how
    many arrived and when the last of them was seen (perf_counter)."""
    count, last_seen = 0, time.perf_counter()
    deadline = time.monotonic() + timeout
    while count < expected and time.monotonic() < deadline:
        n = len(stack.outbox(since + count)) + count
        if n > count:
            count, last_seen = n, time.perf_counter()
        time.sleep(0.2)
    return count, last_seen


def _throughput(stack: _Stack, candidates: int, events_count: int) -> dict[str, Any]:
    from .fixtures import EVENT, PERSONAS, behaviour_event, consent_event, profile_event

    events = stack.client("events")
    persona = PERSONAS[3]
    run_id = datetime.now(UTC).strftime("%H%M%S")
    emails = [f"local.{run_id}.{i}@example.org" for i in range(candidates)]
    _put(events, [profile_event({"email": e}, {"email": e, **persona.fields}) for e in emails])
    _put(events, [consent_event({"email": e}, "events") for e in emails])
    idle_s = stack.wait_idle()
    # A registration for an event a month ahead: each candidate's confirmation shows that
    # ingest has the candidate and its consent.
    starts = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT17:30:00Z")
    observed = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = len(stack.outbox())
    _put(
        events,
        [
            behaviour_event(
                "Candidate Event Registered",
                {"email": e},
                observed_at=observed,
                event={**EVENT, "id": f"probe-{run_id}", "starts_at": starts},
            )
            for e in emails
        ],
    )
    seeded, _ = _wait_for(stack, before, candidates, DRAIN_TIMEOUT_S)
    if seeded < candidates:
        raise RuntimeError(f"seeding: {candidates - seeded} candidates got no confirmation")
    stack.wait_idle()
    baseline = len(stack.outbox())
    # Outcomes of events nobody registered for through us: the catalogue's follow-up answers
    # each at once (a registered event's outcome waits in its journey).
    per_candidate = max(1, -(-events_count // candidates))
    batch = [
        behaviour_event(
            "Candidate Event Attended",
            {"email": emails[i % candidates]},
            observed_at=observed,
            event={**EVENT, "id": f"measured-{run_id}-{i // candidates % per_candidate}"},
        )
        for i in range(events_count)
    ]
    cpu_before = stack.cpu_seconds()
    t0 = time.perf_counter()
    _put(events, batch)
    t_put = time.perf_counter() - t0
    count, last_seen = _wait_for(stack, baseline, events_count, DRAIN_TIMEOUT_S)
    cpu_after = stack.cpu_seconds()
    elapsed = last_seen - t0
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    return {
        "candidates": candidates,
        "seeding_idle_wait_s": idle_s,
        "events": events_count,
        "emails": count,
        "complete": count >= events_count,
        "seconds": elapsed,
        "put_events_seconds": t_put,
        "events_per_second": count / elapsed if elapsed > 0 else None,
        "stack_cpu_ms_per_event": cpu * 1000 / count if cpu is not None and count else None,
    }


def _import(stack: _Stack) -> dict[str, Any]:
    out = ROOT / "out" / "bench-import"
    env = {
        **_own_env(),
        "AWS_ENDPOINT_URL": stack.aws_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    command = [
        sys.executable,
        "scripts/import_pool.py",
        str(IMPORT_FILE.relative_to(ROOT)),
        "--restart",
        "--quiet",
        "--out",
        str(out.relative_to(ROOT)),
    ]
    cpu_before = stack.cpu_seconds()
    t0 = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        # The traceback's last lines, without its caret markers, name what failed.
        lines = [ln for ln in done.stderr.splitlines() if ln.strip().strip("^~")]
        raise RuntimeError(f"import failed ({done.returncode}): {' | '.join(lines[-6:])[-600:]}")
    settled = stack.wait_idle(timeout=1800)
    cpu_after = stack.cpu_seconds()
    return {
        "rows": sum(1 for line in IMPORT_FILE.open(encoding="utf-8") if line.strip()),
        # the summary names files relative to the repository, not where it is checked out
        "summary": (
            done.stdout.strip().splitlines()[-1].replace(f"{ROOT}/", "")[:300]
            if done.stdout.strip()
            else ""
        ),
        "seconds": seconds,
        "seconds_until_idle": seconds + settled,
        "stack_cpu_seconds": (
            cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        ),
        "goal_seconds": GOAL_IMPORT_SECONDS,
    }
