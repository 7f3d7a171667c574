"""The list of campaigns (GET /admin/campaigns): the status filter, the page token, the
summary of a campaign. Pure: the Query is adapters.campaigns.CampaignRepository.list_campaigns.

The ``next`` token is opaque to clients: base64url (no padding) of compact JSON
``{"v": 1, "after": "<list position>", "status": "<filter>" | null}``. The position is the
sort key of the last campaign examined in the campaigns_by_created index
(``<created_at UTC, microseconds>Z#<campaign id>``). A token is validated, not signed: its
shape, its version, the position's exact pattern, and that it was issued for the same
``status`` filter (a token of another filter is refused, 400, rather than answering a page
that is not the one asked for). Forging one can only choose where in the campaign list a
page starts, which any caller of the route may read anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import TalentOpsError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_TOKEN = 300
# What ``status`` may filter on: the view's statuses, and ``running`` (launching, or
# launched with work left: the campaign is sending).
STATUSES = (
    "draft",
    "scheduled",
    "launching",
    "launched",
    "sent",
    "paused",
    "cancelled",
    "running",
)
_POSITION = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#cmp_[0-9a-f]{16}$",
)


class InvalidListQueryError(TalentOpsError):
    """A bad ``next`` token (400)."""

    code = "invalid_next"


@dataclass(frozen=True)
class ListQuery:
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    after: str | None = None  # the list position the page starts right after


def keeps(wanted: str | None, status: str) -> bool:
    """Whether a campaign whose view shows ``status`` is listed under the filter ``wanted``."""
    if wanted is None:
        return True
    if wanted == "running":
        return status in ("launching", "launched")
    return status == wanted


def next_token(position: str, status: str | None) -> str:
    data = {"v": 1, "after": position, "status": status}
    text = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode("ascii")


def list_query(status: str | None, limit: int | None, token: str | None) -> ListQuery:
    """The query of a request; InvalidListQueryError for a token that is not one of ours, or
    one issued for another status filter (``status`` and ``limit`` are checked by the route's
    parameter validation; checked here again for other callers)."""
    if status is not None and status not in STATUSES:
        raise InvalidListQueryError(f"status must be one of {', '.join(STATUSES)}")
    size = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= size <= MAX_LIMIT:
        raise InvalidListQueryError(f"limit must be 1 to {MAX_LIMIT}")
    if token is None:
        return ListQuery(status, size)
    return ListQuery(status, size, _position(token, status))


def _position(token: str, status: str | None) -> str:
    bad = InvalidListQueryError("next is not a token of this list: pass the `next` it answered")
    if not token or len(token) > MAX_TOKEN or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data: Any = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise bad from exc
    if not isinstance(data, dict) or set(data) != {"v", "after", "status"} or data["v"] != 1:
        raise bad
    after = data["after"]
    if not isinstance(after, str) or not _POSITION.match(after):
        raise bad
    if data["status"] != status:
        raise InvalidListQueryError(
            "next was answered for another status filter: ask with the same status"
        )
    return after


def campaign_summary(view: dict[str, Any]) -> dict[str, Any]:
    """A campaign as the list shows it: what it is, its status, and its main counts."""
    counts = view.get("counts") or {}
    return {
        "campaign_id": view["campaign_id"],
        "name": view.get("name"),
        "purpose": view.get("purpose"),
        "template": view.get("template"),
        "status": view["status"],
        "created_at": view.get("created_at"),
        "launched_at": view.get("launched_at"),
        "send_at": view.get("send_at"),
        "counts": {
            "queued": int(counts.get("queued", 0)),
            "sent": int(counts.get("sent", 0)),
            "suppressed_total": int(counts.get("suppressed_total", 0)),
            "waiting": int(counts.get("waiting", 0)),
            "failed": int(counts.get("failed", 0)),
        },
    }
