"""Journey files: the shipped ones load; a broken one is refused with every problem at its
file and line; versions follow content, not layout."""

from pathlib import Path

import pytest

from talentops.content.catalogue import load_catalogue
from talentops.delivery.budget import Priority
from talentops.journeys.loader import (
    JourneyRegistry,
    load_journey_file,
    load_journeys,
    messages_of,
    parse_journey,
)
from talentops.journeys.model import (
    NURTURE_EXITS,
    Journey,
    SendStep,
    WaitForStep,
    WaitUntilStep,
    format_duration,
    parse_duration,
)
from talentops.journeys.source import SourceError, read_source

ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = ROOT / "templates" / "journeys"
# The catalogue's messages, plus the two that the journeys add (until they are merged in).
MESSAGES = {
    **messages_of(load_catalogue(str(ROOT / "templates"))),
    "event_reminder": "events",
    "job_nurture": "marketing",
}


def _problems(text, file="sample.yaml", messages=None):
    with pytest.raises(SourceError) as caught:
        parse_journey(text, file, MESSAGES if messages is None else messages)
    return caught.value.problems


def _one(text, **kw):
    problems = _problems(text, **kw)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


BASE = """\
format: 1
name: sample
category: nurture
entry:
  event: Candidate Job Viewed
steps:
"""


# --- the shipped journeys ----------------------------------------------------------------------


def test_shipped_journeys_load_and_are_what_the_issue_asks():
    journeys = {j.name: j for j in load_journeys(JOURNEYS, MESSAGES)}
    assert set(journeys) == {"event", "job_nurture"}
    event = journeys["event"]
    assert event.entry.event == "Candidate Event Registered" and event.entry.per_subject
    kinds = [type(s).__name__ for s in event.steps]
    assert kinds[:4] == ["SendStep", "WaitUntilStep", "SendStep", "WaitForStep"]
    reminder_wait = event.step("day_before")
    assert isinstance(reminder_wait, WaitUntilStep)
    assert reminder_wait.wait_until.anchor == "event.starts_at"
    assert reminder_wait.wait_until.day == -1 and str(reminder_wait.wait_until.at) == "09:00:00"
    outcome = event.step("await_outcome")
    assert isinstance(outcome, WaitForStep)
    assert {on.event for on in outcome.wait_for.events} == {
        "Candidate Event Attended",
        "Candidate Event No-Show",
    }
    nurture = journeys["job_nurture"]
    assert nurture.category == "nurture" and not nurture.entry.per_subject
    assert nurture.re_entry.policy == "after"
    assert any(e.event == "Candidate Application Submitted" for e in nurture.exits)


def test_sends_get_their_purpose_and_priority_at_load():
    journeys = {j.name: j for j in load_journeys(JOURNEYS, MESSAGES)}
    confirm = journeys["event"].step("confirm")
    assert isinstance(confirm, SendStep)
    assert confirm.purpose == "events" and confirm.priority == Priority.event_logistics
    nudge = journeys["job_nurture"].step("nudge")
    assert isinstance(nudge, SendStep)
    assert nudge.purpose == "marketing" and nudge.priority == Priority.nurture


def test_every_nurture_journey_exits_on_an_application():
    journey = parse_journey(BASE + "  - id: a\n    wait: 1d\n", "sample.yaml", MESSAGES)
    assert journey.exit == ()
    assert set(NURTURE_EXITS) <= set(journey.exits)
    logistics = parse_journey(
        BASE.replace("nurture", "event_logistics") + "  - id: a\n    wait: 1d\n",
        "sample.yaml",
        MESSAGES,
    )
    assert logistics.exits == ()


def test_version_follows_content_not_comments_or_layout():
    text = (JOURNEYS / "event.yaml").read_text()
    first = parse_journey(text, "event.yaml", MESSAGES)
    relaid = parse_journey(
        "# a new comment\n" + text.replace("    ", "    "), "event.yaml", MESSAGES
    )
    assert first.version == relaid.version and len(first.version) == 16
    changed = parse_journey(text.replace('at: "09:00"', 'at: "10:00"'), "event.yaml", MESSAGES)
    assert changed.version != first.version


def test_a_copy_does_not_keep_the_originals_version():
    journey = load_journeys(JOURNEYS, MESSAGES)[0]
    assert journey.version  # computed, and cached
    copy = journey.model_copy(update={"description": "changed"})
    assert copy.version != journey.version
    assert copy.version == Journey.model_validate_json(copy.model_dump_json(by_alias=True)).version


def test_canonical_json_round_trips_with_the_same_version():
    for journey in load_journeys(JOURNEYS, MESSAGES):
        again = Journey.from_canonical_json(journey.canonical_json())
        assert again == journey and again.version == journey.version


def test_registry_keeps_earlier_versions():
    text = (JOURNEYS / "event.yaml").read_text()
    old = parse_journey(text, "event.yaml", MESSAGES)
    new = parse_journey(text.replace('at: "09:00"', 'at: "10:00"'), "event.yaml", MESSAGES)
    registry = JourneyRegistry([new], earlier=[old])
    assert registry.current() == [new]
    assert registry.get("event", old.version) == old
    assert registry.get("event", new.version) == new
    assert registry.get("event", "0" * 16) is None


