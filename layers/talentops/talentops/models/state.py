"""Stored state: the candidate profile as the talent pool holds it, and decision records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StateModel(BaseModel):
    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True, defer_build=True)


class FieldValue(StateModel):
    """One profile field: its value, which system said so, and when it became true there."""

    value: Any
    source: str
    observed_at: datetime


class ConsentState(StateModel):
    status: Literal["granted", "withdrawn"]
    source: str
    observed_at: datetime
    evidence: str | None = None
    lawful_basis: str = "consent"
    # When the system received the fact (None: recorded before it kept this). A fact cannot
    # have been observed after it was received: merging orders by the earlier of the two, so
    # a producer's clock running ahead never undoes a later choice (talent_pool/merge.py).
    received_at: datetime | None = None


def shift(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, saturating at the ends of the calendar instead of raising
    OverflowError: stored dates may be extreme (9999-12-31), and deciding on them must not
    crash."""
    try:
        return moment + delta
    except OverflowError:
        end = datetime.max if delta > timedelta(0) else datetime.min
        return end.replace(tzinfo=moment.tzinfo)


class SentRecord(StateModel):
    """A compact trace of a recent send, kept on the profile for caps and content rules."""

    at: datetime
    purpose: str
    template: str


# The mark of a complete ``Profile.journey_listens``: the profile was created with it, and
# every instance written since added what it listens to in the transaction that created it.
JOURNEYS_LISTED = "*"


class Profile(StateModel):
    candidate_id: str
    version: int = 0
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    consent: dict[str, ConsentState] = Field(default_factory=dict)
    recent: dict[str, SentRecord] = Field(default_factory=dict)
    behaviours: dict[str, dict[str, Any]] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    suppressed: bool = False
    created_at: datetime | None = None
    # The send counter: moves on with every change of ``recent`` by a send, so that a send's
    # trace is written only onto the profile as it was read (the contact budget holds under
    # concurrency). Stored as ``alert_seq``; never dumped (it is not the candidate's data).
    alert_seq: int = Field(default=0, exclude=True)
    # How many journey instances the candidate's partition holds, when the profile knows:
    # 0 for a profile created since it is counted (a trigger then reads no journeys), None
    # when unknown (created before, or merged with another's journeys: read them). Stored as
    # ``journey_items``; never dumped.
    journey_items: int | None = Field(default=None, exclude=True)
    # What the candidate's journey instances listen to beyond their own subject, and their
    # subjects (journeys.engine.listens_of: "about:<subject>", "event:<detail-type>",
    # "behaviour:<kind>", "journey:<name>"), so that a candidate event that concerns none
    # of them costs no read of the instances. Complete only when it holds JOURNEYS_LISTED
    # (written when the profile is created, removed with the count when journeys are merged
    # in); None or without it: unknown, read them. Stored as ``journey_listens``; never
    # dumped.
    journey_listens: frozenset[str] | None = Field(default=None, exclude=True)

    def value(self, name: str) -> Any:
        field = self.fields.get(name)
        return field.value if field else None

    @property
    def email(self) -> str | None:
        value = self.value("email")
        return str(value) if value else None


# A decision record stays small whatever the catalogue (DynamoDB bills reads per 4 KB): the
# variants passed over are named up to PASSED_OVER_NAMED, then counted; a reason is cut at
# REASON_CHARS (a rule over a long list of values).
PASSED_OVER_NAMED = 5
REASON_CHARS = 240


def clip(reason: str) -> str:
    return reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…"


def passed_over(reasons: list[str], more: int = 0) -> list[str]:
    """The reasons of a variant selection, bounded: the first PASSED_OVER_NAMED variants
    passed over and why, how many more there were, and the variant chosen and why (last).
    ``more``: variants passed over besides those ``reasons`` name (a selection that found
    its variant without explaining every earlier one, content/selection.py)."""
    *passed, chosen = reasons or [""]
    named = [clip(r) for r in passed[:PASSED_OVER_NAMED]]
    more += len(passed) - len(named)
    if more > 0:
        named.append(f"and {more} more variant{'s' if more > 1 else ''} passed over")
    return [*named, clip(chosen)] if reasons else []


class DecisionInputs(StateModel):
    """What a decision read, so that it can be derived again (delivery/inputs.py says how
    each is kept): content versions, the profile fields the message reads as
    ``[value, source, observed_at]`` (null: not known), the purpose's consent as
    ``[status, source, observed_at]``, the trigger subject's values the rules read, the
    frequency cap's count and the suppression flag."""

    content: dict[str, str] = Field(default_factory=dict)
    fields: dict[str, list[Any] | None] = Field(default_factory=dict)
    consent: list[Any] | None = None
    subject: dict[str, Any] = Field(default_factory=dict)
    sent: int | None = None
    suppressed: bool = False


class Assignment(StateModel):
    """Which arm of a holdout or an experiment a decision's candidate is in (issue 13):
    ``arm`` is ``holdout`` or ``treatment`` for a holdout, the variant for an experiment."""

    experiment: str
    arm: str


# "show": a careers-site content block shown to a known candidate (GET /content/{slot}).
DecisionOutcome = Literal["send", "suppress", "show"]


class Decision(StateModel):
    """What the system decided for one trigger and one candidate, and why.

    `kind` is "message" for emails and "content" for careers-site blocks (then `template`
    names the slot, `trigger` is {"detail_type": "Content Requested", "event_id": <request>}
    and `purpose` is "content")."""

    decision_id: str
    kind: Literal["message", "content"] = "message"
    candidate_id: str | None
    trigger: dict[str, str]
    template: str
    purpose: str
    outcome: DecisionOutcome
    variant: str | None = None
    reason: str | None = None
    reasons: list[str] = Field(default_factory=list)
    message_id: str | None = None
    decided_at: datetime
    status: Literal["decided", "sent", "suppressed", "failed", "shown"] = "decided"
    # What the decision read (content versions, profile fields, consent): None on records
    # from before inputs were kept, and on decisions made before a profile was read.
    inputs: DecisionInputs | None = None
    # The holdouts and experiments the candidate was assigned in (None: none applied).
    experiments: list[Assignment] | None = None

    def render_failed(self, error: Exception) -> Decision:
        """The variant chosen could not be rendered: suppressed render_error, saying which."""
        return self.suppressed(
            "render_error", [*self.reasons, f"render error in variant {self.variant}: {error}"]
        )

    def send_trace(self) -> SentRecord | None:
        """What a send leaves on the profile (caps, the budget, content rules); None when
        nothing is sent."""
        if self.outcome != "send":
            return None
        return SentRecord(at=self.decided_at, purpose=self.purpose, template=self.template)

    def suppressed(self, reason: str, reasons: list[str]) -> Decision:
        """This decision turned into a suppression for ``reason``, with ``reasons`` as why."""
        return self.model_copy(
            update={
                "outcome": "suppress",
                "reason": reason,
                "status": "suppressed",
                "variant": None,
                "message_id": None,
                "reasons": reasons,
            }
        )
