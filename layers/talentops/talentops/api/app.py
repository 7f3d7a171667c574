"""The resolver: routers from each capability, validation, and one error mapping.

Routers register here; each lives in its own module of this package.
"""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.router import Router

from .errors import register_error_handlers


@lru_cache(maxsize=1)
def build_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    register_error_handlers(app)
    for router in _routers():
        app.include_router(router)
    return app


def _routers() -> list[Router]:
    # Each capability adds its router to this list (imported here, not at module level,
    # so that building the app is the only place that loads them).
    return []
