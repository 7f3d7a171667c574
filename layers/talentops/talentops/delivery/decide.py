"""The decision at the heart of the system, as a pure function.

trigger + profile + consent + send history + content catalogue + policy + now
    -> send this variant, or suppress with a reason, and the reasons either way.

No AWS, no clock of its own: it can be unit-tested, replayed to answer "why did this
candidate (not) get this message", and benchmarked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..consent.policy import ConsentPolicy
from ..content.catalogue import MessageSpec, Variant, select_variant
from ..content.selection import variant_index
from ..models.state import Assignment, Decision, Profile
from ..talent_pool.policy import default_policy, freshness_problem
from .holdouts import Arm, HoldoutRef, arm_of, held_out
from .inputs import record_inputs

PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "city",
    "country",
    "seniority",
    "role_family",
    "skills",
    "language",
    "timezone",
)


def behaviour_kind(detail_type: str) -> str:
    """The key under which the profile keeps what a candidate did
    ("Candidate Event Attended" -> "event_attended")."""
    return detail_type.removeprefix("Candidate ").lower().replace(" ", "_").replace("-", "_")


@dataclass(frozen=True)
class TriggerFact:
    """The fact that may cause a message, identified as docs/contract.md section 1 says."""

    detail_type: str
    event_id: str
    candidate_key: str
    observed_at: datetime
    subject_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)  # {"event": {...}} or {"job": {...}}

    @property
    def trigger(self) -> dict[str, str]:
        return {"detail_type": self.detail_type, "event_id": self.event_id}

    @classmethod
    def from_event(cls, event_id: str, detail_type: str, detail: Any) -> TriggerFact:
        """From a parsed candidate event (EventBehaviour, JobBehaviour, ...)."""
        subject = getattr(detail, "event", None) or getattr(detail, "job", None)
        payload: dict[str, Any] = {}
        if getattr(detail, "event", None) is not None:
            payload["event"] = detail.event.model_dump()
        if getattr(detail, "job", None) is not None:
            payload["job"] = detail.job.model_dump()
        return cls(
            detail_type=detail_type,
            event_id=event_id,
            candidate_key=detail.candidate.key(),
            observed_at=detail.observed_at,
            subject_id=subject.id if subject is not None else None,
            payload=payload,
        )


@dataclass(frozen=True)
class FrequencyCap:
    limit: int
    window: timedelta


def decision_id(fact: TriggerFact, template: str, candidate_id: str | None) -> str:
    """Same fact, same message, same candidate -> same id: the durable dedupe key."""
    who = candidate_id or fact.candidate_key
    identity = "|".join(
        (template, fact.detail_type, who, fact.subject_id or "", fact.observed_at.isoformat())
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def candidate_view(profile: Profile | None) -> dict[str, Any]:
    """Every profile field, present or None, as templates and rules see them."""
    if profile is None:
        return dict.fromkeys(PROFILE_FIELDS)
    fields = profile.fields  # Profile.value for each name, without a call per name
    return {name: (f.value if (f := fields.get(name)) else None) for name in PROFILE_FIELDS}


def rule_context(profile: Profile, payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a message's rules read: the candidate's fields, their behaviours and the
    trigger's subject (``payload``); the same context as careers-site slots."""
    return {
        "candidate": candidate_view(profile),
        "behaviours": dict(profile.behaviours),
        **payload,
    }


def stale_variant_fields(
    spec: MessageSpec, profile: Profile, windows: Mapping[str, timedelta], now: datetime
) -> dict[str, str]:
    """The fields some variant of ``spec`` requires fresh that are not, each with why: a
    variant requiring one of them is passed over (select_variant's ``stale``)."""
    return {
        name: problem.describe()
        for name in variant_index(spec.variants).fresh_fields
        if (problem := freshness_problem(profile, name, windows, now)) is not None
    }


