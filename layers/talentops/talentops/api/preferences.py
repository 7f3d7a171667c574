"""Candidate-facing consent routes: the preference centre and one-click unsubscribe.

GET never changes anything (link scanners and previews fetch links). POST /unsubscribe is
RFC 8058 one-click: no cookie, no login, no redirect; the body `List-Unsubscribe=One-Click`
withdraws the purpose of the message that carried the link, and the answer is 200. A forged,
altered or expired token is refused (401) before anything is read or written.
"""

from __future__ import annotations

import json
from email import message_from_bytes
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..consent.pages import render_page
from ..consent.policy import PURPOSES
from ..consent.preferences import PURPOSE_TITLES, Change
from ..delivery.context import PURPOSE_LABELS
from ..errors import TokenError, UnknownCandidateError
from .errors import ApiError, ErrorBody, error_response
from .limits import BodyRule, ScreenedRouter

router = ScreenedRouter()
# Small bodies only; the one-click POST takes whatever form encoding a mail client sends.
router.body_rules[("POST", "/preferences")] = BodyRule(
    max_bytes=8 * 1024,
    media_types=("application/json", "application/x-www-form-urlencoded", "multipart/form-data"),
)
router.body_rules[("POST", "/unsubscribe")] = BodyRule(max_bytes=4 * 1024)

Token = Annotated[
    str,
    Query(
        min_length=1,
        max_length=2048,
        description="The token of the email's unsubscribe or preferences link (scope unsub)",
    ),
]
TAG = "preferences"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    purposes: dict[str, bool]


class PurposeView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    purpose: str = Field(description="marketing, job_alerts or events")
    title: str
    on: bool = Field(description="Whether the candidate is emailed for it now")
    recorded: str | None = Field(description="granted, withdrawn, or null: nothing recorded")
    since: str | None = Field(description="observed_at of the recorded state")
    lapses_at: str | None = Field(description="When the grant lapses (null: never, or none)")
    renew: bool = Field(description="The grant lapses soon: saving it on renews it")


class ChangeView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    purpose: str
    status: str = Field(description="granted or withdrawn")


class PreferencesView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    purposes: list[PurposeView]
    changed: list[ChangeView] = Field(default_factory=list)


class UnsubscribeView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    purpose: str = Field(description="The purpose of the message that carried the link")
    unsubscribed: bool
    changed: list[ChangeView] = Field(default_factory=list)


_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}


def _error_or_page(description: str) -> OpenAPIResponse:
    return {
        "description": description + " (an HTML page for browsers, JSON otherwise)",
        "content": {**_HTML, content_types.APPLICATION_JSON: {"model": ErrorBody}},
    }


def _json_error(description: str) -> OpenAPIResponse:
    return {
        "description": description,
        "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
    }


MAX_FORM_FIELDS = 20
_BAD_TOKEN = "The token is malformed, altered, expired or not an unsubscribe link's"  # noqa: S105
_GONE = "Nothing is held for this link any more (the candidate was erased)"


def _brand() -> Any:
    from ..settings import get_settings
    from ..wiring import brand

    return brand(get_settings())


def _service() -> Any:
    from ..privacy.wiring import preference_service

    return preference_service()


def _header(name: str) -> str:
    headers = router.current_event.headers or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value or "")
    return ""


def _wants_json() -> bool:
    accept = _header("accept").lower()
    return "application/json" in accept and "text/html" not in accept


def _html(status: int, body: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=body,
        headers=dict(PAGE_HEADERS),
    )


def _json(status: int, data: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(data),
        headers={"Cache-Control": "no-store"},
    )


def _refusal(exc: Exception, *, html: bool) -> Response[str]:
    if isinstance(exc, TokenError):
        status, code = 401, exc.code
        title, message = "This link is not valid", "The link is expired or incomplete."
    else:
        status, code = 404, "unknown_candidate"
        title, message = "Nothing to show", "We hold no email preferences for this link."
    if html:
        return _html(status, render_page("error", brand=_brand(), title=title, message=message))
    return error_response(status, code, message)


