"""Explain a recorded decision at its time, with the inputs it recorded (delivery/inputs.py),
and say which inputs differ now.

The decision is derived again: decide() on the profile as the decision read it (its recorded
fields, consent, cap count and suppression laid over the profile held now), the trigger
subject's values its rules read, at ``decided_at``. ``reproduced`` says whether that gives
the recorded outcome, reason and variant. What happens after the decision (the contact
budget or quiet hours, a duplicate, a render error, SES refusing the send) is not decide()'s:
a recorded suppression for one of those reasons is reproduced when decide() would send.

Then the same message's inputs now (the profile held now, the content and policies loaded
now) are compared with the recorded ones (``compare_inputs``), and decide() is run on the
current inputs at the decision's time (``current``): an outcome that changed is explained by
the inputs listed in ``changed``. Content is not kept by version: the explanation reads the
catalogue loaded now, and a changed content version is one of the inputs listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..consent.policy import ConsentPolicy
from ..content.catalogue import MessageSpec
from ..delivery.decide import FrequencyCap
from ..delivery.inputs import (
    cap_count,
    compare_inputs,
    payload_at,
    profile_at,
    record_inputs,
)
from ..models.state import Decision, DecisionInputs, Profile
from .message import Explanation, Step, explain_message

# Reasons a decision is suppressed for after decide() said send.
AFTER_DECIDE = frozenset(
    {"duplicate", "render_error", "undeliverable", "decision_error", "frequency_cap", "quiet_hours"}
)


def _summary(found: Explanation) -> dict[str, Any]:
    return {"outcome": found.outcome, "reason": found.reason, "variant": found.variant}


def _reproduces(decision: Decision, found: Explanation) -> bool:
    if (found.outcome, found.reason, found.variant) == (
        decision.outcome,
        decision.reason,
        decision.variant,
    ):
        return True
    return found.outcome == "send" and decision.reason in AFTER_DECIDE


def explain_decision(
    *,
    decision: Decision,
    profile: Profile,
    spec: MessageSpec,
    policy: ConsentPolicy,
    caps: Mapping[str, FrequencyCap] | None,
    freshness: Mapping[str, timedelta] | None,
    versions: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The recorded ``decision`` explained at its time with its recorded inputs, whether that
    reproduces it, which inputs differ now (``profile`` as held now, ``versions`` as loaded
    now) and what decide() says on the current inputs at the decision's time."""
    at: datetime = decision.decided_at
    inputs = decision.inputs or DecisionInputs()
    recorded = decision.inputs is not None and bool(inputs.fields or inputs.content)
    # The profile now, as it stood for a decision at ``at``: without the decision's own send
    # trace and the sends after it (the cap counts what came before).
    before = {k: r for k, r in profile.recent.items() if k != decision.decision_id and r.at < at}
    profile = profile.model_copy(update={"recent": before})
    then_profile, notes = profile_at(profile, inputs, decision.purpose, at)
    payload = payload_at(inputs)
    subject = {"decision": decision.decision_id}
    then = explain_message(
        profile=then_profile if recorded else profile,
        template=decision.template,
        spec=spec,
        policy=policy,
        at=at,
        caps=caps,
        freshness=freshness,
        payload=payload,
        subject=subject,
    )
    cap = (caps or {}).get(spec.purpose)
    now_inputs = record_inputs(
        profile=profile,
        spec=spec,
        payload=payload,
        versions=versions,
        sent=cap_count(profile, spec.purpose, cap.window, at) if cap is not None else None,
    )
    current = explain_message(
        profile=profile,
        template=decision.template,
        spec=spec,
        policy=policy,
        at=at,
        caps=caps,
        freshness=freshness,
        payload=payload,
        subject=subject,
    )
    reproduced = _reproduces(decision, then)
    if not recorded:
        notes.insert(0, "this decision recorded no inputs (made before they were kept)")
    if decision.reason in AFTER_DECIDE and then.outcome == "send":
        then.steps.append(
            Step("after the decision", False, f"recorded {decision.reason}: {_last(decision)}")
        )
    changes = compare_inputs(inputs, now_inputs) if recorded else []
    return {
        **then.as_dict(),
        "decision": {
            "decision_id": decision.decision_id,
            "template": decision.template,
            "trigger": dict(decision.trigger),
            "decided_at": at.isoformat(),
            "outcome": decision.outcome,
            "reason": decision.reason,
            "variant": decision.variant,
            "status": decision.status,
        },
        "inputs_recorded": recorded,
        "reproduced": reproduced,
        "changed": [c.as_dict() for c in changes],
        "current": _summary(current),
        "outcome_changed": _summary(current) != _summary(then),
        "notes": notes,
    }


def _last(decision: Decision) -> str:
    return decision.reasons[-1] if decision.reasons else "no reason recorded"
