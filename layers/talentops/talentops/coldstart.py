"""A Lambda function's cold start without the garbage collector's rescans.

Importing a function's modules and its first call make some 100,000 objects that live as long
as the execution environment: modules, classes, pydantic's validators, boto3's service
models, the catalogue. While they are made, Python's collector scans them again and again
(every 700 new objects, and a full collection of everything once the young generations have
been collected ten times) and finds almost nothing to free: about a tenth of a function's
cold start on the bench's machine.

In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set), importing ``talentops`` turns the collector
off (`defer_collection`). Each function's handler is wrapped in `collect_after_first_call`:
when the first invocation ends, what exists then is moved into the permanent generation
(``gc.freeze``: no later collection scans it again) and the collector is turned back on.
Reference counting frees everything without a cycle all along; cycles made during the first
invocation wait for the next collection, or stay in the frozen set if they are already
unreachable by then (a few megabytes at most). Outside Lambda (tests, scripts, the local
stack) nothing changes.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])

# "deferred": the collector is off because of `defer_collection` (until the first call ends).
_state = {"deferred": False}


def defer_collection() -> None:
    """Turn the collector off until the first invocation ends, in Lambda only."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled() and not _state["deferred"]:
        gc.disable()
        _state["deferred"] = True


def resume_collection() -> None:
    """Freeze what the cold start made and turn the collector back on (once)."""
    if _state["deferred"]:
        _state["deferred"] = False
        gc.freeze()
        gc.enable()


def collect_after_first_call(handler: Handler) -> Handler:
    """A function's handler (the outermost wrapper): the collector resumes when its first
    invocation ends, whether it returned or raised."""

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(event, context, *args, **kwargs)
        finally:
            resume_collection()

    wrapped.collects_after_first_call = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