def _form() -> dict[str, list[str]]:
    """The fields of a urlencoded or multipart form body (read only once the token has been
    verified; more than MAX_FORM_FIELDS is a 400)."""
    event = router.current_event
    ctype = _header("content-type").lower()
    body = event.decoded_body or ""
    if ctype.startswith("multipart/form-data"):
        raw = f"Content-Type: {_header('content-type')}\r\n\r\n".encode() + body.encode()
        fields: dict[str, list[str]] = {}
        for count, part in enumerate(message_from_bytes(raw).walk()):
            if count > MAX_FORM_FIELDS:
                raise ApiError(400, "invalid_request", "the form has too many fields")
            name = part.get_param("name", header="content-disposition")
            if name and not part.is_multipart():
                payload = part.get_payload(decode=True)
                text = payload.decode(errors="replace") if isinstance(payload, bytes) else ""
                fields.setdefault(str(name), []).append(text)
        return fields
    try:
        return parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:  # more fields than max_num_fields
        raise ApiError(400, "invalid_request", "the form has too many fields") from exc


def _changes_view(changes: list[Change]) -> list[dict[str, str]]:
    return [{"purpose": c.purpose, "status": c.status} for c in changes]


@router.get(
    "/preferences",
    summary="The preference centre",
    description=(
        "A page (no script; accessible, mobile-friendly) with each purpose, its state and, "
        "for a grant about to lapse, the date. `Accept: application/json` gets the same as "
        "JSON. Changes nothing."
    ),
    tags=[TAG],
    operation_id="getPreferences",
    responses={
        200: {
            "description": "The preference centre",
            "content": {**_HTML, content_types.APPLICATION_JSON: {"model": PreferencesView}},
        },
        400: _json_error("The token is missing or too long"),
        401: _error_or_page(_BAD_TOKEN),
        404: _error_or_page(_GONE),
    },
)
def get_preferences(token: Token) -> Response[str]:
    html = not _wants_json()
    try:
        _, states = _service().view(token)
    except (TokenError, UnknownCandidateError) as exc:
        return _refusal(exc, html=html)
    if not html:
        return _json(200, {"purposes": [s.as_dict() for s in states], "changed": []})
    page = render_page(
        "preferences",
        brand=_brand(),
        token=token,
        purposes=states,
        saved=False,
        changes=[],
        titles=PURPOSE_TITLES,
    )
    return _html(200, page)


@router.post(
    "/preferences",
    summary="Save the preference centre",
    description=(
        "The page's form (`application/x-www-form-urlencoded`: `form=preferences` and each "
        'purpose that is on, as `<purpose>=on`) or JSON `{"purposes": {"marketing": false}}`. '
        "Records what changed at once, with evidence, and publishes `Candidate Consent "
        "Changed` (source `talent.preference-centre`)."
    ),
    tags=[TAG],
    operation_id="savePreferences",
    responses={
        200: {
            "description": "Saved: the page with a confirmation, or JSON with what changed",
            "content": {**_HTML, content_types.APPLICATION_JSON: {"model": PreferencesView}},
        },
        400: _json_error("Missing token, not the form, or not {purposes: {name: bool}}"),
        401: _error_or_page(_BAD_TOKEN),
        404: _error_or_page(_GONE),
        413: _json_error("The body is larger than 8 KiB"),
        415: _json_error("The body is neither a form nor JSON"),
    },
)
def post_preferences(token: Token) -> Response[str]:
    ctype = _header("content-type").lower()
    is_json = ctype.startswith("application/json")
    try:
        _service().claims(token)  # a token that is not ours is refused before the body is read
    except TokenError as exc:
        return _refusal(exc, html=not is_json and not _wants_json())
    if is_json:
        try:
            update = PreferencesUpdate.model_validate_json(router.current_event.decoded_body or "")
        except ValidationError as exc:
            raise ApiError(400, "invalid_request", 'expected {"purposes": {name: bool}}') from exc
        wanted = update.purposes
        how = "preference centre (JSON)"
    elif ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        fields = _form()
        if fields.get("form", [""])[-1] != "preferences":
            raise ApiError(400, "invalid_request", "not the preference centre form")
        wanted = {p: fields.get(p, [""])[-1] == "on" for p in PURPOSES}
        how = "preference centre form"
    else:
        raise ApiError(415, "unsupported_media_type", "send JSON or a form")
    unknown = set(wanted) - set(PURPOSES)
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown purposes: {sorted(unknown)}")
    try:
        _, changes, states = _service().save(token, wanted, how=how)
    except (TokenError, UnknownCandidateError) as exc:
        return _refusal(exc, html=not is_json and not _wants_json())
    if is_json or _wants_json():
        return _json(
            200,
            {"changed": _changes_view(changes), "purposes": [s.as_dict() for s in states]},
        )
    page = render_page(
        "preferences",
        brand=_brand(),
        token=token,
        purposes=states,
        saved=True,
        changes=changes,
        titles=PURPOSE_TITLES,
    )
    return _html(200, page)