def test_times_of_day_need_no_quotes():
    # YAML 1.1 reads a plain 21:00 as the number 1260; journey files do not.
    journey = parse_journey(
        BASE + "  - id: a\n    wait_until: {at: 21:00, until: 9:30}\n", "sample.yaml", MESSAGES
    )
    step = journey.step("a")
    assert isinstance(step, WaitUntilStep)
    assert (step.wait_until.at.hour, step.wait_until.until.hour) == (21, 9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3d", 3 * 86400), ("12h", 43200), ("90m", 5400), ("1d 12h", 129600), ("3 days", 259200)],
)
def test_durations(text, expected):
    assert parse_duration(text).total_seconds() == expected
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "3", "3 weeks", "0d", "400d", "-1d", "d3"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# --- problems at their lines -------------------------------------------------------------------


def test_unknown_step_type_is_named_with_its_line():
    problem = _one(BASE + "  - id: a\n    wait: 1d\n  - id: b\n    sendd: job_nurture\n")
    assert problem.file == "sample.yaml" and problem.line == 10
    assert "unknown step type 'sendd'" in problem.message
    assert "send, wait, wait_until, wait_for, branch, end" in problem.message
    assert str(problem).startswith("sample.yaml:10: steps[1]: ")


def test_step_with_two_kinds():
    problem = _one(BASE + "  - id: a\n    wait: 1d\n    send: job_nurture\n")
    assert problem.line == 7 and "has send and wait" in problem.message


def test_missing_template_names_the_line_and_suggests():
    problem = _one(BASE + "  - id: a\n    wait: 1d\n  - id: b\n    send: job_nurtur\n")
    assert problem.line == 10 and problem.path == "steps[1].send"
    assert "not in the catalogue" in problem.message and "'job_nurture'" in problem.message


def test_purpose_that_contradicts_the_catalogue():
    problem = _one(BASE + "  - id: b\n    send: job_nurture\n    purpose: events\n")
    assert problem.line == 9 and "has purpose 'marketing' in the catalogue" in problem.message


@pytest.mark.parametrize(
    ("step", "line", "needle"),
    [
        ("  - id: a\n    wait_until: {at: '25:00'}\n", 8, "not a time of day"),
        ("  - id: a\n    wait_until:\n      at: '09:60'\n", 9, "not a time of day"),
        ("  - id: a\n    wait_until: {at: '21:00', until: '21:00'}\n", 8, "is empty"),
        ("  - id: a\n    wait_until: {at: '09:00', day: -1}\n", 8, "needs an anchor"),
        ("  - id: a\n    wait: 3 weeks\n", 8, "not a duration"),
        ("  - id: a\n    wait_until: {at: '09:00', at_least: 2}\n", 8, "unknown key 'at_least'"),
    ],
)
def test_impossible_windows_and_durations(step, line, needle):
    problem = _one(BASE + step)
    assert problem.line == line and needle in problem.message, str(problem)


def test_unknown_profile_field_in_a_condition():
    text = BASE + (
        "  - id: a\n"
        "    branch:\n"
        "      - if: [{field: candidate.citty, op: eq, value: Dublin}]\n"
        "        goto: b\n"
        "  - id: b\n"
        "    wait: 1d\n"
    )
    problem = _one(text)
    assert problem.line == 9 and "unknown field 'candidate.citty'" in problem.message
    assert "did you mean 'candidate.city'" in problem.message


def test_condition_on_the_subject_a_journey_does_not_have():
    text = BASE + (
        "  - id: a\n"
        "    branch:\n"
        "      - if: [{field: event.city, op: eq, value: Dublin}]\n"
        "        goto: end\n"
    )
    assert "this has no event" in _one(text).message


def test_reference_to_a_step_that_does_not_exist():
    problem = _one(BASE + "  - id: a\n    wait: 1d\n    then: nowhere\n")
    assert problem.line == 9 and "step 'nowhere' is not known" in problem.message


def test_duplicate_and_reserved_step_ids():
    problems = _problems(BASE + "  - id: a\n    wait: 1d\n  - id: a\n    wait: 2d\n")
    assert any("used twice" in p.message and p.line == 9 for p in problems)
    assert "reserved" in _one(BASE + "  - id: end\n    wait: 1d\n").message


def test_unreachable_step():
    text = BASE + "  - id: a\n    wait: 1d\n    then: end\n  - id: lost\n    wait: 1d\n"
    problem = _one(text)
    assert problem.line == 10 and "can never be reached" in problem.message


def test_loop_without_a_wait_is_refused():
    text = BASE + (
        "  - id: a\n"
        "    send: job_nurture\n"
        "  - id: b\n"
        "    branch:\n"
        "      - if: [{field: candidate.city, op: exists, value: true}]\n"
        "        goto: a\n"
    )
    problem = _one(text)
    assert "a -> b -> a" in problem.message and "without a wait" in problem.message


