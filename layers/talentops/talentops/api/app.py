"""The resolver: routers from each capability, validation, and one error mapping.

Routers register here; each lives in its own module of this package.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
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

# Each capability's router (a module of this package), in the order the resolver takes them,
# with the path prefixes every one of its routes lies under (a unit test holds each route to
# them). A request includes the routers up to the last one whose prefixes its path starts
# with, so that the routes that may match it are there, in the same order as when every
# router is: a content request does not import the operations' routers and their models.
ROUTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("careers", ("/content", "/track")),
    ("preferences", ("/preferences", "/unsubscribe")),
    ("admin", ("/admin/candidates",)),
    ("campaigns", ("/admin/campaigns",)),
    ("segments", ("/admin/segments",)),
    ("messages", ("/admin/messages",)),
    ("metrics", ("/admin/metrics",)),
    ("explain", ("/admin/candidates", "/admin/why-not")),
)


def routers_for(path: str) -> int:
    """How many of ROUTERS a request for `path` needs (all of them for a path none takes)."""
    needed = [i for i, (_, prefixes) in enumerate(ROUTERS) if path.startswith(prefixes)]
    return needed[-1] + 1 if needed else len(ROUTERS)


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
        self._included = 0  # routers of ROUTERS included so far, in their order
        self._including = threading.Lock()

    def include_routers(self, count: int = len(ROUTERS)) -> None:
        """Include the first `count` routers of ROUTERS that are not yet included."""
        if self._included >= count:
            return
        with self._including:
            for name, _ in ROUTERS[self._included : count]:
                router = importlib.import_module(f"{__package__}.{name}").router
                self.include_router(router)
                self.body_rules.update(getattr(router, "body_rules", {}))
                self._included += 1

    def document(self) -> None:
        """The OpenAPI description and the Swagger UI at DOCS_PATH, set up when first asked
        for (GET /docs, `make openapi`): Powertools' OpenAPI models take longer to import
        than the rest of a content request's cold start, and no other request needs them."""
        with self._documenting:
            if self._documented:
                return
            self._documented = True
            self.include_routers()
            self.configure_openapi(**OPENAPI_INFO, security_schemes=_security_schemes())
            # Swagger UI with its assets inlined: it works offline (docs/careers-api.md).
            self.enable_swagger(path=DOCS_PATH)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            path = self._to_proxy_event(dict(event)).path
        except Exception:  # not an HTTP API event: Powertools says what is wrong with it
            path = ""
        self.include_routers(routers_for(path))
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
    # The routers are included when a request first needs them (TalentOpsResolver.resolve),
    # every one of them when the app is documented (TalentOpsResolver.document).
    return app
