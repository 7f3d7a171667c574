"""API Gateway HTTP API (payload format 2.0) events for calling the API handler in tests."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import urlencode


def http_event(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | bytes | dict[str, Any] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An event as API Gateway builds it: lower-case headers, a JSON body when `body` is a dict
    (with its Content-Type unless one is given)."""
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    hdrs.setdefault("host", "api.example.test")
    if isinstance(body, dict):
        body = json.dumps(body)
        hdrs.setdefault("content-type", "application/json")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": hdrs,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": hdrs["host"],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if body is not None:
        raw = body.encode() if isinstance(body, str) else body
        if base64_body or isinstance(body, bytes):
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body
    return event


def json_body(response: dict[str, Any]) -> Any:
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return json.loads(body)
