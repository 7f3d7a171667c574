"""Campaign routes (`/admin/campaigns...`, docs/campaigns.md): create,
preview (POST starts it, GET follows it), launch, status, list, and the control verbs
(cancel, pause, resume: 409 invalid_transition when the status does not allow it). IAM
(SigV4) only, like every operations route (admin.require_iam).

A definition that is not valid is answered 422 with every problem and its path:
``{"error": {"code": "invalid_campaign", "message": "...", "problems": [{"path", "message"}]}}``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ..campaigns.listing import MAX_LIMIT, STATUSES, InvalidListQueryError, list_query
from ..campaigns.model import CampaignError
from ..campaigns.service import (
    CAMPAIGN_ID,
    CampaignStateError,
    NoPreviewError,
    UnknownCampaignError,
)
from .admin import require_iam
from .errors import ApiError, error_docs

router = APIGatewayHttpRouter()

TAG = "campaigns"
_FORBIDDEN = "Not an IAM (SigV4) signed request"
_UNKNOWN = "No such campaign"
_CONFLICT = "Its status does not allow this (invalid_transition)"
_STATUS_PATTERN = "^(" + "|".join(STATUSES) + ")$"
_CAMPAIGN_ID = re.compile(CAMPAIGN_ID)


class CampaignProblem(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    path: str = Field(description="Where in the body, e.g. segment[0].field (empty: the body)")
    message: str


class CampaignErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    code: str = Field(description="invalid_campaign")
    message: str = Field(description="Every problem, in one line.")
    problems: list[CampaignProblem]


class CampaignErrorBody(BaseModel):
    """A campaign definition that is not valid: each problem with its path."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    error: CampaignErrorDetail


