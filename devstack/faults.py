"""Faults the local stack injects on request, to see the application handle them.

`POST /_local/faults {"crash_before_send": N}` / `{"crash_after_send": N}`: the next N
sending invocations end abruptly (as a Lambda timeout ends them: the invocation fails and
the stack's retry semantics apply), after the claim is durable and before SES is called, or
after SES accepted the message and before the send is recorded. Leases follow the stack's
clock: `POST /_local/clock` past them, and the send reconciler resolves the claims.

`POST /_local/faults {"ses_throttle": N}`: the next N SES sends fail as AWS SES fails them
when the account's maximum send rate is exceeded: HTTP 400, error code `Throttling`,
message `Maximum sending rate exceeded.` (a botocore `ClientError`). `{"ses_throttle": 0}`
clears what remains; `GET /_local/faults` answers what remains and how many were injected.

The hook is the narrowest point every send crosses: moto's SES backend (v1 and v2 share it;
SES v2 `SendEmail` calls the v1 backend's `send_email` / `send_raw_email`). A throttled
send is refused before moto records anything, so it never reaches the outbox; the caller
sees the error over HTTP exactly as from AWS, and botocore's own retries (standard mode
retries `Throttling`) count as sends too, as they would against SES.

`POST /_local/faults {"ses_reject": N}`: the next N SES sends are refused for good, as SES
refuses a message it will not carry: HTTP 400, error code `MessageRejected` (what the
application's SES adapter treats as permanent: the decision is recorded `failed` and
announced as suppressed `undeliverable`). Same hook as the throttle; nothing reaches the
outbox. `GET` lists the decision ids of the refused sends (`rejected`: their
`X-TalentOps-Decision` header), so a test can find what became of each. A refusal is for
good, as SES's is: a later send of a refused decision (a retry after the refusal could not
be recorded, a reconciler's resend) is refused again, without using up a fault.

`POST /_local/faults {"ddb_throttle": N}`: the next N DynamoDB requests of the handlers fail
as DynamoDB fails them when a table's capacity is exceeded: HTTP 400, error code
`ProvisionedThroughputExceededException` (item operations) or `ThrottlingException` (the
control plane). The hook is botocore's `before-send` event on the handlers' DynamoDB clients
(registered by the same `_make_api_call` hook), so the fault is an HTTP answer that
botocore's own retry policy sees and retries as in AWS: each attempt counts, and a call whose
attempts are all throttled raises `ClientError` in the handler.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any

from .functions import InvocationKilled
from .httpapi import HttpResponse
from .moto_patches import LOCK

SEND_METHODS = (
    "send_email",
    "send_raw_email",
    "send_templated_email",
    "send_bulk_templated_email",
)
THROTTLING_CODE = "Throttling"
THROTTLING_MESSAGE = "Maximum sending rate exceeded."
REJECTED_CODE = "MessageRejected"
REJECTED_MESSAGE = "Message rejected: the message cannot be delivered to this recipient."
DDB_THROTTLED_CODE = "ProvisionedThroughputExceededException"
DDB_THROTTLED_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
DDB_CONTROL_THROTTLED_CODE = "ThrottlingException"
DDB_CONTROL_THROTTLED_MESSAGE = "Rate of requests exceeds the allowed throughput."
# DynamoDB's data plane: a throttle there is ProvisionedThroughputExceededException.
DDB_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
DECISION_HEADER = b"X-TalentOps-Decision:"
MAX_COUNT = 1_000_000


KNOWN = (
    "ses_throttle",
    "ses_reject",
    "ddb_throttle",
    "crash_before_send",
    "crash_after_send",
)


class Faults:
    """What remains to inject (thread-safe: handlers send from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = dict.fromkeys(KNOWN, 0)
        self._injected = dict.fromkeys(KNOWN, 0)
        self._rejected: list[str] = []

    def set(self, name: str, count: int) -> None:
        with self._lock:
            self._remaining[name] = count

    def take(self, name: str) -> bool:
        """True (and one fewer remains) when this send is to get fault ``name``."""
        with self._lock:
            if self._remaining[name] <= 0:
                return False
            self._remaining[name] -= 1
            self._injected[name] += 1
            return True

    def set_ses_throttle(self, count: int) -> None:
        self.set("ses_throttle", count)

    def take_ses_throttle(self) -> bool:
        return self.take("ses_throttle")

    def note_rejected(self, decision_id: str) -> None:
        with self._lock:
            self._rejected.append(decision_id)

    def was_rejected(self, decision_id: str) -> bool:
        """True when SES refused this decision before: the refusal holds for its resends."""
        with self._lock:
            return bool(decision_id) and decision_id in self._rejected

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self._remaining,
                "injected": dict(self._injected),
                "rejected": list(self._rejected),
            }

    def update(self, body: bytes) -> str | None:
        """Applies a `POST /_local/faults` body; the problem when it is not valid."""
        try:
            document = json.loads(body or b"null")
        except ValueError:
            document = None
        if not isinstance(document, dict) or not document:
            return 'expected a JSON object, e.g. {"ses_throttle": 3}'
        unknown = sorted(set(document) - set(KNOWN))
        if unknown:
            return f"unknown fault {unknown[0]!r} (known: {', '.join(KNOWN)})"
        for name, count in document.items():
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
                return f"{name} must be an integer from 0 to {MAX_COUNT}"
        for name, count in document.items():
            self.set(name, count)
        return None


