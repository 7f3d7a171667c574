"""Facts are checked at the edge against the world (issue 11): dates within a window of the
receiving clock, countries from ISO 3166-1, addresses SES can take; what the candidate chose
through our own channels is never undone by a producer's clock; extreme stored dates never
crash consent, the preference centre or retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pycountry
import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.consent.policy import ConsentPolicy
from talentops.consent.preferences import PreferenceService
from talentops.errors import InvalidEventError
from talentops.models.countries import COUNTRY_ALIASES, ISO_3166_ALPHA2, country_code
from talentops.models.events import (
    ConsentChanged,
    EventBehaviour,
    JobOpened,
    ProfileUpdated,
    normalize_email,
    parse_event,
)
from talentops.models.state import ConsentState, FieldValue, Profile
from talentops.privacy.retention import RetentionPolicy, add_months
from talentops.settings import get_settings
from talentops.talent_pool.merge import merge_consent
from talentops.talent_pool.policy import freshness_problem, stale_fields

END = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch) -> datetime:
    at = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", at)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    return at


def _event(detail_type: str, detail: dict) -> dict:
    return {"id": "e-1", "detail-type": detail_type, "source": "talent.crm", "detail": detail}


def _profile_fact(observed_at: str, **fields) -> dict:
    return _event(
        "Candidate Profile Updated",
        {
            "candidate": {"ref": "crm:1"},
            "observed_at": observed_at,
            "fields": fields or {"city": "Berlin"},
        },
    )


# -- dates -----------------------------------------------------------------------------------


def test_observed_at_a_year_ahead_is_refused_with_the_field_named(now):
    ahead = (now + timedelta(days=365)).isoformat()
    with pytest.raises(InvalidEventError) as caught:
        parse_event(_profile_fact(ahead))
    reason = str(caught.value)
    assert "observed_at" in reason and "in the future" in reason
    assert ahead not in reason


@pytest.mark.parametrize(
    ("observed_at", "accepted"),
    [
        ("2026-12-04T12:04:59Z", True),  # within the 5 minutes of skew
        ("2026-12-04T12:05:01Z", False),
        ("2000-01-01T00:00:00Z", True),  # the floor itself
        ("1999-12-31T23:59:59Z", False),
        ("9999-12-31T23:59:59-05:00", False),  # beyond the calendar in UTC: refused, no crash
        ("0001-01-01T00:00:00+05:00", False),
    ],
)
def test_observed_at_lies_between_the_floor_and_the_skew(now, observed_at, accepted):
    if accepted:
        _, fact = parse_event(_profile_fact(observed_at))
        assert fact.observed_at.tzinfo is UTC  # type: ignore[attr-defined]
    else:
        with pytest.raises(InvalidEventError, match="observed_at"):
            parse_event(_profile_fact(observed_at))


def test_the_skew_is_configuration(now, monkeypatch):
    monkeypatch.setenv("FACT_MAX_AHEAD_SECONDS", "3600")
    get_settings.cache_clear()
    try:
        parse_event(_profile_fact("2026-12-04T12:59:00Z"))
        monkeypatch.setenv("FACT_MAX_AHEAD_SECONDS", "0")
        get_settings.cache_clear()
        with pytest.raises(InvalidEventError, match="more than 0 s ahead"):
            parse_event(_profile_fact("2026-12-04T12:00:01Z"))
    finally:
        get_settings.cache_clear()


def test_the_bound_follows_the_receiving_clock(now, monkeypatch):
    later = "2026-12-20T09:00:00Z"
    with pytest.raises(InvalidEventError):
        parse_event(_profile_fact(later))
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(days=16))  # the stack's clock moved
    parse_event(_profile_fact(later))


@pytest.mark.parametrize(
    ("starts_at", "accepted"),
    [
        ("2028-06-01T18:00:00+02:00", True),  # an event a year and a half ahead
        ("2020-03-01T18:00:00Z", True),  # a past event (attended)
        ("2029-01-01T00:00:00Z", False),  # more than two years ahead
        ("1970-01-01T00:00:00Z", False),
    ],
)
def test_event_starts_at_may_lie_ahead_within_a_horizon(now, starts_at, accepted):
    detail = {
        "candidate": {"email": "ada@example.org"},
        "observed_at": "2026-12-04T11:00:00Z",
        "event": {"id": "e-1", "name": "Meetup", "starts_at": starts_at},
    }
    if accepted:
        _, fact = parse_event(_event("Candidate Event Registered", detail))
        assert isinstance(fact, EventBehaviour)
        assert fact.event.starts_at == datetime.fromisoformat(starts_at)
    else:
        with pytest.raises(InvalidEventError, match=r"event\.starts_at"):
            parse_event(_event("Candidate Event Registered", detail))


def test_own_facts_dated_now_pass(now):
    fact = ConsentChanged.model_validate(
        {
            "candidate": {"id": "c_0123456789"},
            "observed_at": now,
            "purpose": "events",
            "status": "withdrawn",
        }
    )
    assert fact.observed_at == now


# -- countries -------------------------------------------------------------------------------


def test_the_checked_in_country_list_is_pycountrys():
    expected = sorted(c.alpha_2 for c in pycountry.countries)
    assert sorted(ISO_3166_ALPHA2) == expected, (
        "models/countries.py is out of date; the codes now are:\n" + " ".join(expected)
    )
    for alias, code in COUNTRY_ALIASES.items():
        assert pycountry.countries.get(alpha_2=alias) is None and code in ISO_3166_ALPHA2


@pytest.mark.parametrize(("given", "stored"), [("UK", "GB"), ("EL", "GR"), ("DE", "DE")])
def test_aliases_are_normalized_at_ingest(now, given, stored):
    _, fact = parse_event(_profile_fact("2026-12-01T09:00:00Z", country=given))
    assert isinstance(fact, ProfileUpdated) and fact.fields.country == stored


@pytest.mark.parametrize("given", ["ZZ", "EU", "XK", "AA", "QM"])
def test_codes_that_are_no_country_are_refused_with_the_field_named(now, given):
    with pytest.raises(InvalidEventError, match=r"fields\.country: .*ISO 3166-1"):
        parse_event(_profile_fact("2026-12-01T09:00:00Z", country=given))
    job = {
        "observed_at": "2026-12-01T09:00:00Z",
        "job": {
            "id": "j-1",
            "title": "Data engineer",
            "role_family": "data",
            "seniority": "mid",
            "country": given,
        },
    }
    with pytest.raises(InvalidEventError, match=r"job\.country"):
        parse_event(_event("Job Opened", job))
    job["job"]["country"] = "UK"
    _, opened = parse_event(_event("Job Opened", job))
    assert isinstance(opened, JobOpened) and opened.job.country == "GB"


def _stored(country: object) -> Profile:
    fields = {}
    if country is not None:
        fields["country"] = FieldValue(value=country, source="talent.crm", observed_at=END)
    return Profile(candidate_id="c_0123456789", fields=fields)


@pytest.mark.parametrize("country", [None, "ZZ", "EU", "Germany", "", 49, "UK", "EL", "de"])
def test_a_stored_country_that_is_not_valid_is_unknown_hence_opt_in(country):
    verdict = ConsentPolicy().evaluate(_stored(country), "marketing", datetime.now(UTC))
    assert not verdict.allowed and verdict.reason == "no_consent"


def test_valid_opt_out_countries_stay_opt_out():
    verdict = ConsentPolicy().evaluate(_stored("US"), "marketing", datetime.now(UTC))
    assert verdict.allowed


def test_consent_policy_configuration_takes_iso_codes_only():
    policy = ConsentPolicy.from_json('{"opt_in_countries": ["UK", "de", "EL"]}')
    assert policy.opt_in_countries == frozenset({"GB", "DE", "GR"})
    with pytest.raises(ValueError, match="EU"):
        ConsentPolicy.from_json('{"opt_in_countries": ["DE", "EU"]}')
    with pytest.raises(ValueError, match="ZZ"):
        RetentionPolicy.from_json('{"countries": {"ZZ": 6}}')
    assert RetentionPolicy.from_json('{"countries": {"UK": 6}}').months_for("GB") == 6


def test_country_code_reads_codes_and_aliases_only():
    assert [country_code(v) for v in ("gb", " UK ", "EL", "EU", None, 1)] == [
        "GB",
        "GB",
        "GR",
        None,
        None,
        None,
    ]


# -- addresses -------------------------------------------------------------------------------


def test_an_address_whose_local_part_is_not_ascii_is_refused_with_the_field_named(now):
    with pytest.raises(InvalidEventError) as caught:
        parse_event(_profile_fact("2026-12-01T09:00:00Z", email="müller@example.de"))
    assert "fields.email" in str(caught.value) and "ASCII" in str(caught.value)
    assert "müller" not in str(caught.value)


def test_an_internationalized_domain_is_stored_in_punycode_and_matched_either_way(now):
    _, fact = parse_event(_profile_fact("2026-12-01T09:00:00Z", email="Jo@Bücher.de"))
    assert isinstance(fact, ProfileUpdated)
    assert fact.fields.email == "Jo@xn--bcher-kva.de"
    assert normalize_email("jo@bücher.DE ") == normalize_email(fact.fields.email)
    assert normalize_email("jo@xn--bcher-kva.de") == "jo@xn--bcher-kva.de"
    _, by_ref = parse_event(
        _event(
            "Candidate Consent Changed",
            {
                "candidate": {"email": "jo@пример.рф"},
                "observed_at": "2026-12-01T09:00:00Z",
                "purpose": "events",
                "status": "granted",
            },
        )
    )
    assert by_ref.candidate.email == "jo@xn--e1afmkfd.xn--p1ai"  # type: ignore[attr-defined]


def test_a_domain_that_is_no_idna_name_is_refused(now):
    with pytest.raises(InvalidEventError, match="internationalized domain"):
        parse_event(_profile_fact("2026-12-01T09:00:00Z", email="jo@" + "ü" * 70 + ".de"))


# -- the candidate's own choice wins ----------------------------------------------------------


def _state(status: str, observed_at: datetime, source: str, received_at: datetime | None):
    return ConsentState(
        status=status, source=source, observed_at=observed_at, received_at=received_at
    )


def test_a_grant_received_before_the_unsubscribe_never_undoes_it_whatever_its_date():
    t = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    profile = Profile(candidate_id="c_0123456789")
    # A producer's grant, received at t, dated four minutes ahead (within the skew).
    grant = _state("granted", t + timedelta(minutes=4), "talent.crm", t)
    merge_consent(profile, "events", grant, now=t)
    # One minute later the candidate clicks one-click unsubscribe.
    withdrawal = _state(
        "withdrawn", t + timedelta(minutes=1), "talent.preference-centre", t + timedelta(minutes=1)
    )
    assert merge_consent(profile, "events", withdrawal, now=t + timedelta(minutes=1))
    assert profile.consent["events"].status == "withdrawn"


def test_a_grant_observed_after_the_withdrawal_was_received_wins():
    t = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    profile = Profile(candidate_id="c_0123456789")
    merge_consent(profile, "events", _state("withdrawn", t, "talent.preference-centre", t), now=t)
    before = _state("granted", t - timedelta(seconds=1), "talent.crm", t + timedelta(hours=1))
    assert not merge_consent(profile, "events", before, now=t + timedelta(hours=1))
    after = _state("granted", t + timedelta(minutes=30), "talent.crm", t + timedelta(hours=1))
    assert merge_consent(profile, "events", after, now=t + timedelta(hours=1))
    assert profile.consent["events"].status == "granted"


def test_a_stored_grant_dated_in_the_future_yields_to_a_withdrawal_received_now():
    # Stored before dates were bounded: no received_at, observed a year ahead.
    t = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    profile = Profile(candidate_id="c_0123456789")
    profile.consent["events"] = _state("granted", t + timedelta(days=365), "talent.crm", None)
    withdrawal = _state("withdrawn", t, "talent.preference-centre", t)
    assert merge_consent(profile, "events", withdrawal, now=t)
    assert profile.consent["events"].status == "withdrawn"
    # ... and a renewed grant the candidate makes through the preference centre wins too.
    profile.consent["events"] = _state("withdrawn", END, "talent.crm", None)
    regrant = _state("granted", t, "talent.preference-centre", t)
    assert merge_consent(profile, "events", regrant, now=t)


# -- extreme stored dates never crash ---------------------------------------------------------


def test_extreme_dates_do_not_raise_in_the_policy_or_the_preference_centre():
    policy = ConsentPolicy()
    profile = _stored("DE")
    profile.consent["events"] = _state("granted", END, "talent.crm", None)
    profile.consent["marketing"] = _state("granted", datetime.min.replace(tzinfo=UTC), "x", None)
    now = datetime(2026, 12, 4, tzinfo=UTC)
    assert policy.lapses_at(profile.consent["events"]).year == 9999  # type: ignore[union-attr]
    assert policy.evaluate(profile, "events", now).allowed
    assert not policy.evaluate(profile, "marketing", now).allowed  # lapsed long ago
    assert not policy.needs_repermission(profile.consent["events"], now)
    service = PreferenceService(
        repo=None,  # type: ignore[arg-type]
        talent_pool=None,  # type: ignore[arg-type]
        facts=None,  # type: ignore[arg-type]
        policy=policy,
        signer=lambda: None,  # type: ignore[arg-type,return-value]
        now=lambda: now,
    )
    states = {s.purpose: s for s in service.states(profile)}
    assert states["events"].on and states["events"].lapses_at is not None
    assert not states["marketing"].on


def test_extreme_dates_do_not_raise_in_retention_or_freshness():
    now = datetime(2026, 12, 4, tzinfo=UTC)
    profile = _stored("DE")
    profile.created_at = datetime(2024, 1, 1, tzinfo=UTC)
    profile.behaviours["event_attended"] = {"at": "9999-12-31T23:59:59+00:00"}
    profile.behaviours["job_viewed"] = {"at": "2076-01-01T00:00:00"}  # naive, stored so
    retention = RetentionPolicy()
    assert add_months(END, 6).year == 9999
    # The dates from the future do not count: the limit runs from the creation.
    assert retention.last_interaction(profile, now) == profile.created_at
    assert retention.expires_at(profile, now) == datetime(2024, 7, 1, tzinfo=UTC)
    window = {"country": timedelta(days=365)}
    assert stale_fields(profile, window, now) == {}
    assert freshness_problem(profile, "country", window, now) is None


def test_campaign_segments_name_countries_by_iso_code():
    from talentops.campaigns.model import CampaignError, validate_campaign

    base = {"name": "Spring", "purpose": "marketing", "content": {"template": "spring_hiring"}}
    campaign = validate_campaign(
        {**base, "segment": [{"field": "country", "op": "in", "value": ["UK", "DE", "EL"]}]}
    )
    assert campaign.segment[0].value == ["GB", "DE", "GR"]  # what profiles store
    profile = _stored("GB")
    assert campaign.in_segment(profile, datetime.now(UTC))[0]
    with pytest.raises(CampaignError, match=r"segment\[0\]\.value: .*'EU'"):
        validate_campaign({**base, "segment": [{"field": "country", "op": "eq", "value": "EU"}]})


@pytest.mark.parametrize("send_at", ["9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"])
def test_a_campaign_send_at_out_of_range_is_refused_with_the_path(now, send_at):
    from talentops.campaigns.model import CampaignError, validate_campaign

    campaign = {
        "name": "Spring",
        "purpose": "marketing",
        "segment": [{"field": "country", "op": "eq", "value": "DE"}],
        "content": {"template": "spring_hiring"},
        "send_at": send_at,
    }
    with pytest.raises(CampaignError, match="send_at"):
        validate_campaign(campaign)
    campaign["send_at"] = "2027-03-01T09:00:00+01:00"
    assert validate_campaign(campaign).send_at is not None
