"""The resolver: routers from each capability, validation, and one error mapping.

Routers register here; each lives in its own module of this package.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from .errors import error_payload, register_error_handlers
from .limits import BodyRule, screen

OPENAPI_INFO: dict[str, Any] = {
    "title": "talentops HTTP API",
    "version": "1.0.0",
    "description": (
        "Careers-site content and tracking, the preference centre, unsubscribe and "
        'operations. Errors are `{"error": {"code", "message"}}`. '
        "See docs/contract.md and docs/careers-api.md."
    ),
}
DOCS_PATH = "/docs"


def _security_schemes() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {
        # The t= of an email link, as `Authorization: Bearer <token>` (scope "link").
        "linkToken": HTTPBearer(description="The t= token of an email link (scope link)."),
    }


class TalentOpsResolver(APIGatewayHttpResolver):
    """Screens a request's body (size, media type) before routing; see limits.py."""

    def __init__(self) -> None:
        super().__init__(enable_validation=True)
        self.body_rules: dict[tuple[str, str], BodyRule] = {}
        self._documented = False
        self._documenting = threading.Lock()

    def document(self) -> None:
        """The OpenAPI description and the Swagger UI at DOCS_PATH, set up when first asked
        for (GET /docs, `make openapi`): Powertools' OpenAPI models take longer to import
        than the rest of a content request's cold start, and no other request needs them."""
        with self._documenting:
            if self._documented:
                return
            self._documented = True
            self.configure_openapi(**OPENAPI_INFO, security_schemes=_security_schemes())
            # Swagger UI with its assets inlined: it works offline (docs/careers-api.md).
            self.enable_swagger(path=DOCS_PATH)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        refusal = screen(event, self.body_rules)
        if refusal is not None:
            return error_payload(refusal.status, refusal.code, refusal.message)
        if not self._documented and str(event.get("rawPath") or "").rstrip("/").endswith(DOCS_PATH):
            self.document()
        return super().resolve(event, context)

    def get_openapi_json_schema(self, *args: Any, **kwargs: Any) -> str:
        self.document()
        return super().get_openapi_json_schema(*args, **kwargs)

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        self.document()
        # Powertools documents a 422 for every validated route, but a request that fails
        # validation is answered 400 with the error body (errors.py), which routes document.
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in (schema.paths or {}).values():
            for method in ("get", "put", "post", "delete", "patch", "head", "options"):
                operation = getattr(item, method, None)
                if operation is not None and operation.responses:
                    # A route's own 422 (the campaign routes: every problem and its path)
                    # stays.
                    default = operation.responses.get(422)
                    if getattr(default, "description", None) == "Validation Error":
                        operation.responses.pop(422, None)
        components = schema.components.schemas if schema.components else None
        if components is not None:
            # Powertools' own validation-error models: no route answers with them (every
            # refusal is ErrorBody), and a document that keeps one of them without the other
            # refers to a schema it does not hold.
            for unused in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
                components.pop(unused, None)
        return schema


@lru_cache(maxsize=1)
def build_app() -> TalentOpsResolver:
    app = TalentOpsResolver()
    register_error_handlers(app)
    for router in _routers():
        app.include_router(router)
        app.body_rules.update(getattr(router, "body_rules", {}))
    return app  # documented when first asked for (TalentOpsResolver.document)


def _routers() -> list[Router]:
    # Each capability adds its router to this list (imported here, not at module level,
    # so that building the app is the only place that loads them).
    from .admin import router as admin
    from .campaigns import router as campaigns
    from .careers import router as careers
    from .explain import router as explain
    from .messages import router as messages
    from .metrics import router as metrics
    from .preferences import router as preferences
    from .segments import router as segments

    return [careers, preferences, admin, campaigns, segments, messages, metrics, explain]
