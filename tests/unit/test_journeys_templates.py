"""The messages the journeys send (event_reminder, job_nurture): their catalogue entries load
and compile, every variant renders with what a journey's send carries, and the catalogue's
rules choose the variant a candidate should get.

CATALOGUE_SNIPPET is what templates/catalogue.yaml gains for them; until it is merged there,
these tests load it on its own beside the shipped email templates."""

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import Catalogue, load_catalogue
from talentops.content.render import render_variant
from talentops.delivery.context import Brand, Links, render_context
from talentops.delivery.decide import TriggerFact, candidate_view, decide
from talentops.models.state import ConsentState, FieldValue, Profile

ROOT = Path(__file__).resolve().parents[2]

CATALOGUE_SNIPPET = """\
  # Journeys (issue #6, docs/journeys.md): no trigger; the journey engine sends these
  # (templates/journeys/event.yaml, templates/journeys/job_nurture.yaml).
  event_reminder:
    purpose: events
    description: The day before an event, at 09:00 in the candidate's timezone (the event journey).
    variants:
      - name: de
        description: German-speaking candidates
        rules:
          - {field: candidate.language, op: prefix, value: de}
        subject: "Morgen: {{ event.name }}"
        html: email/event_reminder/de.html
        text: email/event_reminder/de.txt
      - name: default
        description: Everyone else
        subject: "See you tomorrow at {{ event.name }}"
        html: email/event_reminder/default.html
        text: email/event_reminder/default.txt

  # The job nurture journey, three days after a job view without an application. Besides
  # `job` (the job viewed), the context carries `jobs.similar`: open jobs that fit the
  # candidate now (role family, seniority within one level, city or remote), found at send
  # time; empty when none does.
  job_nurture:
    purpose: marketing
    description: Similar jobs that fit the candidate now, or the job they viewed (the job nurture journey).
    variants:
      - name: de_similar
        description: German-speaking candidates, with open jobs that fit them now
        rules:
          - {field: candidate.language, op: prefix, value: de}
          - {field: jobs.similar, op: exists, value: true}
        requires_fresh: [role_family, seniority]
        subject: "Stellen wie {{ job.title or 'die, die Sie sich angesehen haben' }}: für Sie ausgewählt"
        html: email/job_nurture/de_similar.html
        text: email/job_nurture/de_similar.txt
      - name: de
        description: German-speaking candidates; nothing else fits now (or the profile is stale)
        rules:
          - {field: candidate.language, op: prefix, value: de}
        subject: "Noch interessiert an {{ job.title or 'der Stelle' }}?"
        html: email/job_nurture/de.html
        text: email/job_nurture/de.txt
      - name: similar
        description: Open jobs that fit the candidate now
        rules:
          - {field: jobs.similar, op: exists, value: true}
        requires_fresh: [role_family, seniority]
        subject: "Roles like {{ job.title or 'the one you viewed' }}, picked for you"
        html: email/job_nurture/similar.html
        text: email/job_nurture/similar.txt
      - name: default
        description: Nothing else fits now (or the profile is stale); the job they viewed
        subject: "Still thinking about {{ job.title or 'the role you viewed' }}?"
        html: email/job_nurture/default.html
        text: email/job_nurture/default.txt
"""

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
def catalogue(tmp_path_factory):
    """The snippet's messages beside the shipped templates (loading compiles them all)."""
    root = tmp_path_factory.mktemp("templates")
    shutil.copytree(ROOT / "templates" / "email", root / "email")
    (root / "catalogue.yaml").write_text("version: 1\nmessages:\n" + CATALOGUE_SNIPPET)
    return Catalogue.load(root)


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
    if "jobs" in payload:  # phase 2: render_context passes `jobs` through
        context["jobs"] = payload["jobs"]
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


def test_snippet_is_a_valid_catalogue_part(catalogue):
    assert set(catalogue.messages) == {"event_reminder", "job_nurture"}
    assert catalogue.message("event_reminder").purpose == "events"
    assert catalogue.message("job_nurture").purpose == "marketing"
    assert catalogue.for_trigger("Candidate Job Viewed") == []  # journeys send them, not triggers


def test_shipped_catalogue_agrees_with_the_snippet_once_merged():
    shipped = load_catalogue(str(ROOT / "templates"))
    snippet = yaml.safe_load("messages:\n" + CATALOGUE_SNIPPET)["messages"]
    for name, entry in snippet.items():
        if name not in shipped.messages:
            continue  # not merged yet
        spec = shipped.message(name)
        assert spec.purpose == entry["purpose"] and not spec.triggers
        assert [(v.name, v.html, v.text) for v in spec.variants] == [
            (v["name"], v["html"], v["text"]) for v in entry["variants"]
        ]


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
