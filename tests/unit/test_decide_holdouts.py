"""Holdouts and experiments in the one decision (issue 13): the catalogue's keys, what
decide() records, the stability of the assignment, and the bounds of a share."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import Catalogue, MessageSpec
from talentops.delivery.decide import FrequencyCap, decide
from talentops.delivery.holdouts import HoldoutRef, bucket, held_out
from talentops.delivery.service import announcement
from talentops.errors import CatalogueError
from talentops.models.state import Assignment, SentRecord
from tests.unit.test_decide import CATALOGUE, NOW, _fact, _profile

BASE = CATALOGUE.message("event_attended_followup")
IDS = [f"c_{n:06d}" for n in range(2000)]


def _spec(**changes: Any) -> MessageSpec:
    data = BASE.model_dump(mode="json", exclude_none=True)
    for key, value in changes.items():
        data[key] = value
    return MessageSpec.model_validate(data)


def _with_experiment(arms: dict[str, float], name: str = "followup_subject") -> MessageSpec:
    data = BASE.model_dump(mode="json", exclude_none=True)
    data["variants"][1]["experiment"] = {"name": name, "arms": arms}  # on "senior"
    return MessageSpec.model_validate(data)


def _decide(spec: MessageSpec, candidate_id: str, **kw: Any) -> Any:
    profile = _profile(seniority=kw.pop("seniority", "principal"))
    profile.candidate_id = candidate_id
    return decide(
        fact=_fact(),
        profile=profile,
        template="event_attended_followup",
        spec=spec,
        policy=ConsentPolicy(),
        now=NOW,
        **kw,
    )


def test_a_held_out_candidate_is_decided_then_suppressed_holdout() -> None:
    spec = _spec(holdout=0.5)
    outcomes = {c: _decide(spec, c) for c in IDS[:400]}
    held = [c for c, o in outcomes.items() if o.decision.reason == "holdout"]
    sent = [c for c, o in outcomes.items() if o.decision.outcome == "send"]
    assert len(held) + len(sent) == 400 and 150 < len(held) < 250
    one = outcomes[held[0]]
    assert one.variant is None
    d = one.decision
    assert (d.outcome, d.status, d.variant, d.message_id) == ("suppress", "suppressed", None, None)
    assert d.experiments == [Assignment(experiment="event_attended_followup", arm="holdout")]
    # Decided like everyone else: consent and the variant the rules chose are among the reasons.
    assert any(r.startswith("consent: events granted") for r in d.reasons)
    assert "would have been sent variant senior" in d.reasons[-1]
    assert d.send_trace() is None  # no contact budget used
    other = outcomes[sent[0]].decision
    assert other.variant == "senior"
    assert other.experiments == [Assignment(experiment="event_attended_followup", arm="treatment")]
    assert {held_out(c, "event_attended_followup", 0.5) for c in held} == {True}


def test_the_announcement_carries_reason_holdout_and_the_arm() -> None:
    spec = _spec(holdout=0.5)
    held = next(
        o.decision for o in (_decide(spec, c) for c in IDS) if o.decision.reason == "holdout"
    )
    detail_type, detail = announcement(held)
    body = detail.model_dump(mode="json", exclude_none=True)
    assert detail_type == "Message Suppressed" and body["reason"] == "holdout"
    assert body["experiments"] == [{"experiment": "event_attended_followup", "arm": "holdout"}]
    sent = next(o.decision for o in (_decide(spec, c) for c in IDS) if o.decision.outcome == "send")
    detail_type, detail = announcement(sent)
    assert detail_type == "Message Sent"
    assert detail.model_dump(mode="json")["experiments"][0]["arm"] == "treatment"


def test_other_suppressions_come_first() -> None:
    spec = _spec(holdout=0.5)
    held = next(c for c in IDS if held_out(c, "event_attended_followup", 0.5))
    profile = _profile(consent=None)
    profile.candidate_id = held
    out = decide(
        fact=_fact(),
        profile=profile,
        template="event_attended_followup",
        spec=spec,
        policy=ConsentPolicy(),
        now=NOW,
    )
    assert out.decision.reason == "no_consent" and out.decision.experiments is None
    capped = _profile(seniority="principal")
    capped.candidate_id = held
    capped.recent["x"] = SentRecord(at=NOW, purpose="events", template="t")
    out = decide(
        fact=_fact(),
        profile=capped,
        template="event_attended_followup",
        spec=spec,
        policy=ConsentPolicy(),
        now=NOW,
        caps={"events": FrequencyCap(1, NOW - NOW.replace(day=1))},
    )
    assert out.decision.reason == "frequency_cap"


def test_assignment_does_not_change_when_other_settings_change() -> None:
    """The hash is of the candidate and the holdout's name only: changing the message's
    variants, rules, description or the experiment's weights moves nobody in or out."""
    before = {c for c in IDS[:300] if _decide(_spec(holdout=0.2), c).decision.reason == "holdout"}
    data = BASE.model_dump(mode="json", exclude_none=True)
    data["description"] = "rewritten"
    data["variants"] = data["variants"][1:]  # the de variant dropped
    data["variants"][0]["subject"] = "Another subject"
    data["holdout"] = 0.2
    changed = MessageSpec.model_validate(data)
    after = {c for c in IDS[:300] if _decide(changed, c).decision.reason == "holdout"}
    assert before == after and before
    # A named holdout keeps its people when the message is renamed.
    named = _spec(holdout={"share": 0.2, "name": "event_attended_followup"})
    profile = _profile(seniority="principal")
    for c in IDS[:50]:
        profile.candidate_id = c
        renamed = decide(
            fact=_fact(),
            profile=profile,
            template="renamed_followup",
            spec=named,
            policy=ConsentPolicy(),
            now=NOW,
        )
        assert (renamed.decision.reason == "holdout") == (c in before)
    # A larger share keeps everyone the smaller one held out.
    larger = {c for c in IDS[:300] if _decide(_spec(holdout=0.3), c).decision.reason == "holdout"}
    assert before <= larger


