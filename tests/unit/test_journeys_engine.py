"""The journey engine, driven by stimuli and an explicit "now": the event journey and the job
nurture as shipped, and the engine's rules on small journeys of their own."""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from talentops.content.catalogue import load_catalogue
from talentops.delivery.budget import NO_LIMITS, ContactPolicy
from talentops.delivery.decide import TriggerFact
from talentops.journeys.engine import (
    CancelTimer,
    CandidateEvent,
    Exit,
    JourneyInstance,
    ProfileChanged,
    ScheduleTimer,
    SendMessage,
    SuppressMessage,
    TimerFired,
    advance,
    dispatch,
    effect_from_dict,
    effect_to_dict,
    listens_of,
    needs_instances,
    render_payload,
    start,
    watched_fields,
)
from talentops.journeys.loader import JourneyRegistry, load_journeys, messages_of, parse_journey
from talentops.models.state import JOURNEYS_LISTED, FieldValue, Profile, SentRecord

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = {
    **messages_of(load_catalogue(str(ROOT / "templates"))),
    "event_reminder": "events",
    "job_nurture": "marketing",
}
SHIPPED = {j.name: j for j in load_journeys(ROOT / "templates" / "journeys", MESSAGES)}
EVENT_JOURNEY = SHIPPED["event"]
NURTURE = SHIPPED["job_nurture"]
POLICY = ContactPolicy()  # quiet hours 21:00-08:00, 2 marketing messages a week
CANDIDATE = "c_abc123"
T0 = datetime(2026, 5, 1, tzinfo=UTC)

STARTS = datetime(2026, 6, 12, 18, tzinfo=UTC)  # 20:00 in Berlin, 14:00 in New York
EVENT = {"id": "ev-42", "name": "Data Summit", "starts_at": STARTS, "city": "Berlin", "url": None}
JOB = {"id": "job-7", "title": "Data Engineer", "role_family": "data", "seniority": "mid"}


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


def _profile(tz="Europe/Berlin", recent=(), behaviours=None, **fields):
    values = {"email": "a@example.org", "timezone": tz, "role_family": "data", **fields}
    profile = Profile(candidate_id=CANDIDATE)
    for name, value in values.items():
        if value is not None:
            profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    for i, (at, purpose) in enumerate(recent):
        profile.recent[f"d{i}"] = SentRecord(at=at, purpose=purpose, template="earlier")
    profile.behaviours.update(behaviours or {})
    return profile


def _event(detail_type, at, subject="ev-42", payload=None, event_id=None):
    if payload is None:
        payload = {"event": {**EVENT, "id": subject}} if "Event" in detail_type else {"job": JOB}
    return CandidateEvent(
        detail_type=detail_type,
        event_id=event_id or f"eb-{detail_type[-6:]}-{at.isoformat()}",
        observed_at=at,
        subject_id=subject,
        payload=payload,
    )


def _registered(at, **kw):
    return _event("Candidate Event Registered", at, **kw)


def _start(journey, stimulus, now, profile=None, policy=POLICY, previous=()):
    return start(
        journey,
        candidate_id=CANDIDATE,
        profile=profile or _profile(),
        stimulus=stimulus,
        now=now,
        previous=previous,
        policy=policy,
    )


def _fire(journey, transition, now, profile=None, policy=POLICY):
    instance = transition.instance
    assert instance is not None and instance.waiting is not None
    timer = TimerFired(instance.instance_id, instance.waiting.timer_id)
    return advance(
        journey, instance, profile=profile or _profile(), stimulus=timer, now=now, policy=policy
    )


def _on(journey, transition, stimulus, now, profile=None, policy=POLICY):
    return advance(
        journey,
        transition.instance,
        profile=profile or _profile(),
        stimulus=stimulus,
        now=now,
        policy=policy,
    )


def _of(transition, kind):
    return [e for e in transition.effects if isinstance(e, kind)]


def _sent(transition):
    return [e.template for e in _of(transition, SendMessage)]


def _timer(transition):
    (timer,) = _of(transition, ScheduleTimer)
    return timer


# --- the event journey --------------------------------------------------------------------------


