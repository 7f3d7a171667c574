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
"""

from __future__ import annotations

import functools
import json
import threading
import warnings
from collections.abc import Callable
from typing import Any

from .functions import InvocationKilled
from .httpapi import HttpResponse

SEND_METHODS = (
    "send_email",
    "send_raw_email",
    "send_templated_email",
    "send_bulk_templated_email",
)
THROTTLING_CODE = "Throttling"
THROTTLING_MESSAGE = "Maximum sending rate exceeded."
MAX_COUNT = 1_000_000


KNOWN = ("ses_throttle", "crash_before_send", "crash_after_send")


class Faults:
    """What remains to inject (thread-safe: handlers send from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = dict.fromkeys(KNOWN, 0)
        self._injected = dict.fromkeys(KNOWN, 0)

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

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {**self._remaining, "injected": dict(self._injected)}

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


def _throttling_class() -> type[Exception]:
    from moto.core.exceptions import ServiceException

    class Throttling(ServiceException):
        code = THROTTLING_CODE
        message = THROTTLING_MESSAGE

    return Throttling


def _wrap(original: Any, faults: Faults, error: type[Exception]) -> Any:
    @functools.wraps(original)
    def send(self: Any, *args: Any, **kwargs: Any) -> Any:
        if faults.take_ses_throttle():
            raise error()
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
    error = _throttling_class()
    originals: dict[str, Any] = {}
    for name in SEND_METHODS:
        current = getattr(SESBackend, name, None)
        if current is None:
            continue
        original = getattr(current, "_devstack_original", current)
        originals[name] = original
        setattr(SESBackend, name, _wrap(original, faults, error))

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

    @functools.wraps(original)
    def call(self: Any, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.service_name
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


def sent_with_decision(decision_id: str) -> str | None:
    """The SES message id of the mail moto accepted with this decision id in its
    ``X-TalentOps-Decision`` header (what SES's Send event tells in AWS)."""
    from moto.ses.models import ses_backends

    needle = f"X-TalentOps-Decision: {decision_id}"
    for regions in list(ses_backends.values()):
        for backend in list(regions.values()):
            for message in list(getattr(backend, "sent_messages", [])):
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
