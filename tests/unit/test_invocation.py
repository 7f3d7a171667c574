"""A send claim's lease runs to the invocation's deadline (issue 11, item 5)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from talentops import invocation
from talentops.delivery.leases import LEASE, MARGIN, lease_until

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def test_outside_an_invocation_the_lease_is_the_longest_run_and_the_margin() -> None:
    assert invocation.remaining() is None
    assert lease_until(NOW) == NOW + LEASE + MARGIN


def test_inside_an_invocation_the_lease_ends_at_its_deadline_and_the_margin() -> None:
    seen: dict[str, Any] = {}

    @invocation.bounded
    def handler(event: Any, context: Any) -> str:
        seen["until"] = lease_until(NOW)
        return "done"

    assert handler({}, Context(40_000)) == "done"
    assert (
        NOW + timedelta(seconds=39) + MARGIN < seen["until"] <= NOW + timedelta(seconds=40) + MARGIN
    )
    assert invocation.remaining() is None  # over with the invocation


def test_a_deadline_beyond_lambdas_limit_is_held_to_it_and_one_past_is_zero() -> None:
    invocation.begin(Context(3_600_000))
    try:
        assert lease_until(NOW) == NOW + LEASE + MARGIN
    finally:
        invocation.end()
    invocation.begin(Context(0))
    try:
        assert lease_until(NOW) <= NOW + MARGIN
    finally:
        invocation.end()


def test_a_context_without_a_clock_falls_back_to_the_longest_run() -> None:
    invocation.begin(object())
    try:
        assert lease_until(NOW) == NOW + LEASE + MARGIN
    finally:
        invocation.end()


def test_invocations_side_by_side_keep_their_own_deadlines() -> None:
    """The local stack runs invocations in threads of one process."""
    found: dict[int, datetime] = {}
    ready = threading.Barrier(2)

    @invocation.bounded
    def handler(event: int, context: Any) -> None:
        ready.wait()
        found[event] = lease_until(NOW)

    threads = [threading.Thread(target=handler, args=(n, Context(n * 60_000))) for n in (1, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found[1] <= NOW + timedelta(minutes=1) + MARGIN
    assert found[10] > NOW + timedelta(minutes=9) + MARGIN
