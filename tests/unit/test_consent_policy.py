from datetime import UTC, datetime

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.models.state import ConsentState, FieldValue, Profile

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _profile(country=None, **consent):
    p = Profile(candidate_id="c_test01")
    if country:
        p.fields["country"] = FieldValue(value=country, source="talent.ats", observed_at=T0)
    for purpose, status in consent.items():
        p.consent[purpose] = ConsentState(status=status, source="talent.crm", observed_at=T0)
    return p


@pytest.mark.parametrize("country", ["DE", "FR", "IS", "LI", "NO", "GB", "CH", "CA", None])
def test_opt_in_regions_and_unknown_country_need_a_grant(country):
    verdict = ConsentPolicy().evaluate(_profile(country), "events")
    assert not verdict.allowed and verdict.reason == "no_consent"
    assert ConsentPolicy().evaluate(_profile(country, events="granted"), "events").allowed


@pytest.mark.parametrize("country", ["US", "BR", "IN", "AU"])
def test_elsewhere_allowed_unless_withdrawn(country):
    assert ConsentPolicy().evaluate(_profile(country), "job_alerts").allowed
    verdict = ConsentPolicy().evaluate(_profile(country, job_alerts="withdrawn"), "job_alerts")
    assert not verdict.allowed and verdict.reason == "consent_withdrawn"


def test_purposes_are_independent():
    p = _profile("DE", events="granted")
    assert ConsentPolicy().evaluate(p, "events").allowed
    assert not ConsentPolicy().evaluate(p, "marketing").allowed


def test_unknown_purpose_fails_closed():
    assert not ConsentPolicy().evaluate(_profile("US"), "surveys").allowed


def test_transactional_needs_no_marketing_consent():
    assert ConsentPolicy().evaluate(_profile("DE"), "transactional").allowed


def test_policy_is_configuration():
    policy = ConsentPolicy.from_json('{"opt_in_countries": ["US"], "unknown_country_opt_in": true}')
    assert not policy.evaluate(_profile("US"), "events").allowed
    assert policy.evaluate(_profile("DE"), "events").allowed
    assert not policy.evaluate(_profile(None), "events").allowed  # unknown fails closed
    with pytest.raises(ValueError, match="unknown_country_opt_in must be true"):
        ConsentPolicy.from_json('{"unknown_country_opt_in": false}')
    with pytest.raises(ValueError, match="unknown consent policy keys"):
        ConsentPolicy.from_json('{"opt_out": []}')
