"""Holdout and experiment assignment (delivery/holdouts.py): stable, proportionate, nested."""

from __future__ import annotations

import pytest

from talentops.delivery.holdouts import Arm, arm_of, bucket, check_share, held_out

IDS = [f"c_{n:06d}" for n in range(20_000)]


def test_assignment_is_stable_and_depends_only_on_candidate_and_name() -> None:
    assert [held_out(c, "spring", 0.1) for c in IDS[:50]] == [
        held_out(c, "spring", 0.1) for c in IDS[:50]
    ]
    assert bucket("c_1", "spring") == bucket("c_1", "spring")
    # Another name draws another, independent sample.
    one = {c for c in IDS if held_out(c, "spring", 0.1)}
    other = {c for c in IDS if held_out(c, "autumn", 0.1)}
    assert abs(len(one & other) / len(one) - 0.1) < 0.03


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25, 0.5])
def test_the_share_held_out_is_the_share_asked_for(share: float) -> None:
    found = sum(held_out(c, "h", share) for c in IDS) / len(IDS)
    assert abs(found - share) < 0.01


def test_a_larger_share_keeps_everyone_a_smaller_one_held_out() -> None:
    small = {c for c in IDS if held_out(c, "h", 0.1)}
    large = {c for c in IDS if held_out(c, "h", 0.2)}
    assert small <= large


@pytest.mark.parametrize("share", [0, -0.1, 0.51, 1.0])
def test_a_share_outside_0_to_half_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="more than 0 and at most 0.5"):
        check_share(share)


def test_experiment_arms_split_by_weight_and_stay_put() -> None:
    arms = [Arm("a", 3), Arm("b", 1)]
    counts = {"a": 0, "b": 0}
    for c in IDS:
        counts[arm_of(c, "subject-test", arms)] += 1
    assert abs(counts["a"] / len(IDS) - 0.75) < 0.01
    assert arm_of("c_000007", "subject-test", arms) == arm_of("c_000007", "subject-test", arms)
    with pytest.raises(ValueError):
        arm_of("c", "x", [Arm("a", 0)])
