"""Explain a candidate against a catalogue message or a job alert, now or at a given time,
from the same pure functions that decide (delivery/decide.py, job_alerts/matching.py),
writing and sending nothing.

The outcome is decide()'s own; the steps walk the same checks in the same order and say,
for each, whether it held and why: the candidate and their address, the suppression list,
consent and its basis, the freshness of every field the message reads (with its value's
source and when it was observed), the frequency cap, and the variant chosen with why each
variant before it did not apply. For a job, whether the candidate matches it comes first
(`not_matched` when not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ..consent.policy import ConsentPolicy
from ..content.catalogue import MessageSpec
from ..delivery.decide import FrequencyCap, TriggerFact, candidate_view, decide
from ..models.countries import country_code
from ..models.state import Profile
from ..talent_pool.policy import default_policy, freshness_problem

Outcome = Literal["send", "suppress", "defer", "not_eligible"]


@dataclass(frozen=True)
class Step:
    check: str
    passed: bool
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "why": self.why}


@dataclass
class Explanation:
    candidate_id: str
    subject: dict[str, Any]
    at: datetime
    outcome: Outcome
    reason: str | None
    variant: str | None
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate_id": self.candidate_id,
            "subject": self.subject,
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "reason": self.reason,
            "variant": self.variant,
            "steps": [s.as_dict() for s in self.steps],
        }


def _field_line(profile: Profile, name: str) -> str:
    value = profile.fields.get(name)
    if value is None:
        return f"{name}: not known"
    return f"{name} from {value.source}, observed {value.observed_at.isoformat()}"


def message_steps(
    *,
    profile: Profile,
    spec: MessageSpec,
    payload: Mapping[str, Any],
    policy: ConsentPolicy,
    now: datetime,
    caps: Mapping[str, FrequencyCap] | None,
    freshness: Mapping[str, timedelta] | None,
) -> list[Step]:
    """Every check of decide(), each with whether it held and why (not short-circuited: a
    person sees all that stands in the way, in decide's order)."""
    steps = [
        Step(
            "suppression list",
            not profile.suppressed,
            "the address is on the suppression list (bounce or complaint)"
            if profile.suppressed
            else "the address is not on the suppression list",
        ),
        Step(
            "address",
            bool(profile.email),
            "the profile holds an email address"
            if profile.email
            else "the profile holds no email address",
        ),
    ]
    verdict = policy.evaluate(profile, spec.purpose, now)
    country = country_code(profile.value("country"))
    basis = f"country {country or 'unknown'}: {policy.regime(country).replace('_', '-')}"
    steps.append(
        Step(f"consent ({spec.purpose})", verdict.allowed, f"{basis}; {verdict.explanation}")
    )
    context = {"candidate": candidate_view(profile), "behaviours": dict(profile.behaviours)}
    context.update(payload)
    windows = default_policy().freshness if freshness is None else freshness
    for name in spec.fresh_fields(context):
        problem = freshness_problem(profile, name, windows, now)
        why = problem.describe() if problem is not None else _field_line(profile, name)
        steps.append(Step(f"fresh: {name}", problem is None, why))
    cap = (caps or {}).get(spec.purpose)
    if cap is not None:
        since = now - cap.window
        used = sum(1 for r in profile.recent.values() if r.purpose == spec.purpose and r.at > since)
        steps.append(
            Step(
                "frequency cap",
                used < cap.limit,
                f"{used} of {cap.limit} {spec.purpose} messages in the last {cap.window.days} days",
            )
        )
    return steps


def explain_message(
    *,
    profile: Profile,
    template: str,
    spec: MessageSpec,
    policy: ConsentPolicy,
    at: datetime,
    caps: Mapping[str, FrequencyCap] | None = None,
    freshness: Mapping[str, timedelta] | None = None,
    payload: Mapping[str, Any] | None = None,
    subject: Mapping[str, Any] | None = None,
) -> Explanation:
    """Explain `template` for `profile` at `at`: decide()'s outcome and every step."""
    fact = TriggerFact(
        detail_type="Explain",
        event_id="explain",
        candidate_key=f"id:{profile.candidate_id}",
        observed_at=at,
        payload=dict(payload or {}),
    )
    outcome = decide(
        fact=fact,
        profile=profile,
        template=template,
        spec=spec,
        policy=policy,
        now=at,
        caps=caps,
        freshness=freshness,
    )
    decision = outcome.decision
    steps = message_steps(
        profile=profile,
        spec=spec,
        payload=fact.payload,
        policy=policy,
        now=at,
        caps=caps,
        freshness=freshness,
    )
    if decision.outcome == "send":
        # How the variant was chosen: decide's own reasons after its consent and cap lines.
        chosen = [r for r in decision.reasons if r.startswith(("variant ", "not "))]
        steps.append(
            Step("variant", True, "; ".join(chosen) or f"variant {decision.variant} chosen")
        )
    for assignment in decision.experiments or []:
        if assignment.arm in ("holdout", "treatment"):
            treated = assignment.arm == "treatment"
            why = "in the treatment arm: sent" if treated else "held out: the message is not sent"
            steps.append(Step(f"holdout {assignment.experiment}", treated, why))
    return Explanation(
        candidate_id=profile.candidate_id,
        subject={"message": template, "purpose": spec.purpose, **(subject or {})},
        at=at,
        outcome="send" if decision.outcome == "send" else "suppress",
        reason=decision.reason,
        variant=decision.variant,
        steps=steps,
    )


def explain_job(
    *,
    profile: Profile,
    job: Mapping[str, Any],
    template: str,
    spec: MessageSpec,
    policy: ConsentPolicy,
    at: datetime,
    band: int,
    matches: Any,
    caps: Mapping[str, FrequencyCap] | None = None,
    freshness: Mapping[str, timedelta] | None = None,
) -> Explanation:
    """Explain the job alert of `job` for `profile`: `not_matched` when the candidate does
    not fit the job (`matches(job, profile, band) -> (bool, why)`), else the message's."""
    fit, why = matches(job, profile, band)
    subject = {"job": str(job.get("id"))}
    match_step = Step(
        "matches the job",
        fit,
        f"role family, seniority within {band} level(s), city or remote: {why}",
    )
    if not fit:
        return Explanation(
            candidate_id=profile.candidate_id,
            subject={"message": template, "purpose": spec.purpose, **subject},
            at=at,
            outcome="not_eligible",
            reason="not_matched",
            variant=None,
            steps=[match_step],
        )
    found = explain_message(
        profile=profile,
        template=template,
        spec=spec,
        policy=policy,
        at=at,
        caps=caps,
        freshness=freshness,
        payload={"job": dict(job)},
        subject=subject,
    )
    found.steps.insert(0, match_step)
    return found
