"""Explanations (`/admin/candidates/{id}/explain`, docs/contract.md): why a candidate would
(not) get a message, a campaign, a journey's next step or a job alert, at a moment, from the
functions that decide; and the population's "why not" (`/admin/why-not`): the addressable
pool by the first reason each candidate would not be reached. Both write and send nothing.
IAM (SigV4) only, like every operations route (admin.require_iam).

Exactly one subject: ``message``, ``campaign``, ``journey`` or ``job``; ``at`` (ISO 8601 with
a timezone) is optional, by default now by the project's clock. Or ``decision``: one of the
candidate's recorded decisions, explained at its time with the inputs it recorded, and the
inputs that differ now (no ``at``). Zero or several subjects, or
an ``at`` that is not a moment, answer 400; an unknown candidate or subject 404.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ..errors import UnknownCandidateError
from ..observability import logger
from .admin import require_iam
from .errors import ApiError, error_docs

router = APIGatewayHttpRouter()

TAG = "operations"
_FORBIDDEN = "Not an IAM (SigV4) signed request"
_CANDIDATE_ID = re.compile(r"^c_[A-Za-z0-9]{6,40}$")
_DECISION_ID = re.compile(r"^[A-Za-z0-9_:.#-]{1,128}$")
_NAME = Annotated[str | None, Query(min_length=1, max_length=128)]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_AHEAD = timedelta(days=731)


class ExplainStep(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    check: str = Field(description="What was checked, e.g. consent (events), fresh: city")
    passed: bool
    why: str = Field(description="Why it held or did not, in words")


class InputChangeView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    kind: Literal["content", "field", "consent", "subject", "sent", "suppressed"]
    name: str = Field(description="catalogue / journeys / policy, a field's name, ...")
    then: Any = Field(description="As recorded ([value, source, observed_at] for a field)")
    now: Any
    why: str


class Explanation(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    candidate_id: str
    subject: dict[str, Any] = Field(
        description="What was explained: message (and purpose), campaign, journey (with the "
        "step and message of its next send), or job"
    )
    at: str = Field(description="The moment explained (ISO 8601)")
    outcome: Literal["send", "suppress", "defer", "not_eligible"]
    reason: str | None = Field(
        description="A machine word: decide's reason (no_consent, stale_profile, ...), "
        "not_in_segment, not_matched, not_entered, not_yet_in_pool, quiet_hours, "
        "frequency_cap, or how a journey ends; null when it sends"
    )
    variant: str | None = Field(description="The variant it would send; null otherwise")
    steps: list[ExplainStep]
    decision: dict[str, Any] | None = Field(
        default=None,
        description="With `decision`: the recorded decision (id, template, trigger, "
        "decided_at, outcome, reason, variant, status)",
    )
    inputs_recorded: bool | None = Field(
        default=None, description="With `decision`: false for a record from before inputs"
    )
    reproduced: bool | None = Field(
        default=None,
        description="With `decision`: the recorded inputs at its time give the recorded "
        "outcome, reason and variant",
    )
    changed: list[InputChangeView] | None = Field(
        default=None, description="With `decision`: the inputs that differ now from then"
    )
    current: dict[str, Any] | None = Field(
        default=None,
        description="With `decision`: outcome, reason and variant on the current inputs at "
        "the decision's time",
    )
    outcome_changed: bool | None = None
    notes: list[str] | None = None


class ReasonCount(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    count: int
    example: str | None = Field(description="A candidate id held back for this reason")
    why: str | None = Field(description="That candidate's first failing step, in words")


class WhyNotView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    subject: dict[str, str] = Field(description="kind (message, campaign, journey, job), name")
    at: str
    complete: bool = Field(description="false: stopped at `limit` before the end of the pool")
    scanned: int = Field(description="Profiles with an address explained")
    reached: int = Field(description="Would be sent to now (deferred ones not included)")
    deferred_total: int
    not_reached_total: int
    by_variant: dict[str, int] = Field(description="Reached and deferred, by variant")
    deferred: dict[str, ReasonCount] = Field(description="Sent later, by reason")
    not_reached: dict[str, ReasonCount] = Field(
        description="By the first reason each candidate would not be reached, largest first"
    )


def _ok(model: type[BaseModel], description: str) -> dict[int, Any]:
    return {
        200: {
            "description": description,
            "content": {content_types.APPLICATION_JSON: {"model": model}},
        }
    }


def _json(data: Any) -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(data, default=str),
        headers={"Cache-Control": "no-store"},
    )


def parse_at(value: str | None) -> datetime | None:
    """``at`` as an aware datetime (a trailing Z is UTC) from 2000-01-01 to 731 days ahead of
    the clock; ApiError 400 otherwise."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError as exc:
        raise ApiError(400, "invalid_request", "at: not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None:
        raise ApiError(400, "invalid_request", "at: give a timezone (e.g. Z or +01:00)")
    from ..clock import now

    # Bounded like an event's start: the journeys run on from it (waits of up to a year).
    if not EARLIEST <= parsed <= now() + LATEST_AHEAD:
        raise ApiError(400, "invalid_request", "at: from 2000-01-01 to 731 days ahead of the clock")
    return parsed.astimezone(UTC)


def one_subject(given: dict[str, str | None]) -> tuple[str, str]:
    named = [(kind, value) for kind, value in given.items() if value is not None]
    if len(named) != 1:
        kinds = ", ".join(given)
        found = f"{len(named)} given" if named else "none given"
        raise ApiError(400, "invalid_request", f"exactly one of {kinds} ({found})")
    return named[0]


def _service() -> Any:
    from ..explain.wiring import explain_service

    return explain_service()


@router.get(
    "/admin/candidates/<candidate_id>/explain",
    summary="Explain what a candidate would get",
    description="Why the candidate would (not) get a catalogue message, a campaign, a "
    "journey's next step or a job's alert, at `at` (default now): the outcome and reason of "
    "the functions that decide, and every check with whether it held and why. Exactly one "
    "of message, campaign, journey, job; or `decision`: a recorded decision of the "
    "candidate explained at its time with the inputs it recorded, whether that reproduces "
    "it, and which inputs (fields, consent, content versions) differ now. Writes and sends "
    "nothing.",
    tags=[TAG],
    operation_id="explainCandidate",
    responses={
        **_ok(Explanation, "The outcome, its reason and every step"),
        **error_docs(
            {
                400: "Zero or several subjects, `at` is not an ISO 8601 moment, or `at` "
                "with `decision`",
                403: _FORBIDDEN,
                404: "No such candidate, message, campaign, journey, job or decision",
            }
        ),
    },
)
def explain_candidate(
    candidate_id: str,
    *,
    message: _NAME = None,
    campaign: _NAME = None,
    journey: _NAME = None,
    job: _NAME = None,
    decision: _NAME = None,
    at: Annotated[str | None, Query(max_length=64)] = None,
) -> Response[str]:
    require_iam(router.current_event)
    kind, name = one_subject(
        {
            "message": message,
            "campaign": campaign,
            "journey": journey,
            "job": job,
            "decision": decision,
        }
    )
    if kind == "decision" and at is not None:
        raise ApiError(400, "invalid_request", "at: a decision is explained at its own time")
    when = parse_at(at)
    if not _CANDIDATE_ID.match(candidate_id):
        raise UnknownCandidateError("no candidate has this id")
    from ..explain.service import UnknownSubjectError

    try:
        if kind == "decision":
            if not _DECISION_ID.match(name):
                raise UnknownSubjectError("decision", name)
            found = _service().explain_recorded(candidate_id, name)
        else:
            found = _service().explain(candidate_id, kind, name, when)
    except UnknownSubjectError as exc:
        raise ApiError(404, exc.code, str(exc)) from exc
    logger.info("explanation served", kind=kind, outcome=found["outcome"])
    return _json(found)


@router.get(
    "/admin/why-not",
    summary="Why the pool would not be reached",
    description="Every candidate with an address explained for one subject (as the "
    "explanation of one candidate does, at `at`, default now), broken down by the first "
    "reason each would not be reached, with counts and an example candidate of each; "
    "the candidates reached, by variant. `limit` stops after about that many profiles. "
    "Writes and sends nothing.",
    tags=[TAG],
    operation_id="whyNot",
    responses={
        **_ok(WhyNotView, "The pool by first reason"),
        **error_docs(
            {
                400: "Zero or several subjects, `at` is not an ISO 8601 moment, or a bad limit",
                403: _FORBIDDEN,
                404: "No such message, campaign, journey or job",
            }
        ),
    },
)
def why_not(
    *,
    message: _NAME = None,
    campaign: _NAME = None,
    journey: _NAME = None,
    job: _NAME = None,
    at: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> Response[str]:
    require_iam(router.current_event)
    kind, name = one_subject(
        {"message": message, "campaign": campaign, "journey": journey, "job": job}
    )
    when = parse_at(at)
    from ..explain.service import UnknownSubjectError

    try:
        found = _service().why_not(kind, name, when, limit)
    except UnknownSubjectError as exc:
        raise ApiError(404, exc.code, str(exc)) from exc
    logger.info("why-not served", kind=kind, scanned=found["scanned"])
    return _json(found)
