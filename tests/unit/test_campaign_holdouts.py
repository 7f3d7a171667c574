"""A campaign's holdout (issue 13): the definition's share and its bounds, the per-candidate
decision (held out after the contact policy, never deferred), and the counts of the preview
and of the status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talentops.adapters.campaigns import CampaignCounts
from talentops.campaigns.model import validate_campaign
from talentops.campaigns.preview import aggregate_preview
from talentops.campaigns.service import campaign_view
from talentops.delivery.holdouts import held_out
from talentops.models.state import Assignment
from tests.unit.test_campaign_launch import record
from tests.unit.test_campaign_model import MESSAGES, VALID, _decide, _pool, _problems, _profile

HELD = validate_campaign({**VALID, "holdout": 0.5}, messages=MESSAGES)
NAME = "campaign:Spring hiring: data"


@pytest.mark.parametrize("share", [0, -0.1, 0.51, 1, "a lot"])
def test_a_share_outside_0_to_half_names_its_path(share: object) -> None:
    problems = _problems({**VALID, "holdout": share})
    assert list(problems) == ["holdout"]
    if share != "a lot":
        assert "more than 0 and at most 0.5" in problems["holdout"]


def test_a_campaign_without_a_holdout_keeps_its_fingerprint() -> None:
    plain = validate_campaign(VALID, messages=MESSAGES)
    assert "holdout" not in plain.model_dump(mode="json", exclude_none=True)
    assert HELD.fingerprint() != plain.fingerprint()
    assert HELD.holdouts()[0].name == NAME and HELD.holdouts()[0].share == 0.5


def test_the_held_out_are_decided_then_suppressed_holdout_and_never_deferred() -> None:
    night = datetime(2026, 6, 10, 22, tzinfo=UTC)  # midnight in Berlin: quiet hours
    seen = {"held": 0, "sent": 0}
    for n in range(200):
        profile = _profile(f"c_h{n:06d}")
        result = _decide(profile, campaign=HELD, now=night)
        assert result is not None
        decision = result.decision
        if held_out(profile.candidate_id, NAME, 0.5):
            seen["held"] += 1
            assert result.action == "suppress" and decision.reason == "holdout"
            assert decision.experiments == [Assignment(experiment=NAME, arm="holdout")]
            assert decision.send_trace() is None and result.deferred_until is None
        else:
            seen["sent"] += 1
            assert result.action == "defer"
            assert decision.experiments == [Assignment(experiment=NAME, arm="treatment")]
    assert seen["held"] > 60 and seen["sent"] > 60
    # Not in consent: no_consent, whatever the hash.
    held = next(f"c_h{n:06d}" for n in range(50) if held_out(f"c_h{n:06d}", NAME, 0.5))
    assert _decide(_profile(held, consent=None), campaign=HELD).decision.reason == "no_consent"


def test_the_preview_counts_the_held_out_apart_from_would_send() -> None:
    pool = _pool(1000)
    plain = aggregate_preview((p, _decide(p)) for p in pool)
    held = aggregate_preview((p, _decide(p, campaign=HELD)) for p in pool)
    assert held.held_out > 0 and "holdout" not in held.suppressed
    assert held.would_send + held.held_out == plain.would_send
    assert held.suppressed == plain.suppressed
    assert held.in_segment == held.would_send + held.held_out + sum(held.suppressed.values())
    assert held.as_dict()["held_out"] == held.held_out
    expected = sum(
        1
        for p in pool
        if (r := _decide(p)) is not None and r.will_send and held_out(p.candidate_id, NAME, 0.5)
    )
    assert held.held_out == expected


def test_the_status_counts_held_out_apart_from_suppressed() -> None:
    assert not CampaignCounts(held_out=1).empty()
    view = campaign_view(
        record("launched", messages_done=2, sent=7, held_out=5, suppressed={"no_consent": 2})
    )
    counts = view["counts"]
    assert counts["held_out"] == 5 and counts["suppressed_total"] == 2 and counts["sent"] == 7
    assert campaign_view(record("launching"))["counts"]["held_out"] == 0
