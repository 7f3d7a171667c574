"""Holdouts through the real handlers under moto (issue 13): a catalogue message triggered
for many candidates with `holdout: 0.5`, and a journey step with a holdout. A held-out
candidate gets a decision suppressed with reason holdout, a `Message Suppressed` announcing
it (with the arm), no email, and no room of the contact budget taken; the others are sent
the message as before, in the treatment arm."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from talentops import wiring
from talentops.delivery.holdouts import held_out
from talentops.models.state import Assignment
from tests.conftest import Aws, FakeContext
from tests.integration.test_journeys import (
    ATTENDED,
    EVENT,
    MEETUP,
    REGISTERED,
    T0,
    Handlers,
    _candidate_event,
    _decisions,
    _instances,
    _mails,
    _seed,
    clock,
)

__all__ = ["clock"]  # the fixed clock of the journeys' tests, as a fixture here too

FOLLOWUP = "event_attended_followup"


def _templates(tmp_path: Path, old: str, new: str, file: str) -> Path:
    """A copy of templates/ with ``old`` replaced by ``new`` in ``file``."""
    copy = tmp_path / "templates"
    shutil.copytree(Path(wiring.get_settings().templates_dir), copy)
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


def _use(monkeypatch: pytest.MonkeyPatch, templates: Path) -> None:
    monkeypatch.setenv("TEMPLATES_DIR", str(templates))
    wiring.reset()


def test_a_triggered_message_holds_out_half_its_candidates(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _use(
        monkeypatch,
        _templates(
            tmp_path,
            f"  {FOLLOWUP}:\n    purpose: events\n",
            f"  {FOLLOWUP}:\n    purpose: events\n    holdout: 0.5\n",
            "catalogue.yaml",
        ),
    )
    addresses = [f"walkin{n:02d}@example.org" for n in range(24)]
    ids = {address: _seed(handlers, context, address) for address in addresses}
    aws.drain()
    for address in addresses:
        outcome = _candidate_event(
            handlers, context, ATTENDED, address, T0 - timedelta(days=2), event=MEETUP
        )
        assert outcome["fallback"] is True
    events = aws.drain()
    sent = {
        e["detail"]["candidate_id"]: e["detail"]
        for e in events
        if e["detail-type"] == "Message Sent"
    }
    suppressed = {
        e["detail"]["candidate_id"]: e["detail"]
        for e in events
        if e["detail-type"] == "Message Suppressed"
    }
    held = {a for a, c in ids.items() if held_out(c, FOLLOWUP, 0.5)}
    assert 4 <= len(held) <= 20  # both arms are there to look at
    repo = wiring.repository()
    for address, candidate in ids.items():
        [decision] = [d for d in _decisions(candidate) if d.template == FOLLOWUP]
        profile = repo.get_profile(candidate)
        assert profile is not None
        if address in held:
            assert (decision.outcome, decision.status, decision.reason) == (
                "suppress",
                "suppressed",
                "holdout",
            )
            assert decision.experiments == [Assignment(experiment=FOLLOWUP, arm="holdout")]
            assert decision.message_id is None and decision.variant is None
            assert _mails(aws, address) == []
            assert profile.recent == {}  # no contact budget used
            announced = suppressed[candidate]
            assert announced["reason"] == "holdout" and announced["template"] == FOLLOWUP
            assert announced["experiments"] == [{"experiment": FOLLOWUP, "arm": "holdout"}]
            assert candidate not in sent
        else:
            assert decision.outcome == "send" and decision.status == "sent"
            assert decision.experiments == [Assignment(experiment=FOLLOWUP, arm="treatment")]
            assert len(_mails(aws, address)) == 1
            assert [r.template for r in profile.recent.values()] == [FOLLOWUP]
            assert sent[candidate]["experiments"] == [{"experiment": FOLLOWUP, "arm": "treatment"}]
            assert candidate not in suppressed
    # Delivered again (EventBridge at least once): the same decisions, nothing sent twice.
    mails = len(_mails(aws))
    first = addresses[0]
    _candidate_event(handlers, context, ATTENDED, first, T0 - timedelta(days=2), event=MEETUP)
    assert len(_mails(aws)) == mails
    assert len([d for d in _decisions(ids[first]) if d.template == FOLLOWUP]) == 1


def test_a_journey_steps_holdout_suppresses_its_send_and_the_journey_goes_on(
    aws: Aws,
    handlers: Handlers,
    context: FakeContext,
    clock: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    step = "  - id: confirm\n    send: event_registration_confirmation\n"
    _use(
        monkeypatch,
        _templates(tmp_path, step, step + "    holdout: 0.5\n", "journeys/event.yaml"),
    )
    name = "event.confirm"
    addresses = [f"reg{n:02d}@example.org" for n in range(12)]
    ids = {address: _seed(handlers, context, address) for address in addresses}
    held = {a for a, c in ids.items() if held_out(c, name, 0.5)}
    assert held and held != set(addresses)
    aws.drain()
    for address in addresses:
        _candidate_event(handlers, context, REGISTERED, address, T0, event=EVENT)
    events = aws.drain()
    repo = wiring.repository()
    for address, candidate in ids.items():
        [decision] = [
            d for d in _decisions(candidate) if d.template == "event_registration_confirmation"
        ]
        announced = [
            e["detail"]
            for e in events
            if e["detail"].get("candidate_id") == candidate
            and e["detail-type"] in ("Message Sent", "Message Suppressed")
        ]
        profile = repo.get_profile(candidate)
        assert profile is not None
        if address in held:
            assert decision.reason == "holdout" and decision.status == "suppressed"
            assert decision.experiments == [Assignment(experiment=name, arm="holdout")]
            assert any(r == "journey event step confirm" for r in decision.reasons)
            assert _mails(aws, address) == []
            assert profile.recent == {}
            [event] = announced
            assert event["reason"] == "holdout"
            assert event["experiments"] == [{"experiment": name, "arm": "holdout"}]
        else:
            assert decision.outcome == "send" and len(_mails(aws, address)) == 1
            assert decision.experiments == [Assignment(experiment=name, arm="treatment")]
            assert len(profile.recent) == 1
        # Held out or not, the journey goes on to its reminder.
        [instance] = _instances(candidate)
        assert instance.data["step"] == "day_before" and instance.data["status"] == "active"
