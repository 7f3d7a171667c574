"""Campaigns: the definition and its validation (API and file), the per-candidate decision
shared by preview and launch, and the preview's counts and samples."""

from datetime import UTC, datetime, timedelta

import pytest

from talentops.campaigns.model import (
    Campaign,
    CampaignError,
    load_campaign_file,
    parse_campaign,
    restricted_spec,
    validate_campaign,
)
from talentops.campaigns.preview import (
    CAMPAIGN_TRIGGER,
    aggregate_preview,
    campaign_fact,
    decide_recipient,
)
from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import MessageSpec
from talentops.delivery.budget import NO_LIMITS, ContactPolicy
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord

NOW = datetime(2026, 6, 10, 10, tzinfo=UTC)  # 12:00 in Berlin
CREATED = NOW - timedelta(hours=2)
T0 = NOW - timedelta(days=30)


def _spec(purpose="marketing"):
    return MessageSpec.model_validate(
        {
            "purpose": purpose,
            "variants": [
                {
                    "name": "de",
                    "rules": [{"field": "candidate.language", "op": "prefix", "value": "de"}],
                    "subject": "Hallo",
                    "html": "x.html",
                    "text": "x.txt",
                },
                {
                    "name": "senior",
                    "rules": [
                        {
                            "field": "candidate.seniority",
                            "op": "seniority_at_least",
                            "value": "senior",
                        }
                    ],
                    "subject": "Hi",
                    "html": "x.html",
                    "text": "x.txt",
                },
                {"name": "default", "subject": "Hi", "html": "x.html", "text": "x.txt"},
            ],
        }
    )


MESSAGES = {"spring_hiring": _spec(), "meetup_invite": _spec("events")}
VALID = {
    "name": "Spring hiring: data",
    "purpose": "marketing",
    "segment": [
        {"field": "candidate.role_family", "op": "eq", "value": "data"},
        {"field": "country", "op": "in", "value": ["DE", "IE", "US"]},
    ],
    "content": {"template": "spring_hiring"},
}


def _problems(data, messages=MESSAGES):
    with pytest.raises(CampaignError) as caught:
        validate_campaign(data, messages=messages)
    return {p.path: p.message for p in caught.value.problems}


def _profile(
    cid="c_abc123",
    *,
    country="DE",
    role_family="data",
    language="en",
    seniority="mid",
    tz="Europe/Berlin",
    consent="granted",
    recent=(),
    suppressed=False,
):
    profile = Profile(candidate_id=cid, suppressed=suppressed)
    fields = {
        "email": f"{cid}@example.org",
        "country": country,
        "role_family": role_family,
        "language": language,
        "seniority": seniority,
        "timezone": tz,
    }
    for name, value in fields.items():
        if value is not None:
            profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    if consent:
        profile.consent["marketing"] = ConsentState(
            status=consent, source="talent.crm", observed_at=T0
        )
    for i, at in enumerate(recent):
        profile.recent[f"d{i}"] = SentRecord(at=at, purpose="marketing", template="earlier")
    return profile


# --- the definition ---------------------------------------------------------------------------


def test_a_valid_campaign_and_its_shorthands():
    campaign = validate_campaign(VALID, messages=MESSAGES)
    assert [r.field for r in campaign.segment] == ["candidate.role_family", "candidate.country"]
    assert campaign.send_at is None and campaign.content.variants == ()
    assert campaign.fingerprint() == validate_campaign(VALID, messages=MESSAGES).fingerprint()


def test_a_segment_on_an_unknown_field_is_refused_naming_it():
    data = {**VALID, "segment": [{"field": "candidate.salary", "op": "eq", "value": 1}]}
    problems = _problems(data)
    assert "unknown field 'candidate.salary'" in problems["segment[0].field"]
    problems = _problems({**VALID, "segment": [{"field": "citty", "op": "eq", "value": "X"}]})
    assert "did you mean 'candidate.city'" in problems["segment[0].field"]


def test_segment_on_behaviours_is_allowed():
    data = {
        **VALID,
        "segment": [{"field": "behaviours.event_attended.at", "op": "within_days", "value": 90}],
    }
    assert validate_campaign(data, messages=MESSAGES).segment[0].op == "within_days"


@pytest.mark.parametrize(
    ("change", "path", "needle"),
    [
        ({"segment": []}, "segment", "at least 1"),
        (
            {"segment": [{"field": "city", "op": "like", "value": "x"}]},
            "segment[0].op",
            "Input should be",
        ),
        ({"segment": [{"field": "city", "op": "in", "value": "x"}]}, "segment[0]", "needs a list"),
        ({"purpose": "spam"}, "purpose", "Input should be"),
        ({"name": "two\nlines"}, "name", "single line"),
        ({"send_at": "2026-06-10T09:00:00"}, "send_at", "timezone"),
        ({"colour": "blue"}, "colour", "unknown key 'colour'"),
        ({"content": {}}, "content", "missing 'template'"),
    ],
)
def test_bad_definitions_name_the_path_and_the_problem(change, path, needle):
    problems = _problems({**VALID, **change})
    assert needle in problems[path], problems


