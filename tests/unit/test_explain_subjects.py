"""Explanations of campaigns, journeys and the population (issue 14): the outcome is the
deciding function's own (decide_recipient, the journey engine), and the steps say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talentops.campaigns.model import Campaign
from talentops.campaigns.preview import decide_recipient
from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import Catalogue, load_catalogue
from talentops.delivery.budget import ContactPolicy
from talentops.explain.campaign import explain_campaign
from talentops.explain.candidate import candidate_step, not_yet_in_pool
from talentops.explain.journey import EntryFact, explain_journey
from talentops.explain.message import Explanation, Step, explain_message
from talentops.explain.population import why_not
from talentops.journeys.engine import CandidateEvent, SendMessage, render_payload, start
from talentops.journeys.loader import load_journeys, messages_of
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord

ROOT = Path(__file__).resolve().parents[2]
# A Wednesday, 10:00 UTC: 11:00 in Berlin, 23:00 in Auckland (quiet hours).
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
T0 = AT - timedelta(days=30)
CONSENT = ConsentPolicy()
CONTACT = ContactPolicy()
CAMPAIGN = Campaign.model_validate(
    {
        "name": "Spring hiring: data",
        "purpose": "marketing",
        "segment": [{"field": "role_family", "op": "eq", "value": "data"}],
        "content": {"template": "spring_hiring"},
    }
)
CAMPAIGN_ID = "cmp_0123456789abcdef"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(str(ROOT / "templates"))


@pytest.fixture(scope="module")
def journeys(catalogue: Catalogue) -> dict[str, object]:
    found = load_journeys(ROOT / "templates" / "journeys", messages_of(catalogue))
    return {j.name: j for j in found}


def person(
    *,
    tz: str = "Europe/Berlin",
    consent: str | None = "granted",
    role_family: str | None = "data",
    recent: tuple[datetime, ...] = (),
    behaviours: dict[str, dict[str, str]] | None = None,
) -> Profile:
    profile = Profile(candidate_id="c_explain42", created_at=T0)
    fields = {
        "email": "ada@example.org",
        "first_name": "Ada",
        "country": "DE",
        "city": "Berlin",
        "seniority": "mid",
        "language": "en",
        "timezone": tz,
        "role_family": role_family,
    }
    for name, value in fields.items():
        if value is not None:
            profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    if consent is not None:
        for purpose in ("events", "marketing", "job_alerts"):
            profile.consent[purpose] = ConsentState(
                status=consent, source="talent.crm", observed_at=T0
            )
    for n, at in enumerate(recent):
        profile.recent[f"r{n}"] = SentRecord(at=at, purpose="events", template="earlier")
    profile.behaviours.update(behaviours or {})
    return profile


def campaign_explained(catalogue: Catalogue, profile: Profile, at: datetime = AT) -> Explanation:
    return explain_campaign(
        campaign=CAMPAIGN,
        campaign_id=CAMPAIGN_ID,
        created_at=T0,
        profile=profile,
        spec=catalogue.message("spring_hiring"),
        consent=CONSENT,
        contact=CONTACT,
        at=at,
    )


# -- campaigns ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "outcome", "reason", "failing"),
    [
        (person(), "send", None, set()),
        (person(role_family="design"), "not_eligible", "not_in_segment", {"segment"}),
        (person(consent="withdrawn"), "suppress", "consent_withdrawn", {"consent (marketing)"}),
        # 23:00 in Auckland: waits for the morning there.
        (
            person(tz="Pacific/Auckland"),
            "defer",
            "quiet_hours",
            {"quiet hours and contact budget"},
        ),
        # Two budgeted messages, the older yesterday: no room before the campaign's max wait.
        (
            person(recent=(AT - timedelta(days=1), AT - timedelta(hours=2))),
            "suppress",
            "frequency_cap",
            {"quiet hours and contact budget"},
        ),
    ],
)
def test_a_campaign_is_explained_with_the_previews_own_decision(
    catalogue: Catalogue, profile: Profile, outcome: str, reason: str | None, failing: set[str]
) -> None:
    found = campaign_explained(catalogue, profile)
    assert (found.outcome, found.reason) == (outcome, reason)
    assert {s.check for s in found.steps if not s.passed} == failing
    recipient = decide_recipient(
        campaign=CAMPAIGN,
        campaign_id=CAMPAIGN_ID,
        created_at=T0,
        profile=profile,
        spec=catalogue.message("spring_hiring"),
        consent=CONSENT,
        contact=CONTACT,
        now=AT,
    )
    if recipient is None:
        assert found.steps[0].check == "segment"
        assert "candidate.role_family eq" in found.steps[0].why
        assert found.variant is None
    else:
        assert found.outcome == recipient.action
        assert found.variant == (recipient.decision.variant if recipient.will_send else None)
    if outcome == "defer":
        assert found.variant == "default" and "deferred_until" in found.subject
        assert "Pacific/Auckland" in found.steps[-1].why or any(
            "Pacific/Auckland" in s.why for s in found.steps
        )


def test_a_campaign_explanation_names_the_campaign(catalogue: Catalogue) -> None:
    found = campaign_explained(catalogue, person()).as_dict()
    assert found["subject"]["campaign"] == CAMPAIGN_ID
    assert found["subject"]["message"] == "spring_hiring"
    assert found["steps"][0]["check"] == "segment"
    assert found["steps"][-1]["check"] == "variant"


# -- the candidate's own existence --------------------------------------------------------------


def test_a_moment_before_the_candidate_joined_is_not_eligible() -> None:
    profile = person()
    step = candidate_step(profile, T0 - timedelta(days=1), AT)
    assert not step.passed and "before the candidate joined" in step.why
    found = not_yet_in_pool(profile, {"message": "x"}, T0 - timedelta(days=1), step)
    assert (found.outcome, found.reason) == ("not_eligible", "not_yet_in_pool")
    later = candidate_step(profile, AT - timedelta(days=1), AT)
    assert later.passed and "as held now" in later.why


# -- journeys -----------------------------------------------------------------------------------


def sender(catalogue: Catalogue, profile: Profile):
    def explain_send(effect: SendMessage, moment: datetime) -> Explanation:
        return explain_message(
            profile=profile,
            template=effect.template,
            spec=catalogue.message(effect.template),
            policy=CONSENT,
            at=moment,
            payload=render_payload(effect.payload),
        )

    return explain_send


NO_ENTRY = EntryFact()


def journey_explained(catalogue, journey, profile, *, instances=(), entry=NO_ENTRY, at=AT):
    return explain_journey(
        journey=journey,
        profile=profile,
        instances=list(instances),
        version_of=lambda v: journey if v == journey.version else None,
        at=at,
        contact=CONTACT,
        entry=entry,
        explain_send=sender(catalogue, profile),
    )


def test_a_journey_not_yet_entered_would_send_its_first_message_after_its_wait(
    catalogue, journeys
) -> None:
    profile = person()
    found = journey_explained(catalogue, journeys["job_nurture"], profile)
    assert (found.outcome, found.reason) == ("send", None)
    assert found.subject["message"] == "job_nurture" and found.subject["step"] == "nudge"
    # After the three days' wait: 10:00 UTC is 11:00 in Berlin, no quiet hours.
    assert found.subject["send_at"] == (AT + timedelta(days=3)).isoformat()
    entry = next(s for s in found.steps if s.check == "journey entry")
    assert entry.passed and "Candidate Job Viewed" in entry.why
    assert any("give_time: waits until" in s.why for s in found.steps if s.check == "journey")
    assert found.variant is not None


def test_an_exit_condition_that_holds_keeps_the_candidate_out(catalogue, journeys) -> None:
    applied = {"application_submitted": {"at": (AT - timedelta(days=2)).isoformat()}}
    found = journey_explained(catalogue, journeys["job_nurture"], person(behaviours=applied))
    assert (found.outcome, found.reason) == ("not_eligible", "not_entered")
    [entry] = [s for s in found.steps if s.check == "journey entry"]
    assert not entry.passed and "applied_recently" in entry.why


def test_a_journey_that_ends_before_sending_says_how(catalogue, journeys) -> None:
    found = journey_explained(catalogue, journeys["job_nurture"], person(role_family=None))
    assert (found.outcome, found.reason) == ("not_eligible", "no_role_family")


def test_an_instance_in_progress_is_run_on_to_its_next_send(catalogue, journeys) -> None:
    journey = journeys["job_nurture"]
    profile = person()
    started = start(
        journey,
        candidate_id=profile.candidate_id,
        profile=profile,
        stimulus=CandidateEvent("Candidate Job Viewed", "e1", AT - timedelta(days=1), "job-7"),
        now=AT - timedelta(days=1),
        policy=CONTACT,
    )
    assert started is not None and started.instance is not None
    found = journey_explained(catalogue, journey, profile, instances=[started.instance])
    entry = found.steps[0]
    assert entry.check == "journey entry" and "now at step give_time" in entry.why
    assert found.subject["instance_id"] == started.instance.instance_id
    assert found.subject["send_at"] == (AT + timedelta(days=2)).isoformat()
    assert found.outcome == "send"
    # Entering again is not the question while it runs: re-entry is not judged.
    assert not any(s.check == "earlier instance" for s in found.steps)


def test_a_send_at_night_is_deferred_to_the_morning(catalogue, journeys) -> None:
    # 3 days after 21:30 Berlin time is night in Berlin: the nudge waits for 08:00.
    at = datetime(2026, 12, 2, 20, 30, tzinfo=UTC)
    found = journey_explained(catalogue, journeys["job_nurture"], person(), at=at)
    assert (found.outcome, found.reason) == ("defer", "quiet_hours")
    assert found.subject["send_at"] == datetime(2026, 12, 6, 7, 0, tzinfo=UTC).isoformat()
    assert found.variant is not None


def test_the_event_journey_confirms_a_registration_at_once_with_the_listed_event(
    catalogue, journeys
) -> None:
    event = {
        "id": "ev-42",
        "name": "Data Summit",
        "starts_at": "2026-12-10T18:00:00Z",
        "city": "Berlin",
        "url": None,
    }
    entry = EntryFact("ev-42", {"event": event}, "about event ev-42, the candidate's last one")
    found = journey_explained(catalogue, journeys["event"], person(), entry=entry)
    assert found.subject["message"] == "event_registration_confirmation"
    assert found.subject["send_at"] == AT.isoformat()
    assert found.outcome == "send"
    # Without the event's start the entry condition cannot hold: the engine says which.
    bare = journey_explained(catalogue, journeys["event"], person())
    assert (bare.outcome, bare.reason) == ("not_eligible", "not_entered")
    assert "event.starts_at" in next(s for s in bare.steps if s.check == "journey entry").why


# -- the population -----------------------------------------------------------------------------


def test_the_population_is_broken_down_by_first_reason_with_an_example(
    catalogue: Catalogue,
) -> None:
    pool = {
        "c_send000001": person(),
        "c_send000002": person(),
        "c_design0001": person(role_family="design"),
        "c_design0002": person(role_family="design"),
        "c_design0003": person(role_family="design"),
        "c_nightowl01": person(tz="Pacific/Auckland"),
        # Not in the segment AND withdrawn: counted once, under the first reason.
        "c_bothbad001": person(role_family="design", consent="withdrawn"),
        "c_withdrawn1": person(consent="withdrawn"),
    }
    explained = []
    for candidate_id, profile in pool.items():
        explained.append(
            campaign_explained(catalogue, profile.model_copy(update={"candidate_id": candidate_id}))
        )
    tally = why_not(explained).as_dict()
    assert tally["scanned"] == 8 and tally["reached"] == 2
    assert tally["by_variant"] == {"default": 3}  # the deferred one goes out later
    assert tally["deferred"]["quiet_hours"]["count"] == 1
    assert tally["deferred"]["quiet_hours"]["example"] == "c_nightowl01"
    not_reached = tally["not_reached"]
    assert list(not_reached) == ["not_in_segment", "consent_withdrawn"]  # biggest first
    assert not_reached["not_in_segment"]["count"] == 4
    assert not_reached["not_in_segment"]["example"] == "c_design0001"
    assert not_reached["not_in_segment"]["why"].startswith("segment: not in segment")
    assert not_reached["consent_withdrawn"] == {
        "count": 1,
        "example": "c_withdrawn1",
        "why": not_reached["consent_withdrawn"]["why"],
    }
    assert "consent (marketing)" in not_reached["consent_withdrawn"]["why"]
    assert tally["not_reached_total"] == 5 and tally["deferred_total"] == 1


def test_a_step_without_failures_gives_no_why() -> None:
    found = Explanation("c_x0000001", {}, AT, "suppress", "odd", None, [Step("a", True, "ok")])
    assert why_not([found]).as_dict()["not_reached"]["odd"]["why"] is None


def test_re_entry_too_soon_after_an_earlier_instance_is_not_entered(catalogue, journeys) -> None:
    journey = journeys["job_nurture"]
    profile = person()
    began = AT - timedelta(days=9)
    started = start(
        journey,
        candidate_id=profile.candidate_id,
        profile=profile,
        stimulus=CandidateEvent("Candidate Job Viewed", "e0", began, "job-7"),
        now=began,
        policy=CONTACT,
    )
    assert started is not None and started.instance is not None
    ended = started.instance.model_copy(
        update={"status": "completed", "ended_at": AT - timedelta(days=6), "end_reason": "done"}
    )
    found = journey_explained(catalogue, journey, profile, instances=[ended])
    assert (found.outcome, found.reason) == ("not_eligible", "not_entered")
    earlier, entry = found.steps
    assert earlier.check == "earlier instance" and "completed" in earlier.why
    assert not entry.passed and "re-entry: not before" in entry.why
    # A fortnight after it ended, it would start again.
    later = journey_explained(
        catalogue, journey, profile, instances=[ended], at=AT + timedelta(days=9)
    )
    assert later.outcome == "send" and later.subject["message"] == "job_nurture"