def test_registration_confirms_at_once_and_waits_for_9am_the_day_before_in_the_candidates_tz():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    assert _sent(t) == ["event_registration_confirmation"]
    timer = _timer(t)
    assert timer.at == _utc(2026, 6, 11, 7)  # 09:00 CEST
    assert timer.reason == "wait_until"
    assert t.instance.step == "day_before" and t.instance.status == "active"


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("Europe/Berlin", _utc(2026, 6, 11, 7)),  # 09:00 CEST
        ("America/New_York", _utc(2026, 6, 11, 13)),  # 09:00 EDT
        ("Asia/Tokyo", _utc(2026, 6, 12, 0)),  # the event is on the 13th in Tokyo
        (None, _utc(2026, 6, 11, 9)),  # unknown: the policy's default timezone (UTC)
    ],
)
def test_reminder_is_at_9am_in_the_candidates_timezone_not_the_servers(tz, expected):
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1), _profile(tz=tz))
    assert _timer(t).at == expected


@settings(max_examples=200, deadline=None)
@given(
    starts=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
    tz_name=st.sampled_from(
        ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]
    ),
)
def test_reminder_is_always_9am_local_on_the_day_before(starts, tz_name):
    starts = starts.replace(tzinfo=UTC)
    registered_at = starts - timedelta(days=10)
    event = {**EVENT, "starts_at": starts}
    t = _start(
        EVENT_JOURNEY,
        _registered(registered_at, payload={"event": event}),
        registered_at,
        _profile(tz=tz_name),
    )
    local = _timer(t).at.astimezone(ZoneInfo(tz_name))
    assert local.time() == time(9)
    assert local.date() == starts.astimezone(ZoneInfo(tz_name)).date() - timedelta(days=1)


def test_reminder_then_a_late_attendance_gets_the_attended_follow_up():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    assert _sent(t) == ["event_reminder"]
    deadline = _timer(t)
    assert deadline.at == STARTS + timedelta(days=1) and deadline.reason == "timeout"
    # Check-ins synced 16 hours after the start: still in time.
    t = _on(
        EVENT_JOURNEY,
        t,
        _event("Candidate Event Attended", _utc(2026, 6, 12, 21)),
        _utc(2026, 6, 13, 10),
    )
    assert _sent(t) == ["event_attended_followup"]
    assert _of(t, CancelTimer) == [CancelTimer(t.instance.instance_id, deadline.timer_id)]
    assert _of(t, Exit)[0].status == "completed"
    assert t.instance.status == "completed"


def test_timeout_gives_the_no_show_follow_up_and_a_later_attendance_changes_nothing():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    t = _fire(EVENT_JOURNEY, t, STARTS + timedelta(days=1))
    assert _sent(t) == ["event_no_show_followup"]
    assert t.instance.status == "completed"
    late = _on(
        EVENT_JOURNEY, t, _event("Candidate Event Attended", STARTS), STARTS + timedelta(days=2)
    )
    assert late.effects == () and "late Candidate Event Attended ignored" in late.notes[0]


def test_no_show_event_gives_the_no_show_follow_up():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    t = _on(EVENT_JOURNEY, t, _event("Candidate Event No-Show", STARTS), _utc(2026, 6, 13, 9))
    assert _sent(t) == ["event_no_show_followup"]


def test_attendance_at_another_event_does_not_count():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    other = _event("Candidate Event Attended", STARTS, subject="ev-99")
    after = _on(EVENT_JOURNEY, t, other, _utc(2026, 6, 13, 9))
    assert after.effects == () and after.instance.waiting is not None
    # Nothing of the instance changed, so the runtime does not write it.
    assert after.instance == t.instance


def test_the_inbox_keeps_the_newest_observation_of_each_kind_whatever_the_arrival_order():
    """Attended at 19:00, a No-Show at 18:30, then a late copy of an Attended at 18:00: the
    newest fact is the attendance at 19:00, and it decides the follow-up."""
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    for detail_type, hour, minute in (
        ("Attended", 19, 0),
        ("No-Show", 18, 30),
        ("Attended", 18, 0),
    ):
        at = _utc(2026, 6, 12, hour, minute)
        t = _on(EVENT_JOURNEY, t, _event(f"Candidate Event {detail_type}", at), _utc(2026, 6, 5))
    assert t.instance.inbox["Candidate Event Attended|ev-42"] == _utc(2026, 6, 12, 19).isoformat()
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    assert _sent(t) == ["event_reminder", "event_attended_followup"]


def test_an_early_event_about_another_subject_is_not_remembered_by_a_wait_for_the_same():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    other = _event("Candidate Event Attended", STARTS, subject="ev-99")
    after = _on(EVENT_JOURNEY, t, other, _utc(2026, 6, 5))
    assert after.effects == () and after.instance == t.instance and after.instance.inbox == {}
    t = _fire(EVENT_JOURNEY, after, _utc(2026, 6, 11, 7))
    assert _sent(t) == ["event_reminder"] and t.instance.step == "await_outcome"


