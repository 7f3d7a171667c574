"""No message lost, none sent twice, on the local stack (issue 11, item 5), through the
contract only: PutEvents, POST /_local/faults, POST /_local/clock, GET /_local/outbox.

A sending invocation dies as a Lambda timeout ends it: after its claim is durable and before
SES is called (``crash_before_send``), or after SES accepted and before the send is recorded
(``crash_after_send``). The stack's retries find the claim under its lease (in flight: not
sent again, not given up); once the clock is past the lease the send reconciler resolves it:
sent, or recorded as sent. Either way the candidate gets exactly one email.
"""

from __future__ import annotations

import time as wall
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
PAST_THE_LEASE = 21 * 60  # the longest lease: 15 minutes and a 5-minute margin


def _mails_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if address in m["to"]]


def _register(stack: LocalStack, name: str) -> tuple[str, str]:
    now = datetime.fromisoformat(stack.now())
    address = f"{name}.{RUN}@example.org"
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address},
            "observed_at": now.isoformat(),
            "fields": {"email": address, "first_name": "Ada", "country": "DE", "city": "Berlin"},
        },
    )
    stack.put_event(
        "Candidate Consent Changed",
        {
            "candidate": {"email": address},
            "observed_at": now.isoformat(),
            "channel": "email",
            "purpose": "events",
            "status": "granted",
        },
    )
    wall.sleep(3)
    starts_at = datetime.combine(now.date() + timedelta(days=5), time(18, 0), tzinfo=UTC)
    name_of_event = f"Crash Night {name} {RUN}"
    stack.put_event(
        "Candidate Event Registered",
        {
            "candidate": {"email": address},
            "observed_at": now.isoformat(),
            "event": {
                "id": f"ev-{name}-{RUN}",
                "name": name_of_event,
                "starts_at": starts_at.isoformat(),
                "city": "Berlin",
            },
        },
        source="talent.events-platform",
    )
    return address, name_of_event


def _faults(stack: LocalStack, **faults: int) -> dict[str, Any]:
    response = stack.post("/_local/faults", json=faults) if faults else stack.get("/_local/faults")
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("fault", ["crash_before_send", "crash_after_send"])
def test_a_sender_killed_around_the_send_leaves_exactly_one_email(
    stack: LocalStack, fault: str
) -> None:
    before = _faults(stack, **{fault: 1})["injected"][fault]
    address, event_name = _register(stack, fault.replace("_", "-"))
    stack.wait_for(lambda: _faults(stack)["injected"][fault] == before + 1, timeout=20)
    wall.sleep(4)  # the stack's retries of the killed invocation run meanwhile
    expected = 1 if fault == "crash_after_send" else 0
    assert len(_mails_to(stack, address)) == expected  # nothing sent twice, nothing yet

    stack.advance_clock(PAST_THE_LEASE)  # the reconciler's schedule falls due
    mails = stack.wait_for(lambda: _mails_to(stack, address), timeout=20)
    wall.sleep(4)  # anything more would have arrived by now
    mails = _mails_to(stack, address)
    assert len(mails) == 1, [m["subject"] for m in mails]
    assert event_name in mails[0]["subject"]
    assert "X-TalentOps-Decision" in mails[0]["headers"]


def test_the_faults_route_names_what_it_knows(stack: LocalStack) -> None:
    response = stack.post("/_local/faults", json={"crash_during_lunch": 1})
    assert response.status_code == 400
    assert "crash_before_send" in response.json()["error"]["message"]
    assert _faults(stack, crash_before_send=0, crash_after_send=0)["crash_before_send"] == 0
