"""API Gateway HTTP API, locally: route matching, payload format 2.0 events, translation of
the handler's response, and the shape check of SigV4 signatures (never verified)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from .functions import FunctionRuntime
from .plan import RoutePlan, api_id_for

_GREEDY = 2
_PARAM = 1
_LITERAL = 0
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|javascript|xml|[\w.+-]+\+json|[\w.+-]+\+xml))$", re.I
)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[A-Za-z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request\s*,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9-]+(?:;[a-z0-9-]+)*)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_AMZ_DATE = re.compile(r"^(?P<date>\d{8})T\d{6}Z$")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, document: Any) -> HttpResponse:
        return cls(status, [("Content-Type", "application/json")], json.dumps(document).encode())

    @classmethod
    def error(cls, status: int, code: str, message: str) -> HttpResponse:
        return cls.json(status, {"error": {"code": code, "message": message}})


# -- routes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    plan: RoutePlan
    runtime: FunctionRuntime
    segments: tuple[str, ...]

    @property
    def route_key(self) -> str:
        if self.plan.path == "$default":
            return "$default"
        return f"{self.plan.method} {self.plan.path}"

    @property
    def kinds(self) -> tuple[int, ...]:
        return tuple(_segment_kind(segment) for segment in self.segments)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.plan.method not in ("ANY", method):
            return None
        if self.plan.path == "$default":
            return {}
        parts = path.split("/")[1:]
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            kind = _segment_kind(segment)
            if kind == _GREEDY:
                rest = parts[index:]
                if not rest or rest == [""]:
                    return None
                params[segment[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(parts):
                return None
            if kind == _PARAM:
                if not parts[index]:
                    return None
                params[segment[1:-1]] = unquote(parts[index])
            elif unquote(parts[index]) != segment:
                return None
        return params if len(parts) == len(self.segments) else None


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAM
    return _LITERAL


@dataclass(frozen=True)
class Cors:
    """An HTTP API's CorsConfiguration, answered as API Gateway does (it owns the preflight
    and the CORS headers of every response)."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_extension(cls, document: dict[str, Any]) -> Cors:
        def items(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in document.get(key) or [])

        return cls(
            items("allowOrigins"),
            tuple(m.upper() for m in items("allowMethods")),
            tuple(h.lower() for h in items("allowHeaders")),
            items("exposeHeaders"),
            int(document["maxAge"]) if document.get("maxAge") is not None else None,
            bool(document.get("allowCredentials")),
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if origin in self.allow_origins:
            return origin
        return "*" if "*" in self.allow_origins else None

    def preflight(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(204)
        origin = self.allowed_origin(request.header("origin"))
        method = (request.header("access-control-request-method") or "").upper()
        if origin is None or (
            self.allow_methods
            and "*" not in self.allow_methods
            and method not in self.allow_methods
        ):
            return response
        response.headers.append(("Access-Control-Allow-Origin", origin))
        methods = ",".join(self.allow_methods) or method
        response.headers.append(("Access-Control-Allow-Methods", methods))
        if self.allow_headers:
            response.headers.append(("Access-Control-Allow-Headers", ",".join(self.allow_headers)))
        if self.max_age is not None:
            response.headers.append(("Access-Control-Max-Age", str(self.max_age)))
        if self.allow_credentials:
            response.headers.append(("Access-Control-Allow-Credentials", "true"))
        return response

    def decorate(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        origin = self.allowed_origin(request.header("origin"))
        if origin is None:
            return response
        response.headers = [
            (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
        ]
        response.headers.append(("Access-Control-Allow-Origin", origin))
        if self.expose_headers:
            response.headers.append(
                ("Access-Control-Expose-Headers", ",".join(self.expose_headers))
            )
        if self.allow_credentials:
            response.headers.append(("Access-Control-Allow-Credentials", "true"))
        return response


class Router:
    def __init__(self, routes: list[Route], cors: dict[str, Cors] | None = None):
        self.routes = routes
        self.cors = cors or {}

    @classmethod
    def build(
        cls,
        plans: list[RoutePlan],
        runtimes: dict[str, FunctionRuntime],
        cors: dict[str, Cors] | None = None,
    ) -> Router:
        return cls(
            [
                Route(
                    plan,
                    runtimes[plan.function_id],
                    tuple(plan.path.split("/")[1:]) if plan.path != "$default" else (),
                )
                for plan in plans
                if plan.function_id in runtimes
            ],
            cors,
        )

    def cors_for(self, path: str) -> Cors | None:
        """The CORS configuration of the API that serves a path (any method)."""
        for route in self.routes:
            if route.plan.api_id in self.cors and route.match(route.plan.method, path) is not None:
                return self.cors[route.plan.api_id]
        return next(iter(self.cors.values()), None)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        matches = [
            (route, params)
            for route in self.routes
            if (params := route.match(method, path)) is not None
        ]
        if not matches:
            return None
        return min(matches, key=lambda m: _priority(m[0]))

    @property
    def has_iam_routes(self) -> bool:
        return any(route.plan.iam for route in self.routes)


def _priority(route: Route) -> tuple[Any, ...]:
    """Most specific first: literal before {param} before {proxy+}, segment by segment; an
    exact method before ANY; $default last."""
    if route.plan.path == "$default":
        return ((9,), 1)
    return ((*route.kinds, _GREEDY + 1), route.plan.method == "ANY")


# -- SigV4 (shape only) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SigV4Identity:
    access_key: str
    region: str
    service: str


def check_sigv4(request: HttpRequest) -> SigV4Identity | None:
    """The caller of a well-formed SigV4 request (header or presigned query); None otherwise.
    The signature itself is not verified."""
    authorization = request.header("authorization")
    if authorization:
        return _from_header(request, authorization.strip())
    return _from_query(dict(parse_qsl(request.raw_query, keep_blank_values=True)))


def _from_header(request: HttpRequest, authorization: str) -> SigV4Identity | None:
    match = _AUTHORIZATION.match(authorization)
    amz_date = _AMZ_DATE.match(request.header("x-amz-date") or "")
    if not match or not amz_date or amz_date.group("date") != match.group("date"):
        return None
    signed = match.group("headers").split(";")
    present = {name.lower() for name, _ in request.headers}
    if "host" not in signed or any(name not in present for name in signed):
        return None
    return SigV4Identity(match.group("key"), match.group("region"), match.group("service"))


def _from_query(query: dict[str, str]) -> SigV4Identity | None:
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return None
    credential = query.get("X-Amz-Credential", "").split("/")
    amz_date = _AMZ_DATE.match(query.get("X-Amz-Date", ""))
    signature = query.get("X-Amz-Signature", "")
    if (
        len(credential) != 5
        or credential[4] != "aws4_request"
        or not amz_date
        or amz_date.group("date") != credential[1]
        or not re.fullmatch(r"[0-9a-f]{64}", signature)
        or "host" not in query.get("X-Amz-SignedHeaders", "").split(";")
    ):
        return None
    return SigV4Identity(credential[0], credential[2], credential[3])


# -- payload format 2.0 -------------------------------------------------------------------------


def build_event(
    route: Route,
    path_params: dict[str, str],
    request: HttpRequest,
    identity: SigV4Identity | None,
    account_id: str,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    headers, cookies = _headers_and_cookies(request.headers)
    api_id = api_id_for(route.plan.api_id)
    domain = headers.get("host", "127.0.0.1")
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex[:16],
        "routeKey": route.route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if identity is not None:
        context["authorizer"] = {
            "iam": {
                "accessKey": identity.access_key,
                "accountId": account_id,
                "callerId": identity.access_key,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{account_id}:user/local",
                "userId": identity.access_key,
            }
        }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if request.body:
        event["body"], event["isBase64Encoded"] = _body(request.body, headers.get("content-type"))
    return event


def _headers_and_cookies(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return query


def _body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """Text content types pass as text; everything else (forms included) as base64, as
    HTTP APIs do."""
    media_type = (content_type or "").split(";")[0].strip()
    if media_type and _TEXT_TYPES.match(media_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def translate_response(result: Any) -> HttpResponse:
    """A v2 handler result into HTTP: a dict with statusCode is a response; anything else is
    a JSON body with status 200."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(
            200, [("Content-Type", "application/json")], json.dumps(result).encode()
        )
    status = int(result["statusCode"])
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((str(name), str(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
    if payload and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, payload)
