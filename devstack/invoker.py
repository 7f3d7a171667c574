"""Lambda's invocation semantics, locally.

- `AsyncInvoker`: asynchronous invocation (EventBridge, schedules): on an error the event is
  retried `MaximumRetryAttempts` times, then sent to the dead-letter queue (with Lambda's
  RequestID / ErrorCode / ErrorMessage attributes) and to the on-failure destination.
- `MirrorPoller`: polls the SQS queue that mirrors a rule's function target and hands each
  envelope to the function's `AsyncInvoker`.
- `QueueSourcePoller`: an SQS event source mapping: batches of `Records`, partial batch
  failures, failed messages left to the queue's visibility timeout and redrive policy.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from .aws import AwsClients, arn_service
from .functions import AsyncPolicy, FunctionRuntime
from .log import get_logger
from .plan import MirrorTarget

log = get_logger("invoker")
ERROR_MESSAGE_LIMIT = 1024  # bytes, as Lambda truncates the DLQ ErrorMessage attribute
_DELETE_BATCH = 10


def error_message(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    return message.encode("utf-8")[:ERROR_MESSAGE_LIMIT].decode("utf-8", errors="ignore")


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Destinations:
    """Sends dead letters and invocation records to SQS, SNS, EventBridge or a local function."""

    def __init__(self, clients: AwsClients, local_function: Callable[[str], AsyncInvoker | None]):
        self._clients = clients
        self._local_function = local_function
        self._sqs = clients.client("sqs")
        self._sns = clients.client("sns")
        self._events = clients.client("events")

    def dead_letter(self, arn: str, event: Any, request_id: str, exc: BaseException) -> None:
        body = json.dumps(event)
        attributes = {
            "RequestID": ("String", request_id),
            "ErrorCode": ("Number", "200"),  # the Invoke status of a function error
            "ErrorMessage": ("String", error_message(exc)),
        }
        service = arn_service(arn)
        if service == "sqs":
            self._sqs.send_message(
                QueueUrl=self._clients.queue_url(arn),
                MessageBody=body,
                MessageAttributes={
                    name: {"DataType": kind, "StringValue": value}
                    for name, (kind, value) in attributes.items()
                },
            )
        elif service == "sns":
            self._sns.publish(
                TopicArn=arn,
                Message=body,
                MessageAttributes={
                    name: {"DataType": kind, "StringValue": value}
                    for name, (kind, value) in attributes.items()
                },
            )
        else:
            log.warning("dead-letter target type not supported locally", service=service)

    def record(self, arn: str, record: dict[str, Any], success: bool) -> None:
        service = arn_service(arn)
        body = json.dumps(record)
        if service == "sqs":
            self._sqs.send_message(QueueUrl=self._clients.queue_url(arn), MessageBody=body)
        elif service == "sns":
            self._sns.publish(TopicArn=arn, Message=body)
        elif service == "events":
            outcome = "Success" if success else "Failure"
            self._events.put_events(
                Entries=[
                    {
                        "EventBusName": arn,
                        "Source": "lambda",
                        "DetailType": f"Lambda Function Invocation Result - {outcome}",
                        "Resources": [record["requestContext"]["functionArn"]],
                        "Detail": body,
                    }
                ]
            )
        elif service == "lambda" and (invoker := self._local_function(arn)) is not None:
            invoker.invoke(record)
        else:
            log.warning("destination type not supported locally", service=service)


class AsyncInvoker:
    """Event invocation of one function: retries, then dead letter / on-failure destination."""

    def __init__(
        self, runtime: FunctionRuntime, policy: AsyncPolicy, destinations: Destinations | None
    ):
        self.runtime = runtime
        self.policy = policy
        self._destinations = destinations

    @property
    def function_id(self) -> str:
        return self.runtime.spec.logical_id

    def invoke(self, event: Any) -> bool:
        """Runs the event to completion (all attempts); True when an attempt succeeded."""
        request_id = str(uuid.uuid4())
        attempts = 1 + max(0, self.policy.max_retry_attempts)
        failure: BaseException | None = None
        for attempt in range(1, attempts + 1):
            try:
                result = self.runtime.invoke(event, request_id)
            except Exception as exc:
                failure = exc
                log.warning(
                    "async invocation failed",
                    function=self.function_id,
                    attempt=attempt,
                    of=attempts,
                    error_type=type(exc).__name__,
                )
                continue
            self._on_success(event, request_id, result, attempt)
            return True
        assert failure is not None
        self._on_failure(event, request_id, failure, attempts)
        return False

    def _on_success(self, event: Any, request_id: str, result: Any, attempts: int) -> None:
        arn, destinations = self.policy.on_success_arn, self._destinations
        if arn and destinations is not None:
            record = self._record(event, request_id, "Success", attempts, result=result, exc=None)
            self._send(lambda: destinations.record(arn, record, True))

    def _on_failure(self, event: Any, request_id: str, exc: BaseException, attempts: int) -> None:
        log.error(
            "async invocation exhausted its retries",
            function=self.function_id,
            attempts=attempts,
            error_type=type(exc).__name__,
            dead_letter=bool(self.policy.dead_letter_arn),
            on_failure=bool(self.policy.on_failure_arn),
        )
        if self._destinations is None:
            return
        destinations = self._destinations
        if self.policy.dead_letter_arn:
            arn = self.policy.dead_letter_arn
            self._send(lambda: destinations.dead_letter(arn, event, request_id, exc))
        if self.policy.on_failure_arn:
            record = self._record(
                event, request_id, "RetriesExhausted", attempts, result=None, exc=exc
            )
            arn = self.policy.on_failure_arn
            self._send(lambda: destinations.record(arn, record, False))

    def _send(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception as exc:
            log.error(
                "could not deliver to a destination",
                function=self.function_id,
                error_type=type(exc).__name__,
            )

    def _record(
        self,
        event: Any,
        request_id: str,
        condition: str,
        attempts: int,
        *,
        result: Any,
        exc: BaseException | None,
    ) -> dict[str, Any]:
        """The invocation record Lambda sends to destinations."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if exc is not None:
            response["functionError"] = "Unhandled"
            result = {
                "errorMessage": error_message(exc),
                "errorType": type(exc).__name__,
                "requestId": request_id,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
        return {
            "version": "1.0",
            "timestamp": _now_iso(),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{self.runtime.spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": response,
            "responsePayload": result,
        }


# -- pollers ------------------------------------------------------------------------------------


class QueuePoller(threading.Thread):
    """Long-polls one queue until stopped; subclasses handle the batches."""

    def __init__(
        self,
        name: str,
        clients: AwsClients,
        queue_url: str,
        *,
        stop: threading.Event,
        wait_seconds: int,
        max_messages: int = 10,
    ):
        super().__init__(name=name, daemon=True)
        self.clients = clients
        self.queue_url = queue_url
        self.stop_event = stop
        self.wait_seconds = wait_seconds
        self.max_messages = max_messages
        self.sqs = clients.client("sqs")

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                messages = self.receive(self.max_messages, self.wait_seconds)
                if messages:
                    self.handle(messages)
            except Exception as exc:
                if self.stop_event.is_set():
                    return
                log.error("poller error", poller=self.name, error_type=type(exc).__name__)
                self.stop_event.wait(1.0)

    def receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def delete(self, messages: Iterable[dict[str, Any]]) -> None:
        entries = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
        ]
        for start in range(0, len(entries), _DELETE_BATCH):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url, Entries=entries[start : start + _DELETE_BATCH]
            )

    def handle(self, messages: list[dict[str, Any]]) -> None:
        raise NotImplementedError


