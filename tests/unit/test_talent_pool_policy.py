"""The talent pool policy as configuration: the shipped file, overrides by environment,
refusal of bad configuration, and freshness of fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from talentops.models.state import FieldValue, Profile
from talentops.talent_pool.policy import (
    PolicyError,
    freshness_problem,
    load_policy,
    stale_fields,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_shipped_policy():
    policy = load_policy({})
    assert policy.merge.authority["seniority"] == ("ats",)
    assert "city" not in policy.merge.authority  # newest wins, whatever the source
    assert policy.freshness["city"] == timedelta(days=180)
    assert policy.freshness["seniority"] == timedelta(days=180)
    alerts = policy.job_alerts
    assert (alerts.seniority_band, alerts.cap_limit, alerts.cap_window_days) == (1, 3, 7)


def test_override_inline_json_is_laid_over_the_shipped_file():
    override = {"fields": {"city": {"fresh_for_days": 30}}, "job_alerts": {"cap_limit": 5}}
    policy = load_policy({"TALENT_POOL_POLICY": json.dumps(override)})
    assert policy.freshness["city"] == timedelta(days=30)
    assert policy.freshness["seniority"] == timedelta(days=180)  # untouched
    assert policy.job_alerts.cap_limit == 5 and policy.job_alerts.cap_window_days == 7


def test_override_from_a_yaml_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("fields:\n  city:\n    authority: [crm]\n    fresh_for_days: 90\n")
    policy = load_policy({"TALENT_POOL_POLICY": str(path)})
    assert policy.merge.authority["city"] == ("crm",)
    assert policy.freshness["city"] == timedelta(days=90)


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"fields": {"city": {"fresh_days": 3}}}, "fields.city.fresh_days"),
        ({"job_alerts": {"cap_limt": 3}}, "job_alerts.cap_limt"),
        ({"fields": {"city": {"fresh_for_days": 0}}}, "fresh_for_days"),
        ({"version": 2}, "version"),
    ],
)
def test_bad_configuration_is_refused_naming_where(override, says):
    with pytest.raises(PolicyError, match=says.replace(".", r"\.")):
        load_policy({"TALENT_POOL_POLICY": json.dumps(override)})


def test_unreadable_override_names_the_variable(tmp_path):
    with pytest.raises(PolicyError, match="TALENT_POOL_POLICY"):
        load_policy({"TALENT_POOL_POLICY": str(tmp_path / "missing.yaml")})


def _profile(**ages_in_days):
    p = Profile(candidate_id="c_test0001")
    for name, age in ages_in_days.items():
        p.fields[name] = FieldValue(
            value="x", source="talent.crm", observed_at=NOW - timedelta(days=age)
        )
    return p


def test_stale_fields_say_since_when():
    windows = {"city": timedelta(days=180), "seniority": timedelta(days=180)}
    stale = stale_fields(_profile(city=200, seniority=10, skills=900), windows, NOW)
    assert list(stale) == ["city"]  # skills has no window: never stale
    assert stale["city"].stale_since == NOW - timedelta(days=20)
    described = stale["city"].describe()
    assert described.startswith("city stale since 2026-11-11T00:00:00+00:00")
    assert "via talent.crm" in described and "fresh for 180 days" in described


def test_freshness_problem_includes_a_field_never_observed():
    windows = {"city": timedelta(days=180)}
    assert freshness_problem(_profile(city=10), "city", windows, NOW) is None
    missing = freshness_problem(_profile(), "city", windows, NOW)
    assert missing is not None and missing.describe() == "city never observed"
    exactly = freshness_problem(_profile(city=180), "city", windows, NOW)
    assert exactly is not None  # the window is [observed_at, observed_at + window)