def variant_for(
    spec: MessageSpec,
    profile: Profile,
    payload: Mapping[str, Any],
    *,
    now: datetime,
    freshness: Mapping[str, timedelta] | None = None,
) -> Variant:
    """The variant decide() would choose for ``profile`` (the rules and the freshness of the
    fields variants require), whether or not the message itself would be sent."""
    windows = default_policy().freshness if freshness is None else freshness
    context = rule_context(profile, payload)
    stale = stale_variant_fields(spec, profile, windows, now)
    chosen = select_variant(spec, context, now=now, stale=stale).variant
    return experiment_arm(spec, chosen, profile.candidate_id, stale)[0]


def experiment_arm(
    spec: MessageSpec, variant: Variant, candidate_id: str, stale: Mapping[str, str]
) -> tuple[Variant, Assignment | None, str | None]:
    """The variant a candidate whom the rules give ``variant`` gets when it runs an
    experiment: the arm their hash draws (the rules' variant when the arm requires a field
    that is stale, or is not among ``spec``'s variants, e.g. a campaign's restriction), the
    assignment to record, and why."""
    experiment = variant.experiment
    if experiment is None:
        return variant, None, None
    arms = [Arm(name, weight) for name, weight in experiment.arms.items()]
    drawn = arm_of(candidate_id, experiment.name, arms)
    by_name = {v.name: v for v in spec.variants}
    arm = by_name.get(drawn)
    not_fresh = [f for f in arm.requires_fresh if f in stale] if arm is not None else []
    if arm is None or not_fresh:
        why = f"{stale[not_fresh[0]]}" if not_fresh else "not a variant offered here"
        reason = f"experiment {experiment.name}: drew {drawn}, kept {variant.name} ({why})"
        return variant, Assignment(experiment=experiment.name, arm=variant.name), reason
    reason = f"experiment {experiment.name}: arm {drawn}"
    return arm, Assignment(experiment=experiment.name, arm=drawn), reason


def holdouts_of(
    spec: MessageSpec, template: str, extra: Sequence[HoldoutRef] = ()
) -> list[HoldoutRef]:
    """The holdouts a decision on ``template`` applies: the catalogue message's own (named
    after the message unless it names itself), then the caller's (a journey step's, a
    campaign's)."""
    found = []
    name = spec.holdout_name(template)
    if spec.holdout is not None and name is not None:
        found.append(HoldoutRef(name, spec.holdout.share))
    return [*found, *extra]


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    variant: Variant | None


