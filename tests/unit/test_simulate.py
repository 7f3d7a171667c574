"""Simulating a content change on recorded triggers (issue 14, item 4): the pure replay and
the CLI over a small recorded log. Unchanged content: no difference. A changed catalogue
rule: the candidates it moves, by variant, with both explanations. A range without events
and a malformed content directory are refused, saying why."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scripts import simulate as cli
from talentops.consent.policy import ConsentPolicy
from talentops.delivery.decide import TriggerFact, decide
from talentops.models.state import ConsentState, Decision, FieldValue, Profile
from talentops.privacy.access import decision_view
from talentops.simulate.content import load_content
from talentops.simulate.replay import simulate, triggers_in

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
SUMMIT = {
    "id": "evt-summit",
    "name": "Data & AI Careers Summit",
    "starts_at": "2026-12-03T17:30:00Z",
    "city": "Berlin",
    "url": "https://careers.example.com/events/summit",
}
# (name, seniority, language, consent of events)
PEOPLE = [
    ("ada", "mid", "en", "granted"),
    ("ben", "senior", "en", "granted"),
    ("cai", "mid", "de", "granted"),
    ("dot", "mid", "en", None),  # DE, opt-in, no grant: no_consent
]


def _profile(name: str, seniority: str, language: str, consent: str | None) -> Profile:
    profile = Profile(candidate_id=f"c_{name}00001", created_at=T0 - timedelta(days=30))
    fields = {
        "email": f"{name}@example.org",
        "first_name": name.title(),
        "country": "DE",
        "seniority": seniority,
        "language": language,
    }
    for key, value in fields.items():
        profile.fields[key] = FieldValue(
            value=value, source="talent.crm", observed_at=T0 - timedelta(days=10)
        )
    if consent:
        profile.consent["events"] = ConsentState(
            status=consent, source="talent.careers-site", observed_at=T0 - timedelta(days=10)
        )
    return profile


def _event(i: int, name: str) -> dict[str, Any]:
    return {
        "id": f"ev-{i}",
        "time": (T0 + timedelta(hours=i)).isoformat(),
        "bus": "talent-events",
        "source": "talent.events-platform",
        "detail-type": "Candidate Event Attended",
        "detail": {
            "candidate": {"email": f"{name}@example.org"},
            "observed_at": (T0 + timedelta(hours=i)).isoformat(),
            "event": SUMMIT,
        },
    }


def recorded() -> tuple[list[dict[str, Any]], list[Decision]]:
    """A small recorded history: each person attended the summit; the catalogue's follow-up
    was decided with the shipped content (as the delivery decides it) and announced."""
    current = load_content(TEMPLATES)
    spec = current.catalogue.message("event_attended_followup")
    events: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    for i, person in enumerate(PEOPLE):
        profile = _profile(*person)
        event = _event(i, person[0])
        at = T0 + timedelta(hours=i, seconds=1)
        decision = decide(
            fact=TriggerFact(
                detail_type=event["detail-type"],
                event_id=event["id"],
                candidate_key=f"email:{person[0]}@example.org",
                observed_at=at,
                subject_id=SUMMIT["id"],
                payload={"event": SUMMIT},
            ),
            profile=profile,
            template="event_attended_followup",
            spec=spec,
            policy=ConsentPolicy(),
            now=at,
            versions=current.versions.as_dict(),
        ).decision
        decisions.append(decision)
        announced = "Message Sent" if decision.outcome == "send" else "Message Suppressed"
        events.append(event)
        events.append(
            {
                "id": f"own-{i}",
                "time": at.isoformat(),
                "bus": "talent-events",
                "source": "talent.personalization",
                "detail-type": announced,
                "detail": {"candidate_id": profile.candidate_id, "trigger": decision.trigger},
            }
        )
    return events, decisions


def changed_content(tmp_path: Path) -> Path:
    """The shipped content with one rule changed: the senior follow-up from mid level up."""
    copy = tmp_path / "content"
    shutil.copytree(TEMPLATES, copy)
    catalogue = copy / "catalogue.yaml"
    text = catalogue.read_text(encoding="utf-8")
    head, marker, rest = text.partition("  event_attended_followup:")
    rule = "{field: candidate.seniority, op: seniority_at_least, value: senior}"
    assert rule in rest
    rest = rest.replace(rule, rule.replace("value: senior", "value: mid"), 1)
    catalogue.write_text(head + marker + rest, encoding="utf-8")
    return copy


def test_unchanged_content_reproduces_what_happened_and_differs_in_nothing() -> None:
    events, decisions = recorded()
    current = load_content(TEMPLATES)
    report = simulate(events=events, decisions=decisions, current=current, changed=current)
    found = report.as_dict()
    assert found["events"] == 8 and found["triggers"] == 4
    assert found["decisions_replayed"] == 4 and found["unresolved_triggers"] == 0
    assert found["reproduced"] == {"matched": 4, "differ": 0, "examples": []}
    assert found["differences"] == 0 and found["examples"] == {}


def test_a_changed_rule_moves_exactly_the_candidates_it_reads(tmp_path) -> None:
    events, decisions = recorded()
    current = load_content(TEMPLATES)
    changed = load_content(changed_content(tmp_path))
    assert changed.versions.catalogue != current.versions.catalogue
    assert changed.versions.journeys == current.versions.journeys
    found = simulate(events=events, decisions=decisions, current=current, changed=changed).as_dict()
    # ada (mid, en) now gets the senior variant; cai (mid, de) keeps German, ben was senior
    # already, dot has no consent either way.
    assert found["differences"] == 1
    assert found["variant_changed"] == {"default -> senior": 1}
    assert found["gained"] == {} and found["lost"] == {}
    assert found["by_message"] == {"event_attended_followup": {"variant_changed": 1}}
    [example] = found["examples"]["variant_changed"]
    assert example["candidate_id"] == "c_ada00001"
    assert (example["before"]["variant"], example["after"]["variant"]) == ("default", "senior")
    assert example["before"]["steps"] and example["after"]["steps"]


def test_a_message_no_longer_triggered_is_lost_with_its_reason(tmp_path) -> None:
    events, decisions = recorded()
    copy = tmp_path / "content"
    shutil.copytree(TEMPLATES, copy)
    catalogue = copy / "catalogue.yaml"
    text = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(
        text.replace('triggers: ["Candidate Event Attended"]', "triggers: []", 1),
        encoding="utf-8",
    )
    found = simulate(
        events=events,
        decisions=decisions,
        current=load_content(TEMPLATES),
        changed=load_content(copy),
    ).as_dict()
    assert found["lost"] == {"not_sent": 3}  # the three who got it; dot did not
    assert found["reason_changed"] == {"no_consent -> not_sent": 1}


def test_a_range_is_half_open_and_own_events_are_not_triggers() -> None:
    events, _ = recorded()
    count, triggers = triggers_in(events, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert count == 2 and [t["id"] for t in triggers] == ["ev-1"]
    assert triggers_in(events, T0 + timedelta(days=5), None) == (0, [])


# -- the CLI over a small recorded log ---------------------------------------------------------


@pytest.fixture
def recording(tmp_path) -> dict[str, Path]:
    events, decisions = recorded()
    log = tmp_path / "events.jsonl"
    log.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    records = tmp_path / "decisions.jsonl"
    records.write_text(
        "".join(
            json.dumps({**decision_view(d), "candidate_id": d.candidate_id}) + "\n"
            for d in decisions
        ),
        encoding="utf-8",
    )
    return {"log": log, "decisions": records}


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    args = cli.build_parser().parse_args(list(argv))
    try:
        return cli.run(args, out=out), out.getvalue()
    except cli.CliError as exc:
        return exc.code, "\n".join([exc.message, *exc.details])


def test_the_cli_over_unchanged_content_reports_no_difference(recording) -> None:
    code, text = _run("--log", str(recording["log"]), "--decisions", str(recording["decisions"]))
    assert code == 0, text
    assert "8 events, 4 triggers, 4 messages decided" in text
    assert "reproduces 4 of 4 recorded decisions" in text
    assert "no difference" in text


def test_the_cli_over_a_changed_rule_reports_who_moves_side_by_side(recording, tmp_path) -> None:
    content = changed_content(tmp_path)
    code, text = _run(
        "--content",
        str(content),
        "--log",
        str(recording["log"]),
        "--decisions",
        str(recording["decisions"]),
        "--from",
        T0.isoformat(),
        "--to",
        (T0 + timedelta(days=1)).isoformat(),
    )
    assert code == 0, text
    assert "\n1 difference\n" in text
    assert "default -> senior" in text
    assert "[variant changed] c_ada00001 event_attended_followup" in text
    assert "current content" in text and "changed content" in text
    assert "send, variant default" in text and "send, variant senior" in text
    code, data = _run(
        "--content",
        str(content),
        "--log",
        str(recording["log"]),
        "--decisions",
        str(recording["decisions"]),
        "--json",
    )
    assert json.loads(data)["variant_changed"] == {"default -> senior": 1}


def test_a_range_without_events_says_so(recording) -> None:
    code, text = _run(
        "--log",
        str(recording["log"]),
        "--decisions",
        str(recording["decisions"]),
        "--from",
        "2027-01-01T00:00:00Z",
        "--to",
        "2027-01-02T00:00:00Z",
    )
    assert code == 1
    assert text.startswith("no events between 2027-01-01T00:00:00Z and 2027-01-02T00:00:00Z")


def test_a_malformed_content_directory_fails_with_every_problem_and_its_path(
    recording, tmp_path
) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(TEMPLATES, copy)
    catalogue = copy / "catalogue.yaml"
    catalogue.write_text(
        catalogue.read_text(encoding="utf-8").replace("op: prefix", "op: starts_with", 1),
        encoding="utf-8",
    )
    code, text = _run("--content", str(copy), "--log", str(recording["log"]))
    assert code == 1
    assert "problem(s) in the content directory" in text
    assert f"{copy}/catalogue.yaml" in text
    assert "op" in text


def test_a_malformed_journey_and_a_bad_range_are_named(recording, tmp_path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(TEMPLATES, copy)
    journey = copy / "journeys" / "event.yaml"
    journey.write_text(
        journey.read_text(encoding="utf-8").replace("event_reminder", "event_reminder_typo", 1),
        encoding="utf-8",
    )
    code, text = _run("--content", str(copy), "--log", str(recording["log"]))
    assert code == 1
    assert f"{copy}/journeys/event.yaml" in text and "event_reminder_typo" in text
    code, text = _run("--from", "yesterday", "--log", str(recording["log"]))
    assert code == 2 and "--from" in text


def test_the_local_stack_logs_every_event_put_on_a_bus(tmp_path) -> None:
    """devstack/eventlog.py: each accepted PutEvents entry, one JSON line, the application's
    clock as its time when the sender gave none; a refused entry is not logged."""
    import boto3
    from moto import mock_aws

    from devstack import eventlog

    path = tmp_path / "data" / "events.jsonl"
    with mock_aws():
        undo = eventlog.install(path, lambda: T0)
        try:
            client = boto3.client("events", region_name="eu-west-1")
            client.create_event_bus(Name="talent-events")
            answer = client.put_events(
                Entries=[
                    {
                        "EventBusName": "talent-events",
                        "Source": "talent.ats",
                        "DetailType": "Candidate Event Attended",
                        "Detail": json.dumps({"candidate": {"email": "a@example.org"}}),
                    },
                    {
                        "Source": "talent.ats",
                        "DetailType": "Job Opened",
                        "Detail": json.dumps({"job": {"id": "j"}}),
                        "Time": T0 + timedelta(hours=1),
                    },
                    {"Source": "talent.ats", "DetailType": "Broken", "Detail": "not json"},
                ]
            )
        finally:
            undo()
    lines = list(eventlog.read(path))
    assert [e["detail-type"] for e in lines] == ["Candidate Event Attended", "Job Opened"]
    assert [e["id"] for e in lines] == [
        answer["Entries"][0]["EventId"],
        answer["Entries"][1]["EventId"],
    ]
    assert lines[0]["time"] == T0.isoformat() and lines[0]["bus"] == "talent-events"
    assert lines[1]["time"] == (T0 + timedelta(hours=1)).isoformat()
    assert lines[1]["bus"] == "default"
    assert triggers_in(lines, T0, None)[0] == 2


def test_without_a_decisions_file_the_cli_reads_them_through_the_admin_api(recording) -> None:
    """The candidates the log's announcements name for the range's triggers, each one's
    decisions by GET /admin/candidates/{id}/decisions (SigV4-signed), nobody else's."""
    from scripts.campaign import HttpResult

    by_candidate: dict[str, list[dict[str, Any]]] = {}
    for line in recording["decisions"].read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_candidate.setdefault(record.pop("candidate_id"), []).append(record)
    asked: list[str] = []

    def transport(method, url, headers, body, timeout):
        assert method == "GET" and headers["Authorization"].startswith("AWS4-HMAC-SHA256")
        candidate_id = url.split("/admin/candidates/")[1].split("/")[0]
        asked.append(candidate_id)
        answer = {"candidate_id": candidate_id, "decisions": by_candidate[candidate_id]}
        return HttpResult(200, json.dumps(answer).encode())

    out = io.StringIO()
    args = cli.build_parser().parse_args(
        [
            "--log",
            str(recording["log"]),
            "--api",
            "http://127.0.0.1:3999",
            "--region",
            "eu-west-1",
            "--to",
            (T0 + timedelta(hours=2)).isoformat(),
        ]
    )
    assert cli.run(args, out=out, transport=transport) == 0
    assert asked == ["c_ada00001", "c_ben00001"]  # the two triggers before the end
    assert "reproduces 2 of 2 recorded decisions" in out.getvalue()


