"""A decision records the inputs it used (issue 14, item 3): the content versions, the profile
fields the message reads with their source and time, consent; explaining a recorded decision
at its time with them reproduces it, and a changed outcome names the input that changed."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import Catalogue, MessageSpec
from talentops.content.versions import journeys_version, policy_version
from talentops.delivery.decide import FrequencyCap, TriggerFact, decide
from talentops.delivery.inputs import (
    compare_inputs,
    content_hash,
    fields_read,
    profile_at,
    record_inputs,
)
from talentops.explain.decision import explain_decision
from talentops.models.state import ConsentState, DecisionInputs, FieldValue, Profile
from talentops.talent_pool.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
T0 = NOW - timedelta(days=10)
VERSIONS = {"catalogue": "aaaaaaaaaaaa", "journeys": "bbbbbbbbbbbb", "policy": "cccccccccccc"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(TEMPLATES)


def ada(**overrides: str) -> Profile:
    profile = Profile(candidate_id="c_ada00001", created_at=T0)
    fields = {
        "email": "ada@example.org",
        "first_name": "Ada",
        "country": "DE",
        "city": "Berlin",
        "seniority": "mid",
        "role_family": "data",
        "language": "en",
        "skills": [f"skill number {i}" for i in range(20)],
        **overrides,
    }
    for name, value in fields.items():
        profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=T0)
    profile.consent["events"] = ConsentState(status="granted", source="talent.crm", observed_at=T0)
    return profile


def fact() -> TriggerFact:
    return TriggerFact(
        detail_type="Candidate Event Attended",
        event_id="evt-1",
        candidate_key="id:c_ada00001",
        observed_at=NOW,
        subject_id="e-1",
        payload={"event": {"id": "e-1", "name": "Summit"}},
    )


def decided(catalogue: Catalogue, profile: Profile, at: datetime = NOW):
    return decide(
        fact=fact(),
        profile=profile,
        template="event_attended_followup",
        spec=catalogue.message("event_attended_followup"),
        policy=ConsentPolicy(),
        now=at,
        versions=VERSIONS,
    ).decision


def test_a_decision_records_the_content_versions_and_only_the_fields_it_reads(catalogue):
    decision = decided(catalogue, ada())
    inputs = decision.inputs
    assert inputs is not None and decision.outcome == "send"
    assert inputs.content == VERSIONS
    # The address and country (consent), and the fields the variants' rules name; not the
    # name, the city or the skills, which this message's rules never read.
    assert set(inputs.fields) == {"email", "country", "language", "seniority"}
    assert inputs.fields["seniority"] == ["mid", "talent.ats", T0.isoformat()]
    assert inputs.fields["language"] == ["en", "talent.ats", T0.isoformat()]
    # The address: whether it changed, never its value.
    assert set(inputs.fields["email"][0]) == {"sha256"}
    assert "ada@example.org" not in json.dumps(decision.model_dump(mode="json"))
    assert inputs.consent == ["granted", "talent.crm", T0.isoformat()]
    assert inputs.suppressed is False and inputs.sent is None


def test_a_field_the_profile_lacks_is_recorded_as_unknown_and_a_long_value_as_a_digest():
    spec = MessageSpec.model_validate(
        {
            "purpose": "job_alerts",
            "variants": [
                {
                    "name": "skilled",
                    "rules": [
                        {"field": "candidate.skills", "op": "exists", "value": True},
                        {"field": "job.remote", "op": "eq", "value": True},
                    ],
                    "requires_fresh": ["timezone"],
                    "subject": "s",
                    "html": "a.html",
                    "text": "a.txt",
                },
                {"name": "default", "subject": "s", "html": "a.html", "text": "a.txt"},
            ],
        }
    )
    assert fields_read(spec) == ("email", "country", "skills", "timezone")
    inputs = record_inputs(
        profile=ada(),
        spec=spec,
        payload={"job": {"remote": True, "id": "j"}},
        versions=None,
        sent=2,
    )
    assert inputs.fields["timezone"] is None
    assert set(inputs.fields["skills"][0]) == {"sha256"}  # 20 skills: longer than kept
    assert inputs.subject == {"job.remote": True}
    assert inputs.sent == 2 and inputs.content == {}


def test_content_hashes_are_stable_and_change_with_the_content(tmp_path, catalogue):
    assert content_hash("a", b"b") == content_hash("a", b"b")
    assert content_hash("ab") != content_hash("a", "b")  # parts are delimited
    again = Catalogue.load(TEMPLATES)
    assert again.version == catalogue.version and len(catalogue.version) == 12
    copy = tmp_path / "content"
    shutil.copytree(TEMPLATES, copy)
    assert Catalogue.load(copy).version == catalogue.version
    assert journeys_version(copy / "journeys") == journeys_version(TEMPLATES / "journeys")
    path = copy / "catalogue.yaml"
    path.write_text(path.read_text() + "\n# a comment\n")
    assert Catalogue.load(copy).version != catalogue.version
    (copy / "journeys" / "event.yaml").write_text(
        (copy / "journeys" / "event.yaml").read_text() + "\n# x\n"
    )
    assert journeys_version(copy / "journeys") != journeys_version(TEMPLATES / "journeys")
    policy = load_policy({})
    assert policy_version("", "", policy) == policy_version(" ", "", load_policy({}))
    assert policy_version('{"max_age_days": 30}', "", policy) != policy_version("", "", policy)


def test_compare_names_every_input_that_changed(catalogue):
    then = decided(catalogue, ada()).inputs
    assert then is not None
    assert compare_inputs(then, then) == []
    moved = ada(seniority="senior")
    moved.fields["language"] = FieldValue(value="en", source="talent.crm", observed_at=NOW)
    moved.consent["events"] = ConsentState(
        status="withdrawn", source="talent.prefs", observed_at=NOW
    )
    now = record_inputs(
        profile=moved,
        spec=catalogue.message("event_attended_followup"),
        payload={},
        versions={**VERSIONS, "catalogue": "dddddddddddd"},
    )
    changes = {(c.kind, c.name): c for c in compare_inputs(then, now)}
    assert set(changes) == {
        ("content", "catalogue"),
        ("field", "seniority"),
        ("field", "language"),
        ("consent", "purpose"),
    }
    assert changes[("field", "seniority")].now[0] == "senior"
    assert (
        "version aaaaaaaaaaaa then, dddddddddddd now"
        in changes[("content", "catalogue")].describe()
    )
    # A record read back from storage (JSON) compares equal to a fresh one.
    stored = DecisionInputs.model_validate(json.loads(json.dumps(then.model_dump(mode="json"))))
    assert compare_inputs(stored, then) == []


def test_a_recorded_decision_is_reproduced_at_its_time_and_a_change_is_named(catalogue):
    spec = catalogue.message("event_attended_followup")
    decision = decided(catalogue, ada(seniority="senior"))
    assert decision.variant == "senior"
    # Since then, the candidate's seniority was corrected and they withdrew.
    today = ada(seniority="junior")
    today.consent["events"] = ConsentState(
        status="withdrawn", source="talent.prefs", observed_at=NOW
    )
    found = explain_decision(
        decision=decision,
        profile=today,
        spec=spec,
        policy=ConsentPolicy(),
        caps=None,
        freshness=None,
        versions=VERSIONS,
    )
    assert found["reproduced"] is True and found["inputs_recorded"] is True
    assert (found["outcome"], found["variant"]) == ("send", "senior")
    assert found["current"] == {
        "outcome": "suppress",
        "reason": "consent_withdrawn",
        "variant": None,
    }
    assert found["outcome_changed"] is True
    assert {(c["kind"], c["name"]) for c in found["changed"]} == {
        ("field", "seniority"),
        ("consent", "purpose"),
    }
    # The same profile, the same content: nothing changed.
    same = explain_decision(
        decision=decision,
        profile=ada(seniority="senior"),
        spec=spec,
        policy=ConsentPolicy(),
        caps=None,
        freshness=None,
        versions=VERSIONS,
    )
    assert same["changed"] == [] and same["outcome_changed"] is False


def test_the_cap_count_is_recorded_and_replayed(catalogue):
    spec = catalogue.message("job_alert")
    profile = ada()
    profile.consent["job_alerts"] = ConsentState(
        status="granted", source="talent.crm", observed_at=T0
    )
    inputs = record_inputs(profile=profile, spec=spec, payload={}, versions=None, sent=3)
    then, notes = profile_at(profile, inputs, "job_alerts", NOW)
    assert notes == []
    assert len([r for r in then.recent.values() if r.purpose == "job_alerts"]) == 3
    outcome = decide(
        fact=fact(),
        profile=then,
        template="job_alert",
        spec=spec,
        policy=ConsentPolicy(),
        now=NOW,
        caps={"job_alerts": FrequencyCap(3, timedelta(days=7))},
    )
    assert outcome.decision.reason == "frequency_cap"


def test_a_job_alert_explained_later_counts_only_the_sends_before_it(catalogue):
    """The decision's own send trace, and sends after it, are not among the cap's count at
    its time: a job alert explained the next week names no change of the cap."""
    from talentops.models.state import SentRecord

    spec = catalogue.message("job_alert")
    profile = ada(city="Berlin")
    profile.consent["job_alerts"] = ConsentState(
        status="granted", source="talent.crm", observed_at=T0
    )
    profile.recent["earlier"] = SentRecord(
        at=NOW - timedelta(days=1), purpose="job_alerts", template="job_alert"
    )
    caps = {"job_alerts": FrequencyCap(3, timedelta(days=7))}
    decision = decide(
        fact=fact(),
        profile=profile,
        template="job_alert",
        spec=spec,
        policy=ConsentPolicy(),
        now=NOW,
        caps=caps,
        versions=VERSIONS,
    ).decision
    assert decision.outcome == "send" and decision.inputs and decision.inputs.sent == 1
    later = profile.model_copy(deep=True)
    later.recent[decision.decision_id] = SentRecord(
        at=NOW, purpose="job_alerts", template="job_alert"
    )
    later.recent["after"] = SentRecord(
        at=NOW + timedelta(days=2), purpose="job_alerts", template="job_alert"
    )
    found = explain_decision(
        decision=decision,
        profile=later,
        spec=spec,
        policy=ConsentPolicy(),
        caps=caps,
        freshness=None,
        versions=VERSIONS,
    )
    assert found["reproduced"] is True and found["changed"] == []
    # With the trace gone from the ledger, the change is named as such.
    pruned = later.model_copy(update={"recent": {}})
    found = explain_decision(
        decision=decision,
        profile=pruned,
        spec=spec,
        policy=ConsentPolicy(),
        caps=caps,
        freshness=None,
        versions=VERSIONS,
    )
    [change] = found["changed"]
    assert (change["kind"], change["then"], change["now"]) == ("sent", 1, 0)
    assert "counted 1 messages then, 0 now" in change["why"]


def test_a_record_of_content_only_compares_only_the_content(catalogue):
    held = DecisionInputs(content=VERSIONS)
    now = record_inputs(
        profile=ada(),
        spec=catalogue.message("event_reminder"),
        payload={},
        versions={**VERSIONS, "policy": "eeeeeeeeeeee"},
    )
    assert [(c.kind, c.name) for c in compare_inputs(held, now)] == [("content", "policy")]
