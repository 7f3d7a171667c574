"""One injectable clock. Every "now" in the system comes from here.

In AWS it is the wall clock. The local stack advances it (POST /_local/clock) by setting an
offset; tests pass their own `Clock` to services or call `set_offset`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset: timedelta = timedelta(0), fixed: datetime | None = None):
        self.offset = offset
        self.fixed = fixed

    def now(self) -> datetime:
        base = self.fixed if self.fixed is not None else datetime.now(UTC)
        return base + self.offset

    def advance(self, seconds: float) -> datetime:
        self.offset += timedelta(seconds=seconds)
        return self.now()


SYSTEM_CLOCK = Clock()


def now() -> datetime:
    return SYSTEM_CLOCK.now()
