"""The pure parts of the preview job and of the pool's read: merging the segments' previews,
the preview's messages, what a segment projects, and the fast item parser of pool Scans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from talentops.adapters.campaigns import PreviewState
from talentops.campaigns.launch import CampaignMessage, parse_message
from talentops.campaigns.model import Campaign
from talentops.campaigns.preview import merge_previews
from talentops.campaigns.preview_job import (
    PREVIEW_FRESH,
    PREVIEW_STALLED,
    PreviewMessage,
    done_view,
    is_fresh,
    is_stalled,
    preview_moment,
    running_view,
)

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def part(scanned: int, **counts: Any) -> dict[str, Any]:
    return {
        "scanned": scanned,
        "in_segment": counts.get("in_segment", 0),
        "would_send": counts.get("would_send", 0),
        "held_out": counts.get("held_out", 0),
        "by_variant": counts.get("by_variant", {}),
        "suppressed": counts.get("suppressed", {}),
        "deferred": counts.get("deferred", {}),
        "samples": counts.get("samples", []),
        "held_back": counts.get("held_back", []),
    }


def sample(candidate: str, variant: str) -> dict[str, Any]:
    return {"candidate_id": candidate, "variant": variant, "action": "send", "reasons": []}


def test_merging_adds_the_counts_and_keeps_one_example_of_each_reason():
    merged = merge_previews(
        [
            part(
                10,
                in_segment=4,
                would_send=3,
                by_variant={"de": 2, "default": 1},
                suppressed={"no_consent": 1},
                deferred={"quiet_hours": 1},
                held_back=[{"candidate_id": "c_a", "reason": "no_consent", "reasons": ["x"]}],
                held_out=2,
            ),
            part(0),  # an empty segment
            part(
                7,
                in_segment=3,
                would_send=1,
                by_variant={"default": 1},
                suppressed={"no_consent": 1, "consent_withdrawn": 1},
                held_out=1,
                held_back=[
                    {"candidate_id": "c_b", "reason": "no_consent", "reasons": ["y"]},
                    {"candidate_id": "c_c", "reason": "consent_withdrawn", "reasons": ["z"]},
                ],
            ),
        ]
    )
    assert (merged["scanned"], merged["in_segment"], merged["would_send"]) == (17, 7, 4)
    assert merged["held_out"] == 3  # a holdout's, apart from would_send in every segment
    assert merged["by_variant"] == {"de": 2, "default": 2}
    assert merged["suppressed"] == {"consent_withdrawn": 1, "no_consent": 2}
    assert merged["deferred"] == {"quiet_hours": 1}
    assert [h["candidate_id"] for h in merged["held_back"]] == ["c_a", "c_c"]


def test_merged_samples_are_one_of_each_variant_before_a_second_of_any():
    merged = merge_previews(
        [
            part(1, samples=[sample("c_1", "de"), sample("c_2", "de"), sample("c_3", "de")]),
            part(1, samples=[sample("c_4", "default"), sample("c_5", "de")]),
            part(1, samples=[sample("c_6", "senior")]),
        ],
        samples=4,
    )
    assert [s["candidate_id"] for s in merged["samples"]] == ["c_1", "c_4", "c_6", "c_2"]
    assert merge_previews([], samples=3)["samples"] == []


def test_preview_messages_are_told_apart_from_the_campaign_queues():
    body = PreviewMessage(
        campaign_id="cmp_0123456789abcdef",
        run="prv_0123456789abcdef",
        segment=3,
        segments=16,
        at=NOW,
    ).model_dump_json()
    message = parse_message(body)
    assert isinstance(message, PreviewMessage) and message.segment == 3
    fanout = CampaignMessage(kind="fanout", campaign_id="cmp_0123456789abcdef")
    assert isinstance(parse_message(fanout.model_dump_json()), CampaignMessage)
    for bad in ('{"kind": "preview", "campaign_id": "cmp_0123456789abcdef"}', "{not json"):
        with pytest.raises(ValidationError):
            parse_message(bad)
    with pytest.raises(ValidationError):  # a run id of another shape
        PreviewMessage(campaign_id="cmp_0123456789abcdef", run="x", segment=0, segments=1, at=NOW)


def test_a_preview_is_fresh_for_ten_minutes_and_stalled_after_fifteen():
    state = PreviewState(
        run="prv_0123456789abcdef",
        state="running",
        started_at=NOW,
        at=NOW,
        segments=4,
        done=frozenset({0, 2}),
        progress={"0": 100, "1": 40, "2": 90},
    )
    assert running_view("cmp_x", state) == {
        "campaign_id": "cmp_x",
        "preview": "running",
        "scanned": 230,
        "segments": 4,
        "segments_done": 2,
        "started_at": NOW.isoformat(),
    }
    assert is_fresh(state, NOW + PREVIEW_FRESH - timedelta(seconds=1))
    assert not is_fresh(state, NOW + PREVIEW_FRESH)
    assert not is_stalled(state, NOW + PREVIEW_STALLED - timedelta(seconds=1))
    assert is_stalled(state, NOW + PREVIEW_STALLED)
    done = PreviewState(**{**state.__dict__, "state": "done"})
    assert not is_stalled(done, NOW + timedelta(days=1))
    view = done_view(done, {"campaign_id": "cmp_x", "scanned": 230}, NOW + timedelta(minutes=11))
    assert view["preview"] == "done" and view["stale"] is True
    assert view["fresh_until"] == (NOW + PREVIEW_FRESH).isoformat()


def _campaign(**changes: Any) -> Campaign:
    data = {
        "name": "n",
        "purpose": "marketing",
        "segment": [
            {"field": "role_family", "op": "eq", "value": "data"},
            {"field": "country", "op": "in", "value": ["DE"]},
            {"field": "behaviours.job_viewed.at", "op": "within_days", "value": 30},
        ],
        "content": {"template": "spring_hiring"},
        **changes,
    }
    return Campaign.model_validate(data)


def test_a_segment_projects_only_what_it_reads_and_previews_decide_at_send_at():
    assert _campaign().segment_attributes() == (
        "candidate_id",
        "fields.role_family",
        "fields.country",
        "behaviours.job_viewed",
    )
    assert preview_moment(_campaign(), NOW) == NOW
    later = NOW + timedelta(days=2)
    assert preview_moment(_campaign(send_at=later.isoformat()), NOW) == later
