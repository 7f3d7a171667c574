"""Operations routes (`/admin/...`, docs/privacy.md): access export, decisions, erasure.

API Gateway authorizes these with IAM (SigV4; template.yaml). The resolver checks again that
the request went through an IAM authorizer (``requestContext.authorizer.iam``) and answers
403 otherwise: a route added without its Auth setting stays closed. The campaign routes use
the same check (:func:`require_iam`).
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UnknownCandidateError
from ..models.events import CandidateRef
from ..observability import logger
from .errors import ApiError, error_docs

router = APIGatewayHttpRouter()

_CANDIDATE_ID = re.compile(r"^c_[A-Za-z0-9]{6,40}$")
TAG = "operations"
_FORBIDDEN = "Not an IAM (SigV4) signed request"


class CandidateFound(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    candidate_id: str


class AccessExport(BaseModel):
    """Everything held on the candidate (docs/privacy.md lists each section)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    candidate_id: str
    exported_at: str
    profile: dict[str, Any] = Field(description="fields (value, source, observed_at), aliases")
    consent: dict[str, Any] = Field(description="per purpose: state, evidence, mailable, why")
    consent_history: list[dict[str, Any]] = Field(description="every consent fact (proof)")
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    recent_sends: dict[str, Any]
    decisions: list[dict[str, Any]]
    suppression: dict[str, Any] | None
    other_records: list[dict[str, Any]]


class DecisionsView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    candidate_id: str
    decisions: list[dict[str, Any]]


class ErasureAccepted(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    candidate_id: str
    status: str
    items_deleted: int


def _ok(status: int, model: type[BaseModel], description: str) -> dict[int, Any]:
    return {
        status: {
            "description": description,
            "content": {content_types.APPLICATION_JSON: {"model": model}},
        }
    }


def require_iam(event: Any) -> None:
    """403 unless API Gateway's IAM authorizer vouched for the caller."""
    context = (getattr(event, "raw_event", None) or {}).get("requestContext") or {}
    iam = (context.get("authorizer") or {}).get("iam") or {}
    if not isinstance(iam, dict) or not (
        iam.get("accessKey") or iam.get("userArn") or iam.get("callerId")
    ):
        raise ApiError(403, "forbidden", "this route needs an IAM (SigV4) signed request")


def _json(status: int, data: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(data, default=str),
        headers={"Cache-Control": "no-store"},
    )


def _candidate_id(value: str) -> str:
    if not _CANDIDATE_ID.match(value):
        raise UnknownCandidateError("no candidate has this id")
    return value


def _services() -> Any:
    from ..privacy import wiring

    return wiring


@router.get(
    "/admin/candidates",
    summary="Find a candidate by address",
    tags=[TAG],
    operation_id="findCandidate",
    responses={
        **_ok(200, CandidateFound, "The candidate holding the address"),
        **error_docs({400: "Not an email address", 403: _FORBIDDEN, 404: "No such candidate"}),
    },
)
def find_candidate(email: Annotated[str, Query(min_length=3, max_length=254)]) -> Response[str]:
    require_iam(router.current_event)
    try:
        ref = CandidateRef(email=email)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", "email: not a valid email address") from exc
    assert ref.email is not None
    candidate_id = _services().access_service().find_by_email(ref.email)
    return _json(200, {"candidate_id": candidate_id})


@router.get(
    "/admin/candidates/<candidate_id>",
    summary="Access export",
    description="Everything held on the candidate: profile with provenance, consent and its "
    "history, messages, events, decisions, the suppression entry of the address.",
    tags=[TAG],
    operation_id="exportCandidate",
    responses={
        **_ok(200, AccessExport, "The export"),
        **error_docs({403: _FORBIDDEN, 404: "No such candidate"}),
    },
)
def export_candidate(candidate_id: str) -> Response[str]:
    require_iam(router.current_event)
    export = _services().access_service().export(_candidate_id(candidate_id))
    logger.info("access export served", candidate_id=candidate_id)
    return _json(200, export)


@router.get(
    "/admin/candidates/<candidate_id>/decisions",
    summary="Decisions taken for a candidate",
    tags=[TAG],
    operation_id="candidateDecisions",
    responses={
        **_ok(200, DecisionsView, "Each decision with its variant or reason, and why"),
        **error_docs({403: _FORBIDDEN, 404: "No such candidate"}),
    },
)
def candidate_decisions(candidate_id: str) -> Response[str]:
    require_iam(router.current_event)
    decisions = _services().access_service().decisions(_candidate_id(candidate_id))
    return _json(200, {"candidate_id": candidate_id, "decisions": decisions})


@router.delete(
    "/admin/candidates/<candidate_id>",
    summary="Erase a candidate",
    description="Removes the candidate from everything stored, keeps only the hash of its "
    "address on the suppression list, and publishes Candidate Erased.",
    tags=[TAG],
    operation_id="eraseCandidate",
    responses={
        **_ok(202, ErasureAccepted, "Erased"),
        **error_docs({403: _FORBIDDEN, 404: "No such candidate"}),
    },
)
def erase_candidate(candidate_id: str) -> Response[str]:
    require_iam(router.current_event)
    # An id merged into another candidate erases that candidate: they are one person.
    current = _services().access_service().current_id(_candidate_id(candidate_id))
    result = _services().erasure_service().erase(current, reason="request")
    if result is None:
        raise UnknownCandidateError("no candidate has this id")
    return _json(
        202,
        {
            "candidate_id": result.candidate_id,
            "status": "erased",
            "items_deleted": result.items_deleted,
        },
    )
