"""Quiet hours (local wall-clock windows, DST included) and the contact budget (priorities,
defer or suppress, and the reason)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talentops.delivery.budget import (
    NO_LIMITS,
    BudgetConfigError,
    ContactBudget,
    ContactPolicy,
    Priority,
    QuietHours,
    Sent,
    local_to_utc,
    parse_time_of_day,
    wall_instants,
    zone,
)
from talentops.models.state import SentRecord

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(time(21), time(8))

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/Dublin",
    "America/New_York",
    "America/St_Johns",
    "Australia/Lord_Howe",  # half-hour DST
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",
    "America/Santiago",
    "Pacific/Apia",
]


def _utc(*args):
    return datetime(*args, tzinfo=UTC)


# --- times of day and wall clocks -------------------------------------------------------------


@pytest.mark.parametrize("text", ["25:00", "24:00", "12:60", "9", "nine", "", "09:00:00", "-1:00"])
def test_impossible_times_of_day_are_refused(text):
    with pytest.raises(ValueError, match="time of day"):
        parse_time_of_day(text)


def test_times_of_day_parse():
    assert parse_time_of_day("09:00") == time(9)
    assert parse_time_of_day("9:05") == time(9, 5)
    assert parse_time_of_day("23:59") == time(23, 59)


def test_wall_clock_in_a_dst_gap_is_the_moment_the_clocks_jump():
    # 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST at 01:00 UTC.
    assert wall_instants(date(2026, 3, 29), time(2, 30), BERLIN) == [_utc(2026, 3, 29, 1)]


def test_wall_clock_in_a_dst_overlap_happens_twice():
    assert wall_instants(date(2026, 10, 25), time(2, 30), BERLIN) == [
        _utc(2026, 10, 25, 0, 30),
        _utc(2026, 10, 25, 1, 30),
    ]
    assert local_to_utc(date(2026, 10, 25), time(2, 30), BERLIN) == _utc(2026, 10, 25, 0, 30)


def test_unknown_timezone_falls_back_to_the_default():
    assert zone("Not/AZone", "Europe/Berlin").key == "Europe/Berlin"
    assert zone(None, "").key == "UTC"
    assert zone("America/New_York").key == "America/New_York"


# --- quiet hours --------------------------------------------------------------------------------


def test_quiet_hours_window_must_not_be_empty():
    with pytest.raises(BudgetConfigError, match="must differ"):
        QuietHours.parse("21:00", "21:00")
    with pytest.raises(BudgetConfigError, match="time of day"):
        QuietHours.parse("21:00", "25:00")


def test_night_send_waits_for_the_candidates_morning_not_the_servers():
    # 23:30 in Berlin (21:30 UTC): quiet until 08:00 Berlin = 06:00 UTC.
    assert NIGHT.next_allowed(_utc(2026, 6, 1, 21, 30), BERLIN) == _utc(2026, 6, 2, 6)
    # The same instant is 17:30 in New York: not quiet there.
    assert NIGHT.next_allowed(_utc(2026, 6, 1, 21, 30), NEW_YORK) == _utc(2026, 6, 1, 21, 30)
    # 03:00 New York (07:00 UTC) waits for 08:00 New York (12:00 UTC).
    assert NIGHT.next_allowed(_utc(2026, 6, 2, 7), NEW_YORK) == _utc(2026, 6, 2, 12)


def test_window_within_one_day():
    early = QuietHours(time(0), time(7))
    assert early.covers(time(3)) and not early.covers(time(7)) and not early.covers(time(23))
    assert early.next_allowed(_utc(2026, 6, 2, 3), ZoneInfo("UTC")) == _utc(2026, 6, 2, 7)


def test_morning_after_a_spring_forward_night():
    # Berlin, night of 28-29 March 2026: 08:00 CEST is 06:00 UTC (not 07:00).
    assert NIGHT.next_allowed(_utc(2026, 3, 28, 23), BERLIN) == _utc(2026, 3, 29, 6)
    # ... and after the autumn change, 08:00 CET is 07:00 UTC.
    assert NIGHT.next_allowed(_utc(2026, 10, 24, 23), BERLIN) == _utc(2026, 10, 25, 7)


def test_window_ending_in_a_skipped_hour_ends_when_the_clocks_jump():
    quiet = QuietHours(time(1), time(2, 30))
    assert quiet.next_allowed(_utc(2026, 3, 29, 0, 10), BERLIN) == _utc(2026, 3, 29, 1)


def test_window_ending_in_a_repeated_hour():
    quiet = QuietHours(time(1), time(2, 30))
    # 02:10 CET on the second pass (01:10 UTC): 02:30 CET is 01:30 UTC.
    assert quiet.next_allowed(_utc(2026, 10, 25, 1, 10), BERLIN) == _utc(2026, 10, 25, 1, 30)


minutes = st.integers(min_value=0, max_value=24 * 60 - 1)


@settings(max_examples=400, deadline=None)
@given(
    at=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)),
    tz_name=st.sampled_from(ZONES),
    start=minutes,
    end=minutes,
)
def test_quiet_hours_result_is_outside_the_window_and_as_early_as_possible(at, tz_name, start, end):
    if start == end:
        return
    quiet = QuietHours(time(start // 60, start % 60), time(end // 60, end % 60))
    tz = ZoneInfo(tz_name)
    at = at.replace(tzinfo=UTC)
    allowed = quiet.next_allowed(at, tz)
    assert allowed.tzinfo is not None and allowed.utcoffset() == timedelta(0)
    assert allowed >= at
    assert not quiet.is_quiet(allowed, tz)
    assert allowed - at <= timedelta(hours=25)
    if not quiet.is_quiet(at, tz):
        assert allowed == at
    else:
        # As early as possible: a second before, the candidate's clock was still quiet.
        assert quiet.is_quiet(allowed - timedelta(seconds=1), tz)


# --- the budget ----------------------------------------------------------------------------------


NOW = _utc(2026, 6, 10, 12)  # 14:00 in Berlin: not quiet


def _sent(*days_ago, purpose="marketing"):
    return [Sent(NOW - timedelta(days=d), purpose) for d in days_ago]


BUDGET_ONLY = ContactPolicy(quiet_hours=None)


def test_under_budget_sends_and_says_how_much_is_used():
    verdict = BUDGET_ONLY.check(priority="nurture", history=_sent(2), timezone=None, now=NOW)
    assert verdict.action == "send" and verdict.reason is None
    assert "1 budgeted messages in the last 7 days" in verdict.explanation


def test_over_budget_defers_to_when_the_window_frees_up():
    history = _sent(6, 2)  # the oldest leaves the window in one day
    verdict = BUDGET_ONLY.check(priority="nurture", history=history, timezone=None, now=NOW)
    assert verdict.action == "defer" and verdict.reason == "frequency_cap"
    assert verdict.at == NOW - timedelta(days=6) + timedelta(days=7)
    # At that moment the budget has room again.
    again = BUDGET_ONLY.check(priority="nurture", history=history, timezone=None, now=verdict.at)
    assert again.action == "send"


def test_over_budget_for_longer_than_the_class_may_wait_is_suppressed():
    history = _sent(1, 0.5)  # room again in 6 days; nurture waits at most 3
    verdict = BUDGET_ONLY.check(priority="nurture", history=history, timezone=None, now=NOW)
    assert verdict.action == "suppress" and verdict.reason == "frequency_cap"
    assert "later than this message may wait" in verdict.explanation


def test_max_defer_counts_from_the_first_try():
    history = _sent(6, 2)
    first = NOW - timedelta(days=2, hours=12)  # held 2.5 days already; frees in 1 day
    verdict = BUDGET_ONLY.check(
        priority="nurture", history=history, timezone=None, now=NOW, first_tried_at=first
    )
    assert verdict.action == "suppress"


def test_not_after_limits_the_deferral():
    history = _sent(6, 2)
    verdict = BUDGET_ONLY.check(
        priority="nurture",
        history=history,
        timezone=None,
        now=NOW,
        not_after=NOW + timedelta(hours=3),
    )
    assert verdict.action == "suppress" and verdict.reason == "frequency_cap"


def test_priorities_event_logistics_before_job_alerts_before_nurture():
    # Two event messages and one job alert this week.
    history = _sent(1, 2, purpose="events") + _sent(3, purpose="job_alerts")
    assert (
        BUDGET_ONLY.check(priority="event_logistics", history=history, timezone=None, now=NOW)
    ).allowed
    assert (
        BUDGET_ONLY.check(priority="job_alerts", history=history, timezone=None, now=NOW)
    ).allowed
    assert not (
        BUDGET_ONLY.check(priority="nurture", history=history, timezone=None, now=NOW)
    ).allowed
    assert not (
        BUDGET_ONLY.check(priority="campaign", history=history, timezone=None, now=NOW)
    ).allowed


def test_nurture_sends_never_use_up_event_logistics():
    history = _sent(1, 2, 3, 4, 5)  # five marketing messages: over every finite ceiling
    assert BUDGET_ONLY.check(
        priority="event_logistics", history=history, timezone=None, now=NOW
    ).allowed


def test_transactional_messages_neither_count_nor_wait():
    history = _sent(1, 2, purpose="transactional")
    assert BUDGET_ONLY.check(priority="nurture", history=history, timezone=None, now=NOW).allowed
    policy = ContactPolicy()
    night = _utc(2026, 6, 10, 23)
    assert policy.check(
        priority="transactional", history=_sent(1, 2), timezone="Europe/Berlin", now=night
    ).allowed


def test_immediate_is_neither_held_for_quiet_hours_nor_the_budget():
    night = _utc(2026, 6, 10, 23)
    verdict = ContactPolicy().check(
        priority="nurture", history=_sent(1, 2), timezone="Europe/Berlin", now=night, immediate=True
    )
    assert verdict.allowed


def test_quiet_hours_and_budget_together():
    policy = ContactPolicy()
    # Budget frees at 23:00 Berlin (21:00 UTC): then quiet hours push it to 08:00.
    history = [Sent(_utc(2026, 6, 4, 21), "marketing"), Sent(_utc(2026, 6, 8, 9), "marketing")]
    verdict = policy.check(
        priority="nurture", history=history, timezone="Europe/Berlin", now=_utc(2026, 6, 10, 12)
    )
    assert verdict.action == "defer" and verdict.reason == "frequency_cap"
    assert verdict.at == _utc(2026, 6, 12, 6)
    assert "quiet hours 21:00-08:00 in Europe/Berlin" in verdict.explanation


def test_quiet_hours_alone_defer_with_reason_quiet_hours():
    verdict = ContactPolicy().check(
        priority="event_logistics",
        history=[],
        timezone="Europe/Berlin",
        now=_utc(2026, 6, 10, 22),
    )
    assert verdict.action == "defer" and verdict.reason == "quiet_hours"
    assert verdict.at == _utc(2026, 6, 11, 6)


def test_quiet_hours_past_the_deadline_suppress():
    verdict = ContactPolicy().check(
        priority="event_logistics",
        history=[],
        timezone="Europe/Berlin",
        now=_utc(2026, 6, 10, 22),
        not_after=_utc(2026, 6, 11, 4),
    )
    assert verdict.action == "suppress" and verdict.reason == "quiet_hours"


def test_sent_records_of_the_profile_are_the_history():
    history = [
        SentRecord(at=NOW - timedelta(days=1), purpose="marketing", template="a"),
        SentRecord(at=NOW - timedelta(days=2), purpose="events", template="b"),
    ]
    assert not BUDGET_ONLY.check(
        priority="campaign", history=history, timezone=None, now=NOW
    ).allowed


def test_sends_older_than_the_window_do_not_count():
    assert BUDGET_ONLY.check(
        priority="nurture", history=_sent(7, 8, 30), timezone=None, now=NOW
    ).allowed


def test_no_limits():
    assert NO_LIMITS.check(
        priority="nurture", history=_sent(0, 0, 0), timezone="UTC", now=_utc(2026, 1, 1, 3)
    ).allowed


def test_zero_ceiling_never_sends():
    policy = ContactPolicy(
        quiet_hours=None,
        budget=ContactBudget(
            ceilings={
                Priority.event_logistics: None,
                Priority.job_alerts: 4,
                Priority.nurture: 0,
                Priority.campaign: 0,
            }
        ),
    )
    verdict = policy.check(priority="campaign", history=[], timezone=None, now=NOW)
    assert verdict.action == "suppress" and verdict.reason == "frequency_cap"


# --- configuration --------------------------------------------------------------------------------


def test_config_defaults_and_overrides():
    assert ContactPolicy.from_config(None) == ContactPolicy()
    assert ContactPolicy.from_config("") == ContactPolicy()
    policy = ContactPolicy.from_config(
        '{"quiet_hours": {"start": "22:00", "end": "07:30"}, "budget": {"window_days": 14, '
        '"ceilings": {"nurture": 1, "campaign": 1}}, "default_timezone": "Europe/Dublin"}'
    )
    assert policy.quiet_hours == QuietHours(time(22), time(7, 30))
    assert policy.budget is not None and policy.budget.window == timedelta(days=14)
    assert policy.budget.ceilings[Priority.nurture] == 1
    assert policy.budget.ceilings[Priority.job_alerts] == 4
    assert policy.default_timezone == "Europe/Dublin"
    off = ContactPolicy.from_config({"quiet_hours": None, "budget": None})
    assert off.quiet_hours is None and off.budget is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"quiet_hours": {"start": "25:00", "end": "08:00"}}, "time of day"),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, "must differ"),
        ({"budget": {"ceilings": {"nurture": 5}}}, "lower priority cannot have more room"),
        ({"budget": {"ceilings": {"event_logistics": 2}}}, "lower priority cannot have more room"),
        ({"budget": {"ceilings": {"weekly": 2}}}, "budget.ceilings.weekly"),
        ({"default_timezone": "Mars/Olympus"}, "not an IANA timezone"),
        ({"quiet": {}}, "quiet"),
        ({"budget": {"window_days": 0}}, "window_days"),
    ],
)
def test_impossible_configurations_are_refused_saying_why(config, message):
    with pytest.raises(BudgetConfigError, match=message):
        ContactPolicy.from_config(config)