def test_an_experiment_splits_the_rules_choice_by_weight_and_records_the_arm() -> None:
    spec = _with_experiment({"senior": 50, "default": 50})
    arms = {}
    for c in IDS[:600]:
        out = _decide(spec, c)
        assert out.decision.outcome == "send"
        [assignment] = out.decision.experiments
        assert assignment.experiment == "followup_subject"
        assert assignment.arm == out.decision.variant == out.variant.name
        arms[c] = assignment.arm
    share = sum(a == "default" for a in arms.values()) / len(arms)
    assert 0.42 < share < 0.58
    # Candidates the rules give another variant are not in the experiment.
    out = _decide(spec, IDS[0], seniority="junior")
    assert out.decision.variant == "default" and out.decision.experiments is None
    # New weights move only the candidates whose bucket lies between the old and new edge.
    skewed = _with_experiment({"senior": 75, "default": 25})
    for c in IDS[:600]:
        arm = _decide(skewed, c).decision.variant
        expected = "senior" if bucket(c, "followup_subject") < 7500 else "default"
        assert arm == expected
        if arms[c] == "senior":
            assert arm == "senior"


def test_a_holdout_and_an_experiment_together() -> None:
    data = _with_experiment({"senior": 1, "default": 1}).model_dump(mode="json", exclude_none=True)
    data["holdout"] = 0.1
    spec = MessageSpec.model_validate(data)
    for c in IDS[:200]:
        d = _decide(spec, c).decision
        if d.reason == "holdout":
            assert d.experiments == [
                Assignment(experiment="event_attended_followup", arm="holdout")
            ]
        else:
            assert d.experiments == [
                Assignment(experiment="event_attended_followup", arm="treatment"),
                Assignment(experiment="followup_subject", arm=d.variant),
            ]


def test_a_callers_holdout_applies_after_the_messages() -> None:
    step = HoldoutRef("event.follow_up", 0.5)
    outcomes = [_decide(BASE, c, holdouts=[step]).decision for c in IDS[:200]]
    held = [d for d in outcomes if d.reason == "holdout"]
    assert held and all(d.experiments[0].experiment == "event.follow_up" for d in held)
    # holdouts=None: none applied (the caller applies them after its own checks).
    spec = _spec(holdout=0.5)
    assert all(_decide(spec, c, holdouts=None).decision.outcome == "send" for c in IDS[:100])


CATALOGUE_TEXT = """
version: 1
messages:
  m:
    purpose: events
    {extra}
    variants:
      - name: a
        rules: [{{field: candidate.country, op: eq, value: DE}}]
        subject: s
        html: a.txt
        text: a.txt
        {experiment}
      - name: b
        subject: s
        html: a.txt
        text: a.txt
"""


