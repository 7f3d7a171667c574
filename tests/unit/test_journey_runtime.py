"""The pure helpers of talentops.journeys.runtime: the decision id of a journey's send, what a
journey listens to and whether it follows an event (which decides whether the catalogue's
fallback answers it), the behaviour a candidate event adds to the profile, the summary a
handler returns, and reading back the journey version an instance started on."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from talentops.content.catalogue import load_catalogue
from talentops.delivery.decide import TriggerFact, decision_id
from talentops.journeys.engine import JourneyInstance, Transition
from talentops.journeys.loader import JourneyRegistry, load_journeys, messages_of, parse_journey
from talentops.journeys.model import Journey
from talentops.journeys.runtime import (
    JourneyRuntime,
    Outcome,
    _listened,
    _parse,
    journey_decision_id,
)
from talentops.models.state import Profile

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = messages_of(load_catalogue(str(ROOT / "templates")))
SHIPPED = {j.name: j for j in load_journeys(ROOT / "templates" / "journeys", MESSAGES)}
T0 = datetime(2026, 11, 30, 10, tzinfo=UTC)

REGISTERED = "Candidate Event Registered"
ATTENDED = "Candidate Event Attended"
NO_SHOW = "Candidate Event No-Show"
VIEWED = "Candidate Job Viewed"
APPLIED = "Candidate Application Submitted"


# -- journey_decision_id -------------------------------------------------------------------------


def test_journey_decision_id_is_stable_and_fits_a_decision_id() -> None:
    key = "2b858e201de1be63cb7f1db6:remind:4"
    assert journey_decision_id(key) == journey_decision_id(key)
    assert re.fullmatch(r"[0-9a-f]{32}", journey_decision_id(key))


def test_journey_decision_id_is_pinned_across_releases() -> None:
    """An outbox written before a deploy is carried out after it: a changed derivation would
    give the same step a new decision id and send it a second time."""
    assert journey_decision_id("abc:confirm:2") == "d810580d51e956378b1b2870d83e8b3f"


@pytest.mark.parametrize(
    "other",
    [
        "2b858e201de1be63cb7f1db6:remind:5",  # the same step entered again (a later step_seq)
        "2b858e201de1be63cb7f1db6:confirm:4",  # another step
        "2b858e201de1be63cb7f1db7:remind:4",  # another instance
    ],
)
def test_journey_decision_id_differs_per_instance_step_and_entry(other: str) -> None:
    assert journey_decision_id("2b858e201de1be63cb7f1db6:remind:4") != journey_decision_id(other)


def test_journey_decision_ids_cannot_collide_with_the_catalogues() -> None:
    """The catalogue's decision ids hash `template|detail-type|...`; a journey's hashes
    `journey|<dedupe key>`: the same text never yields both."""
    fact = TriggerFact(ATTENDED, "e-1", "id:c_abc123", T0, "ev-1")
    catalogue_id = decision_id(fact, "event_attended_followup", "c_abc123")
    assert catalogue_id != journey_decision_id("event_attended_followup")
    assert len(catalogue_id) == len(journey_decision_id("x"))


# -- _listened -----------------------------------------------------------------------------------


def test_the_event_journey_listens_to_its_entry_and_both_outcomes() -> None:
    assert _listened(SHIPPED["event"]) == {REGISTERED, ATTENDED, NO_SHOW}


def test_the_job_nurture_listens_to_the_view_and_the_application() -> None:
    assert _listened(SHIPPED["job_nurture"]) == {VIEWED, APPLIED}


def test_a_nurture_journey_listens_to_applications_even_when_its_file_does_not_say_so() -> None:
    text = """\
format: 1
name: quiet
category: nurture
entry:
  event: Candidate Job Viewed
steps:
  - id: nudge
    send: job_nurture
"""
    journey = parse_journey(text, "quiet.yaml", MESSAGES)
    assert _listened(journey) == {VIEWED, APPLIED}


def test_a_segment_journey_has_no_entry_event() -> None:
    text = """\
format: 1
name: segment
category: event_logistics
entry:
  segment:
    - {field: candidate.role_family, op: eq, value: data}
exit:
  - when: [{field: candidate.country, op: eq, value: US}]
    reason: moved
steps:
  - id: hello
    send: event_reminder
