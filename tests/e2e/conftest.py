"""The local stack (`python -m devstack`) as a subprocess on free ports, for end-to-end tests."""

from __future__ import annotations

import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
BUS = "talent-events"
READY_TIMEOUT = 60.0
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    """A running `python -m devstack`, and helpers that speak to it."""

    def __init__(self, process: subprocess.Popen[str], aws_url: str, api_url: str):
        self.process = process
        self.aws_url = aws_url
        self.api_url = api_url
        self.ready_line = ""
        # Every stdout line that begins with "ready", however long the stack has run (the
        # tail below keeps the last 200 lines only).
        self.ready_lines: list[str] = []
        self.stdout_tail: collections.deque[str] = collections.deque(maxlen=200)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
        self._ready = threading.Event()
        self._http = requests.Session()
        self.data_dir: Path | None = None  # LOCAL_DATA_DIR: the stack's files (its lake)
        self._own_data_dir = False

    @property
    def lake_dir(self) -> Path:
        """The folder of the stack's event lake (what the emulated Firehose writes)."""
        assert self.data_dir is not None
        return self.data_dir / "lake"

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    def start(cls, extra_env: dict[str, str] | None = None) -> LocalStack:
        aws_port, api_port = free_port(), free_port()
        own_data_dir = not (extra_env or {}).get("LOCAL_DATA_DIR")
        data_dir = (
            tempfile.mkdtemp(prefix="devstack-data-")
            if own_data_dir
            else (extra_env or {})["LOCAL_DATA_DIR"]
        )
        env = {
            **os.environ,
            "LOCAL_AWS_PORT": str(aws_port),
            "LOCAL_API_PORT": str(api_port),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
            # Each stack its own files: stacks of parallel workers never share a lake.
            "LOCAL_DATA_DIR": data_dir,
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
        stack = cls(process, f"http://127.0.0.1:{aws_port}", f"http://127.0.0.1:{api_port}")
        stack.data_dir, stack._own_data_dir = Path(data_dir), own_data_dir
        stack._drain()
        if not stack._ready.wait(READY_TIMEOUT) or process.poll() is not None:
            stack.stop()
            raise RuntimeError(f"the local stack did not become ready:\n{stack.logs()}")
        return stack

    def _drain(self) -> None:
        """Reads both pipes for the whole life of the process (a full pipe would block it)."""

        def stdout() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.stdout_tail.append(line.rstrip("\n"))
                if line.startswith("ready"):
                    self.ready_lines.append(line.rstrip("\n"))
                if line.startswith("ready") and not self._ready.is_set():
                    self.ready_line = line.rstrip("\n")
                    self._ready.set()
            self._ready.set()  # the process ended: stop waiting

        def stderr() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.stderr_tail.append(line.rstrip("\n"))

        for target in (stdout, stderr):
            threading.Thread(target=target, daemon=True).start()

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._own_data_dir and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.process.returncode

    def logs(self, lines: int = 60) -> str:
        return "\n".join(
            [
                "--- stderr (tail) ---",
                *list(self.stderr_tail)[-lines:],
                "--- stdout (tail) ---",
                *list(self.stdout_tail)[-lines:],
            ]
        )

    # -- AWS ------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.aws_url,
            region_name=REGION,  # type: ignore[call-overload]
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def put_event(
        self, detail_type: str, detail: dict[str, Any], source: str = "talent.ats"
    ) -> str:
        response = self.client("events").put_events(
            Entries=[
                {
                    "EventBusName": BUS,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                }
            ]
        )
        entry = response["Entries"][0]
        assert "EventId" in entry, entry
        return str(entry["EventId"])

    def queue(self, logical_id: str, stack_name: str = "local") -> str:
        """The URL of a queue of the template, by its logical id."""
        resources = self.client("cloudformation").describe_stack_resources(
            StackName=stack_name, LogicalResourceId=logical_id
        )["StackResources"]
        name = resources[0]["PhysicalResourceId"].rstrip("/").rsplit("/", 1)[1]
        return str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def drain(self, queue_url: str, wait: int = 0) -> list[dict[str, Any]]:
        """Receives and deletes every message of a queue (waiting up to `wait` s for the first)."""
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0 if messages else wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )

    # -- HTTP -----------------------------------------------------------------------------------

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self._http.get(self.api_url + path, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self._http.post(self.api_url + path, timeout=30, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self._http.request(method, self.api_url + path, timeout=30, **kwargs)

    def outbox(self) -> list[dict[str, Any]]:
        response = self.get("/_local/outbox")
        response.raise_for_status()
        return list(response.json())

    def now(self) -> str:
        return str(self.get("/_local/clock").json()["now"])

    def advance_clock(self, seconds: float) -> str:
        response = self.post("/_local/clock", json={"advance_seconds": seconds})
        response.raise_for_status()
        return str(response.json()["now"])

    @staticmethod
    def wait_for(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
        """Polls until `predicate()` is truthy and returns that value; fails on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            time.sleep(interval)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when in ("setup", "call") and report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, LocalStack):
                report.sections.append((f"local stack logs ({name})", value.logs()))


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The local stack on template.yaml, for the whole session."""
    local = LocalStack.start()
    try:
        yield local
    finally:
        code = local.stop()
        if code not in (0, None):
            print(f"local stack exited with {code}\n{local.logs()}", file=sys.stderr)


@pytest.fixture(scope="session")
def start_stack() -> Callable[[dict[str, str] | None], LocalStack]:
    """Starts another local stack (e.g. on a template of the test's own: LOCAL_TEMPLATE);
    the caller stops it."""
    return LocalStack.start