def _load(tmp_path: Path, extra: str = "", experiment: str = "") -> Catalogue:
    (tmp_path / "a.txt").write_text("x")
    text = CATALOGUE_TEXT.format(extra=extra, experiment=experiment)
    (tmp_path / "catalogue.yaml").write_text(text)
    return Catalogue.load(tmp_path)


@pytest.mark.parametrize("share", ["0", "-0.1", "0.51", "1", "true"])
def test_a_share_outside_0_to_half_is_a_load_error_at_its_path(tmp_path: Path, share: str) -> None:
    with pytest.raises(CatalogueError) as caught:
        _load(tmp_path, extra=f"holdout: {share}")
    message = str(caught.value)
    assert re.match(r"catalogue\.yaml:\d+: messages\.m\.holdout", message), message
    if share != "true":
        assert "more than 0 and at most 0.5" in message


def test_holdout_and_experiment_keys_load(tmp_path: Path) -> None:
    catalogue = _load(
        tmp_path,
        extra="holdout: {share: 0.25, name: spring_test}",
        experiment="experiment: {name: subject_ab, arms: {a: 50, b: 50}}",
    )
    spec = catalogue.message("m")
    assert spec.holdout is not None and spec.holdout.share == 0.25
    assert spec.holdout_name("m") == "spring_test"
    assert _load(tmp_path, extra="holdout: 0.1").message("m").holdout_name("m") == "m"
    experiment = spec.variants[0].experiment
    assert experiment is not None and experiment.arms == {"a": 50, "b": 50}


@pytest.mark.parametrize(
    ("experiment", "extra", "wanted"),
    [
        ("experiment: {name: x, arms: {a: 1, c: 1}}", "", "arm 'c' is not a variant"),
        ("experiment: {name: x, arms: {b: 1, b2: 1}}", "", "arm 'b2' is not a variant"),
        ("experiment: {name: x, arms: {a: 1}}", "", "experiment.arms"),
        ("experiment: {name: x, arms: {a: 0, b: 1}}", "", "experiment.arms.a"),
        ("experiment: {name: x, arms: {a: 1, b: 1}}", "holdout: {share: 0.1, name: x}", "names"),
        ("experiment: {name: x, arms: {a: 1, treatment: 1}}", "", "names a holdout's arm"),
    ],
)
def test_an_experiment_that_does_not_fit_is_a_load_error(
    tmp_path: Path, experiment: str, extra: str, wanted: str
) -> None:
    with pytest.raises(CatalogueError, match=wanted) as caught:
        _load(tmp_path, extra=extra, experiment=experiment)
    assert re.match(r"catalogue\.yaml:\d+: messages\.m", str(caught.value)), caught.value


def test_the_content_schema_knows_the_keys_and_the_bounds() -> None:
    import jsonschema

    root = Path(__file__).resolve().parents[2]
    schema = yaml.safe_load((root / "schemas/content/catalogue.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    catalogue = yaml.safe_load((root / "templates" / "catalogue.yaml").read_text())
    message = catalogue["messages"]["event_attended_followup"]
    message["holdout"] = 0.1
    message["variants"][1]["experiment"] = {"name": "x", "arms": {"senior": 1, "default": 1}}
    assert list(validator.iter_errors(catalogue)) == []
    message["holdout"] = {"share": 0.2, "name": "spring"}
    assert list(validator.iter_errors(catalogue)) == []
    for wrong in (0.7, 0, {"share": 0.6}, {"share": 0.1, "nam": "x"}):
        message["holdout"] = wrong
        assert list(validator.iter_errors(catalogue)), wrong


def test_an_explanation_shows_the_holdout_as_a_step() -> None:
    from talentops.explain.message import explain_message

    spec = _spec(holdout=0.5)
    for candidate, arm in (
        (next(c for c in IDS if held_out(c, "event_attended_followup", 0.5)), "holdout"),
        (next(c for c in IDS if not held_out(c, "event_attended_followup", 0.5)), "treatment"),
    ):
        profile = _profile(seniority="principal")
        profile.candidate_id = candidate
        explained = explain_message(
            profile=profile,
            template="event_attended_followup",
            spec=spec,
            policy=ConsentPolicy(),
            at=NOW,
            payload=_fact().payload,
        )
        [step] = [s for s in explained.steps if s.check == "holdout event_attended_followup"]
        assert step.passed is (arm == "treatment")
        assert explained.outcome == ("send" if arm == "treatment" else "suppress")
        if arm == "holdout":
            assert explained.reason == "holdout"
