"""The messages the journeys send (event_reminder, job_nurture): their catalogue entries load
and compile, every variant renders with what a journey's send carries, and the catalogue's
rules choose the variant a candidate should get.

"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import load_catalogue
from talentops.content.render import render_variant
from talentops.delivery.context import Brand, Links, render_context
from talentops.delivery.decide import TriggerFact, candidate_view, decide
from talentops.models.state import ConsentState, FieldValue, Profile

ROOT = Path(__file__).resolve().parents[2]


NOW = datetime(2026, 6, 11, 7, tzinfo=UTC)
T0 = NOW - timedelta(days=30)
EVENT = {
    "id": "ev-42",
    "name": "Data Summit",
    "starts_at": datetime(2026, 6, 12, 18, tzinfo=UTC),
    "city": "Berlin",
    "url": None,
}
JOB = {
    "id": "job-7",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "mid",
    "city": "Berlin",
    "country": "DE",
    "remote": False,
    "url": "https://careers.example.com/jobs/job-7",
}
SIMILAR = [
    {
        "id": "job-8",
        "title": "Analytics Engineer",
        "city": "Berlin",
        "remote": False,
        "seniority": "mid",
        "url": None,
    },
    {
        "id": "job-9",
        "title": "Data Platform Engineer",
        "city": None,
        "remote": True,
        "seniority": "senior",
        "url": "https://careers.example.com/jobs/job-9",
    },
]
BRAND = Brand(
    company_name="Example Corp",
    sender_name="Example Careers",
    sender_address="careers@example.com",
    postal_address="1 Example Street, Dublin",
    careers_site_url="https://careers.example.com",
    api_base_url="https://api.example.com",
)
LINKS = Links(
    careers="https://careers.example.com/?t=tok",
    jobs="https://careers.example.com/jobs?t=tok",
    event="https://careers.example.com/events?t=tok",
    unsubscribe="https://api.example.com/unsubscribe?token=u",
    preferences="https://api.example.com/preferences?token=u",
)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(ROOT / "templates")


def _profile(language="en", seniority="mid", first_name="Ada", fresh=True):
    observed = T0 if fresh else NOW - timedelta(days=400)
    profile = Profile(candidate_id="c_abc123")
    fields = {
        "email": "ada@example.org",
        "first_name": first_name,
        "country": "DE",
        "city": "Berlin",
        "timezone": "Europe/Berlin",
        "language": language,
        "seniority": seniority,
        "role_family": "data",
    }
    for name, value in fields.items():
        if value is not None:
            profile.fields[name] = FieldValue(
                value=value, source="talent.ats", observed_at=observed
            )
    for purpose in ("events", "marketing"):
        profile.consent[purpose] = ConsentState(
            status="granted", source="talent.crm", observed_at=T0
        )
    return profile


def _render(catalogue, template, variant, profile, payload):
    spec = catalogue.message(template)
    chosen = next(v for v in spec.variants if v.name == variant)
    context = render_context(
        candidate=candidate_view(profile),
        payload=payload,
        links=LINKS,
        brand=BRAND,
        purpose=spec.purpose,
        template=template,
        variant=variant,
    )
    return render_variant(catalogue, chosen, context)


def _choose(catalogue, template, profile, payload):
    fact = TriggerFact(
        detail_type="Journey Step",
        event_id="jt-1",
        candidate_key="id:c_abc123",
        observed_at=NOW,
        subject_id=None,
        payload=payload,
    )
    outcome = decide(
        fact=fact,
        profile=profile,
        template=template,
        spec=catalogue.message(template),
        policy=ConsentPolicy(),
        now=NOW,
    )
    return outcome.decision


def test_journey_messages_are_in_the_catalogue_without_triggers(catalogue):
    assert catalogue.message("event_reminder").purpose == "events"
    assert catalogue.message("job_nurture").purpose == "marketing"
    assert catalogue.for_trigger("Candidate Job Viewed") == []  # journeys send them, not triggers
    # The event journey confirms registrations; only the outcome follow-ups keep a trigger (the
    # fallback for an outcome no journey follows).
    assert catalogue.for_trigger("Candidate Event Registered") == []
    assert catalogue.for_trigger("Candidate Event Attended") == ["event_attended_followup"]
    assert not catalogue.message("event_reminder").triggers
    assert not catalogue.message("job_nurture").triggers


@pytest.mark.parametrize("variant", ["de", "default"])
@pytest.mark.parametrize("first_name", ["Ada", None])
def test_every_event_reminder_variant_renders(catalogue, variant, first_name):
    profile = _profile(first_name=first_name)
    out = _render(catalogue, "event_reminder", variant, profile, {"event": EVENT})
    assert "Data Summit" in out.subject
    for part in (out.html, out.text):
        assert "Data Summit" in part and "Berlin" in part and "None" not in part
        assert "Friday 12 June 2026, 20:00 CEST" in part  # in the candidate's timezone
        assert LINKS.unsubscribe.split("?")[0] in part
    assert ("Hallo Ada" if variant == "de" else "Hi Ada") in out.text or first_name is None


@pytest.mark.parametrize("variant", ["de_similar", "similar"])
def test_similar_variants_list_the_jobs(catalogue, variant):
    payload = {"job": JOB, "jobs": {"similar": SIMILAR}}
    out = _render(catalogue, "job_nurture", variant, _profile(), payload)
    assert "Data Engineer" in out.subject
    for part in (out.html, out.text):
        assert "Analytics Engineer" in part and "Data Platform Engineer" in part
        assert "https://careers.example.com/jobs/job-9" in part
        assert "None" not in part
    assert "Remote" in out.html


@pytest.mark.parametrize("variant", ["de", "default"])
def test_fallback_variants_need_no_similar_jobs_and_no_title(catalogue, variant):
    untitled = {**JOB, "title": None, "city": None, "remote": True, "url": None}
    out = _render(catalogue, "job_nurture", variant, _profile(first_name=None), {"job": untitled})
    assert "None" not in out.subject and "None" not in out.text and "None" not in out.html
    assert LINKS.jobs in out.text and "(remote)" in out.text


def test_job_fields_are_escaped_in_html(catalogue):
    hostile = {**JOB, "title": "<script>alert(1)</script>"}
    similar = [{**SIMILAR[0], "title": "<b>bold</b>"}]
    out = _render(
        catalogue,
        "job_nurture",
        "similar",
        _profile(),
        {"job": hostile, "jobs": {"similar": similar}},
    )
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "<b>bold</b>" not in out.html


@pytest.mark.parametrize(
    ("language", "similar", "fresh", "expected"),
    [
        ("en", SIMILAR, True, "similar"),
        ("de-DE", SIMILAR, True, "de_similar"),
        ("en", [], True, "default"),
        ("de", [], True, "de"),
        ("en", SIMILAR, False, "default"),  # stale seniority: the list may not fit any more
        ("de", SIMILAR, False, "de"),
    ],
)
def test_the_catalogue_chooses_the_nurture_variant(catalogue, language, similar, fresh, expected):
    profile = _profile(language=language, fresh=fresh)
    decision = _choose(
        catalogue, "job_nurture", profile, {"job": JOB, "jobs": {"similar": similar}}
    )
    assert decision.outcome == "send" and decision.variant == expected, decision.reasons


def test_the_catalogue_chooses_the_reminder_variant(catalogue):
    assert (
        _choose(catalogue, "event_reminder", _profile(language="de"), {"event": EVENT}).variant
        == "de"
    )
    assert _choose(catalogue, "event_reminder", _profile(), {"event": EVENT}).variant == "default"
