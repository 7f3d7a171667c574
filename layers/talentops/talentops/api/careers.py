"""Careers-site routes (docs/careers-api.md): `GET /content/{slot}`, `GET /content?slots=`
(several blocks in one call) and `POST /track`.

A token is the `t=` of an email link (scope "link"), sent as `Authorization: Bearer <t>` (or,
for `POST /track`, as the body's `token`). The candidate is always the token's: no route takes
a candidate id. Without a token the visitor is anonymous.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from ..errors import TokenError
from ..models.careers import (
    ContentBatchResponse,
    ContentBlockData,
    ContentBlockResponse,
    TrackAccepted,
    TrackRequest,
)
from .errors import ApiError, error_docs
from .limits import BodyRule, Refusal, ScreenedRouter

if TYPE_CHECKING:
    from ..content.slots import ContentBlock

router = ScreenedRouter()

TAG = "careers site"
OPTIONAL_TOKEN: list[dict[str, list[str]]] = [{}, {"linkToken": []}]
TRACK_MAX_BYTES = 8 * 1024
SLOT_EXAMPLES = ["hero", "jobs", "events"]
# At most this many slots in one `GET /content?slots=` (a page has a handful of blocks).
MAX_BATCH_SLOTS = 10
SLOTS_MAX_LENGTH = 500


def _bearer(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenError("the Authorization header must be: Bearer <token>")
    return token


def bearer_token() -> str | None:
    """The token of `Authorization: Bearer <token>`; None without the header."""
    return _bearer(router.current_event.headers.get("authorization"))


def _track_tokens(event: Mapping[str, Any], raw: bytes) -> Refusal | None:
    """`POST /track`'s tokens, checked before its body is validated: a token that is not
    ours (in the header, or as the body's `token` when the body is a JSON object) is a 401
    even when the rest of the body is wrong, so that a caller without a valid token learns
    nothing about what the route accepts. Whether the token's candidate exists is the
    route's to say, after validation."""
    from ..clock import now
    from ..wiring import signer

    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    tokens: list[object] = []
    try:
        tokens.append(_bearer(headers.get("authorization")))
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None  # malformed JSON: validation's 400 says so
        if isinstance(parsed, dict) and "token" in parsed:
            tokens.append(parsed["token"])
        for token in tokens:
            if token is None:
                continue
            if not isinstance(token, str):
                raise TokenError("malformed token")
            signer().verify(token, now=now(), scope="link")
    except TokenError as exc:
        return Refusal(401, exc.code, str(exc))
    return None


router.body_rules[("POST", "/track")] = BodyRule(
    max_bytes=TRACK_MAX_BYTES,
    media_types=(content_types.APPLICATION_JSON,),
    before_validation=_track_tokens,
)


def _request_id() -> str:
    return router.current_event.request_context.request_id or "unknown"


def _block_response(block: ContentBlock) -> ContentBlockResponse:
    return ContentBlockResponse(
        slot=block.slot,
        variant=block.variant,
        html=block.html,
        data=ContentBlockData.model_validate(block.data),
    )


def _cache_headers(token: str | None) -> dict[str, str]:
    return {
        # A personalized block is the candidate's alone; the anonymous one may be cached.
        "Cache-Control": "private, no-store" if token else "public, max-age=60",
        "Vary": "Authorization",
    }


BLOCK_DESCRIPTION = (
    "Each block comes as `html` (escaped, ready to insert) and as `data`: the same block's "
    "title, text, calls to action and the jobs or events it lists, with their links, as "
    "plain values for a site that renders blocks with its own design system."
)


@router.get(
    "/content/<slot>",
    summary="A personalized content block",
    description=(
        "The block for `slot` (e.g. `hero`, `jobs`, `events`) as the careers site shows it "
        "to this visitor: with a link token, the candidate's variant (chosen by the content "
        "catalogue's rules, and recorded as a decision); without one, the anonymous variant. "
        + BLOCK_DESCRIPTION
    ),
    tags=[TAG],
    operation_id="getContent",
    security=OPTIONAL_TOKEN,
    responses={
        200: {
            "description": "The block, naming its variant",
            "content": {content_types.APPLICATION_JSON: {"model": ContentBlockResponse}},
        },
        **error_docs(
            {
                401: "The token is malformed, tampered with, expired, or names no candidate",
                404: "The catalogue has no such slot",
            }
        ),
    },
)
def get_content(
    slot: Annotated[
        str,
        Path(description="The slot's name, e.g. hero, jobs, events", examples=SLOT_EXAMPLES),
    ],
) -> Response[ContentBlockResponse]:
    from ..wiring import content_service

    token = bearer_token()
    block = content_service().block(slot, token, request_id=_request_id())
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=_block_response(block),
        headers=_cache_headers(token),
    )