def test_a_follow_up_at_night_waits_for_the_candidates_morning():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    night = _utc(2026, 6, 12, 22, 30)  # 00:30 in Berlin
    t = _on(EVENT_JOURNEY, t, _event("Candidate Event Attended", STARTS), night)
    assert _sent(t) == []
    held = _timer(t)
    assert held.reason == "quiet_hours" and held.at == _utc(2026, 6, 13, 6)  # 08:00 CEST
    t = _fire(EVENT_JOURNEY, t, held.at)
    assert _sent(t) == ["event_attended_followup"] and t.instance.status == "completed"


def test_registration_confirmation_is_immediate_even_at_night():
    night = _utc(2026, 6, 1, 23)  # 01:00 in Berlin
    t = _start(EVENT_JOURNEY, _registered(night), night)
    assert _sent(t) == ["event_registration_confirmation"]


def test_registration_after_9am_the_day_before_skips_the_reminder():
    late = _utc(2026, 6, 11, 12)  # 14:00 in Berlin, the day before
    t = _start(EVENT_JOURNEY, _registered(late), late)
    assert _sent(t) == ["event_registration_confirmation"]
    assert t.instance.step == "await_outcome" and _timer(t).reason == "timeout"
    assert any("has passed -> await_outcome" in n for n in t.notes)


def test_registration_long_after_the_event_starts_nothing():
    t = _start(EVENT_JOURNEY, _registered(STARTS + timedelta(days=2)), STARTS + timedelta(days=2))
    assert t.instance is None and "does not hold" in t.notes[0]


def test_attendance_known_before_the_journey_reached_its_wait_counts():
    # The check-in reached the profile before the (late) registration did.
    attended = {"event_attended": {"at": STARTS.isoformat(), "subject_id": "ev-42"}}
    profile = _profile(behaviours=attended)
    late = STARTS + timedelta(hours=13)  # 09:00 in Berlin the morning after
    t = _start(EVENT_JOURNEY, _registered(late), late, profile)
    assert _sent(t) == ["event_registration_confirmation", "event_attended_followup"]
    # The same, reaching us at 23:00 Berlin: the follow-up waits for the morning.
    night = STARTS + timedelta(hours=3)
    t = _start(EVENT_JOURNEY, _registered(night), night, profile)
    assert _sent(t) == ["event_registration_confirmation"]
    assert _timer(t).reason == "quiet_hours" and _timer(t).at == _utc(2026, 6, 13, 6)


def test_an_early_event_waits_in_the_inbox_until_its_step():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    t = _on(EVENT_JOURNEY, t, _event("Candidate Event No-Show", STARTS), _utc(2026, 6, 5))
    assert t.effects == () and "Candidate Event No-Show|ev-42" in t.instance.inbox
    t = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 7))
    assert _sent(t) == ["event_reminder", "event_no_show_followup"]


def test_a_timer_that_is_not_awaited_is_ignored():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    stale = TimerFired(t.instance.instance_id, "jt-old-1")
    again = _on(EVENT_JOURNEY, t, stale, _utc(2026, 6, 11, 7))
    assert again.effects == () and again.instance == t.instance


def test_a_timer_that_fires_early_waits_on_under_a_new_timer():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1, 10)), _utc(2026, 6, 1, 10))
    early = _fire(EVENT_JOURNEY, t, _utc(2026, 6, 11, 5))
    timer = _timer(early)
    assert _sent(early) == [] and timer.at == _utc(2026, 6, 11, 7)
    assert timer.timer_id != t.instance.waiting.timer_id


def test_one_journey_per_event_and_no_second_one_for_the_same_event():
    first = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    again = _start(
        EVENT_JOURNEY, _registered(_utc(2026, 6, 2)), _utc(2026, 6, 2), previous=[first.instance]
    )
    assert again.instance is None and "in progress" in again.notes[0]
    other = _start(
        EVENT_JOURNEY,
        _registered(_utc(2026, 6, 2), subject="ev-43"),
        _utc(2026, 6, 2),
        previous=[first.instance],
    )
    assert other.instance is not None and other.instance.key == "event#ev-43"
    ended = first.instance.model_copy(update={"status": "completed", "ended_at": _utc(2026, 6, 14)})
    never = _start(
        EVENT_JOURNEY, _registered(_utc(2026, 6, 20)), _utc(2026, 6, 20), previous=[ended]
    )
    assert never.instance is None and "never" in never.notes[0]


