"""The local HTTP API: the template's routes plus /_local (health, outbox, clock, faults,
engage) and static mounts. Access logs carry the route key and status, never paths, queries
or bodies."""

from __future__ import annotations

import json
import math
import mimetypes
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import faults as fault_injection
from .engage import Engagements
from .httpapi import HttpRequest, HttpResponse, Router, build_event, check_sigv4, translate_response
from .log import get_logger
from .outbox import Outbox

log = get_logger("api")
_MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit


class ClockControl:
    """GET / POST /_local/clock: the one clock, and whatever falls due when it moves."""

    def __init__(self, clock: Any, run_due: Callable[[], int]):
        self._clock = clock
        self._run_due = run_due
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._clock.now()  # type: ignore[no-any-return]

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._clock.advance(seconds)
            fired = self._run_due()
        log.info("clock advanced", seconds=seconds, schedules_fired=fired)
        return self.now()


class LocalApi:
    def __init__(
        self,
        router: Router,
        outbox: Outbox,
        clock: ClockControl,
        static_mounts: dict[str, Path],
        account_id: str,
        *,
        engagements: Engagements | None = None,
    ):
        self.router = router
        self.outbox = outbox
        self.clock = clock
        self.static_mounts = static_mounts
        self.account_id = account_id
        # POST /_local/faults (devstack/faults.py): hooks in moto's SES backend.
        self.faults = fault_injection.FAULTS
        fault_injection.install(self.faults)
        # POST /_local/engage (devstack/engage.py): SES's delivery / open / click events.
        self.engagements = engagements

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response and a log label (a route key, never the raw path)."""
        path = request.raw_path
        if path.startswith("/_local/"):
            return self._local(request), f"{request.method} {path}"
        for prefix, directory in self.static_mounts.items():
            if path == prefix.rstrip("/") or path.startswith(prefix):
                return _static(path, prefix, directory, request.method), f"static {prefix}"
        return self._route(request)

    def _local(self, request: HttpRequest) -> HttpResponse:
        key = (request.method, request.raw_path.rstrip("/"))
        if key == ("GET", "/_local/health"):
            return HttpResponse.json(200, {"status": "ok"})
        if key == ("GET", "/_local/outbox"):
            since = _since(request.raw_query)
            if since is None:
                return HttpResponse.error(400, "bad_request", "since must be an integer >= 0")
            return HttpResponse.json(200, self.outbox.messages(since))
        if key == ("GET", "/_local/clock"):
            return HttpResponse.json(200, {"now": self.clock.now().isoformat()})
        if key == ("POST", "/_local/clock"):
            seconds = _advance_seconds(request.body)
            if seconds is None:
                return HttpResponse.error(
                    400, "bad_request", 'expected a JSON body {"advance_seconds": N}, N >= 0'
                )
            return HttpResponse.json(200, {"now": self.clock.advance(seconds).isoformat()})
        if key[1] == "/_local/faults":
            return fault_injection.handle(self.faults, request.method, request.body)
        if key[1] == "/_local/engage" and self.engagements is not None:
            return self.engagements.handle(request.method, request.body)
        return HttpResponse.error(404, "not_found", "no local route matches the request")

    def _route(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        cors = self.router.cors_for(request.raw_path)
        if (
            cors is not None
            and request.method == "OPTIONS"
            and request.header("access-control-request-method")
        ):
            return cors.preflight(request), "CORS preflight"
        response, label = self._invoke_route(request)
        return (cors.decorate(request, response) if cors else response), label

    def _invoke_route(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        found = self.router.find(request.method, request.raw_path)
        if found is None:
            return HttpResponse.error(404, "not_found", "no route matches the request"), "-"
        route, params = found
        identity = None
        if route.plan.iam:
            identity = check_sigv4(request)
            if identity is None:
                return HttpResponse.error(
                    403, "forbidden", "this route needs a SigV4-signed request (AWS_IAM)"
                ), route.route_key
        event = build_event(route, params, request, identity, self.account_id)
        try:
            result = route.runtime.invoke(event)
            return translate_response(result), route.route_key
        except Exception as exc:
            log.error(
                "handler failed",
                function=route.runtime.spec.logical_id,
                route=route.route_key,
                error_type=type(exc).__name__,
            )
            return HttpResponse.error(500, "internal_error", "the handler failed"), route.route_key


def _since(query: str) -> int | None:
    """``?since=N`` of GET /_local/outbox (0 when absent); None when it is not a count."""
    values = parse_qs(query or "").get("since")
    if not values:
        return 0
    text = values[-1].strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _advance_seconds(body: bytes) -> float | None:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return None
    value = document.get("advance_seconds") if isinstance(document, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _static(path: str, prefix: str, directory: Path, method: str) -> HttpResponse:
    if method not in ("GET", "HEAD"):
        return HttpResponse.error(405, "method_not_allowed", "static files are read-only")
    if path == prefix.rstrip("/"):
        return HttpResponse(301, [("Location", prefix)])
    root = directory.resolve()
    target = (root / unquote(path[len(prefix) :])).resolve()
    if target.is_dir():
        target = target / "index.html"
    if not root.is_dir() or not target.is_relative_to(root) or not target.is_file():
        return HttpResponse.error(404, "not_found", "no such file")
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return HttpResponse(200, [("Content-Type", content_type)], target.read_bytes())


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devstack"
    api: LocalApi  # set on the subclass built per server

    def _dispatch(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        body = self._read_body()
        if body is None:
            response, label = HttpResponse.error(413, "payload_too_large", "body too large"), "-"
            self.close_connection = True
        else:
            request = HttpRequest(
                method=self.command,
                raw_path=parts.path or "/",
                raw_query=parts.query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            try:
                response, label = self.api.handle(request)
            except Exception as exc:
                log.error("request failed", error_type=type(exc).__name__)
                response, label = HttpResponse.error(500, "internal_error", "local error"), "-"
        self._send(response)
        log.debug(
            "request",
            route=label,
            status=response.status,
            ms=round((time.monotonic() - started) * 1000, 1),
        )

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when it is too large."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                size += length
                if size > _MAX_BODY:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, custom ones) goes to the router too: no route is a
        # 404 JSON error, as in API Gateway, never the standard library's 501 page.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default access log prints raw paths and queries (personal data)


class ApiServer:
    def __init__(self, host: str, port: int, api: LocalApi):
        handler = type("BoundRequestHandler", (_RequestHandler,), {"api": api})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http-api", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
