"""Explanations (issue 14, item 1): the outcome is decide()'s, and the steps say what held,
what did not, and why, in decide's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import Catalogue, load_catalogue
from talentops.delivery.decide import FrequencyCap, TriggerFact, decide
from talentops.explain.message import explain_job, explain_message
from talentops.job_alerts.matching import fits
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = ConsentPolicy()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(str(ROOT / "templates"))


def person(*, consent: str | None = "granted", seniority: str = "senior", **extra: str) -> Profile:
    profile = Profile(candidate_id="c_explain1")
    fields = {
        "email": "ada@example.org",
        "first_name": "Ada",
        "country": "DE",
        "city": "Berlin",
        "seniority": seniority,
        "role_family": "data",
        **extra,
    }
    for name, value in fields.items():
        profile.fields[name] = FieldValue(
            value=value, source="talent.ats", observed_at=AT - timedelta(days=2)
        )
    if consent is not None:
        for purpose in ("events", "job_alerts", "marketing"):
            profile.consent[purpose] = ConsentState(
                status=consent, source="talent.crm", observed_at=AT - timedelta(days=1)
            )
    return profile


def _decided(catalogue: Catalogue, profile: Profile, template: str, caps=None):
    fact = TriggerFact("Explain", "explain", f"id:{profile.candidate_id}", AT)
    return decide(
        fact=fact,
        profile=profile,
        template=template,
        spec=catalogue.message(template),
        policy=POLICY,
        now=AT,
        caps=caps,
    ).decision


@pytest.mark.parametrize(
    ("profile", "outcome", "reason", "failing"),
    [
        (person(), "send", None, set()),
        (person(consent="withdrawn"), "suppress", "consent_withdrawn", {"consent (events)"}),
        (person(consent=None), "suppress", "no_consent", {"consent (events)"}),
    ],
)
def test_the_outcome_is_decides_and_the_failing_steps_say_why(
    catalogue: Catalogue, profile: Profile, outcome: str, reason: str | None, failing: set[str]
) -> None:
    template = "event_attended_followup"
    found = explain_message(
        profile=profile, template=template, spec=catalogue.message(template), policy=POLICY, at=AT
    )
    decided = _decided(catalogue, profile, template)
    assert (found.outcome, found.reason, found.variant) == (outcome, reason, decided.variant)
    assert {s.check for s in found.steps if not s.passed} == failing
    consent = next(s for s in found.steps if s.check == "consent (events)")
    assert "DE" in consent.why or "country" in consent.why  # the basis: the country's regime
    if outcome == "send":
        assert found.steps[-1].check == "variant" and found.variant in found.steps[-1].why


def test_the_frequency_cap_is_a_step_with_its_count(catalogue: Catalogue) -> None:
    profile = person()
    for n in range(3):
        profile.recent[f"d{n}"] = SentRecord(
            at=AT - timedelta(days=n + 1), purpose="events", template="x"
        )
    caps = {"events": FrequencyCap(limit=3, window=timedelta(days=7))}
    template = "event_attended_followup"
    found = explain_message(
        profile=profile,
        template=template,
        spec=catalogue.message(template),
        policy=POLICY,
        at=AT,
        caps=caps,
    )
    assert (found.outcome, found.reason) == ("suppress", "frequency_cap")
    [cap] = [s for s in found.steps if s.check == "frequency cap"]
    assert not cap.passed and "3 of 3 events messages" in cap.why
    assert _decided(catalogue, profile, template, caps).reason == "frequency_cap"


JOB = {
    "id": "job-9",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "senior",
    "city": "Berlin",
    "country": "DE",
    "remote": False,
    "url": "https://careers.example.com/jobs/9",
}


def test_a_job_the_candidate_does_not_match_is_not_eligible_not_matched(
    catalogue: Catalogue,
) -> None:
    found = explain_job(
        profile=person(role_family="design"),
        job=JOB,
        template="job_alert",
        spec=catalogue.message("job_alert"),
        policy=POLICY,
        at=AT,
        band=1,
        matches=fits,
    )
    assert (found.outcome, found.reason) == ("not_eligible", "not_matched")
    assert [s.check for s in found.steps] == ["matches the job"]
    assert "role_family differs" in found.steps[0].why


def test_a_job_that_fits_is_explained_as_its_message_with_the_fields_it_reads(
    catalogue: Catalogue,
) -> None:
    found = explain_job(
        profile=person(),
        job=JOB,
        template="job_alert",
        spec=catalogue.message("job_alert"),
        policy=POLICY,
        at=AT,
        band=1,
        matches=fits,
    )
    assert found.steps[0].check == "matches the job" and found.steps[0].passed
    fresh = [s for s in found.steps if s.check.startswith("fresh: ")]
    assert fresh and all("talent.ats" in s.why for s in fresh if s.passed)
    assert found.as_dict()["subject"] == {
        "message": "job_alert",
        "purpose": "job_alerts",
        "job": "job-9",
    }