def test_a_redelivered_entry_fact_starts_nothing():
    fact = _registered(_utc(2026, 6, 1))
    first = _start(EVENT_JOURNEY, fact, _utc(2026, 6, 1))
    ended = first.instance.model_copy(update={"status": "exited", "ended_at": _utc(2026, 6, 1)})
    again = _start(EVENT_JOURNEY, fact, _utc(2026, 6, 1, 0, 5), previous=[ended])
    assert again.instance is None and "started an instance already" in again.notes[0]


def test_transitions_are_deterministic_so_a_retry_repeats_the_same_effects():
    first = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    second = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    assert first == second
    (send,) = _of(first, SendMessage)
    assert send.dedupe_key.startswith(first.instance.instance_id + ":confirm:")
    assert send.trigger == {
        "detail_type": "Candidate Event Registered",
        "event_id": send.trigger["event_id"],
    }
    assert send.payload["event"]["id"] == "ev-42"
    assert send.purpose == "events" and send.priority == "event_logistics"


def test_unknown_candidate_ends_a_running_instance():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    gone = advance(
        EVENT_JOURNEY,
        t.instance,
        profile=None,
        stimulus=TimerFired(t.instance.instance_id, t.instance.waiting.timer_id),
        now=_utc(2026, 6, 11, 7),
    )
    assert gone.instance.status == "exited" and gone.instance.end_reason == "unknown_candidate"
    assert _of(gone, CancelTimer) and _sent(gone) == []


# --- the job nurture ------------------------------------------------------------------------------

VIEWED = _utc(2026, 6, 1, 10)  # 12:00 in Berlin


def _viewed(at=VIEWED, job=JOB):
    return _event("Candidate Job Viewed", at, subject=job["id"], payload={"job": job})


def test_a_job_viewed_waits_three_days_then_sends_similar_jobs():
    t = _start(NURTURE, _viewed(), VIEWED)
    assert _sent(t) == [] and _timer(t).at == VIEWED + timedelta(days=3)
    t = _fire(NURTURE, t, VIEWED + timedelta(days=3))
    (send,) = _of(t, SendMessage)
    assert send.template == "job_nurture" and send.purpose == "marketing"
    assert send.priority == "nurture" and send.payload == {"job": JOB}
    assert t.instance.status == "completed"


def test_applying_exits_the_nurture_at_once():
    t = _start(NURTURE, _viewed(), VIEWED)
    applied = _event(
        "Candidate Application Submitted", VIEWED + timedelta(days=1), subject="job-other"
    )
    t = _on(NURTURE, t, applied, VIEWED + timedelta(days=1))
    assert _sent(t) == [] and _of(t, CancelTimer)
    (exit_,) = _of(t, Exit)
    assert exit_.status == "exited" and exit_.reason == "applied"


def test_applied_recently_means_no_nurture():
    applied = {"application_submitted": {"at": (VIEWED - timedelta(days=5)).isoformat()}}
    t = _start(NURTURE, _viewed(), VIEWED, _profile(behaviours=applied))
    assert t.instance is None and "applied_recently" in t.notes[0]


def test_without_a_role_family_nothing_can_fit_and_nothing_is_sent():
    t = _start(NURTURE, _viewed(), VIEWED, _profile(role_family=None))
    t = _fire(NURTURE, t, VIEWED + timedelta(days=3), _profile(role_family=None))
    assert _sent(t) == [] and t.instance.end_reason == "no_role_family"


def test_nurture_due_at_night_waits_for_the_morning():
    night_view = _utc(2026, 6, 1, 21)  # 23:00 in Berlin
    t = _start(NURTURE, _viewed(night_view), night_view)
    t = _fire(NURTURE, t, night_view + timedelta(days=3))
    held = _timer(t)
    assert _sent(t) == [] and held.reason == "quiet_hours"
    assert held.at == _utc(2026, 6, 5, 6)
    assert _sent(_fire(NURTURE, t, held.at)) == ["job_nurture"]


def test_the_budget_holds_across_a_campaign_and_the_nurture():
    due = VIEWED + timedelta(days=3)
    # Two campaign messages this week, the last one yesterday: no room for 6 days, more than a
    # nurture may wait: suppressed with frequency_cap, and the journey completes.
    busy = _profile(
        recent=[(due - timedelta(days=1), "marketing"), (due - timedelta(days=2), "marketing")]
    )
    t = _start(NURTURE, _viewed(), VIEWED, busy)
    t = _fire(NURTURE, t, due, busy)
    (held,) = _of(t, SuppressMessage)
    assert held.reason == "frequency_cap" and "2 budgeted messages" in held.explanation
    assert _sent(t) == [] and t.instance.status == "completed"


