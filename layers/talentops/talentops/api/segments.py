"""Saved segment routes (`/admin/segments...`, docs/campaigns.md "Saved segments"): create
(a name again is a new version), list, read one (its latest version, or ``?version=N``). IAM
(SigV4) only, like every operations route (admin.require_iam).

A definition that is not valid is answered 422 as a campaign's is, every problem with its
path: ``{"error": {"code": "invalid_segment", "message", "problems": [{"path", "message"}]}}``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ..campaigns.model import SEGMENT_ID_PATTERN
from ..campaigns.segments import SegmentError, UnknownSegmentError
from .admin import require_iam
from .campaigns import CampaignErrorBody, _json, _ok
from .errors import ApiError, error_docs

router = APIGatewayHttpRouter()

TAG = "segments"
_FORBIDDEN = "Not an IAM (SigV4) signed request"
_SEGMENT_ID = re.compile(SEGMENT_ID_PATTERN)


class SegmentView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    segment_id: str = Field(description="seg_ and 16 hex digits, derived from the name")
    name: str
    version: int = Field(description="This version (1, 2, ...)")
    latest_version: int
    description: str | None
    segment: list[dict[str, Any]] = Field(description="The conditions (the rule language)")
    created_at: str = Field(description="When this version was saved")


class SegmentCreated(SegmentView):
    created: bool = Field(description="false: these conditions are already the latest version")


class SegmentEntry(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    segment_id: str
    name: str
    version: int = Field(description="The latest version")
    updated_at: str = Field(description="When the latest version was saved")


class SegmentList(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    segments: list[SegmentEntry] = Field(description="The most recently versioned first")


def _service() -> Any:
    from ..campaigns.wiring import segment_service

    return segment_service()


def invalid_segment(exc: SegmentError) -> Response[str]:
    problems = [{"path": p.path, "message": p.message} for p in exc.problems]
    message = "; ".join(f"{p['path'] or 'body'}: {p['message']}" for p in problems)
    return _json(
        422, {"error": {"code": "invalid_segment", "message": message, "problems": problems}}
    )


@router.post(
    "/admin/segments",
    summary="Save a segment (a new version when the name exists)",
    description="A named segment: conditions in the rule language (rules and any/all/not "
    "groups, all must hold), as a campaign's segment. Posting a name that exists saves its "
    "next version; posting its latest version's conditions again answers that version "
    "(created false). A campaign uses it with segment_ref (pinned to a version).",
    tags=[TAG],
    operation_id="createSegment",
    responses={
        **_ok(201, SegmentCreated, "The version saved (or the latest, unchanged)"),
        **error_docs({400: "Not a JSON object", 403: _FORBIDDEN}),
        422: {
            "description": "The segment is not valid: every problem with its path",
            "content": {"application/json": {"model": CampaignErrorBody}},
        },
    },
)
def create_segment(
    body: Annotated[dict[str, Any], Body(description="name, description?, segment")],
) -> Response[str]:
    require_iam(router.current_event)
    try:
        view, created = _service().create(body)
    except SegmentError as exc:
        return invalid_segment(exc)
    return _json(201, {**view, "created": created})


@router.get(
    "/admin/segments",
    summary="The saved segments",
    description="Every saved segment with its latest version, the most recently versioned first.",
    tags=[TAG],
    operation_id="listSegments",
    responses={
        **_ok(200, SegmentList, "The segments"),
        **error_docs({403: _FORBIDDEN}),
    },
)
def list_segments() -> Response[str]:
    require_iam(router.current_event)
    return _json(200, _service().list())


@router.get(
    "/admin/segments/<segment_id>",
    summary="A saved segment",
    description="Its latest version, or version N with ?version=N.",
    tags=[TAG],
    operation_id="getSegment",
    responses={
        **_ok(200, SegmentView, "The version"),
        **error_docs({403: _FORBIDDEN, 404: "No such segment, or no such version"}),
    },
)
def get_segment(
    segment_id: str,
    version: Annotated[int | None, Query(ge=1, le=999999)] = None,
) -> Response[str]:
    require_iam(router.current_event)
    if not _SEGMENT_ID.match(segment_id):
        raise ApiError(404, "unknown_segment", "no segment has this id")
    try:
        return _json(200, _service().get(segment_id, version))
    except UnknownSegmentError as exc:
        raise ApiError(404, exc.code, str(exc)) from exc
