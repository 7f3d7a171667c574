"""The pure parts of renders and test sends (delivery/proofs.py, compose.build_test_mime,
context.untracked_links, decide.variant_for) and what template.yaml gives the API for them."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import load_catalogue
from talentops.content.render import RenderedMessage
from talentops.delivery.compose import TEST_SUBJECT_PREFIX, build_test_mime
from talentops.delivery.context import Brand, untracked_links
from talentops.delivery.decide import TriggerFact, decide, variant_for
from talentops.delivery.proofs import (
    MAX_TEST_RECIPIENTS,
    NotASeedAddressError,
    message_trigger,
    parse_seed_list,
    sample_profile,
    sample_subject,
    seed_addresses,
)
from talentops.journeys.loader import load_journeys, messages_of
from talentops.models.state import FieldValue
from tests.support.cfn import ROOT, template

NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
BRAND = Brand(
    company_name="Example Corp",
    sender_name="Example Careers",
    sender_address="careers@talent.example.com",
    postal_address="1 Example Street, Dublin",
    careers_site_url="https://careers.example.com",
    api_base_url="https://api.example.com",
)
CATALOGUE = load_catalogue(str(ROOT / "templates"))
JOURNEYS = load_journeys(ROOT / "templates" / "journeys", messages_of(CATALOGUE))


@pytest.mark.parametrize(
    ("message", "detail_type", "sent_by", "subject"),
    [
        ("event_registration_confirmation", "Candidate Event Registered", "journey event", "event"),
        ("event_reminder", "Candidate Event Registered", "journey event", "event"),
        ("event_attended_followup", "Candidate Event Attended", "catalogue", "event"),
        ("event_no_show_followup", "Candidate Event No-Show", "catalogue", "event"),
        ("job_nurture", "Candidate Job Viewed", "journey job_nurture", "job"),
        ("job_alert", "Job Opened", "job alerts", "job"),
        ("repermission_marketing", "Candidate Consent Expiring: marketing", "catalogue", None),
        ("spring_hiring", "Campaign Launched", "campaign", None),
    ],
)
def test_the_trigger_of_each_catalogue_message(message, detail_type, sent_by, subject):
    found = message_trigger(message, CATALOGUE.message(message), JOURNEYS)
    assert (found.detail_type, found.sent_by, found.subject) == (detail_type, sent_by, subject)
    assert found.similar_jobs is (message == "job_nurture")


def test_every_catalogue_message_has_a_trigger_and_renders_for_the_sample_profile():
    from talentops.delivery.compose import render_email

    profile = sample_profile(NOW)
    for name, spec in CATALOGUE.messages.items():
        trigger = message_trigger(name, spec, JOURNEYS)
        page_url, payload = sample_subject(trigger, BRAND, NOW)
        links = untracked_links(brand=BRAND, event_url=page_url)
        for variant in spec.variants:
            rendered = render_email(
                catalogue=CATALOGUE,
                brand=BRAND,
                links=links,
                variant=variant,
                profile=profile,
                purpose=spec.purpose,
                template=name,
                payload=payload(links),
            )
            assert rendered.subject, (name, variant.name)


def test_the_sample_subjects_carry_what_their_senders_give():
    event_trigger = message_trigger("event_reminder", CATALOGUE.message("event_reminder"), JOURNEYS)
    page_url, payload = sample_subject(event_trigger, BRAND, NOW)
    links = untracked_links(brand=BRAND, event_url=page_url)
    event = payload(links)["event"]
    assert event["starts_at"] > NOW and page_url == event["url"]
    assert links.event == page_url  # the event's own page, on the careers site, no token

    alert = message_trigger("job_alert", CATALOGUE.message("job_alert"), JOURNEYS)
    page_url, payload = sample_subject(alert, BRAND, NOW)
    links = untracked_links(brand=BRAND, event_url=page_url)
    assert payload(links)["job"]["link"] == "https://careers.example.com/jobs/job-1"

    nurture = message_trigger("job_nurture", CATALOGUE.message("job_nurture"), JOURNEYS)
    page_url, payload = sample_subject(nurture, BRAND, NOW)
    data = payload(untracked_links(brand=BRAND))
    assert page_url is None and [j["id"] for j in data["jobs"]["similar"]] == ["job-2"]

    campaign = message_trigger("spring_hiring", CATALOGUE.message("spring_hiring"), JOURNEYS)
    assert sample_subject(campaign, BRAND, NOW)[0] is None
    assert sample_subject(campaign, BRAND, NOW)[1](untracked_links(brand=BRAND)) == {}


def test_untracked_links_carry_no_token_and_stay_on_allowed_origins():
    links = untracked_links(brand=BRAND, event_url="https://elsewhere.example/e/1")
    assert links.as_dict() == {
        "careers": "https://careers.example.com/",
        "jobs": "https://careers.example.com/jobs",
        "event": "https://careers.example.com/events",  # a page elsewhere is dropped
        "unsubscribe": "https://api.example.com/unsubscribe",
        "preferences": "https://api.example.com/preferences",
    }
    for url in links.as_dict().values():
        assert "?" not in url and BRAND.link_rule.allows(url)


def test_the_variant_without_a_choice_is_the_one_decide_takes():
    policy_ = ConsentPolicy.from_json("")
    spec = CATALOGUE.message("job_alert")
    payload = {"job": {"id": "j", "title": "Data Engineer", "remote": True, "city": None}}
    base = sample_profile(NOW)
    german = base.model_copy(deep=True)
    german.fields["language"] = FieldValue(value="de-AT", source="s", observed_at=NOW)
    # City stale: the remote variant (which requires it fresh) is passed over.
    stale_city = base.model_copy(deep=True)
    stale_city.fields["city"] = FieldValue(
        value="Berlin", source="s", observed_at=NOW - timedelta(days=2000)
    )
    fact = TriggerFact("Job Opened", "e1", "id:c_sample000000", NOW, "j", payload)
    for profile, expected in ((base, "remote"), (german, "de"), (stale_city, "senior")):
        chosen = variant_for(spec, profile, payload, now=NOW)
        assert chosen.name == expected
        decided = decide(
            fact=fact, profile=profile, template="job_alert", spec=spec, policy=policy_, now=NOW
        )
        assert (decided.decision.outcome, decided.decision.variant) == ("send", expected)


def test_seed_list_parsing_and_checks():
    seeds = parse_seed_list(" QA@talent.example.com,lead@talent.example.com  ops@x.example ,")
    assert seeds == {"qa@talent.example.com", "lead@talent.example.com", "ops@x.example"}
    assert parse_seed_list("") == frozenset()
    # Case does not matter; repeats are sent once; the order is kept.
    assert seed_addresses(
        ["Lead@talent.example.com", "qa@talent.example.com", "LEAD@talent.example.com"], seeds
    ) == ["Lead@talent.example.com", "qa@talent.example.com"]
    with pytest.raises(NotASeedAddressError) as refused:
        seed_addresses(["qa@talent.example.com", "who@else.example"], seeds)
    assert str(refused.value) == "to[1]: 'who@else.example': not on the test seed list"
    with pytest.raises(NotASeedAddressError, match="the seed list is empty"):
        seed_addresses(["qa@talent.example.com"], frozenset())
    many = frozenset(f"s{i}@talent.example.com" for i in range(MAX_TEST_RECIPIENTS + 1))
    with pytest.raises(NotASeedAddressError, match=f"at most {MAX_TEST_RECIPIENTS}"):
        seed_addresses(sorted(many), many)


def test_a_test_mime_is_marked_and_has_no_unsubscribe_header():
    rendered = RenderedMessage(
        subject="Grüße: a subject", html="<p>Hallo <b>Ada</b></p>", text="Hallo Ada"
    )
    raw = build_test_mime(
        brand=BRAND,
        rendered=rendered,
        to="qa@talent.example.com",
        message_id="test-abc",
        sent_at=NOW,
    )
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert str(mail["Subject"]) == TEST_SUBJECT_PREFIX + "Grüße: a subject"
    assert str(mail["To"]) == "qa@talent.example.com"
    assert str(mail["Message-ID"]) == "<test-abc@talent.example.com>"
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert mail.get_body(("plain",)).get_content().rstrip("\n") == "Hallo Ada"
    assert mail.get_body(("html",)).get_content().rstrip("\n") == rendered.html


def test_the_api_may_send_from_the_sender_identity_only_and_gets_the_seed_list():
    api = template()["Resources"]["ApiFunction"]["Properties"]
    assert api["Environment"]["Variables"]["TEST_SEED_LIST"] == {"Ref": "TestSeedList"}
    assert template()["Parameters"]["TestSeedList"]["Default"] == ""
    ses = [
        statement
        for policy_ in api["Policies"]
        for statement in policy_.get("Statement", [])
        if any(str(a).startswith("ses:") for a in _list(statement["Action"]))
    ]
    assert len(ses) == 1
    [statement] = ses
    assert _list(statement["Action"]) == ["ses:SendEmail"]
    resources = _list(statement["Resource"])
    assert len(resources) == 1
    assert ":identity/${Domain}" in str(resources[0])
    assert "configuration-set" not in str(resources)


def _list(value):
    return value if isinstance(value, list) else [value]
