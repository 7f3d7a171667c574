"""A journey step's holdout (issue 13): the step's send carries it to the one decision, a
held-out candidate takes no room of the contact budget, and a share out of bounds is a
load error at its line."""

from __future__ import annotations

import pytest

from talentops.delivery.holdouts import held_out
from talentops.journeys.engine import (
    SendMessage,
    SuppressMessage,
    dispatch,
    effect_from_dict,
    effect_to_dict,
)
from talentops.journeys.loader import JourneyRegistry
from talentops.journeys.source import SourceError
from tests.unit.test_journeys_engine import (
    CANDIDATE,
    POLICY,
    VIEWED,
    _changed,
    _journey,
    _of,
    _profile,
    _start,
)
from tests.unit.test_journeys_engine import timedelta as _td

# A holdout name that holds CANDIDATE out, and one that does not (the hash decides).
HELD = next(f"h{n}" for n in range(100) if held_out(CANDIDATE, f"h{n}", 0.5))
TREATED = next(f"h{n}" for n in range(100) if not held_out(CANDIDATE, f"h{n}", 0.5))


def test_the_steps_send_carries_its_holdout_named_after_the_journey_and_step() -> None:
    journey = _journey("  - id: hello\n    send: job_nurture\n    holdout: 0.25\n")
    (send,) = _of(_start(journey, _changed("role_family"), VIEWED), SendMessage)
    assert (send.holdout, send.holdout_share) == ("sample.hello", 0.25)
    assert effect_from_dict(effect_to_dict(send)) == send
    named = _journey(
        "  - id: hello\n    send: job_nurture\n    holdout: {share: 0.1, name: nurture_2026}\n"
    )
    (send,) = _of(_start(named, _changed("role_family"), VIEWED), SendMessage)
    assert (send.holdout, send.holdout_share) == ("nurture_2026", 0.1)
    plain = _journey("  - id: hello\n    send: job_nurture\n")
    (send,) = _of(_start(plain, _changed("role_family"), VIEWED), SendMessage)
    assert send.holdout is None and "holdout" not in plain.canonical_json()
    # An outbox written before holdouts existed still reads.
    old = {k: v for k, v in effect_to_dict(send).items() if not k.startswith("holdout")}
    assert effect_from_dict(old) == send


def test_a_held_out_candidate_takes_no_room_of_the_budget() -> None:
    """Two journeys in one dispatch, one marketing message of two left this week: the first
    step's candidate is held out, so the second journey's message still fits."""
    steps = f"  - id: hello\n    send: job_nurture\n    holdout: {{share: 0.5, name: {HELD}}}\n"
    one = _journey(steps, name="first")
    two = _journey("  - id: hello\n    send: job_nurture\n", name="second")
    recent = [(VIEWED - _td(days=1), "marketing")]
    out = dispatch(
        JourneyRegistry([one, two]),
        [],
        candidate_id=CANDIDATE,
        profile=_profile(recent=recent),
        stimulus=_changed("role_family"),
        now=VIEWED,
        policy=POLICY,
    )
    assert [[e.template for e in _of(t, SendMessage)] for t in out] == [
        ["job_nurture"],
        ["job_nurture"],
    ]
    assert not _of(out[1], SuppressMessage)
    assert "held out" in out[0].notes[-1] or any("held out" in n for n in out[0].notes)
    # In the treatment arm it takes the room, as any send does.
    treated = _journey(
        f"  - id: hello\n    send: job_nurture\n    holdout: {{share: 0.5, name: {TREATED}}}\n",
        name="first",
    )
    out = dispatch(
        JourneyRegistry([treated, two]),
        [],
        candidate_id=CANDIDATE,
        profile=_profile(recent=recent),
        stimulus=_changed("role_family"),
        now=VIEWED,
        policy=POLICY,
    )
    assert _of(out[1], SuppressMessage)[0].reason == "frequency_cap"


@pytest.mark.parametrize("share", ["0", "0.6", "-1", "{share: 0.9}"])
def test_a_share_out_of_bounds_is_a_load_error_at_its_line(share: str) -> None:
    with pytest.raises(SourceError) as caught:
        _journey(f"  - id: hello\n    send: job_nurture\n    holdout: {share}\n")
    message = str(caught.value)
    assert message.startswith("sample.yaml:14: steps[0].holdout"), message
    assert "more than 0 and at most 0.5" in message
