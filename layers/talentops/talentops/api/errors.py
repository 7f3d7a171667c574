"""The one place where domain errors become HTTP answers: `{"error": {"code", "message"}}`."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from ..errors import (
    CatalogueError,
    InvalidEventError,
    TalentOpsError,
    TokenError,
    UnknownCandidateError,
    UnknownSlotError,
)
from ..models.validation import location, message
from ..observability import logger


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    code: str = Field(description="A stable machine word, e.g. invalid_token, unknown_slot.")
    message: str = Field(description="What was wrong, for a person.")


class ErrorBody(BaseModel):
    """Every error answer of the API."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    error: ErrorDetail


def error_docs(descriptions: dict[int, str]) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` entries for a route's error statuses, all with the error body."""
    return {
        status: {
            "description": text,
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
        }
        for status, text in descriptions.items()
    }


class ApiError(TalentOpsError):
    """An HTTP-level refusal raised by a route: status, stable code, human message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


STATUS_BY_ERROR: dict[type[TalentOpsError], int] = {
    TokenError: 401,
    UnknownCandidateError: 404,
    InvalidEventError: 400,
    UnknownSlotError: 404,
}


def error_response(status: int, code: str, message: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": {"code": code, "message": message}}),
        headers={"Cache-Control": "no-store"},
    )


def error_payload(status: int, code: str, message: str) -> dict[str, Any]:
    """The same error as a Lambda proxy answer (API Gateway payload 2.0), for refusals made
    before the resolver routes a request."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, "Cache-Control": "no-store"},
        "body": json.dumps({"error": {"code": code, "message": message}}),
        "isBase64Encoded": False,
    }


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        # Where and what, never the value: validation.py drops what came from the input.
        where = location(error.get("loc", ()), skip=("body", "query", "path")) or "request"
        parts.append(f"{where}: {message(error)}")
    return "; ".join(parts) or "the request is not valid"


def register_error_handlers(app: Any) -> None:
    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[str]:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "malformed_json", "the body is not valid JSON")
        return error_response(400, "invalid_request", _validation_message(exc))

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415, "unsupported_media_type", "the body's Content-Type is not one this route takes"
        )

    @app.exception_handler(ApiError)
    def _api(exc: ApiError) -> Response[str]:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(TalentOpsError)
    def _domain(exc: TalentOpsError) -> Response[str]:
        for error_type, status in STATUS_BY_ERROR.items():
            if isinstance(exc, error_type):
                return error_response(status, exc.code, str(exc))
        if isinstance(exc, CatalogueError):
            logger.error("catalogue error", error=str(exc))
        else:
            logger.exception("unhandled domain error", code=exc.code)
        return error_response(500, "internal_error", "the request could not be completed")

    @app.not_found
    def _not_found(exc: Exception) -> Response[str]:
        return error_response(404, "not_found", "no such route")
