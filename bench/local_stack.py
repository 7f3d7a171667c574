"""5. Local stack throughput, for information: events per second from PutEvents to mail in
the outbox, through `python -m devstack` (moto server, the rule mirrors, the invoker).

Seeds CANDIDATES candidates (profile and consent facts through PutEvents, waiting until the
talent pool has them), then puts EVENTS `Candidate Event Attended` events in batches of ten as
fast as PutEvents accepts them and polls GET /_local/outbox until every email has arrived.
Throughput = emails / (time of the last email seen - time of the first PutEvents). Skips with a
note when the local stack is not in the repository or does not become ready.
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
from typing import Any

from .common import BUS, REGION, ROOT

READY_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 90.0
CANDIDATES = 10
EVENTS = 40


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _skip(note: str) -> dict[str, Any]:
    return {"status": "skipped", "note": note}


def _outbox(api_url: str) -> list[Any]:
    with urllib.request.urlopen(f"{api_url}/_local/outbox", timeout=30) as resp:
        data = json.loads(resp.read())
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list):
                return value
        return []
    return list(data)


def run() -> dict[str, Any]:
    if not (ROOT / "devstack" / "__main__.py").is_file():
        return _skip("local stack not available: devstack/ is not in the repository")
    aws_port, api_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "LOCAL_AWS_PORT": str(aws_port),
        "LOCAL_API_PORT": str(api_port),
        "PYTHONUNBUFFERED": "1",
        "LOCAL_LOG_LEVEL": "WARNING",
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
            return _skip(f"local stack not available: it did not become ready ({last[-400:]})")
        startup_s = time.perf_counter() - started
        return {"status": "measured", "startup_s": startup_s, **_throughput(aws_port, api_port)}
    except Exception as exc:  # a stack under construction: report, do not fail the bench
        return _skip(f"local stack not usable: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _throughput(aws_port: int, api_port: int) -> dict[str, Any]:
    import boto3

    from .fixtures import EVENT, PERSONAS, behaviour_event, consent_event, profile_event

    aws_url, api_url = f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{api_port}"
    events = boto3.client(
        "events",
        region_name=REGION,
        endpoint_url=aws_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    def put(batch: list[dict[str, Any]]) -> None:
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

    persona = PERSONAS[3]
    emails = [f"local.{i}@example.org" for i in range(CANDIDATES)]
    put([profile_event({"email": e}, {"email": e, **persona.fields}) for e in emails])
    put([consent_event({"email": e}, "events") for e in emails])
    # Ingest runs asynchronously: probe each candidate (a registration confirmation) until
    # every one has received its probe, re-probing those that have not (a new fact each time,
    # for an event of its own: the event journey starts once per event and candidate).
    pending, rounds = set(emails), 0
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"seeding: {len(pending)} candidates never got their probe email")
        rounds += 1
        put(
            [
                behaviour_event(
                    "Candidate Event Registered",
                    {"email": e},
                    observed_at=f"2026-11-30T10:{rounds % 60:02d}:00Z",
                    event={**EVENT, "id": f"probe-{rounds}"},
                )
                for e in sorted(pending)
            ]
        )
        time.sleep(1.5)
        for mail in _outbox(api_url):
            to = mail.get("to") if isinstance(mail, dict) else None
            pending -= set(to or [])
    baseline = len(_outbox(api_url))
    # Outcomes of an event nobody registered for through us: the catalogue's follow-up
    # answers each at once (a registered event's outcome waits in its journey).
    batch = [
        behaviour_event(
            "Candidate Event Attended",
            {"email": emails[i % CANDIDATES]},
            observed_at=f"2026-12-03T{20 + i // 60 % 4:02d}:{i % 60:02d}:00Z",
            event={**EVENT, "id": "measured-event"},
        )
        for i in range(EVENTS)
    ]
    t0 = time.perf_counter()
    put(batch)
    t_put = time.perf_counter() - t0
    last_seen, count = t0, 0
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while count < EVENTS and time.monotonic() < deadline:
        n = len(_outbox(api_url)) - baseline
        if n > count:
            count, last_seen = n, time.perf_counter()
        time.sleep(0.1)
    elapsed = last_seen - t0
    return {
        "seeding_probe_rounds": rounds,
        "events": EVENTS,
        "emails": count,
        "complete": count >= EVENTS,
        "seconds": elapsed,
        "put_events_seconds": t_put,
        "events_per_second": count / elapsed if elapsed > 0 else None,
    }