def slot_names(text: str) -> list[str]:
    """The slot names of `?slots=` (comma separated, in order); ApiError 400 when there are
    none, an empty one, one twice, or more than MAX_BATCH_SLOTS."""
    names = [name.strip() for name in text.split(",")]
    if not any(names):
        raise ApiError(400, "invalid_request", "slots: name at least one slot, e.g. hero,jobs")
    if not all(names):
        raise ApiError(400, "invalid_request", "slots: an empty slot name (a stray comma?)")
    if len(names) > MAX_BATCH_SLOTS:
        raise ApiError(
            400, "invalid_request", f"slots: at most {MAX_BATCH_SLOTS} slots in one call"
        )
    twice = sorted({name[:64] for name in names if names.count(name) > 1})
    if twice:
        raise ApiError(400, "invalid_request", f"slots: {twice[0]!r} is named twice")
    return names


@router.get(
    "/content",
    summary="Several content blocks in one call",
    description=(
        "The blocks of `slots` (comma separated, e.g. `hero,jobs,events`; at most "
        f"{MAX_BATCH_SLOTS}) in the order asked, each as `GET /content/{{slot}}` answers it, "
        "for the same visitor: with a link token, the candidate's variants (each recorded "
        "as a decision); without one, the anonymous ones. One unknown slot fails the call "
        "(404, naming every unknown one), before the token is looked at. " + BLOCK_DESCRIPTION
    ),
    tags=[TAG],
    operation_id="getContentBatch",
    security=OPTIONAL_TOKEN,
    responses={
        200: {
            "description": "One block per slot, in the order asked",
            "content": {content_types.APPLICATION_JSON: {"model": ContentBatchResponse}},
        },
        **error_docs(
            {
                400: (
                    f"`slots` is missing or empty, names a slot twice, or names more than "
                    f"{MAX_BATCH_SLOTS}"
                ),
                401: "The token is malformed, tampered with, expired, or names no candidate",
                404: "The catalogue has no such slot (the message names every unknown one)",
            }
        ),
    },
)
def get_contents(
    slots: Annotated[
        str,
        Query(
            description="The slots' names, comma separated, e.g. hero,jobs,events",
            examples=["hero,jobs,events"],
            max_length=SLOTS_MAX_LENGTH,
        ),
    ],
) -> Response[ContentBatchResponse]:
    from ..wiring import content_service

    names = slot_names(slots)
    token = bearer_token()
    blocks = content_service().blocks(names, token, request_id=_request_id())
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=ContentBatchResponse(slots=[_block_response(block) for block in blocks]),
        headers=_cache_headers(token),
    )


@router.post(
    "/track",
    summary="Report a visitor's behaviour",
    description=(
        "Puts the behaviour on the event bus (source `talent.careers-site`): with a link "
        "token as the candidate's event (`Candidate Job Viewed`, `Candidate Application "
        "Started`, `Candidate Page Viewed`), without one as a `Visitor ...` event naming the "
        "visitor's anonymous id (the body's, or a new one that the answer returns). The body "
        f"is JSON of at most {TRACK_MAX_BYTES} bytes."
    ),
    tags=[TAG],
    operation_id="track",
    security=OPTIONAL_TOKEN,
    status_code=202,
    responses={
        202: {
            "description": "The event was put on the bus",
            "content": {content_types.APPLICATION_JSON: {"model": TrackAccepted}},
        },
        **error_docs(
            {
                400: "Malformed JSON, an unknown type, or a missing or invalid field",
                401: "The token is malformed, tampered with, expired, or names no candidate",
                413: f"The body is larger than {TRACK_MAX_BYTES} bytes",
                415: "The body is not application/json",
            }
        ),
    },
)
def track(body: Annotated[TrackRequest, Body()]) -> Response[TrackAccepted]:
    from ..wiring import tracking_service

    header_token = bearer_token()
    if header_token and body.token and header_token != body.token:
        raise ApiError(400, "conflicting_tokens", "the header and the body name different tokens")
    tracked = tracking_service().track(body, header_token or body.token)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=TrackAccepted(
            detail_type=tracked.detail_type,
            event_id=tracked.event_id,
            anonymous_id=tracked.anonymous_id,
        ),
        headers={"Cache-Control": "no-store"},
    )