class CampaignCounts(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    queued: int = Field(description="Candidates of the segment put on the queue by the launch")
    sent: int
    held_out: int = Field(
        default=0, description="Would have been sent, held out by a holdout (not in suppressed)"
    )
    suppressed: dict[str, int] = Field(description="Held back, by reason")
    suppressed_total: int
    deferred: dict[str, int] = Field(
        description="Times a recipient was held for quiet hours or the budget, by reason"
    )
    deferred_total: int
    waiting: int = Field(description="Deferred recipients not decided again yet")
    failed: int = Field(description="Sends SES refused for good")
    left_segment: int = Field(description="Queued, but out of the segment when decided")
    missing: int = Field(description="Queued, but merged or erased since")


class CampaignProgress(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    profiles_scanned: int
    pages: int
    messages: int
    messages_done: int
    fanout_done: bool


class CampaignView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    campaign_id: str
    name: str
    purpose: str
    template: str
    definition: dict[str, Any]
    fingerprint: str
    created_at: str
    launched_at: str | None
    send_at: str | None
    status: str = Field(
        description="draft, scheduled, launching, launched, sent, paused or cancelled"
    )
    status_at: str | None = Field(default=None, description="When the status last changed")
    paused_from: str | None = Field(
        default=None, description="While paused: the status resume goes back to"
    )
    counts: CampaignCounts
    progress: CampaignProgress


class CampaignCreated(CampaignView):
    created: bool = Field(description="false: the same definition was created before")


class CampaignLaunched(CampaignView):
    launch: str = Field(description="started, scheduled, resumed or already_launched")


class CampaignControlled(CampaignView):
    changed: bool = Field(description="false: it was in that status already")
    requeued: int | None = Field(
        default=None, description="resume: the pages parked while paused, queued again"
    )


class CampaignSummaryCounts(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    queued: int
    sent: int
    suppressed_total: int
    waiting: int
    failed: int


class CampaignSummary(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    campaign_id: str
    name: str
    purpose: str
    template: str
    status: str
    created_at: str
    launched_at: str | None
    send_at: str | None
    counts: CampaignSummaryCounts


class CampaignList(BaseModel):
    """A page of campaigns, newest first."""

    model_config = ConfigDict(hide_input_in_errors=True)

    campaigns: list[CampaignSummary]
    next: str | None = Field(
        description="Pass as `next` (with the same status) for the next page; null: the end"
    )


class CampaignPreviewRunning(BaseModel):
    """A preview being computed (a job over the pool): poll GET .../preview."""

    model_config = ConfigDict(hide_input_in_errors=True)

    campaign_id: str
    preview: str = Field(description="running")
    scanned: int = Field(description="Profiles read so far")
    segments: int = Field(description="Segments of the parallel read of the pool")
    segments_done: int
    started_at: str


class CampaignPreview(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    campaign_id: str
    preview: str = Field(description="done")
    fingerprint: str = Field(description="The definition previewed")
    computed_at: str = Field(description="When the preview started reading the pool")
    fresh_until: str = Field(description="After this, POST .../preview computes it again")
    stale: bool = Field(description="Past fresh_until")
    decided_at: str = Field(description="The moment decided for: send_at, or now")
    scanned: int
    in_segment: int
    would_send: int
    held_out: int = Field(
        default=0, description="Would be sent, held out by a holdout (not in would_send)"
    )
    by_variant: dict[str, int]
    suppressed: dict[str, int]
    deferred: dict[str, int]
    samples: list[dict[str, Any]]
    held_back: list[dict[str, Any]]


def _ok(status: int, model: type[BaseModel], description: str) -> dict[int, Any]:
    return {
        status: {
            "description": description,
            "content": {content_types.APPLICATION_JSON: {"model": model}},
        }
    }


def _invalid() -> dict[int, Any]:
    return {
        422: {
            "description": "The campaign is not valid: every problem with its path",
            "content": {content_types.APPLICATION_JSON: {"model": CampaignErrorBody}},
        }
    }


def _json(status: int, data: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(data, default=str),
        headers={"Cache-Control": "no-store"},
    )


def invalid_campaign(exc: CampaignError) -> Response[str]:
    problems = [{"path": p.path, "message": p.message} for p in exc.problems]
    message = "; ".join(f"{p['path'] or 'body'}: {p['message']}" for p in problems)
    return _json(
        422,
        {"error": {"code": "invalid_campaign", "message": message, "problems": problems}},
    )


def _campaign_id(value: str) -> str:
    if not _CAMPAIGN_ID.match(value):
        raise ApiError(404, "unknown_campaign", "no campaign has this id")
    return value


def _service() -> Any:
    from ..campaigns.wiring import campaign_service

    return campaign_service()


def _call(method: str, campaign_id: str) -> Any:
    try:
        return getattr(_service(), method)(_campaign_id(campaign_id))
    except UnknownCampaignError as exc:
        raise ApiError(404, exc.code, "no campaign has this id") from exc
    except CampaignStateError as exc:
        raise ApiError(409, exc.code, str(exc)) from exc


@router.get(
    "/admin/campaigns",
    summary="List campaigns",
    description="The campaigns, newest first, a page at a time (`limit`, default 20, at most "
    f"{MAX_LIMIT}), optionally of one `status` (running: launching, or launched with work "
    "left). `next` is the token the last page answered (opaque; it must be passed with the "
    "same status). A page of a rare status may hold fewer than `limit` with a `next`: "
    "follow it until `next` is null.",
    tags=[TAG],
    operation_id="listCampaigns",
    responses={
        **_ok(200, CampaignList, "A page of campaigns"),
        **error_docs({400: "A bad status, limit or next token", 403: _FORBIDDEN}),
    },
)
def list_campaigns(
    status: Annotated[str | None, Query(pattern=_STATUS_PATTERN)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
    token: Annotated[str | None, Query(alias="next", max_length=300)] = None,
) -> Response[str]:
    require_iam(router.current_event)
    try:
        query = list_query(status, limit, token)
    except InvalidListQueryError as exc:
        raise ApiError(400, exc.code, str(exc)) from exc
    return _json(200, _service().list_campaigns(query))


@router.post(
    "/admin/campaigns",
    summary="Create a campaign",
    description="A campaign: name, purpose, segment (conditions on profile fields, all must "
    "hold), content (a catalogue message and optionally some of its variants), optional "
    "send_at. Its id derives from the definition: the same body again answers the same "
    "campaign (created false).",
    tags=[TAG],
    operation_id="createCampaign",
    responses={
        **_ok(201, CampaignCreated, "The campaign (status draft)"),
        **error_docs({400: "Not a JSON object", 403: _FORBIDDEN}),
        **_invalid(),
    },
)
def create_campaign(
    body: Annotated[dict[str, Any], Body(description="The campaign definition")],
) -> Response[str]:
    require_iam(router.current_event)
    try:
        view, created = _service().create(body)
    except CampaignError as exc:
        return invalid_campaign(exc)
    return _json(201, {**view, "created": created})


_PREVIEW_WHAT = (
    "Sends nothing: decides every candidate as the launch will, and counts how many get each "
    "variant, how many are held back for each reason (an example of each), how many wait for "
    "quiet hours or the budget; a few rendered samples, one of each variant first. A job "
    "over the pool (parallel Scan segments on the preview queue), so that no request waits "
    "for the pool: "
)


@router.post(
    "/admin/campaigns/<campaign_id>/preview",
    summary="Start a campaign's preview",
    description=_PREVIEW_WHAT
    + "202 while it runs (started now, or already running); 200 with the preview when the "
    "last one of this definition is done and fresh (10 minutes from when it read the pool).",
    tags=[TAG],
    operation_id="previewCampaign",
    responses={
        **_ok(200, CampaignPreview, "The preview, done and fresh"),
        **_ok(202, CampaignPreviewRunning, "Running: poll GET .../preview"),
        **error_docs({403: _FORBIDDEN, 404: _UNKNOWN}),
    },
)
def preview_campaign(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    status, body = _call("start_preview", campaign_id)
    return _json(status, body)


@router.get(
    "/admin/campaigns/<campaign_id>/preview",
    summary="A campaign's preview: progress or result",
    description=_PREVIEW_WHAT
    + "202 with the profiles scanned so far while it runs, 200 with the preview when done "
    "(stale: past fresh_until). 404 no_preview when none was started or it expired.",
    tags=[TAG],
    operation_id="campaignPreview",
    responses={
        **_ok(200, CampaignPreview, "The preview"),
        **_ok(202, CampaignPreviewRunning, "Running: the profiles scanned so far"),
        **error_docs({403: _FORBIDDEN, 404: _UNKNOWN + ", or no preview (no_preview)"}),
    },
)
def campaign_preview(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    try:
        status, body = _call("preview_status", campaign_id)
    except NoPreviewError as exc:
        raise ApiError(404, exc.code, str(exc)) from exc
    return _json(status, body)


@router.post(
    "/admin/campaigns/<campaign_id>/launch",
    summary="Launch a campaign",
    description="Queues the campaign's fan-out (or schedules it at send_at). Sends once per "
    "candidate however often it is called; calling it again resumes a fan-out that stopped.",
    tags=[TAG],
    operation_id="launchCampaign",
    responses={
        **_ok(202, CampaignLaunched, "Launched (or scheduled, or launched before)"),
        **error_docs(
            {403: _FORBIDDEN, 404: _UNKNOWN, 409: "Paused or cancelled (invalid_transition)"}
        ),
    },
)
def launch_campaign(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    return _json(202, _call("launch", campaign_id))


@router.get(
    "/admin/campaigns/<campaign_id>",
    summary="A campaign's status and counts",
    tags=[TAG],
    operation_id="campaignStatus",
    responses={
        **_ok(200, CampaignView, "Status and counts"),
        **error_docs({403: _FORBIDDEN, 404: _UNKNOWN}),
    },
)
def campaign_status(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    return _json(200, _call("status", campaign_id))


def _control(verb: str, description: str, conflict: str) -> Any:
    return router.post(
        f"/admin/campaigns/<campaign_id>/{verb}",
        summary=f"{verb.title()} a campaign",
        description=description,
        tags=[TAG],
        operation_id=f"{verb}Campaign",
        responses={
            **_ok(200, CampaignControlled, "The campaign after it"),
            **error_docs({403: _FORBIDDEN, 404: _UNKNOWN, 409: conflict}),
        },
    )


@_control(
    "cancel",
    "Status cancelled: a scheduled campaign never starts (its launch timer is deleted); a "
    "running one stops queuing and its pages not yet sent are dropped; what was sent stays "
    "sent and counted. Cancelling a cancelled campaign changes nothing (changed false).",
    "Already sent (invalid_transition)",
)
def cancel_campaign(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    return _json(200, _call("cancel", campaign_id))


@_control(
    "pause",
    "Status paused: the fan-out stops queuing and the workers stop taking recipients (a page "
    "already sending finishes); pages that arrive meanwhile are kept on the campaign. Pausing "
    "a paused campaign changes nothing (changed false).",
    "A draft, sent or cancelled campaign (invalid_transition)",
)
def pause_campaign(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    return _json(200, _call("pause", campaign_id))


@_control(
    "resume",
    "Back to the status it was paused in, and on from where it was: the fan-out goes on from "
    "its cursor, the pages kept while paused are queued again (requeued); nobody gets it "
    "twice. A scheduled campaign whose send_at passed while paused starts now.",
    "Not paused (invalid_transition)",
)
def resume_campaign(campaign_id: str) -> Response[str]:
    require_iam(router.current_event)
    return _json(200, _call("resume", campaign_id))
