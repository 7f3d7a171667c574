"""The running invocation's deadline, for what must not outlive it (a send claim's lease).

A sending function's handler is wrapped in `bounded`, which notes when Lambda will end the
invocation (the context's remaining time, read on a monotonic clock). `remaining()` answers
how much of it is left; outside an invocation (a script, a test without a context) it is
None and callers fall back to the function's longest run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar

# time.monotonic() at which the invocation is ended; a context variable, so that invocations
# running side by side in one process (the local stack's threads) each keep their own.
_deadline: ContextVar[float | None] = ContextVar("invocation_deadline", default=None)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def begin(context: object) -> None:
    """Note the deadline of the invocation `context` belongs to."""
    probe = getattr(context, "get_remaining_time_in_millis", None)
    left = probe() if callable(probe) else None
    _deadline.set(time.monotonic() + left / 1000 if isinstance(left, int | float) else None)


def end() -> None:
    _deadline.set(None)


def remaining() -> timedelta | None:
    """What is left of the current invocation (never negative); None outside one."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return timedelta(seconds=max(0.0, deadline - time.monotonic()))


def bounded(handler: Handler) -> Handler:
    """A handler that records its invocation's deadline for the time it runs."""

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        begin(context)
        try:
            return handler(event, context, *args, **kwargs)
        finally:
            end()

    return wrapped  # type: ignore[return-value]
