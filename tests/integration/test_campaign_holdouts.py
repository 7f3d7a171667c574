"""A campaign's holdout through the API and the worker under moto (issue 13): the preview
counts the held out as `held_out` (not in would_send), the launch sends them nothing and
announces each as `Message Suppressed` reason holdout, and the status counts `held_out`."""

from __future__ import annotations

from talentops import wiring
from talentops.delivery.holdouts import held_out
from tests.integration.test_campaigns import (
    SPRING,
    _fast_transactions,
    addresses,
    person,
    rig,
    seed,
)

__all__ = ["_fast_transactions", "rig"]  # the campaign tests' fixtures, here too

NAME = f"campaign:{SPRING['name']}"
POOL = [person(f"p{n:02d}x") for n in range(30)] + [
    person("nogrant", consent=None),  # no grant in an opt-in country: no_consent, not held out
    person("outside", role_family="design"),
]


def test_preview_and_launch_count_the_held_out_and_send_them_nothing(rig, aws):
    seed(aws, POOL)
    held = sorted(p.candidate_id for p in POOL[:30] if held_out(p.candidate_id, NAME, 0.5))
    treated = [p for p in POOL[:30] if p.candidate_id not in held]
    assert 5 <= len(held) <= 25
    campaign_id = rig.create({**SPRING, "holdout": 0.5})
    assert rig.status(campaign_id)["definition"]["holdout"] == 0.5

    preview = rig.preview(campaign_id)
    assert preview["in_segment"] == 31
    assert preview["held_out"] == len(held)
    assert preview["would_send"] == len(treated)
    assert sum(preview["by_variant"].values()) == len(treated)
    assert preview["suppressed"] == {"no_consent": 1}  # the held out are not among them
    assert rig.mails() == []

    rig.launch(campaign_id)
    rig.drain()
    assert rig.recipients() == addresses(p.candidate_id[2:-4] for p in treated)
    counts = rig.status(campaign_id)["counts"]
    assert counts["held_out"] == len(held)
    assert counts["sent"] == len(treated)
    assert counts["suppressed"] == {"no_consent": 1} and counts["suppressed_total"] == 1
    events = aws.drain()
    holdouts = [
        e["detail"]
        for e in events
        if e["detail-type"] == "Message Suppressed" and e["detail"]["reason"] == "holdout"
    ]
    assert sorted(e["candidate_id"] for e in holdouts) == held
    assert all(e["experiments"] == [{"experiment": NAME, "arm": "holdout"}] for e in holdouts)
    sent = [e["detail"] for e in events if e["detail-type"] == "Message Sent"]
    assert len(sent) == len(treated)
    assert all(e["experiments"] == [{"experiment": NAME, "arm": "treatment"}] for e in sent)
    # The held out took no room of the contact budget.
    repo = wiring.repository()
    for candidate in held:
        profile = repo.get_profile(candidate)
        assert profile is not None and profile.recent == {}
        [decision] = [d for d in repo.decisions(candidate) if d.trigger["event_id"] == campaign_id]
        assert decision.reason == "holdout" and decision.status == "suppressed"

    # Launching again changes nothing.
    rig.launch(campaign_id)
    rig.drain()
    assert rig.status(campaign_id)["counts"]["held_out"] == len(held)
    assert len(rig.mails()) == len(treated)


def test_a_holdout_share_out_of_bounds_is_422_naming_the_path(rig, aws):
    for share in (0, 0.6, -0.1, "half"):
        status, answer = rig.call("POST", "/admin/campaigns", {**SPRING, "holdout": share})
        assert status == 422, answer
        error = answer["error"]
        assert error["code"] == "invalid_campaign"
        assert [p["path"] for p in error["problems"]] == ["holdout"]
    status, answer = rig.call("POST", "/admin/campaigns", {**SPRING, "holdout": 0.7})
    assert "more than 0 and at most 0.5" in answer["error"]["problems"][0]["message"]
