"""Faults the local stack injects on request, to see the application handle them.

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


class Faults:
    """What remains to inject (thread-safe: handlers send from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ses_throttle = 0
        self._ses_throttled = 0

    def set_ses_throttle(self, count: int) -> None:
        with self._lock:
            self._ses_throttle = count

    def take_ses_throttle(self) -> bool:
        """True (and one fewer remains) when this send is to be throttled."""
        with self._lock:
            if self._ses_throttle <= 0:
                return False
            self._ses_throttle -= 1
            self._ses_throttled += 1
            return True

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "ses_throttle": self._ses_throttle,
                "injected": {"ses_throttle": self._ses_throttled},
            }

    def update(self, body: bytes) -> str | None:
        """Applies a `POST /_local/faults` body; the problem when it is not valid."""
        try:
            document = json.loads(body or b"null")
        except ValueError:
            document = None
        if not isinstance(document, dict) or not document:
            return 'expected a JSON object, e.g. {"ses_throttle": 3}'
        unknown = sorted(set(document) - {"ses_throttle"})
        if unknown:
            return f"unknown fault {unknown[0]!r} (known: ses_throttle)"
        count = document["ses_throttle"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            return f"ses_throttle must be an integer from 0 to {MAX_COUNT}"
        self.set_ses_throttle(count)
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

    def uninstall() -> None:
        for name, original in originals.items():
            setattr(SESBackend, name, original)

    return uninstall
