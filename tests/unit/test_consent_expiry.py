"""Consent lapses after a configured age (issue #4); re-permission is asked before."""

from datetime import UTC, datetime, timedelta

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.models.state import ConsentState, FieldValue, Profile

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _profile(country, status="granted", at=T0):
    p = Profile(candidate_id="c_test01")
    if country:
        p.fields["country"] = FieldValue(value=country, source="talent.ats", observed_at=T0)
    p.consent["marketing"] = ConsentState(status=status, source="talent.crm", observed_at=at)
    return p


def test_a_grant_older_than_the_max_age_is_lapsed_where_a_grant_is_needed():
    policy = ConsentPolicy.from_json('{"max_age_days": 365}')
    assert policy.evaluate(_profile("DE"), "marketing", T0 + timedelta(days=364)).allowed
    verdict = policy.evaluate(_profile("DE"), "marketing", T0 + timedelta(days=365))
    assert not verdict.allowed and verdict.reason == "consent_expired"
    assert "lapsed" in verdict.explanation
    unknown = policy.evaluate(_profile(None), "marketing", T0 + timedelta(days=400))
    assert unknown.reason == "consent_expired"


def test_where_no_grant_is_needed_a_lapsed_grant_does_not_matter():
    policy = ConsentPolicy.from_json('{"max_age_days": 365}')
    verdict = policy.evaluate(_profile("US"), "marketing", T0 + timedelta(days=1000))
    assert verdict.allowed and "not needed" in verdict.explanation


def test_withdrawals_never_lapse_and_without_now_nothing_lapses():
    policy = ConsentPolicy.from_json('{"max_age_days": 30, "repermission_days": 7}')
    verdict = policy.evaluate(_profile("US", "withdrawn"), "marketing", T0 + timedelta(days=999))
    assert verdict.reason == "consent_withdrawn"
    assert policy.evaluate(_profile("DE"), "marketing").allowed  # legacy callers


def test_default_policy_lapses_after_730_days_and_asks_30_days_before():
    policy = ConsentPolicy()
    state = _profile("DE").consent["marketing"]
    assert policy.lapses_at(state) == T0 + timedelta(days=730)
    assert not policy.needs_repermission(state, T0 + timedelta(days=699))
    assert policy.needs_repermission(state, T0 + timedelta(days=700))
    assert policy.needs_repermission(state, T0 + timedelta(days=729))
    assert not policy.needs_repermission(state, T0 + timedelta(days=730))  # lapsed: too late
    assert policy.evaluate(_profile("DE"), "marketing", T0 + timedelta(days=729)).allowed


def test_null_max_age_means_grants_never_lapse():
    policy = ConsentPolicy.from_json('{"max_age_days": null}')
    state = _profile("DE").consent["marketing"]
    assert policy.lapses_at(state) is None and not policy.needs_repermission(state, T0)
    assert policy.evaluate(_profile("DE"), "marketing", T0 + timedelta(days=5000)).allowed


@pytest.mark.parametrize(
    "text",
    [
        '{"max_age_days": 0}',
        '{"max_age_days": 30, "repermission_days": 30}',
        '{"repermission_days": -1}',
        '{"max_age": 3}',
    ],
)
def test_invalid_policies_are_refused(text):
    with pytest.raises(ValueError):
        ConsentPolicy.from_json(text)