def decide(
    *,
    fact: TriggerFact,
    profile: Profile | None,
    template: str,
    spec: MessageSpec,
    policy: ConsentPolicy,
    now: datetime,
    caps: Mapping[str, FrequencyCap] | None = None,
    freshness: Mapping[str, timedelta] | None = None,
    versions: Mapping[str, str] | None = None,
    holdouts: Sequence[HoldoutRef] | None = (),
) -> Outcome:
    """``freshness``: each field's freshness window; None means the talent pool policy's
    (policy.yaml, TALENT_POOL_POLICY). A message whose catalogue entry requires a field to be
    fresh is suppressed with stale_profile when it is not; a variant that requires one is
    passed over. ``versions``: the content versions the caller loaded (delivery/inputs.py),
    recorded with the fields read in the decision's ``inputs``.

    When the variant the rules choose runs an experiment, the candidate gets the arm their
    hash draws (recorded in ``experiments``: the experiment's name and the arm). Holdouts
    (the catalogue message's, then ``holdouts``: a journey step's, a campaign's) come last:
    a candidate who would be sent the message and whose hash falls in one is suppressed with
    reason ``holdout`` (nothing sent, no budget used), recorded as arm ``holdout`` of it,
    the others as ``treatment``. ``holdouts=None``: none applied here (a caller with checks
    of its own to make first applies them after, with apply_holdouts)."""
    candidate_id = profile.candidate_id if profile else None
    cap = (caps or {}).get(spec.purpose)
    sent = None
    if profile is not None and cap is not None:
        since = now - cap.window
        sent = sum(1 for r in profile.recent.values() if r.purpose == spec.purpose and r.at > since)
    base = {
        "inputs": record_inputs(
            profile=profile, spec=spec, payload=fact.payload, versions=versions, sent=sent
        ),
        "decision_id": decision_id(fact, template, candidate_id),
        "candidate_id": candidate_id,
        "trigger": fact.trigger,
        "template": template,
        "purpose": spec.purpose,
        "decided_at": now,
    }

    def suppress(reason: str, reasons: list[str]) -> Outcome:
        return Outcome(
            Decision(
                outcome="suppress", reason=reason, reasons=reasons, status="suppressed", **base
            ),
            None,
        )

    if profile is None:
        return suppress(
            "unknown_candidate", [f"no candidate matches {fact.candidate_key.split(':')[0]}"]
        )
    reasons: list[str] = []
    if profile.suppressed:
        return suppress(
            "suppressed_address", ["address is on the suppression list (bounce or complaint)"]
        )
    if not profile.email:
        return suppress("no_address", ["the profile holds no email address"])
    verdict = policy.evaluate(profile, spec.purpose, now)  # now: grants lapse (issue #4)
    if not verdict.allowed:
        return suppress(verdict.reason or "no_consent", [verdict.explanation])
    reasons.append(f"consent: {verdict.explanation}")
    context = rule_context(profile, fact.payload)
    windows = default_policy().freshness if freshness is None else freshness
    problems = [
        problem
        for name in spec.fresh_fields(context)
        if (problem := freshness_problem(profile, name, windows, now)) is not None
    ]
    if problems:
        return suppress("stale_profile", [*reasons, *(f"stale: {p.describe()}" for p in problems)])
    if cap is not None:
        count = sent or 0
        if count >= cap.limit:
            used = f"{count} {spec.purpose} messages in the last {cap.window.days} days"
            return suppress("frequency_cap", [*reasons, f"{used} (cap {cap.limit})"])
        reasons.append(f"frequency: {count} of {cap.limit} {spec.purpose} messages used")
    stale = stale_variant_fields(spec, profile, windows, now)
    selection = select_variant(spec, context, now=now, stale=stale)
    reasons.extend(selection.reasons)
    variant, drawn, why = experiment_arm(spec, selection.variant, profile.candidate_id, stale)
    if why is not None:
        reasons.append(why)
    outcome = Outcome(
        Decision(
            outcome="send",
            variant=variant.name,
            reasons=reasons,
            message_id=f"m_{base['decision_id']}",
            experiments=[drawn] if drawn is not None else None,
            **base,
        ),
        variant,
    )
    if holdouts is None:
        return outcome
    return apply_holdouts(outcome, holdouts_of(spec, template, holdouts))


def apply_holdouts(outcome: Outcome, holdouts: Sequence[HoldoutRef]) -> Outcome:
    """A decision to send, held out when the candidate's hash falls in one of ``holdouts``
    (suppressed with reason ``holdout``, its assignment recorded; an experiment's arm is not,
    since nothing is sent), else with each holdout's ``treatment`` recorded. Any other
    outcome is returned as it is."""
    decision = outcome.decision
    if decision.outcome != "send" or not holdouts or decision.candidate_id is None:
        return outcome
    treated: list[Assignment] = []
    for holdout in holdouts:
        if held_out(decision.candidate_id, holdout.name, holdout.share):
            held = (
                f"held out: holdout {holdout.name} ({holdout.share:.0%} of candidates) "
                f"would have been sent variant {decision.variant}"
            )
            out = decision.suppressed("holdout", [*decision.reasons, held])
            assignment = Assignment(experiment=holdout.name, arm="holdout")
            return Outcome(out.model_copy(update={"experiments": [*treated, assignment]}), None)
        treated.append(Assignment(experiment=holdout.name, arm="treatment"))
    notes = [f"holdout {h.name}: treatment" for h in holdouts]
    update = {
        "experiments": [*treated, *(decision.experiments or [])],
        "reasons": [*decision.reasons, *notes],
    }
    return Outcome(decision.model_copy(update=update), outcome.variant)