def test_over_budget_for_a_day_the_nurture_is_deferred_and_then_sent():
    due = VIEWED + timedelta(days=3)
    recent = [(due - timedelta(days=6), "marketing"), (due - timedelta(days=1), "events")]
    busy = _profile(recent=recent)
    t = _start(NURTURE, _viewed(), VIEWED, busy)
    t = _fire(NURTURE, t, due, busy)
    held = _timer(t)
    assert held.reason == "frequency_cap" and held.at == due + timedelta(days=1)
    assert _sent(_fire(NURTURE, t, held.at, busy)) == ["job_nurture"]


def test_nurture_re_entry_after_a_fortnight():
    first = _start(NURTURE, _viewed(), VIEWED)
    during = _start(
        NURTURE,
        _viewed(VIEWED + timedelta(days=1)),
        VIEWED + timedelta(days=1),
        previous=[first.instance],
    )
    assert during.instance is None and "in progress" in during.notes[0]
    done = _fire(NURTURE, first, VIEWED + timedelta(days=3))
    soon = VIEWED + timedelta(days=10)
    refused = _start(NURTURE, _viewed(soon), soon, previous=[done.instance])
    assert refused.instance is None and "not before" in refused.notes[0]
    later = VIEWED + timedelta(days=18)
    assert _start(NURTURE, _viewed(later), later, previous=[done.instance]).instance is not None


# --- dispatch: everything one stimulus does to one candidate -----------------------------------


def test_dispatch_moves_running_instances_and_starts_journeys():
    registry = JourneyRegistry(SHIPPED.values())
    profile = _profile()
    out = dispatch(
        registry,
        [],
        candidate_id=CANDIDATE,
        profile=profile,
        stimulus=_viewed(),
        now=VIEWED,
        policy=POLICY,
    )
    assert [t.journey for t in out] == ["job_nurture"]
    nurture = out[0].instance
    applied = _event(
        "Candidate Application Submitted", VIEWED + timedelta(hours=5), subject="job-7"
    )
    out = dispatch(
        registry,
        [nurture],
        candidate_id=CANDIDATE,
        profile=profile,
        stimulus=applied,
        now=VIEWED + timedelta(hours=5),
        policy=POLICY,
    )
    assert len(out) == 1 and out[0].instance.status == "exited"


def test_dispatch_delivers_a_timer_to_its_own_instance_only():
    registry = JourneyRegistry(SHIPPED.values())
    a = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1)).instance
    b = _start(NURTURE, _viewed(), VIEWED).instance
    out = dispatch(
        registry,
        [a, b],
        candidate_id=CANDIDATE,
        profile=_profile(),
        stimulus=TimerFired(b.instance_id, b.waiting.timer_id),
        now=VIEWED + timedelta(days=3),
        policy=POLICY,
    )
    assert [t.journey for t in out] == ["job_nurture"] and _sent(out[0]) == ["job_nurture"]


def test_an_instance_finishes_on_the_version_it_started_with():
    text = (ROOT / "templates" / "journeys" / "event.yaml").read_text()
    old = EVENT_JOURNEY
    new = parse_journey(text.replace('at: "09:00"', 'at: "10:00"'), "event.yaml", MESSAGES)
    started = _start(old, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1)).instance
    registry = JourneyRegistry([new], earlier=[old])
    out = dispatch(
        registry,
        [started],
        candidate_id=CANDIDATE,
        profile=_profile(),
        stimulus=TimerFired(started.instance_id, started.waiting.timer_id),
        now=_utc(2026, 6, 11, 7),
        policy=POLICY,
    )
    assert _sent(out[0]) == ["event_reminder"] and out[0].instance.version == old.version
    # A new registration starts on the new version: 10:00 local.
    fresh = _start(new, _registered(_utc(2026, 6, 2), subject="ev-43"), _utc(2026, 6, 2))
    assert _timer(fresh).at == _utc(2026, 6, 11, 8)
    with pytest.raises(ValueError, match="version"):
        advance(
            new,
            started,
            profile=_profile(),
            stimulus=TimerFired(started.instance_id, "x"),
            now=_utc(2026, 6, 11, 7),
        )


