"""The HTTP API in-process (API Gateway payload 2.0 events into functions/api), with the
mutations schemathesis does not make (tests/e2e/test_schemathesis.py covers the OpenAPI
document): tokens that are not ours (altered, truncated, non-ASCII, foreign versions, huge),
forms with too many fields, JSON nested thousands deep, numbers of thousands of digits,
bodies over the limits, bodies that are not UTF-8, odd media types.

The property: no request ends in 5xx; a request to a token route whose token is not a valid
one of ours ends in 4xx; every error is the JSON error body.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talentops.tokens import TokenSigner
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.strategies import ODD_TEXT, envelope
from tests.support.apigw import http_event

pytestmark = [
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
    pytest.mark.filterwarnings("ignore:Received multipart/form-data without base64"),
]
KEY = b"0123456789abcdef0123456789abcdef"  # the aws fixture's token key
ADDRESS = "ada@example.org"


@pytest.fixture
def tokens(aws, functions, context) -> dict[str, str]:
    """A candidate, and valid tokens of both scopes for them."""
    now = datetime.now(UTC)
    answer = functions["ingest_profile"].handler(
        envelope(
            "Candidate Profile Updated",
            {
                "candidate": {"email": ADDRESS},
                "observed_at": (now - timedelta(hours=1)).isoformat(),
                "fields": {"email": ADDRESS, "first_name": "Ada", "country": "DE"},
            },
            source="talent.crm",
        ),
        context,
    )
    signer = TokenSigner(KEY)
    return {
        scope: signer.issue(
            candidate_id=answer["candidate_id"],
            purpose="events",
            message_id="m_fuzz",
            scope=scope,
            now=now,
            ttl=timedelta(days=1),
        )
        for scope in ("link", "unsub")
    }


def _altered(token: str, index: int, char: str) -> str:
    index %= len(token)
    return token[:index] + char + token[index + 1 :]


def bad_tokens(valid: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(_altered, st.just(valid), st.integers(0, 400), st.sampled_from("Aa0_-.é€\x00")),
        st.integers(1, 200).map(lambda n: valid[:-n]),
        st.just(valid + "A"),
        st.just(valid.replace("v2.", "v1.", 1)),
        st.just(valid.replace("v2.", "v3.", 1)),
        st.just("v2.zz." + valid.split(".", 2)[2]),
        st.sampled_from(ODD_TEXT),
        st.text(min_size=1, max_size=60),
        st.text(alphabet="v12.k0AaZz_-", min_size=1, max_size=120),
        st.just("v2." + "A" * 3000),
        st.just("é" * 1500),
    )


def _form(fields: int, one_click: bool) -> str:
    pairs = [f"f{n}=x" for n in range(fields)]
    if one_click:
        pairs.append("List-Unsubscribe=One-Click")
    return "&".join(pairs)


def _multipart(parts: int) -> tuple[str, str]:
    boundary = "fuzzboundary"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nx\r\n'
        for n in range(parts)
    ]
    chunks.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    )
    return "".join(chunks), f"multipart/form-data; boundary={boundary}"


TRACK_BODIES = st.one_of(
    st.builds(
        lambda job_id, extra: {"type": "job_viewed", "job": {"id": job_id, **extra}},
        st.text(min_size=1, max_size=40),
        st.dictionaries(st.sampled_from(["title", "url", "zz", "seniority"]), st.text(max_size=20)),
    ),
    st.builds(lambda url: {"type": "page_viewed", "url": url}, st.sampled_from(ODD_TEXT)),
    st.just({"type": "ada@example.org"}),
    st.just({"type": "page_viewed", "url": "https://x.example/", "anonymous_id": 10**30}),
)


@st.composite
def body_and_type(draw: st.DrawFn) -> tuple[str | bytes | None, str | None]:
    kind = draw(
        st.sampled_from(
            [
                "none",
                "track",
                "deep",
                "deep_object",
                "digits",
                "huge",
                "not_json",
                "form",
                "multipart",
                "not_utf8",
                "odd_type",
            ]
        )
    )
    json_type = draw(st.sampled_from(["application/json", "application/json; charset=utf-8", None]))
    if kind == "none":
        return None, None
    if kind == "track":
        return json.dumps(draw(TRACK_BODIES)), json_type
    if kind == "deep":
        n = draw(st.sampled_from([33, 3_000, 6_000]))
        return "[" * n + "]" * n, json_type
    if kind == "deep_object":
        n = draw(st.sampled_from([40, 1_200]))
        return '{"type":' * n + '"x"' + "}" * n, json_type
    if kind == "digits":
        n = draw(st.sampled_from([65, 4_301, 5_000]))
        return (
            '{"type": "page_viewed", "url": "https://x.example/", "v": ' + "7" * n + "}",
            json_type,
        )
    if kind == "huge":
        return '{"type": "' + "A" * draw(st.sampled_from([9_000, 70_000])) + '"}', json_type
    if kind == "not_json":
        return draw(st.text(max_size=100)), json_type
    if kind == "form":
        fields = draw(st.sampled_from([0, 1, 19, 20, 21, 200]))
        body = _form(fields, draw(st.booleans()))
        if draw(st.booleans()):
            body += "&form=preferences&events=on"
        return body, "application/x-www-form-urlencoded"
    if kind == "multipart":
        return _multipart(draw(st.sampled_from([0, 5, 21, 300])))
    if kind == "not_utf8":
        return b"\xff\xfe\xfa" + draw(st.binary(max_size=40)), json_type
    return draw(st.text(max_size=40)), draw(
        st.sampled_from(["text/plain", "application/xml", "é/é", ""])
    )


ROUTES = (
    ("POST", "/track"),
    ("GET", "/content/{slot}"),
    ("GET", "/content"),
    ("GET", "/preferences"),
    ("POST", "/preferences"),
    ("GET", "/unsubscribe"),
    ("POST", "/unsubscribe"),
    ("GET", "/admin/candidates"),
    ("GET", "/admin/candidates/{id}"),
    ("GET", "/admin/candidates/{id}/decisions"),
    ("DELETE", "/admin/candidates/{id}"),
    ("POST", "/admin/campaigns"),
    ("GET", "/admin/campaigns"),
    ("POST", "/admin/campaigns/{id}/cancel"),
    ("POST", "/admin/campaigns/{id}/pause"),
    ("POST", "/admin/campaigns/{id}/resume"),
    ("POST", "/admin/campaigns/{id}/preview"),
    ("GET", "/admin/campaigns/{id}/preview"),
    ("POST", "/admin/campaigns/{id}/launch"),
    ("GET", "/admin/campaigns/{id}"),
    ("POST", "/admin/segments"),
    ("GET", "/admin/segments"),
    ("GET", "/admin/segments/{id}"),
    ("GET", "/admin/candidates/{id}/explain"),
    ("GET", "/admin/why-not"),
    ("POST", "/admin/messages/{name}/render"),
    ("POST", "/admin/messages/{name}/test"),
    ("GET", "/docs"),
)
TOKEN_ROUTES = {
    ("GET", "/preferences"),
    ("POST", "/preferences"),
    ("GET", "/unsubscribe"),
    ("POST", "/unsubscribe"),
}


def _request(
    method: str,
    path: str,
    token: str | None,
    token_in: str,
    body: str | bytes | None,
    ctype: str | None,
    accept: str,
    iam: bool,
) -> dict[str, Any]:
    headers = {"accept": accept}
    query = {}
    if token is not None and token_in == "query":
        query["token"] = token
    elif token is not None:
        headers["authorization"] = f"Bearer {token}" if token_in == "bearer" else token
    if ctype is not None:
        headers["content-type"] = ctype
    event = http_event(method, path, headers=headers)
    if query:
        event["queryStringParameters"] = query
        # HTTP carries bytes: a lone surrogate arrives as the replacement character.
        event["rawQueryString"] = "token=" + quote(token or "", safe="", errors="replace")
    if body is not None:
        if isinstance(body, bytes):
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = body
    if iam:
        event["requestContext"]["authorizer"] = {
            "iam": {
                "accessKey": "AKIA",
                "accountId": "123456789012",
                "userArn": "arn:aws:iam::123456789012:user/ops",
            }
        }
    return event


@st.composite
def requests(
    draw: st.DrawFn, tokens: dict[str, str]
) -> tuple[dict[str, Any], bool, tuple[str, str]]:
    route = draw(st.sampled_from(ROUTES))
    method, template = route
    part = draw(
        st.one_of(
            st.sampled_from(["hero", "jobs", "events", "c_abcdef123", "cmp_0123456789abcdef"]),
            st.text(alphabet="abc_%-./é", min_size=1, max_size=20),
        )
    )
    path = template.replace("{slot}", part).replace("{id}", part)
    which = draw(st.sampled_from(["none", "unsub", "link", "bad", "bad"]))
    valid = which in ("unsub", "link")
    token = (
        None if which == "none" else tokens[which] if valid else draw(bad_tokens(tokens["unsub"]))
    )
    token_in = draw(st.sampled_from(["query", "bearer", "raw_header"]))
    body, ctype = draw(body_and_type())
    accept = draw(st.sampled_from(["application/json", "text/html", "*/*"]))
    event = _request(method, path, token, token_in, body, ctype, accept, draw(st.booleans()))
    return event, valid and which == "unsub" and token_in == "query", route


@fuzz_settings(400)
@given(data=st.data())
def test_no_request_ends_in_a_server_error(tokens, functions, context, data):
    event, ours, route = data.draw(requests(tokens))
    answer = functions["api"].handler(event, context)
    status = answer["statusCode"]
    assert status < 500, (route, answer.get("body", "")[:300])
    if route in TOKEN_ROUTES and not ours:
        assert 400 <= status < 500, (route, status)
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    if status >= 400 and headers.get("content-type", "").startswith("application/json"):
        error = json.loads(answer["body"])["error"]
        assert {"code", "message"} <= set(error)  # the campaign routes add "problems"


# -- explanations: their query, the moment, the subjects ------------------------------------

EXPLAIN_VALUES = (
    "event_reminder",
    "job_alert",
    "job_nurture",
    "event",
    "cmp_0123456789abcdef",
    "job-1",
    "2026-12-01T09:00:00Z",
    "2026-12-01T09:00:00",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-23:59",
    "2026-02-30T25:61:00Z",
    "0",
    "-1",
    "1e99",
    "",
    *ODD_TEXT,
)


@pytest.fixture
def candidate_id(tokens) -> str:
    """The candidate of the tokens fixture, by its address."""
    from talentops.wiring import repository

    found = repository().find_by_email(ADDRESS)
    assert found is not None
    return found.candidate_id


@fuzz_settings(150)
@given(data=st.data())
def test_no_explanation_ends_in_a_server_error(candidate_id, functions, context, data):
    """Any combination of subjects, moments and limits, for the candidate or an odd id."""
    keys = data.draw(
        st.lists(
            st.sampled_from(("message", "campaign", "journey", "job", "at", "limit")),
            max_size=4,
            unique=True,
        )
    )
    query = {
        key: data.draw(st.one_of(st.sampled_from(EXPLAIN_VALUES), st.text(max_size=30)))
        for key in keys
    }
    who = data.draw(st.sampled_from([candidate_id, "c_nobody00000", "c_%2e%2e", "x"]))
    path = data.draw(st.sampled_from([f"/admin/candidates/{who}/explain", "/admin/why-not"]))
    event = http_event("GET", path)
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(
        f"{quote(k)}={quote(v, safe='', errors='replace')}" for k, v in query.items()
    )
    event["requestContext"]["authorizer"] = {"iam": {"accessKey": "AKIA"}}
    answer = functions["api"].handler(event, context)
    status = answer["statusCode"]
    assert status < 500, (path, query, answer.get("body", "")[:300])
    body = json.loads(answer["body"])
    if status >= 400:
        assert {"code", "message"} <= set(body["error"])
    else:
        assert "outcome" in body or "not_reached" in body


# -- the campaign list: its status, limit and next token -------------------------------------

LIST_VALUES = (
    "draft",
    "running",
    "sent",
    "paused",
    "cancelled",
    "RUNNING",
    "0",
    "1",
    "100",
    "101",
    "-5",
    "1e3",
    "",
    "eyJ2IjoxfQ",  # {"v":1}
    "eyJhZnRlciI6IngiLCJzdGF0dXMiOm51bGwsInYiOjF9",  # a position of another shape
    "e30",
    "=====",
    *ODD_TEXT,
)


@fuzz_settings(150)
@given(data=st.data())
def test_no_campaign_list_query_ends_in_a_server_error(tokens, functions, context, data):
    """Any status, limit and next (odd text, forged tokens): a page or a 400, never a 5xx."""
    keys = data.draw(st.lists(st.sampled_from(("status", "limit", "next")), unique=True))
    query = {
        key: data.draw(st.one_of(st.sampled_from(LIST_VALUES), st.text(max_size=40)))
        for key in keys
    }
    event = http_event("GET", "/admin/campaigns")
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(
        f"{quote(k)}={quote(v, safe='', errors='replace')}" for k, v in query.items()
    )
    event["requestContext"]["authorizer"] = {"iam": {"accessKey": "AKIA"}}
    answer = functions["api"].handler(event, context)
    status = answer["statusCode"]
    assert status in (200, 400), (query, answer.get("body", "")[:300])
    body = json.loads(answer["body"])
    if status == 400:
        assert set(body["error"]) == {"code", "message"}
    else:
        assert set(body) == {"campaigns", "next"}