def test_template_must_be_in_the_catalogue_with_the_campaigns_purpose():
    assert (
        "did you mean 'spring_hiring'"
        in _problems({**VALID, "content": {"template": "spring_hirin"}})["content.template"]
    )
    assert (
        "has purpose 'events'"
        in _problems({**VALID, "content": {"template": "meetup_invite"}})["content.template"]
    )


def test_variants_must_exist_and_include_the_fallback():
    problems = _problems({**VALID, "content": {"template": "spring_hiring", "variants": ["dee"]}})
    assert "variant 'dee' is not a variant of 'spring_hiring'" in problems["content.variants[0]"]
    assert "fallback" in problems["content.variants"]
    ok = validate_campaign(
        {**VALID, "content": {"template": "spring_hiring", "variants": ["de", "default"]}},
        messages=MESSAGES,
    )
    assert ok.content.variants == ("de", "default")


def test_without_a_catalogue_only_the_shape_is_checked():
    assert (
        validate_campaign({**VALID, "content": {"template": "anything"}}).content.template
        == "anything"
    )


CAMPAIGN_FILE = """\
name: Spring hiring
purpose: marketing
segment:
  - {field: candidate.role_family, op: eq, value: data}
  - {field: candidate.salary, op: exists, value: true}
content:
  template: spring_hirin
send_at: 2026-06-11T09:00:00+02:00
"""


def test_a_campaign_file_names_the_line_of_each_problem(tmp_path):
    path = tmp_path / "spring.yaml"
    path.write_text(CAMPAIGN_FILE)
    with pytest.raises(CampaignError) as caught:
        load_campaign_file(path, MESSAGES)
    lines = {p.line: str(p) for p in caught.value.problems}
    assert set(lines) == {5, 7}
    assert lines[5].startswith("spring.yaml:5: segment[1].field: unknown field 'candidate.salary'")
    assert lines[7].startswith("spring.yaml:7: content.template: template 'spring_hirin'")


def test_a_valid_campaign_file(tmp_path):
    text = CAMPAIGN_FILE.replace("spring_hirin", "spring_hiring").replace(
        "  - {field: candidate.salary, op: exists, value: true}\n", ""
    )
    campaign = parse_campaign(text, "spring.yaml", MESSAGES)
    assert campaign.send_at == datetime(2026, 6, 11, 7, tzinfo=UTC)
    with pytest.raises(CampaignError, match=r"spring.yaml:\d+: YAML"):
        parse_campaign("name: [unclosed\n", "spring.yaml", MESSAGES)


def test_in_segment_says_why():
    campaign = validate_campaign(VALID, messages=MESSAGES)
    inside, why = campaign.in_segment(_profile(), NOW)
    assert inside and why[0].startswith("in segment: candidate.role_family eq 'data'")
    outside, why = campaign.in_segment(_profile(country="FR"), NOW)
    assert not outside and "candidate.country in" in why[0]


# --- the per-candidate decision ----------------------------------------------------------------

CAMPAIGN = validate_campaign(VALID, messages=MESSAGES)
CONTACT = ContactPolicy()


def _decide(profile, *, now=NOW, contact=None, campaign=CAMPAIGN):
    return decide_recipient(
        campaign=campaign,
        campaign_id="cmp_1",
        created_at=CREATED,
        profile=profile,
        spec=MESSAGES["spring_hiring"],
        consent=ConsentPolicy(),
        contact=contact or CONTACT,
        now=now,
    )


def test_outside_the_segment_there_is_no_decision():
    assert _decide(_profile(role_family="design")) is None


def test_send_with_the_catalogues_variant_and_the_reasons():
    result = _decide(_profile(language="de"))
    assert result.action == "send" and result.variant.name == "de"
    decision = result.decision
    assert decision.variant == "de" and decision.purpose == "marketing"
    assert decision.trigger == {"detail_type": CAMPAIGN_TRIGGER, "event_id": "cmp_1"}
    assert decision.reasons[0].startswith("in segment")
    assert any(r.startswith("consent:") for r in decision.reasons)
    assert any(r.startswith("budget:") for r in decision.reasons)


def test_once_per_candidate_however_often_and_whenever_launched():
    first = _decide(_profile()).decision.decision_id
    later = _decide(_profile(), now=NOW + timedelta(days=1)).decision.decision_id
    other = _decide(_profile("c_zzz999")).decision.decision_id
    assert first == later != other
    fact = campaign_fact(CAMPAIGN, "cmp_1", "c_abc123", CREATED)
    assert fact.subject_id == "cmp_1" and fact.observed_at == CREATED


def test_held_back_for_each_reason():
    assert _decide(_profile(consent=None)).decision.reason == "no_consent"
    assert _decide(_profile(consent="withdrawn")).decision.reason in (
        "consent_withdrawn",
        "no_consent",
    )
    assert _decide(_profile(suppressed=True)).decision.reason == "suppressed_address"
    busy = _profile(recent=[NOW - timedelta(days=1), NOW - timedelta(days=2)])
    capped = _decide(busy)
    assert capped.action == "suppress" and capped.decision.reason == "frequency_cap"
    assert capped.decision.variant is None and capped.decision.message_id is None
    assert "2 budgeted messages" in capped.decision.reasons[-1]