def test_an_instance_whose_version_is_gone_ends_sending_nothing():
    started = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1)).instance
    registry = JourneyRegistry([])
    (out,) = dispatch(
        registry,
        [started],
        candidate_id=CANDIDATE,
        profile=_profile(),
        stimulus=TimerFired(started.instance_id, started.waiting.timer_id),
        now=_utc(2026, 6, 11, 7),
    )
    assert out.instance.end_reason == "version_unavailable" and _of(out, CancelTimer)


# --- the engine's rules, on small journeys ------------------------------------------------------

SEGMENT = """\
format: 1
name: {name}
category: nurture
entry:
  segment:
    - {{field: candidate.role_family, op: eq, value: data}}
re_entry: always
exit:
  - when: [{{field: candidate.country, op: eq, value: US}}]
    reason: moved_to_the_us
steps:
{steps}
"""


def _journey(steps, name="sample"):
    return parse_journey(SEGMENT.format(name=name, steps=steps), f"{name}.yaml", MESSAGES)


def _changed(*names, at=VIEWED):
    return ProfileChanged(event_id="pc-1", observed_at=at, changed=frozenset(names))


def test_joining_a_segment_starts_a_journey_only_when_its_fields_changed():
    journey = _journey("  - id: hello\n    send: job_nurture\n")
    assert _start(journey, _changed("city"), VIEWED) is None
    joined = _start(journey, _changed("role_family"), VIEWED, policy=NO_LIMITS)
    assert _sent(joined) == ["job_nurture"]
    other = _start(journey, _changed("role_family"), VIEWED, _profile(role_family="design"))
    assert other.instance is None and "does not hold" in other.notes[0]


def test_a_profile_change_acts_through_the_fields_segments_and_profile_exits_name():
    """What the journeys function reads a profile change for: the segment's and the profile
    exit's candidate fields. The shipped journeys watch none (the nurture's profile exit names
    a behaviour, and behaviours are noted by their own events, never by a profile change)."""
    assert watched_fields([_journey("  - id: hello\n    send: job_nurture\n")]) == {
        "role_family",
        "country",
    }
    assert watched_fields(SHIPPED.values()) == frozenset()
    assert watched_fields([]) == frozenset()


def test_profile_exit_conditions_end_a_waiting_instance():
    journey = _journey("  - id: pause\n    wait: 2d\n  - id: hello\n    send: job_nurture\n")
    t = _start(journey, _changed("role_family"), VIEWED)
    moved = _profile(country="US")
    t = _on(
        journey,
        t,
        _changed("country", at=VIEWED + timedelta(days=1)),
        VIEWED + timedelta(days=1),
        moved,
    )
    assert t.instance.status == "exited" and t.instance.end_reason == "moved_to_the_us"
    assert _of(t, CancelTimer) and _sent(t) == []


def test_branch_on_profile_conditions():
    journey = _journey(
        "  - id: which\n"
        "    branch:\n"
        "      - if: [{field: candidate.seniority, op: seniority_at_least, value: senior}]\n"
        "        goto: senior_path\n"
        "  - id: junior_path\n"
        "    end: junior\n"
        "  - id: senior_path\n"
        "    end: senior\n"
    )
    senior = _start(journey, _changed("role_family"), VIEWED, _profile(seniority="lead"))
    junior = _start(journey, _changed("role_family"), VIEWED, _profile(seniority="mid"))
    assert senior.instance.end_reason == "senior" and junior.instance.end_reason == "junior"
    assert any("seniority_at_least" in n for n in senior.notes)


def test_wait_until_a_local_window_goes_on_inside_it_and_waits_outside():
    journey = _journey(
        "  - id: office_hours\n"
        "    wait_until: {at: '09:00', until: '17:00'}\n"
        "  - id: hello\n"
        "    send: job_nurture\n"
    )
    inside = _start(journey, _changed("role_family"), _utc(2026, 6, 1, 10), policy=NO_LIMITS)
    assert _sent(inside) == ["job_nurture"]
    evening = _utc(2026, 6, 1, 17)  # 19:00 in Berlin
    outside = _start(journey, _changed("role_family"), evening, policy=NO_LIMITS)
    assert _sent(outside) == [] and _timer(outside).at == _utc(2026, 6, 2, 7)


def _listening(before=""):
    """A journey whose wait_for (after the steps ``before``) takes a job viewed about any
    subject, or times out 2 days after it began."""
    return _journey(
        before + "  - id: listen\n"
        "    wait_for:\n"
        "      events: [{event: Candidate Job Viewed, goto: viewed}]\n"
        "      subject: any\n"
        "      timeout: {after: 2d, goto: quiet}\n"
        "  - id: viewed\n"
        "    end: viewed\n"
        "  - id: quiet\n"
        "    end: quiet\n"
    )


