"""The demo's world and checks (scripts/demo_insight.py), pure: the draws give each rate its
probability, opened implies delivered and clicked opened, the same seed gives the same
draws, and a rate is recovered within TOLERANCE_SIGMAS standard errors, a lift when its
truth is inside the report's interval."""

from __future__ import annotations

from collections import Counter

import pytest

from scripts.demo_insight import TOLERANCE_SIGMAS, WORLD, Rates, World, check_lift, check_rate

IDS = [f"c_{n:020x}" for n in range(20_000)]


def test_the_draws_give_each_rate_its_probability_and_nest() -> None:
    rates = WORLD.variants["senior"]
    seen: Counter[str] = Counter()
    for cid in IDS:
        kinds = WORLD.engagement(cid, "senior")
        assert kinds == ["delivery", "open", "click"][: len(kinds)]
        seen.update(kinds)
    n = len(IDS)
    for kind, p in (("delivery", rates.delivery), ("open", rates.open), ("click", rates.click)):
        assert abs(seen[kind] / n - p) <= 4 * (p * (1 - p) / n) ** 0.5, kind


def test_applications_follow_the_arm_and_fall_inside_the_window() -> None:
    applied = {"treatment": 0, "holdout": 0}
    for cid in IDS:
        for arm in applied:
            after = WORLD.application_after(cid, arm, "default")
            if after is not None:
                applied[arm] += 1
                assert 1 <= after.total_seconds() / 3600 <= 13 * 24
    n = len(IDS)
    for arm, p in (
        ("treatment", WORLD.variants["default"].application),
        ("holdout", WORLD.holdout_application),
    ):
        assert abs(applied[arm] / n - p) <= 4 * (p * (1 - p) / n) ** 0.5, arm


def test_the_same_seed_draws_the_same_and_another_seed_differs() -> None:
    again = World(WORLD.seed, WORLD.variants, WORLD.holdout_application)
    other = World(WORLD.seed + 1, WORLD.variants, WORLD.holdout_application)
    draws = [WORLD.engagement(c, "de") for c in IDS[:500]]
    assert draws == [again.engagement(c, "de") for c in IDS[:500]]
    assert draws != [other.engagement(c, "de") for c in IDS[:500]]


def test_the_true_lift_weights_the_variants_sent() -> None:
    world = World(
        1,
        {"a": Rates(1, 0.5, 0.1, 0.30), "b": Rates(1, 0.5, 0.1, 0.10)},
        holdout_application=0.05,
    )
    assert world.lift({"a": 3, "b": 1}) == pytest.approx(0.75 * 0.30 + 0.25 * 0.10 - 0.05)


def test_rates_must_nest() -> None:
    with pytest.raises(ValueError):
        Rates(delivery=0.5, open=0.6, click=0.1, application=0.1)


def test_a_rate_is_recovered_within_its_standard_errors_over_the_reports_n() -> None:
    tolerance = TOLERANCE_SIGMAS * (0.5 * 0.5 / 100) ** 0.5  # 0.2
    row = {"numerator": 69, "denominator": 100, "value": 0.69, "ci95": [0.59, 0.77]}
    assert check_rate("open_rate", "a", 0.5, row).ok
    assert not check_rate("open_rate", "a", 0.5, {**row, "value": 0.5 + tolerance + 0.01}).ok
    # Four times the messages, half the tolerance.
    big = {"numerator": 276, "denominator": 400, "value": 0.69, "ci95": [0.64, 0.73]}
    assert not check_rate("open_rate", "a", 0.5, big).ok
    assert not check_rate("open_rate", "a", 0.5, {"denominator": 0, "value": None}).ok


def test_a_lift_is_recovered_when_its_truth_is_inside_the_interval() -> None:
    row = {
        "numerator": 30,
        "denominator": 200,
        "value": 0.1,
        "ci95": [0.04, 0.16],
        "control": {"numerator": 3, "denominator": 60},
    }
    assert check_lift("all", 0.05, row).ok
    assert not check_lift("all", 0.17, row).ok
    assert check_lift("all", 0.05, row).n == 260
    assert not check_lift("all", 0.05, {**row, "value": None, "ci95": None}).ok