def test_night_in_the_candidates_timezone_defers_to_their_morning():
    night = datetime(2026, 6, 10, 22, tzinfo=UTC)  # midnight in Berlin, 18:00 in New York
    berlin = _decide(_profile(), now=night)
    assert berlin.action == "defer" and berlin.defer_reason == "quiet_hours"
    assert berlin.deferred_until == datetime(2026, 6, 11, 6, tzinfo=UTC)
    assert _decide(_profile(tz="America/New_York"), now=night).action == "send"


def test_restricted_variants():
    campaign = validate_campaign(
        {**VALID, "content": {"template": "spring_hiring", "variants": ["senior", "default"]}},
        messages=MESSAGES,
    )
    assert _decide(_profile(language="de"), campaign=campaign).decision.variant == "default"
    assert _decide(_profile(seniority="lead"), campaign=campaign).decision.variant == "senior"


# --- the preview ----------------------------------------------------------------------------------


def _pool(n):
    """A varied pool: languages, seniorities, consent, suppression, recent sends, timezones."""
    profiles = []
    for i in range(n):
        profiles.append(
            _profile(
                f"c_pool{i:06d}",
                role_family="data" if i % 5 else "design",  # 1 in 5 outside the segment
                language="de" if i % 3 == 0 else "en",
                seniority="lead" if i % 4 == 0 else "mid",
                consent=None if i % 7 == 0 else "granted",
                suppressed=i % 11 == 0,
                recent=[NOW - timedelta(days=1), NOW - timedelta(days=2)] if i % 13 == 0 else (),
                tz="Pacific/Auckland" if i % 17 == 0 else "Europe/Berlin",  # 22:00 there: quiet
            )
        )
    return profiles


def test_preview_counts_by_variant_and_by_reason():
    pool = _pool(2000)
    preview = aggregate_preview((p, _decide(p)) for p in pool)
    assert preview.scanned == 2000
    assert preview.in_segment == sum(1 for p in pool if p.value("role_family") == "data")
    assert preview.would_send == sum(preview.by_variant.values())
    assert preview.in_segment == preview.would_send + sum(preview.suppressed.values())
    assert set(preview.by_variant) == {"de", "senior", "default"}
    assert set(preview.suppressed) == {"no_consent", "suppressed_address", "frequency_cap"}
    assert preview.deferred["quiet_hours"] > 0
    assert sum(preview.deferred.values()) <= preview.would_send
    # Who is held back, and why: an example of each reason.
    assert sorted(h["reason"] for h in preview.held_back) == sorted(preview.suppressed)


def test_preview_counts_are_what_a_launch_sends():
    pool = _pool(500)
    preview = aggregate_preview((p, _decide(p)) for p in pool)
    launched = [r for p in pool if (r := _decide(p, now=NOW)) is not None and r.will_send]
    assert len(launched) == preview.would_send
    assert len({r.decision.decision_id for r in launched}) == len(launched)


def test_samples_show_each_variant_before_a_second_of_any_and_render_only_them():
    pool = _pool(300)
    rendered = []

    def render(profile, recipient):
        rendered.append(profile.candidate_id)
        return {"subject": f"subject for {recipient.decision.variant}"}

    preview = aggregate_preview(((p, _decide(p)) for p in pool), samples=4, render=render)
    variants = [s["variant"] for s in preview.samples]
    assert len(variants) == 4 and set(variants[:3]) == {"de", "senior", "default"}
    assert rendered == [s["candidate_id"] for s in preview.samples]
    assert all(s["subject"] == f"subject for {s['variant']}" for s in preview.samples)


def test_preview_as_dict_and_of_nothing():
    empty = aggregate_preview([])
    assert empty.as_dict() == {
        "scanned": 0,
        "in_segment": 0,
        "would_send": 0,
        "held_out": 0,
        "by_variant": {},
        "suppressed": {},
        "deferred": {},
        "samples": [],
        "held_back": [],
    }
    one = aggregate_preview([(_profile(), _decide(_profile(), contact=NO_LIMITS))]).as_dict()
    assert one["by_variant"] == {"default": 1} and one["samples"][0]["action"] == "send"


def test_campaign_model_round_trips_as_json():
    again = Campaign.model_validate_json(CAMPAIGN.model_dump_json())
    assert again == CAMPAIGN


def test_a_restricted_message_is_made_once_for_a_campaigns_recipients():
    """Each recipient of a campaign that names its variants decides with the same copy of
    the message (and so the same index of its variants), not a copy of its own."""
    spec = MESSAGES["spring_hiring"]
    campaign = validate_campaign(
        {**VALID, "content": {**VALID["content"], "variants": ["senior", "default"]}},
        messages=MESSAGES,
    )
    first = restricted_spec(campaign, spec)
    assert [v.name for v in first.variants] == ["senior", "default"]
    assert restricted_spec(campaign, spec) is first
    everyone = validate_campaign(VALID, messages=MESSAGES)
    assert restricted_spec(everyone, spec) is spec
    other = MESSAGES["meetup_invite"]
    assert restricted_spec(campaign, other) is not first