def _registrations() -> tuple[list[dict[str, Any]], list[Decision]]:
    """ada and ben registered for the summit; the event journey confirmed at once (the
    recorded decision names the registration as its trigger, as a journey's send does)."""
    current = load_content(TEMPLATES)
    spec = current.catalogue.message("event_registration_confirmation")
    events, decisions = [], []
    for i, person in enumerate(PEOPLE[:2]):
        event = {**_event(i, person[0]), "detail-type": "Candidate Event Registered"}
        at = T0 + timedelta(hours=i, seconds=1)
        decisions.append(
            decide(
                fact=TriggerFact(
                    detail_type=event["detail-type"],
                    event_id=event["id"],
                    candidate_key=f"id:c_{person[0]}00001",
                    observed_at=at,
                    payload={"event": SUMMIT},
                ),
                profile=_profile(*person),
                template="event_registration_confirmation",
                spec=spec,
                policy=ConsentPolicy(),
                now=at,
                versions=current.versions.as_dict(),
            ).decision
        )
        events.append(event)
    return events, decisions


def test_a_journey_is_run_on_through_its_timers_and_a_removed_step_is_lost(tmp_path) -> None:
    events, decisions = _registrations()
    current = load_content(TEMPLATES)
    same = simulate(events=events, decisions=decisions, current=current, changed=current)
    found = same.as_dict()
    # Per candidate: the confirmation (recorded), the reminder the day before and, with no
    # check-in assumed, the no-show follow-up: the journey engine's own plan.
    assert found["decisions_replayed"] == 6 and found["differences"] == 0
    assert found["reproduced"]["matched"] == 2
    assert {c.template for c in same.cases} == {
        "event_registration_confirmation",
        "event_reminder",
        "event_no_show_followup",
    }
    copy = tmp_path / "content"
    shutil.copytree(TEMPLATES, copy)
    journey = copy / "journeys" / "event.yaml"
    text = journey.read_text(encoding="utf-8")
    remind = "  - id: remind\n    send: event_reminder\n    not_after: event.starts_at"
    assert remind in text
    journey.write_text(text.replace(remind, "  - id: remind\n    wait: 1h"), encoding="utf-8")
    changed = load_content(copy)
    assert changed.versions.journeys != current.versions.journeys
    found = simulate(events=events, decisions=decisions, current=current, changed=changed).as_dict()
    assert found["lost"] == {"not_sent": 2}
    assert found["by_message"] == {"event_reminder": {"lost": 2}}