FAULTS = Faults()


def handle(faults: Faults, method: str, body: bytes) -> HttpResponse:
    """`GET` / `POST /_local/faults`."""
    if method == "POST":
        problem = faults.update(body)
        if problem is not None:
            return HttpResponse.error(400, "bad_request", problem)
    elif method != "GET":
        return HttpResponse.error(405, "method_not_allowed", "GET or POST")
    return HttpResponse.json(200, faults.state())


def _error_classes() -> tuple[type[Exception], type[Exception]]:
    from moto.core.exceptions import ServiceException

    class Throttling(ServiceException):
        code = THROTTLING_CODE
        message = THROTTLING_MESSAGE

    class MessageRejected(ServiceException):
        code = REJECTED_CODE
        message = REJECTED_MESSAGE

    return Throttling, MessageRejected


def _decision_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The ``X-TalentOps-Decision`` header of a raw send's message ("" when none)."""
    raw = kwargs.get("raw_data", args[2] if len(args) > 2 else None)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if not isinstance(raw, bytes):
        return ""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if line[: len(DECISION_HEADER)].lower() == DECISION_HEADER.lower():
            return line[len(DECISION_HEADER) :].strip().decode("ascii", "replace")
    return ""


def _wrap(
    original: Any, faults: Faults, throttling: type[Exception], rejected: type[Exception]
) -> Any:
    @functools.wraps(original)
    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        if faults.take_ses_throttle():
            raise throttling()
        decision_id = _decision_of(args, kwargs)
        if faults.was_rejected(decision_id):
            raise rejected()
        if faults.take("ses_reject"):
            faults.note_rejected(decision_id)
            raise rejected()
        return original(self, *args, **kwargs)

    send._devstack_original = original  # type: ignore[attr-defined]
    return send


def install(faults: Faults = FAULTS) -> Callable[[], None]:
    """Wraps moto's SES send methods to consult ``faults``; returns the undo. Installing
    again replaces the Faults consulted (the wrappers never stack)."""
    from moto.ses.models import SESBackend

    # moto warns that "Throttling" is not an error shape of SES v2's model; it serializes
    # the error all the same (the code in x-amzn-ErrorType, the message in the body).
    warnings.filterwarnings("ignore", message=r"Exception\(Throttling\)", category=UserWarning)
    throttling, rejected = _error_classes()
    originals: dict[str, Any] = {}
    for name in SEND_METHODS:
        current = getattr(SESBackend, name, None)
        if current is None:
            continue
        original = getattr(current, "_devstack_original", current)
        originals[name] = original
        setattr(SESBackend, name, _wrap(original, faults, throttling, rejected))

    undo_crashes = _install_crashes(faults)
    _register_acceptance_lookup()

    def uninstall() -> None:
        for name, original in originals.items():
            setattr(SESBackend, name, original)
        undo_crashes()

    return uninstall