def test_wait_for_any_subject_with_a_timeout_from_now():
    journey = _listening()
    t = _start(journey, _changed("role_family"), VIEWED)
    assert _timer(t).at == VIEWED + timedelta(days=2)
    seen = _on(journey, t, _viewed(VIEWED + timedelta(hours=1)), VIEWED + timedelta(hours=1))
    assert seen.instance.end_reason == "viewed"
    timed_out = _fire(journey, t, VIEWED + timedelta(days=2))
    assert timed_out.instance.end_reason == "quiet"


def test_an_early_event_about_another_subject_is_remembered_when_its_wait_takes_any():
    """A journey without a subject (a segment's): every job viewed is about another subject,
    and a wait for any subject counts the one viewed before the step was reached."""
    journey = _listening("  - id: pause\n    wait: 1d\n")
    t = _start(journey, _changed("role_family"), VIEWED)
    early = _on(journey, t, _viewed(VIEWED + timedelta(hours=1)), VIEWED + timedelta(hours=1))
    assert early.effects == () and "Candidate Job Viewed|job-7" in early.instance.inbox
    t = _fire(journey, early, VIEWED + timedelta(days=1))
    assert t.instance.end_reason == "viewed"


def test_sends_earlier_in_one_dispatch_count_toward_the_budget_of_later_ones():
    one = _journey("  - id: hello\n    send: job_nurture\n", name="first")
    two = _journey("  - id: hello\n    send: job_nurture\n", name="second")
    recent = [(VIEWED - timedelta(days=1), "marketing")]  # one of two used
    out = dispatch(
        JourneyRegistry([one, two]),
        [],
        candidate_id=CANDIDATE,
        profile=_profile(recent=recent),
        stimulus=_changed("role_family"),
        now=VIEWED,
        policy=POLICY,
    )
    assert [_sent(t) for t in out] == [["job_nurture"], []]
    assert _of(out[1], SuppressMessage)[0].reason == "frequency_cap"


# --- serialisation ------------------------------------------------------------------------------


def test_instances_and_effects_survive_json():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    assert JourneyInstance.model_validate_json(t.instance.model_dump_json()) == t.instance
    for effect in t.effects:
        data = effect_to_dict(effect)
        assert effect_from_dict(data) == effect_from_dict(effect_to_dict(effect_from_dict(data)))
        assert data["type"] == type(effect).__name__
    timer = _timer(t)
    assert effect_from_dict(effect_to_dict(timer)) == timer


def test_send_payload_is_json_and_converts_back_for_rendering():
    t = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    (send,) = _of(t, SendMessage)
    assert send.payload["event"]["starts_at"] == STARTS.isoformat()
    payload = render_payload(send.payload)
    assert payload["event"]["starts_at"] == STARTS and payload["event"]["name"] == "Data Summit"
    assert send.payload["event"]["starts_at"] == STARTS.isoformat()  # not changed in place


def test_candidate_event_from_a_trigger_fact():
    fact = TriggerFact(
        detail_type="Candidate Job Viewed",
        event_id="e-1",
        candidate_key=f"id:{CANDIDATE}",
        observed_at=VIEWED,
        subject_id="job-7",
        payload={"job": JOB},
    )
    event = CandidateEvent.from_fact(fact)
    assert (event.detail_type, event.subject_id, event.payload) == (
        "Candidate Job Viewed",
        "job-7",
        {"job": JOB},
    )


# --- what the profile's summary of the instances lets a trigger skip ------------------------------

PER_CANDIDATE = parse_journey(
    """\
format: 1
name: once_per_candidate
category: nurture
entry:
  event: Candidate Job Viewed
  one_per: candidate
re_entry: always
steps:
  - id: pause
    wait: 2d
  - id: hello
    send: job_nurture
""",
    "once_per_candidate.yaml",
    MESSAGES,
)
SUMMARISED = [EVENT_JOURNEY, NURTURE, _listening(), PER_CANDIDATE]
_KINDS = [
    ("Candidate Event Registered", "ev-1"),
    ("Candidate Event Registered", "ev-2"),
    ("Candidate Event Attended", "ev-1"),
    ("Candidate Event Attended", "ev-3"),
    ("Candidate Event No-Show", "ev-2"),
    ("Candidate Job Viewed", "job-1"),
    ("Candidate Job Viewed", "job-2"),
    ("Candidate Application Submitted", "job-1"),
    ("Candidate Application Submitted", "job-3"),
]


