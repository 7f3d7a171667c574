"""Careers-site content slots as pure logic: the catalogue's slot section, the choice of a
variant (the email rule machinery), the data a block lists, decisions and rendering."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import Markup

from talentops.content.catalogue import (
    Catalogue,
    Rule,
    SlotSpec,
    check_catalogue,
    rule_holds,
    select_variant,
)
from talentops.content.slots import (
    block_data,
    candidate_fields,
    choose_slot_variant,
    content_decision,
    content_decision_id,
    events_data,
    job_fits,
    jobs_data,
    plain_text,
    render_block,
    render_slot,
    slot_context,
)
from talentops.errors import CatalogueError, UnknownSlotError
from talentops.models.careers import ContentBlockData
from talentops.models.state import FieldValue, Profile

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
BRAND = {"company_name": "Example Corp", "careers_site_url": "https://careers.example.com"}


@pytest.fixture(scope="module")
def catalogue(templates_dir: Path) -> Catalogue:
    return Catalogue.load(templates_dir)


@pytest.fixture(scope="module")
def templates_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "templates"


def make_profile(behaviours=None, **fields) -> Profile:
    return Profile(
        candidate_id="c_abcdef123456",
        fields={
            name: FieldValue(value=value, source="talent.crm", observed_at=NOW)
            for name, value in fields.items()
        },
        behaviours=behaviours or {},
    )


def choose(catalogue, slot, profile, listings=()):
    spec = catalogue.slot(slot)
    context = slot_context(
        slot=slot, spec=spec, profile=profile, listings=list(listings), now=NOW, brand=BRAND
    )
    return choose_slot_variant(spec, context, known=profile is not None, now=NOW), context


# -- the catalogue --------------------------------------------------------------------------


def test_the_catalogue_defines_hero_jobs_and_events_each_with_an_anonymous_default(catalogue):
    assert {"hero", "jobs", "events"} <= set(catalogue.slots)
    for spec in catalogue.slots.values():
        assert spec.anonymous.rules == ()
        assert spec.variants[-1].rules == ()


def test_an_unknown_slot_is_a_domain_error(catalogue):
    with pytest.raises(UnknownSlotError, match="no content slot 'sidebar'"):
        catalogue.slot("sidebar")


def _spec(**overrides):
    data = {
        "anonymous": {"name": "anonymous", "html": "x.html"},
        "variants": [{"name": "known", "html": "y.html"}],
        **overrides,
    }
    return SlotSpec.model_validate(data)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        (
            {
                "anonymous": {
                    "name": "anonymous",
                    "html": "x.html",
                    "rules": [{"field": "candidate.city", "op": "exists", "value": True}],
                }
            },
            "anonymous variant has no rules",
        ),
        (
            {
                "variants": [
                    {
                        "name": "a",
                        "html": "y.html",
                        "rules": [{"field": "candidate.city", "op": "exists", "value": True}],
                    }
                ]
            },
            "last variant must have no rules",
        ),
        ({"variants": [{"name": "anonymous", "html": "y.html"}]}, "must be unique"),
        ({"data": "videos"}, "data"),
        ({"limit": 0}, "limit"),
    ],
)
def test_slot_specs_are_validated(overrides, problem):
    with pytest.raises(ValueError, match=problem):
        _spec(**overrides)


def test_within_days_needs_a_whole_number_of_days():
    with pytest.raises(ValueError, match="whole number of days"):
        Rule(field="behaviours.event_no_show.at", op="within_days", value="30")


def test_a_slot_naming_a_missing_template_fails_at_load(tmp_path, templates_dir):
    shutil.copytree(templates_dir, tmp_path / "t")
    (tmp_path / "t" / "slots" / "hero" / "senior.html").unlink()
    with pytest.raises(
        CatalogueError, match=r"slots\.hero\.senior: template slots/hero/senior.html"
    ):
        Catalogue.load(tmp_path / "t")


def test_a_slot_template_with_a_syntax_error_fails_the_check(tmp_path, templates_dir):
    shutil.copytree(templates_dir, tmp_path / "t")
    (tmp_path / "t" / "slots" / "jobs" / "known.html").write_text("{% if %}")
    with pytest.raises(CatalogueError, match=r"slots\.jobs\.known"):
        check_catalogue(tmp_path / "t")


def test_a_catalogue_without_slots_still_loads(tmp_path, templates_dir):
    shutil.copytree(templates_dir, tmp_path / "t")
    text = (tmp_path / "t" / "catalogue.yaml").read_text()
    (tmp_path / "t" / "catalogue.yaml").write_text(text.split("\nslots:")[0])
    assert Catalogue.load(tmp_path / "t").slots == {}


# -- rules ----------------------------------------------------------------------------------


def test_within_days_holds_for_a_recent_time_and_never_without_a_clock():
    rule = Rule(field="behaviours.event_no_show.at", op="within_days", value=30)
    recent = {"behaviours": {"event_no_show": {"at": (NOW - timedelta(days=29)).isoformat()}}}
    old = {"behaviours": {"event_no_show": {"at": (NOW - timedelta(days=31)).isoformat()}}}
    assert rule_holds(rule, recent, now=NOW)
    assert not rule_holds(rule, old, now=NOW)
    assert not rule_holds(rule, recent)  # no clock: nothing is recent
    assert not rule_holds(rule, {}, now=NOW)
    assert not rule_holds(rule, {"behaviours": {"event_no_show": {"at": "soon"}}}, now=NOW)


def test_email_selection_is_unchanged(catalogue):
    spec = catalogue.message("event_attended_followup")
    chosen = select_variant(spec, {"candidate": {"language": "de-AT", "seniority": "lead"}})
    assert chosen.variant.name == "de"
    assert chosen.reasons == ["variant de: candidate.language prefix 'de'"]


# -- choosing a slot variant ----------------------------------------------------------------


def test_an_anonymous_visitor_gets_the_anonymous_variant_whatever_the_rules(catalogue):
    selection, context = choose(catalogue, "hero", None)
    assert selection.variant.name == "anonymous"
    assert selection.reasons == ["variant anonymous: no token (anonymous)"]
    assert context["visitor"] == {"known": False}
    assert set(context["candidate"].values()) == {None}


@pytest.mark.parametrize(
    ("fields", "behaviours", "variant"),
    [
        ({"seniority": "senior"}, {}, "senior"),
        ({"seniority": "senior", "language": "de"}, {}, "de"),
        ({"seniority": "junior", "language": "en-GB"}, {}, "known"),
        ({}, {}, "known"),
        (
            {"seniority": "senior"},
            {"event_no_show": {"at": (NOW - timedelta(days=2)).isoformat(), "subject_id": "e1"}},
            "no_show",
        ),
        (
            {"seniority": "senior"},
            {"event_no_show": {"at": (NOW - timedelta(days=45)).isoformat(), "subject_id": "e1"}},
            "senior",
        ),
    ],
)
def test_hero_variants_for_known_candidates(catalogue, fields, behaviours, variant):
    selection, _ = choose(catalogue, "hero", make_profile(behaviours, **fields))
    assert selection.variant.name == variant


def test_the_reasons_say_why_earlier_variants_did_not_hold(catalogue):
    selection, _ = choose(catalogue, "hero", make_profile(seniority="lead"))
    assert selection.reasons == [
        "not no_show: behaviours.event_no_show.at within_days 30 does not hold",
        "not de: candidate.language prefix 'de' does not hold",
        "variant senior: candidate.seniority seniority_at_least 'senior'",
    ]


# -- the data a block lists -----------------------------------------------------------------


JOB = {
    "id": "j1",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "senior",
    "city": "Berlin",
    "remote": False,
}


@pytest.mark.parametrize(
    ("job", "candidate", "fits"),
    [
        (JOB, {"role_family": "data", "seniority": "senior", "city": "Berlin"}, True),
        (JOB, {"role_family": "data", "seniority": "lead", "city": " berlin "}, True),
        (JOB, {"role_family": "data", "seniority": "mid", "city": "Berlin"}, True),
        (JOB, {"role_family": "data", "seniority": "junior", "city": "Berlin"}, False),
        (JOB, {"role_family": "data", "seniority": "principal", "city": "Berlin"}, False),
        (JOB, {"role_family": "design", "seniority": "senior", "city": "Berlin"}, False),
        (JOB, {"role_family": "data", "seniority": "senior", "city": "Paris"}, False),
        (
            {**JOB, "remote": True},
            {"role_family": "data", "seniority": "senior", "city": "Paris"},
            True,
        ),
        (JOB, {"role_family": "data", "seniority": "senior", "city": None}, False),
        (JOB, {"role_family": None, "seniority": "senior", "city": "Berlin"}, False),
        (
            {**JOB, "seniority": None},
            {"role_family": "data", "seniority": "senior", "city": "Berlin"},
            False,
        ),
    ],
)
def test_job_fit_is_the_job_alert_fit(job, candidate, fits):
    assert job_fits(job, candidate) is fits


def test_jobs_data_lists_recent_and_matching_with_every_field_present():
    jobs = [{**JOB, "id": f"j{i}"} for i in range(8)] + [{"id": "no-title"}]
    data = jobs_data(jobs, {"role_family": "data", "seniority": "senior", "city": "Berlin"}, 5)
    assert [j["id"] for j in data["recent"]] == ["j0", "j1", "j2", "j3", "j4"]
    assert len(data["matching"]) == 5
    assert set(data["recent"][0]) >= {"url", "country", "remote"}


def test_events_data_upcoming_nearby_and_the_missed_one():
    events = [
        {"id": "past", "name": "Past", "starts_at": "2026-11-20T18:00:00Z", "city": "Berlin"},
        {"id": "later", "name": "Later", "starts_at": "2026-12-20T18:00:00Z", "city": "Paris"},
        {"id": "soon", "name": "Soon", "starts_at": "2026-12-01T18:00:00Z", "city": "berlin"},
        {"id": "broken", "name": "Broken", "starts_at": "not a time"},
    ]
    data = events_data(
        events,
        {"city": "Berlin", "timezone": "Europe/Berlin"},
        {"event_no_show": {"subject_id": "past"}},
        NOW,
        3,
    )
    assert [e["id"] for e in data["upcoming"]] == ["soon", "later"]
    assert [e["id"] for e in data["nearby"]] == ["soon"]
    assert data["missed"]["id"] == "past"
    assert data["upcoming"][0]["when"] == "Tuesday 1 December 2026, 19:00 CET"


def test_a_slot_shows_no_email_address_and_no_last_name():
    view = candidate_fields(make_profile(email="a@example.org", last_name="Lovelace", city="X"))
    assert "email" not in view and "last_name" not in view and view["city"] == "X"


# -- decisions ------------------------------------------------------------------------------


def test_one_decision_record_per_candidate_slot_variant_and_day():
    a = content_decision_id("c_1", "hero", "senior", NOW)
    assert a == content_decision_id("c_1", "hero", "senior", NOW + timedelta(hours=11))
    assert a != content_decision_id("c_1", "hero", "senior", NOW + timedelta(days=1))
    assert a != content_decision_id("c_1", "hero", "known", NOW)
    assert a != content_decision_id("c_1", "jobs", "senior", NOW)
    assert a != content_decision_id("c_2", "hero", "senior", NOW)


def test_a_content_decision_is_a_decision_like_any_other(catalogue):
    selection, _ = choose(catalogue, "hero", make_profile(seniority="senior"))
    decision = content_decision(
        candidate_id="c_abcdef123456", slot="hero", selection=selection, now=NOW, request_id="r1"
    )
    assert decision.kind == "content" and decision.outcome == "show"
    assert decision.variant == "senior" and decision.template == "hero"
    assert decision.trigger == {"detail_type": "Content Requested", "event_id": "r1"}
    assert decision.reasons == selection.reasons


# -- rendering ------------------------------------------------------------------------------


def test_every_variant_of_every_slot_renders_for_anonymous_and_known(catalogue):
    job = {**JOB, "url": "https://careers.example.com/jobs/j1"}
    event = {"id": "e1", "name": "Summit", "starts_at": "2026-12-03T17:30:00Z", "city": "Berlin"}
    profiles = [
        None,
        make_profile(
            first_name="Ada", city="Berlin", role_family="data", seniority="senior", language="de"
        ),
    ]
    for slot, spec in catalogue.slots.items():
        listings = [job] if spec.data == "jobs" else [event] if spec.data == "events" else []
        for profile in profiles:
            context = slot_context(
                slot=slot, spec=spec, profile=profile, listings=listings, now=NOW, brand=BRAND
            )
            for variant in (spec.anonymous, *spec.variants):
                html = render_slot(catalogue, variant, context)
                assert html.strip().startswith('<div class="to-'), (slot, variant.name)


def test_listed_values_are_escaped(catalogue):
    spec = catalogue.slot("jobs")
    hostile = {
        **JOB,
        "title": '<img src=x onerror="alert(1)">',
        "url": "https://x.example/?a=1&b=2",
    }
    context = slot_context(
        slot="jobs", spec=spec, profile=None, listings=[hostile], now=NOW, brand=BRAND
    )
    html = render_slot(catalogue, spec.anonymous, context)
    assert "<img" not in html and "&lt;img" in html
    assert 'href="https://x.example/?a=1&amp;b=2"' in html


# -- the block as data (GET /content's `data`) ----------------------------------------------


def test_every_variant_of_every_slot_says_as_data_what_its_html_shows(catalogue):
    job = {**JOB, "url": "https://careers.example.com/jobs/j1", "country": "DE"}
    upcoming = {"id": "e1", "name": "Summit", "starts_at": "2026-12-03T17:30:00Z", "city": "Berlin"}
    past = {
        **upcoming,
        "id": "e0",
        "starts_at": "2026-11-20T17:30:00Z",
        "url": "https://e.example/0",
    }
    profile = make_profile(
        {"event_no_show": {"at": "2026-11-21T10:00:00+00:00", "subject_id": "e0"}},
        first_name="Ada",
        city="Berlin",
        role_family="data",
        seniority="senior",
        language="de",
    )
    for slot, spec in catalogue.slots.items():
        listings = {"jobs": [job], "events": [upcoming, past], "none": []}[spec.data]
        for who in (None, profile):
            context = slot_context(
                slot=slot, spec=spec, profile=who, listings=listings, now=NOW, brand=BRAND
            )
            for variant in (spec.anonymous, *spec.variants):
                rendered = render_block(catalogue, variant, context)
                data = ContentBlockData.model_validate(block_data(spec.data, rendered.fields))
                where = (slot, variant.name, who is not None)
                shown = " ".join(rendered.html.split())
                text = Markup(rendered.html).striptags()  # what a reader of the HTML sees
                assert data.title and data.title in text, where
                assert data.text is None or data.text in text, where
                for action in data.actions:
                    assert f'href="{action.href}">{action.label}</a>' in shown, where
                for listed in (*data.jobs, *data.events):
                    assert f'data-{spec.data[:-1]}-id="{listed.id}"' in shown, where
                fits = who is not None or variant is spec.anonymous
                if spec.data == "jobs" and fits:
                    assert [j.id for j in data.jobs] == ["j1"], where
                    assert data.jobs[0].url == "https://careers.example.com/jobs/j1"
                if spec.data == "events" and fits:
                    assert [e.id for e in data.events] == ["e1"], where
                    assert data.events[0].when.startswith("Thursday 3 December 2026")
                missed = variant.name == "missed" and who is not None
                assert (data.missed_event is not None) == missed, where


def test_the_data_of_a_block_is_plain_text_and_lists_what_the_variant_lists(catalogue):
    spec = catalogue.slot("jobs")
    other = {**JOB, "id": "j2", "role_family": "design"}
    profile = make_profile(
        first_name="<b>Ada</b> & co", city="Berlin", role_family="data", seniority="senior"
    )
    context = slot_context(
        slot="jobs", spec=spec, profile=profile, listings=[JOB, other], now=NOW, brand=BRAND
    )
    selection = choose_slot_variant(spec, context, known=True, now=NOW)
    rendered = render_block(catalogue, selection.variant, context)
    data = block_data("jobs", rendered.fields)
    assert selection.variant.name == "matching"
    assert [j["id"] for j in data["jobs"]] == ["j1"]  # the matching jobs, not the recent ones
    assert data["title"] == "Roles that fit you in and around Berlin"

    hero = catalogue.slot("hero")
    context = slot_context(
        slot="hero", spec=hero, profile=profile, listings=[], now=NOW, brand=BRAND
    )
    known = next(v for v in hero.variants if v.name == "known")
    rendered = render_block(catalogue, known, context)
    assert "&lt;b&gt;Ada&lt;/b&gt; &amp; co" in rendered.html
    assert block_data("none", rendered.fields)["title"] == "Welcome back, <b>Ada</b> & co"


def test_plain_text_unescapes_drops_tags_and_keeps_one_line():
    assert plain_text(Markup("The <a href='x'>event   page</a>\n &amp; more")) == (
        "The event page & more"
    )
    assert plain_text("  a\n b ") == "a b"
    assert plain_text(None) is None and plain_text(Markup("  ")) is None


def test_a_template_that_sets_nothing_still_has_data(tmp_path, templates_dir):
    root = tmp_path / "templates"
    shutil.copytree(templates_dir, root)
    (root / "slots" / "hero" / "anonymous.html").write_text("<div>plain</div>")
    bare = Catalogue.load(root)
    spec = bare.slot("hero")
    context = slot_context(slot="hero", spec=spec, profile=None, listings=[], now=NOW, brand=BRAND)
    rendered = render_block(bare, spec.anonymous, context)
    assert rendered.html == "<div>plain</div>"
    assert block_data("none", rendered.fields) == {
        "title": "",
        "text": None,
        "actions": [],
        "jobs": [],
        "events": [],
        "missed_event": None,
    }


def test_unknown_slots_are_named_all_at_once(catalogue):
    assert [s.data for s in catalogue.slots_named(["jobs", "hero"])] == ["jobs", "none"]
    with pytest.raises(UnknownSlotError, match=r"^there is no content slot 'x'$"):
        catalogue.slots_named(["hero", "x"])
    with pytest.raises(UnknownSlotError, match=r"^there are no content slots 'x', 'y'$"):
        catalogue.slots_named(["x", "hero", "y"])
