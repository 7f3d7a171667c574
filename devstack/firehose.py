"""Amazon Data Firehose, locally: the delivery streams of the template, emulated.

moto neither creates a delivery stream from a template nor runs a stream's Lambda
processor, so the stack plays Firehose itself for each `AWS::KinesisFirehose::DeliveryStream`
with an `ExtendedS3DestinationConfiguration`:

- a rule target that is the stream becomes an SQS queue (like a function target, plan.py);
  `StreamPoller` receives its messages (the EventBridge envelopes) in batches;
- `StreamEmulation.deliver` hands a batch to the stream's Lambda processor in Firehose's
  shape (`invocationId`, `deliveryStreamArn`, `region`, `records`: `recordId`,
  `approximateArrivalTimestamp`, `data` base64), synchronously, retrying an exception
  `NumberOfRetries` times (default 3);
- each record answered `Ok` is appended, as the bytes of its `data`, to a JSON Lines file
  under the stack's lake folder, at the path the destination's `Prefix` gives with the
  record's `metadata.partitionKeys` (`!{partitionKeyFromLambda:<key>}`), less the prefix's
  fixed head: `facts/day=!{partitionKeyFromLambda:day}/` writes `<lake>/day=2026-12-04/
  facts.jsonl`, the layout metrics/local.py reads as LAKE_DIR (the head, `facts/`, is the
  Glue table's location on AWS; the lake folder stands for it).
- `Dropped` records are counted; `ProcessingFailed` ones, records the answer leaves out,
  and whole batches whose processor keeps failing are counted and logged (never their
  content): Firehose would write them to the `ErrorOutputPrefix`, which holds whole facts.

Unlike Firehose, nothing is buffered: a batch is delivered as soon as it is received.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .aws import AwsClients, StartupError
from .functions import FunctionRuntime
from .invoker import QueuePoller, shape_rule_event
from .log import get_logger

log = get_logger("firehose")
LAKE_FILE = "facts.jsonl"
_EXPRESSION = re.compile(r"!\{([^}]*)\}")
_PARTITION_KEY = re.compile(r"^partitionKeyFromLambda:([A-Za-z0-9_]+)$")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:=-]{1,128}$")
_RESULTS = ("Ok", "Dropped", "ProcessingFailed")


@dataclass
class DeliveryReport:
    delivered: int = 0
    dropped: int = 0
    failed: int = 0


class StreamEmulation:
    """One delivery stream: its processor, and where its rows land locally."""

    def __init__(
        self,
        stream_id: str,
        arn: str,
        region: str,
        *,
        destination: dict[str, Any],
        processor: FunctionRuntime | None,
        lake_dir: Path,
    ):
        self.stream_id = stream_id
        self.arn = arn
        self.region = region
        self.processor = processor
        self.lake_dir = lake_dir
        self.retries = _processor_retries(destination)
        self.partition_template = partition_template(str(destination.get("Prefix") or ""))
        self._lock = threading.Lock()

    def deliver(self, events: list[Any]) -> DeliveryReport:
        """One batch of records (each an EventBridge event) through the processor into the
        lake folder."""
        report = DeliveryReport()
        if not events:
            return report
        arrival = int(time.time() * 1000)
        records = [
            {
                "recordId": f"{uuid.uuid4().hex}{index:06d}",
                "approximateArrivalTimestamp": arrival,
                "data": base64.b64encode(json.dumps(event).encode()).decode(),
            }
            for index, event in enumerate(events)
        ]
        answers = self._process(records)
        if answers is None:
            report.failed = len(records)
            self._log(report)
            return report
        by_file: dict[Path, list[bytes]] = {}
        for record in records:
            answer = answers.get(str(record["recordId"])) or {}
            result = answer.get("result")
            if result == "Dropped":
                report.dropped += 1
                continue
            target = self._target(answer) if result == "Ok" else None
            data = _decoded(answer.get("data")) if result == "Ok" else None
            if target is None or data is None:
                report.failed += 1
                continue
            by_file.setdefault(target, []).append(data if data.endswith(b"\n") else data + b"\n")
            report.delivered += 1
        with self._lock:
            for target, lines in by_file.items():
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("ab") as out:
                    out.write(b"".join(lines))
        self._log(report)
        return report

    def _process(self, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
        """recordId -> the processor's answer (the record itself, as Ok, without one);
        None when the processor failed every attempt."""
        if self.processor is None:
            return {r["recordId"]: {**r, "result": "Ok"} for r in records}
        batch = {
            "invocationId": str(uuid.uuid4()),
            "deliveryStreamArn": self.arn,
            "region": self.region,
            "records": records,
        }
        for attempt in range(1, self.retries + 2):
            try:
                result = self.processor.invoke(batch)
            except Exception as exc:
                log.warning(
                    "stream processor failed",
                    stream=self.stream_id,
                    attempt=attempt,
                    error_type=type(exc).__name__,
                )
                continue
            answers = result.get("records") if isinstance(result, dict) else None
            if not isinstance(answers, list):
                log.warning("stream processor answered no records list", stream=self.stream_id)
                continue
            return {
                str(a.get("recordId")): a
                for a in answers
                if isinstance(a, dict) and a.get("result") in _RESULTS
            }
        return None

    def _target(self, answer: dict[str, Any] | None) -> Path | None:
        """The lake file of a record: the partition path its keys give, or None when a key
        is missing or not a safe path segment (Firehose fails such a record too)."""
        metadata = (answer or {}).get("metadata") or {}
        keys = metadata.get("partitionKeys") if isinstance(metadata, dict) else None
        keys = keys if isinstance(keys, dict) else {}
        path = self.partition_template
        for name in re.findall(r"\{(\w+)\}", self.partition_template):
            value = keys.get(name)
            if not isinstance(value, str) or not _SAFE_VALUE.match(value) or ".." in value:
                return None
            path = path.replace("{" + name + "}", value)
        return self.lake_dir / path / LAKE_FILE

    def _log(self, report: DeliveryReport) -> None:
        level = log.warning if report.failed else log.debug
        level(
            "stream batch delivered",
            stream=self.stream_id,
            delivered=report.delivered,
            dropped=report.dropped,
            failed=report.failed,
        )


def partition_template(prefix: str) -> str:
    """The part of a stream's Prefix below the lake folder, with `{key}` for each partition
    key: "facts/day=!{partitionKeyFromLambda:day}/" -> "day={day}". The head before the
    first expression, up to its last "/", is what the lake folder stands for."""
    first = prefix.find("!{")
    if first < 0:
        return ""
    head_end = prefix.rfind("/", 0, first) + 1
    rest = prefix[head_end:]

    def key(match: re.Match[str]) -> str:
        found = _PARTITION_KEY.match(match.group(1))
        if found is None:
            raise StartupError(
                f"the stream prefix expression !{{{match.group(1)}}} is not emulated locally "
                "(only !{partitionKeyFromLambda:<key>})"
            )
        return "{" + found.group(1) + "}"

    return _EXPRESSION.sub(key, rest).strip("/")


def _processor_retries(destination: dict[str, Any]) -> int:
    for processor in (destination.get("ProcessingConfiguration") or {}).get("Processors") or []:
        for parameter in processor.get("Parameters") or []:
            if parameter.get("ParameterName") == "NumberOfRetries":
                try:
                    return max(0, int(parameter.get("ParameterValue")))
                except (TypeError, ValueError):
                    return 3
    return 3


def _decoded(data: Any) -> bytes | None:
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except ValueError:
        return None


def clear_lake(lake_dir: Path) -> int:
    """Removes the rows of an earlier run (`<lake>/**/facts.jsonl` and the folders left
    empty): the stack's state starts empty at every start, its lake with it."""
    removed = 0
    if not lake_dir.is_dir():
        return removed
    for path in sorted(lake_dir.rglob(LAKE_FILE)):
        path.unlink()
        removed += 1
    for folder in sorted((p for p in lake_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return removed


class StreamPoller(QueuePoller):
    """The queue that mirrors a rule's stream target: each received batch (up to 10
    envelopes) is one delivery."""

    def __init__(
        self,
        name: str,
        emulation: StreamEmulation,
        clients: AwsClients,
        queue_url: str,
        *,
        stop: threading.Event,
        wait_seconds: int,
    ):
        super().__init__(name, clients, queue_url, stop=stop, wait_seconds=wait_seconds)
        self.emulation = emulation

    def handle(self, messages: list[dict[str, Any]]) -> None:
        events = []
        for message in messages:
            try:
                envelope = json.loads(message["Body"])
            except ValueError:
                log.error("stream queue held a message that is not JSON", poller=self.name)
                continue
            events.append(shape_rule_event(envelope, None, self.clients.config.account_id))
        self.emulation.deliver(events)
        self.delete(messages)