def _kind_event(kind, at):
    detail_type, subject = _KINDS[kind]
    if "Event" in detail_type:
        return _event(detail_type, at, subject=subject)
    return (
        _viewed(at, job={**JOB, "id": subject})
        if "Viewed" in detail_type
        else _event(detail_type, at, subject=subject)
    )


def _summary(instances):
    listens = {JOURNEYS_LISTED}
    by_name = {j.name: j for j in SUMMARISED}
    for instance in instances:
        listens |= listens_of(by_name[instance.journey], instance)
    return frozenset(listens)


def test_what_an_instance_listens_to_beyond_its_subject():
    registered = _start(EVENT_JOURNEY, _registered(_utc(2026, 6, 1)), _utc(2026, 6, 1))
    assert listens_of(EVENT_JOURNEY, registered.instance) == {"about:ev-42"}
    nurture = _start(NURTURE, _viewed(), VIEWED).instance
    assert listens_of(NURTURE, nurture) == {
        "about:job-7",
        "event:Candidate Application Submitted",  # an application to any job ends it
        "behaviour:application_submitted",  # its profile exit: applied recently
        "journey:job_nurture",  # one per candidate: it blocks a second entry
    }
    listening = _start(_listening(), _changed("role_family"), VIEWED).instance
    assert listens_of(_listening(), listening) == {
        "about:",
        "event:Candidate Job Viewed",  # its wait_for takes any subject
        "event:Candidate Application Submitted",  # a nurture: applying ends it
        "journey:sample",  # one per candidate: it blocks a second entry
    }


def test_an_unknown_summary_needs_the_instances():
    registry = JourneyRegistry(SUMMARISED)
    attended = _event("Candidate Event Attended", VIEWED, subject="ev-9")
    assert needs_instances(registry.current(), None, attended)
    assert needs_instances(registry.current(), frozenset({"about:ev-1"}), attended)
    assert not needs_instances(registry.current(), frozenset({JOURNEYS_LISTED}), attended)


@settings(max_examples=300, deadline=None)
@given(
    history=st.lists(st.integers(0, len(_KINDS) - 1), max_size=4),
    segment=st.booleans(),
    last=st.integers(0, len(_KINDS) - 1),
)
# A nurture and a journey one per candidate in progress: another job's view is refused.
@example(history=[5], segment=False, last=6)
# A wait for a job viewed about any subject hears every job viewed.
@example(history=[], segment=True, last=6)
# Registered at ev-1, attended at ev-3: nobody's; attended at ev-1: the journey's.
@example(history=[0], segment=False, last=3)
@example(history=[0], segment=False, last=2)
# An application to any job ends the nurture.
@example(history=[5], segment=False, last=8)
def test_an_event_no_instance_listens_to_does_as_much_without_them(history, segment, last):
    """Wherever needs_instances says the instances can be left unread, dispatch on none of
    them does what dispatch on all of them does: every instance stays as it was, and the
    same journeys start."""
    registry = JourneyRegistry(SUMMARISED)
    profile = _profile()
    instances = {}
    at = VIEWED

    def run(stimulus, now, current):
        return dispatch(
            registry,
            current,
            candidate_id=CANDIDATE,
            profile=profile,
            stimulus=stimulus,
            now=now,
            policy=NO_LIMITS,
        )

    stimuli = [_kind_event(kind, at + timedelta(hours=i)) for i, kind in enumerate(history)]
    if segment:
        stimuli.insert(0, _changed("role_family", at=at))
    for i, stimulus in enumerate(stimuli):
        for transition in run(stimulus, at + timedelta(hours=i), list(instances.values())):
            if transition.instance is not None:
                instances[transition.instance.instance_id] = transition.instance
    now = at + timedelta(hours=len(stimuli))
    event = _kind_event(last, now)
    if needs_instances(registry.current(), _summary(instances.values()), event):
        return
    with_them = run(event, now, list(instances.values()))
    without = run(event, now, [])
    moved = [t for t in with_them if t.instance is not None and t.instance.instance_id in instances]
    assert all(t.instance == instances[t.instance.instance_id] and not t.effects for t in moved)
    started = [t for t in with_them if t not in moved]
    assert [(t.journey, t.instance, t.effects) for t in started] == [
        (t.journey, t.instance, t.effects) for t in without
    ]
    assert not any(i.subject_id == event.subject_id for i in instances.values())