SEND_OPERATIONS = {("sesv2", "SendEmail"), ("ses", "SendEmail"), ("ses", "SendRawEmail")}


def _install_crashes(faults: Faults) -> Callable[[], None]:
    """The crash faults, at the one point of the handler's process every send crosses: the
    botocore call (the handlers run in this process). ``crash_before_send`` ends the
    invocation before SES is called (the claim is durable by then); ``crash_after_send``
    after SES accepted, before the application records the send."""
    from botocore.client import BaseClient

    current = BaseClient._make_api_call
    original = getattr(current, "_devstack_original", current)

    throttle = functools.partial(_ddb_throttled, faults)

    @functools.wraps(original)
    def call(self: Any, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.service_name
        if service == "dynamodb" and not getattr(self, "_devstack_ddb_faults", False):
            # Once per client: every HTTP attempt of its calls asks for a throttle first.
            self.meta.events.register_first("before-send.dynamodb", throttle)
            self._devstack_ddb_faults = True
        if (service, operation_name) not in SEND_OPERATIONS:
            return original(self, operation_name, api_params)
        if faults.take("crash_before_send"):
            raise InvocationKilled("crash_before_send: the invocation ended before SES")
        result = original(self, operation_name, api_params)
        if faults.take("crash_after_send"):
            raise InvocationKilled("crash_after_send: the invocation ended after SES accepted")
        return result

    call._devstack_original = original  # type: ignore[attr-defined]
    BaseClient._make_api_call = call  # type: ignore[method-assign]

    def uninstall() -> None:
        BaseClient._make_api_call = original  # type: ignore[method-assign]

    return uninstall


class _Body:
    """The raw body of a response botocore reads (``stream()``)."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


def _ddb_throttled(faults: Faults, request: Any, **kwargs: Any) -> Any:
    """``before-send.dynamodb``: DynamoDB's throttling answer instead of sending, when the
    fault is due (None sends the request as usual)."""
    if not faults.take("ddb_throttle"):
        return None
    from botocore.awsrequest import AWSResponse

    target = request.headers.get("X-Amz-Target") or ""
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    operation = str(target).rsplit(".", 1)[-1]
    if operation in DDB_ITEM_OPERATIONS:
        code, message = DDB_THROTTLED_CODE, DDB_THROTTLED_MESSAGE
    else:
        code, message = DDB_CONTROL_THROTTLED_CODE, DDB_CONTROL_THROTTLED_MESSAGE
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
    ).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Content-Length": str(len(body)),
        "x-amzn-RequestId": uuid.uuid4().hex.upper(),
    }
    return AWSResponse(request.url, 400, headers, _Body(body))


def sent_with_decision(decision_id: str) -> str | None:
    """The SES message id of the mail moto accepted with this decision id in its
    ``X-TalentOps-Decision`` header (what SES's Send event tells in AWS)."""
    from moto.ses.models import ses_backends

    needle = f"X-TalentOps-Decision: {decision_id}"
    with LOCK:  # a snapshot: other threads write moto's backends
        sent = [
            message
            for regions in list(ses_backends.values())
            for backend in list(regions.values())
            for message in list(getattr(backend, "sent_messages", []))
        ]
    for message in sent:
        raw = getattr(message, "raw_data", None)
        if raw is None:
            continue
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        if needle in text.split("\r\n\r\n", 1)[0] or needle in text.split("\n\n", 1)[0]:
            return str(message.id)
    return None


def _register_acceptance_lookup() -> None:
    """Lets the application's claim resolution (talentops.delivery.leases) see what moto's
    SES accepted, as the configuration set's Send events let it in AWS."""
    try:
        from talentops.delivery import leases
    except ImportError:  # the application is not on the path (a test of the stack alone)
        return
    if sent_with_decision not in leases.ACCEPTANCE_LOOKUPS:
        leases.ACCEPTANCE_LOOKUPS.append(sent_with_decision)