"""
    journey = parse_journey(text, "segment.yaml", MESSAGES)
    assert _listened(journey) == set()


# -- _followed: whether a journey, not the catalogue, answers an event ---------------------------


def _instance(
    journey: str = "event", subject: str | None = "ev-1", version: str = ""
) -> JourneyInstance:
    return JourneyInstance(
        instance_id="i1",
        journey=journey,
        version=version or SHIPPED[journey].version,
        candidate_id="c_abc123",
        key=f"{journey}#{subject}",
        subject_id=subject,
        started_at=T0,
        updated_at=T0,
    )


def _runtime() -> JourneyRuntime:
    runtime = JourneyRuntime.__new__(JourneyRuntime)
    runtime.registry = JourneyRegistry(SHIPPED.values())
    return runtime


def _fact(detail_type: str, subject: str | None, observed_at: datetime = T0) -> TriggerFact:
    return TriggerFact(detail_type, "e-1", "email:a@example.org", observed_at, subject)


def test_an_outcome_of_the_event_a_journey_follows_is_the_journeys() -> None:
    runtime = _runtime()
    assert runtime._followed([_instance()], _fact(ATTENDED, "ev-1"))
    assert runtime._followed([_instance()], _fact(NO_SHOW, "ev-1"))


def test_an_outcome_of_another_event_falls_back_to_the_catalogue() -> None:
    runtime = _runtime()
    assert not runtime._followed([_instance()], _fact(ATTENDED, "ev-2"))
    assert not runtime._followed([], _fact(ATTENDED, "ev-1"))


class _NoVersions:
    def load_version(self, name: str, version: str) -> None:
        return None


def test_an_instance_of_a_version_no_longer_known_still_owns_its_subject() -> None:
    """Its journey about this event may have followed the outcome: the catalogue must not
    answer it a second time."""
    runtime = _runtime()
    runtime.store = _NoVersions()  # type: ignore[assignment]
    assert runtime._followed([_instance(version="0000000000000000")], _fact(ATTENDED, "ev-1"))


def test_an_ended_instance_still_follows_its_event() -> None:
    """A late Attended after the no-show follow-up: neither a second follow-up nor the
    catalogue's."""
    ended = _instance().model_copy(update={"status": "completed", "ended_at": T0})
    assert _runtime()._followed([ended], _fact(ATTENDED, "ev-1"))


# -- _with_behaviour -----------------------------------------------------------------------------


def test_a_newer_event_is_added_to_the_behaviours_and_returned_for_storing() -> None:
    profile = Profile(candidate_id="c_abc123")
    updated, behaviour = _runtime()._with_behaviour(profile, _fact(APPLIED, "job-1"))
    assert behaviour == (
        "application_submitted",
        {"at": T0.isoformat(), "subject_id": "job-1", "event_id": "e-1"},
    )
    assert updated.behaviours["application_submitted"]["subject_id"] == "job-1"
    assert profile.behaviours == {}  # the profile read is not changed in place


def test_an_older_event_than_the_one_held_changes_nothing() -> None:
    held = {"at": "2026-12-01T00:00:00+00:00", "subject_id": "job-9", "event_id": "e-9"}
    profile = Profile(candidate_id="c_abc123", behaviours={"application_submitted": held})
    updated, behaviour = _runtime()._with_behaviour(profile, _fact(APPLIED, "job-1"))
    assert behaviour is None and updated is profile


# -- _parse and Outcome.summary ------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "yesterday", 17])
def test_parse_gives_none_for_what_is_not_a_time(value: object) -> None:
    assert _parse(value) is None


def test_parse_reads_a_z_suffix_as_utc() -> None:
    assert _parse("2026-12-03T17:30:00Z") == datetime(2026, 12, 3, 17, 30, tzinfo=UTC)


def test_summary_says_which_journeys_moved_and_which_were_not_entered() -> None:
    instance = _instance().model_copy(update={"step": "day_before"})
    outcome = Outcome(
        [
            Transition("event", instance, (), ("entered",)),
            Transition("job_nurture", None, (), ("job_nurture: not entered: ...",)),
        ],
        fallback=True,
    )
    summary = outcome.summary()
    assert summary["journeys"] == [
        {
            "journey": "event",
            "instance_id": "i1",
            "status": "active",
            "step": "day_before",
            "effects": [],
        },
        {
            "journey": "job_nurture",
            "instance_id": None,
            "status": "not_entered",
            "step": None,
            "effects": [],
        },
    ]
    assert summary["fallback"] is True
    json.dumps(summary)  # what a handler returns must serialize


# -- versions: what the version store keeps is what the registry finds ---------------------------


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_stored_version_reads_back_as_the_same_version(name: str) -> None:
    journey = SHIPPED[name]
    again = Journey.from_canonical_json(journey.canonical_json())
    assert again.version == journey.version
    assert again.canonical_json() == journey.canonical_json()


class _Store:
    def __init__(self, journeys: list[Journey]):
        self.journeys = {(j.name, j.version): j for j in journeys}
        self.loaded: list[tuple[str, str]] = []

    def load_version(self, name: str, version: str) -> Journey | None:
        self.loaded.append((name, version))
        return self.journeys.get((name, version))


def test_the_version_of_a_running_instance_is_read_from_the_store_once_known() -> None:
    old = parse_journey(
        (ROOT / "templates" / "journeys" / "event.yaml")
        .read_text(encoding="utf-8")
        .replace('at: "09:00"', 'at: "10:00"'),
        "event.yaml",
        MESSAGES,
    )
    assert old.version != SHIPPED["event"].version
    store = _Store([old])
    runtime = _runtime()
    runtime.store = store  # type: ignore[assignment]
    running = _instance(version=old.version)
    runtime._know_versions([running, _instance()])
    assert store.loaded == [("event", old.version)]  # the current version is not read
    assert runtime.registry.get("event", old.version) == old
    runtime._know_versions([running])
    assert store.loaded == [("event", old.version)]  # remembered: not read again