def test_loop_with_a_wait_is_allowed():
    text = BASE + (
        "  - id: a\n"
        "    send: job_nurture\n"
        "  - id: pause\n"
        "    wait: 7d\n"
        "  - id: b\n"
        "    branch:\n"
        "      - if: [{field: candidate.city, op: exists, value: true}]\n"
        "        goto: a\n"
    )
    assert parse_journey(text, "sample.yaml", MESSAGES).name == "sample"


def test_anchor_on_an_event_the_entry_does_not_carry():
    problem = _one(BASE + "  - id: a\n    wait_until: {at: '09:00', anchor: event.starts_at}\n")
    assert problem.line == 8 and "carries no event" in problem.message


def test_subject_same_without_a_subject():
    text = """\
format: 1
name: sample
category: nurture
entry:
  segment: [{field: candidate.city, op: eq, value: Dublin}]
steps:
  - id: a
    wait_for:
      events: [{event: Candidate Job Viewed}]
      timeout: {after: 3d}
"""
    assert "use subject: any" in _one(text).message


def test_unknown_keys_missing_keys_and_bad_values_at_their_lines():
    text = """\
format: 1
name: sample
category: nurturing
entry:
  event: Candidate Job Seen
re_entry: sometimes
colour: blue
steps:
  - id: a
    wait_for:
      events: [{event: Candidate Event Attended}]
      timeout: {aftr: 1d}
"""
    problems = {p.path: p for p in _problems(text)}
    assert problems["category"].line == 3
    assert problems["entry.event"].line == 5 and "Candidate Event Registered" in (
        problems["entry.event"].message
    )
    assert problems["colour"].line == 7 and problems["colour"].message == "unknown key 'colour'"
    assert problems["steps[0].wait_for.timeout.aftr"].line == 12
    assert problems["steps[0].wait_for.timeout"].message == "missing 'after'"
    assert problems["re_entry.policy"].line == 6


def test_yaml_syntax_errors_and_repeated_keys_name_the_line():
    problem = _one(BASE + "  - id: a\n    wait: [1d\n")
    assert problem.line is not None and problem.line >= 8 and "YAML" in problem.message
    repeated = _one(BASE + "  - id: a\n    wait: 1d\n    wait: 2d\n")
    assert repeated.line == 9 and "appears twice (first on line 8)" in repeated.message


def test_empty_and_non_mapping_files():
    assert "empty" in _one("").message
    assert "at least one step" in _one(BASE + "  []\n").message
    assert "mapping" in _one("- a\n- b\n").message


def test_entry_is_an_event_or_a_segment():
    text = BASE.replace(
        "  event: Candidate Job Viewed\n",
        "  event: Candidate Job Viewed\n  segment: [{field: candidate.city, op: eq, value: X}]\n",
    )
    assert "exactly one" in _one(text + "  - id: a\n    wait: 1d\n").message


def test_name_must_match_the_file():
    problem = _one(BASE + "  - id: a\n    wait: 1d\n", file="other.yaml")
    assert problem.line == 2 and "must be named 'other'" in problem.message


def test_every_problem_of_a_file_in_one_go():
    text = BASE + (
        "  - id: a\n"
        "    wait: 3 fortnights\n"
        "  - id: b\n"
        "    sendd: job_nurture\n"
        "  - id: c\n"
        "    send: job_nurtur\n"
        "  - id: d\n"
        "    wait_until: {at: '25:00'}\n"
        "  - id: e\n"
        "    branch:\n"
        "      - if: [{field: candidate.citty, op: eq, value: Dublin}]\n"
        "        goto: a\n"
    )
    lines = {p.line: p.message for p in _problems(text)}
    assert set(lines) == {8, 10, 12, 14, 17}


def test_a_directory_loads_all_or_nothing(tmp_path):
    (tmp_path / "good.yaml").write_text(
        BASE.replace("sample", "good") + "  - id: a\n    wait: 1d\n"
    )
    (tmp_path / "bad.yaml").write_text(BASE.replace("sample", "bad") + "  - id: a\n    wait: 1\n")
    with pytest.raises(SourceError) as caught:
        load_journeys(tmp_path, MESSAGES)
    assert [p.file for p in caught.value.problems] == ["bad.yaml"]
    assert str(caught.value).startswith("bad.yaml:8: steps[0].wait: 1 is not a duration")


def test_load_journey_file_names_an_unreadable_file(tmp_path):
    with pytest.raises(SourceError, match="cannot be read"):
        load_journey_file(tmp_path / "missing.yaml", MESSAGES)


def test_a_plain_set_of_message_names_is_enough():
    journey = parse_journey(
        BASE + "  - id: a\n    send: job_nurture\n", "sample.yaml", {"job_nurture"}
    )
    step = journey.step("a")
    assert isinstance(step, SendStep) and step.purpose == "marketing"  # the category's


def test_source_lines_for_paths():
    source = read_source("a:\n  b:\n    - x\n    - y: 1\n", "f.yaml")
    assert source.line(("a",)) == 1
    assert source.line(("a", "b", 1, "y")) == 4
    assert source.line(("a", "missing", "deeper")) == 2  # the deepest node that exists