def shape_rule_event(envelope: Any, target: MirrorTarget | None, account_id: str) -> Any:
    """What the function target receives: the envelope (completed: moto's SQS delivery drops
    `account`), or the target's Input / InputPath."""
    if isinstance(envelope, dict) and "detail-type" in envelope:
        envelope.setdefault("account", account_id)
    if target is None:
        return envelope
    if target.input is not None:
        return json.loads(target.input) if isinstance(target.input, str) else target.input
    if target.input_path:
        return json_path(envelope, str(target.input_path))
    return envelope


def json_path(document: Any, path: str) -> Any:
    """The simple JSONPath forms InputPath uses: `$`, `$.a.b`, `$.a[0]`."""
    from jsonpath_ng import ext  # installed with moto[server]

    matches = ext.parse(path).find(document)  # type: ignore[attr-defined]
    return matches[0].value if matches else None


class MirrorPoller(QueuePoller):
    def __init__(
        self,
        target: MirrorTarget,
        invoker: AsyncInvoker,
        clients: AwsClients,
        queue_url: str,
        *,
        stop: threading.Event,
        wait_seconds: int,
    ):
        super().__init__(
            f"mirror-{target.rule_id}-{target.target_id}",
            clients,
            queue_url,
            stop=stop,
            wait_seconds=wait_seconds,
        )
        self.target = target
        self.invoker = invoker

    def handle(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            try:
                envelope = json.loads(message["Body"])
            except ValueError:
                log.error("mirror queue held a message that is not JSON", poller=self.name)
                continue
            self.invoker.invoke(
                shape_rule_event(envelope, self.target, self.clients.config.account_id)
            )
        self.delete(messages)


class QueueSourcePoller(QueuePoller):
    """An SQS event source mapping of one function."""

    def __init__(
        self,
        mapping_id: str,
        runtime: FunctionRuntime,
        properties: dict[str, Any],
        clients: AwsClients,
        *,
        queue_url: str,
        stop: threading.Event,
        wait_seconds: int,
    ):
        self.batch_size = int(properties.get("BatchSize") or 10)
        super().__init__(
            f"sqs-{mapping_id}",
            clients,
            queue_url,
            stop=stop,
            wait_seconds=wait_seconds,
            max_messages=min(10, self.batch_size),
        )
        self.runtime = runtime
        self.window = float(properties.get("MaximumBatchingWindowInSeconds") or 0)
        self.partial = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self.filters = _load_filters(properties.get("FilterCriteria"))
        self.queue_arn = clients.queue_arn(queue_url)

    def handle(self, messages: list[dict[str, Any]]) -> None:
        messages = self._fill_batch(messages)
        records = [self._record(message) for message in messages]
        by_id = dict(zip([r["messageId"] for r in records], messages, strict=True))
        selected = [r for r in records if self._matches(r)]
        dropped = [by_id[r["messageId"]] for r in records if r not in selected]
        if dropped:
            self.delete(dropped)  # Lambda deletes the messages its filters reject
        if not selected:
            return
        failed_ids = self._invoke(selected)
        if failed_ids is None:
            return  # the whole batch failed: it comes back after the visibility timeout
        self.delete(by_id[r["messageId"]] for r in selected if r["messageId"] not in failed_ids)

    def _fill_batch(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.window
        while len(messages) < self.batch_size and not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 and len(messages) % 10:
                break
            wait = math.ceil(min(remaining, 1.0)) if remaining > 0 else 0
            more = self.receive(self.batch_size - len(messages), wait)
            messages.extend(more)
            if not more and remaining <= 0:
                break
        return messages

    def _invoke(self, records: list[dict[str, Any]]) -> set[str] | None:
        """The ids of the failed records; None when the whole batch failed."""
        try:
            result = self.runtime.invoke({"Records": records})
        except Exception as exc:
            log.warning(
                "sqs batch failed",
                function=self.runtime.spec.logical_id,
                records=len(records),
                error_type=type(exc).__name__,
            )
            return None
        if not self.partial:
            return set()
        return _batch_item_failures(
            result, {r["messageId"] for r in records}, self.runtime.spec.logical_id
        )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": {
                name: _lambda_attribute(value)
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.clients.config.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _matches(self, record: dict[str, Any]) -> bool:
        if not self.filters:
            return True
        candidate = dict(record)
        with contextlib.suppress(ValueError):
            candidate["body"] = json.loads(record["body"])
        return any(pattern.matches_event(candidate) for pattern in self.filters)


def _batch_item_failures(result: Any, ids: set[str], function_id: str) -> set[str] | None:
    if result is None or result == {}:
        return set()
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if failures is None:
        return set()
    failed = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in ids:
            log.warning("invalid batchItemFailures: the whole batch fails", function=function_id)
            return None
        failed.add(identifier)
    return failed


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [
            base64.b64encode(b).decode() for b in value.get("BinaryListValues") or []
        ],
        "dataType": value.get("DataType"),
    }


def _load_filters(criteria: Any) -> list[Any]:
    if not criteria:
        return []
    from moto.events.models import EventPattern  # moto's faithful EventBridge matcher

    patterns = []
    for entry in criteria.get("Filters") or []:
        pattern = entry.get("Pattern")
        if pattern:
            patterns.append(
                EventPattern.load(pattern if isinstance(pattern, str) else json.dumps(pattern))
            )
    return patterns
