"""The campaign list's pure parts (campaigns/listing.py): the page token, the status filter,
the list position of a campaign."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from talentops.adapters.campaigns import list_order
from talentops.campaigns.listing import (
    DEFAULT_LIMIT,
    InvalidListQueryError,
    ListQuery,
    keeps,
    list_query,
    next_token,
)

POSITION = "2026-12-02T10:00:00.000000Z#cmp_0123456789abcdef"


def _token(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_token_comes_back_as_its_position_for_the_same_filter():
    for status in (None, "running", "draft"):
        token = next_token(POSITION, status)
        assert "=" not in token and "{" not in token  # opaque, URL-safe
        assert list_query(status, 5, token) == ListQuery(status, 5, POSITION)
    assert list_query(None, None, None) == ListQuery(None, DEFAULT_LIMIT, None)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token",
        "e30",  # {}
        _token({"v": 2, "after": POSITION, "status": None}),
        _token({"v": 1, "after": POSITION}),
        _token({"v": 1, "after": POSITION, "status": None, "extra": 1}),
        _token({"v": 1, "after": "2026-12-02#cmp_0123456789abcdef", "status": None}),
        _token({"v": 1, "after": POSITION + "x", "status": None}),
        _token({"v": 1, "after": 5, "status": None}),
        _token([POSITION]),
        next_token(POSITION, None)[:-2],
        "A" * 400,
        base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
    ],
)
def test_anything_else_is_refused(token):
    with pytest.raises(InvalidListQueryError) as refused:
        list_query(None, 10, token)
    assert refused.value.code == "invalid_next"


def test_a_token_of_another_filter_is_refused():
    with pytest.raises(InvalidListQueryError, match="another status filter"):
        list_query("draft", 10, next_token(POSITION, "sent"))
    with pytest.raises(InvalidListQueryError):
        list_query(None, 10, next_token(POSITION, "sent"))


@pytest.mark.parametrize(("status", "limit"), [("finished", 10), (None, 0), (None, 101)])
def test_a_bad_status_or_limit(status, limit):
    with pytest.raises(InvalidListQueryError):
        list_query(status, limit, None)


def test_running_is_launching_or_launched_with_work_left():
    assert keeps("running", "launching") and keeps("running", "launched")
    assert not any(keeps("running", s) for s in ("sent", "paused", "draft", "cancelled"))
    assert keeps(None, "cancelled") and keeps("sent", "sent") and not keeps("sent", "launched")


def test_list_positions_sort_as_the_moments_whatever_the_offset_and_precision():
    base = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    moments = [
        base,
        base + timedelta(microseconds=1),
        (base + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-5))),
        base + timedelta(hours=1),
    ]
    positions = [list_order(m, "cmp_0123456789abcdef") for m in moments]
    assert positions == sorted(positions) and len(set(positions)) == 4
    assert list_order(base, "cmp_0123456789abcdef") == POSITION
