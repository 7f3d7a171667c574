"""The ledger of recent sends on the profile (``recent``): kept only as long as it is read.

Every sender reads the ledger through a window: the contact budget (``ContactPolicy``, 7 days
by default, configurable up to a year), the frequency caps of a purpose (job alerts: the
talent pool policy's ``cap_window_days``). A trace older than the longest of those windows
counts for nothing, so each write that adds a trace also removes the traces that fell out of
it, in the same request (conditional, like the trace itself, on the profile's send counter
as read: the traces removed are exactly those read). The item then holds what the windows
hold, however many messages the candidate received over the years.

The window is the configuration's, the same in every function (they share their settings),
so that no sender removes a trace that another still counts. ``LEDGER_WINDOW_DAYS`` keeps
traces longer still: a campaign's exclusion of a purpose's recent recipients reads the
ledger (campaigns.exclusions) and may look back no further than it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from ..models.state import SentRecord

# The shortest window kept, whatever the configuration: a week (the delivery's caps).
MIN_WINDOW = timedelta(days=7)
# Removals one write carries at most (an UpdateExpression holds 4 KB): a ledger from before
# pruning drains over a few sends, a pruned one never has more than a handful to drop.
MAX_REMOVALS = 250


def longest(windows: Iterable[timedelta | None]) -> timedelta:
    """The window the ledger is kept for: the longest of ``windows`` (at least a week)."""
    return max([MIN_WINDOW, *(w for w in windows if w is not None)])


def outdated(recent: Mapping[str, SentRecord], now: datetime, window: timedelta) -> tuple[str, ...]:
    """The keys of the traces older than ``window`` at ``now``, oldest first (at most
    MAX_REMOVALS): what the next write of a trace removes."""
    since = now - window
    old = sorted((r.at, k) for k, r in recent.items() if r.at <= since)
    return tuple(k for _, k in old[:MAX_REMOVALS])


def configured_window() -> timedelta:
    """The longest window of this deployment's configuration: the contact budget and the job
    alerts' cap (settings and the talent pool policy, read once per process)."""
    from ..settings import get_settings
    from ..talent_pool.policy import default_policy

    settings = get_settings()
    return _window(
        settings.contact_policy,
        default_policy().job_alerts.cap_window_days,
        settings.ledger_window_days,
    )


@lru_cache(maxsize=4)
def _window(contact_policy: str, cap_window_days: int, ledger_days: int = 0) -> timedelta:
    from .budget import ContactPolicy

    policy = ContactPolicy.from_config(contact_policy)
    budget = policy.budget.window if policy.budget is not None else None
    return longest([budget, timedelta(days=cap_window_days), timedelta(days=ledger_days)])


def outdated_for(
    recent: Mapping[str, SentRecord], now: datetime, *windows: timedelta | None
) -> tuple[str, ...]:
    """``outdated`` at the configured window, or a longer one the caller reads through."""
    return outdated(recent, now, longest([configured_window(), *windows]))