def _label(purpose: str) -> str:
    if purpose in PURPOSES:
        return PURPOSE_LABELS.get(purpose, purpose)
    return "anything"


@router.get(
    "/unsubscribe",
    summary="Unsubscribe confirmation page",
    description="A page with one button; a GET never unsubscribes (link scanners fetch links).",
    tags=[TAG],
    operation_id="getUnsubscribe",
    responses={
        200: {
            "description": "The confirmation page",
            "content": {**_HTML, content_types.APPLICATION_JSON: {"model": UnsubscribeView}},
        },
        400: _json_error("The token is missing or too long"),
        401: _error_or_page(_BAD_TOKEN),
    },
)
def get_unsubscribe(token: Token) -> Response[str]:
    """A confirmation page; changes nothing."""
    html = not _wants_json()
    try:
        claims = _service().claims(token)
    except TokenError as exc:
        return _refusal(exc, html=html)
    if not html:
        return _json(200, {"purpose": claims.purpose, "unsubscribed": False, "changed": []})
    page = render_page(
        "unsubscribe", brand=_brand(), token=token, label=_label(claims.purpose), done=False
    )
    return _html(200, page)


@router.post(
    "/unsubscribe",
    summary="One-click unsubscribe (RFC 8058)",
    description=(
        "With the body `List-Unsubscribe=One-Click` (urlencoded or multipart): withdraws the "
        "purpose of the message that carried the link at once. No cookie, no login, never a "
        "redirect; 200."
    ),
    tags=[TAG],
    operation_id="unsubscribe",
    responses={
        200: {
            "description": "Unsubscribed (also when already unsubscribed)",
            "content": {**_HTML, content_types.APPLICATION_JSON: {"model": UnsubscribeView}},
        },
        400: _json_error("The token or the body List-Unsubscribe=One-Click is missing"),
        401: _error_or_page(_BAD_TOKEN),
        404: _error_or_page(_GONE),
        413: _json_error("The body is larger than 4 KiB"),
    },
)
def post_unsubscribe(token: Token) -> Response[str]:
    """RFC 8058 one-click: withdraw at once, answer 200, never redirect."""
    html = not _wants_json()
    try:
        _service().claims(token)  # a token that is not ours is refused before the body is read
    except TokenError as exc:
        return _refusal(exc, html=html)
    fields = _form()
    if fields.get("List-Unsubscribe", [""])[-1] != "One-Click":
        raise ApiError(400, "invalid_request", "expected the body List-Unsubscribe=One-Click")
    try:
        claims, changes = _service().unsubscribe(token, how="one-click unsubscribe (RFC 8058)")
    except (TokenError, UnknownCandidateError) as exc:
        return _refusal(exc, html=html)
    if not html:
        return _json(
            200,
            {"purpose": claims.purpose, "unsubscribed": True, "changed": _changes_view(changes)},
        )
    page = render_page(
        "unsubscribe", brand=_brand(), token=token, label=_label(claims.purpose), done=True
    )
    return _html(200, page)
