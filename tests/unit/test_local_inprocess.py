"""devstack/inprocess.py builds the WSGI environ of a request itself: the one werkzeug's test
EnvironBuilder built from the same request, key for key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSRequest
from werkzeug.test import EnvironBuilder

from devstack.inprocess import _body, _environ

BASE = "http://127.0.0.1:4566"


def _builder_environ(request: Any) -> dict[str, Any]:
    parts = urlsplit(request.url)
    headers = [
        (str(name), value.decode("latin-1") if isinstance(value, bytes) else str(value))
        for name, value in request.headers.items()
    ]
    return EnvironBuilder(
        method=request.method,
        base_url=BASE,
        path=parts.path or "/",
        query_string=parts.query,
        headers=headers,
        data=_body(request),
    ).get_environ()


@pytest.mark.parametrize(
    ("method", "path", "headers", "data"),
    [
        (
            "POST",
            "/",
            {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.GetItem",
                "Authorization": "AWS4-HMAC-SHA256 Credential=x/20261205/eu-west-1/dynamodb",
                "Content-Length": "2",
            },
            b"{}",
        ),
        ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, "Action=X&V=%C3%A9"),
        ("GET", "/bucket/a%20b%C3%A9/key?list-type=2&prefix=x%2Fy", {"User-Agent": "ua"}, b""),
        ("DELETE", "/123456789012/queue", {"Content-Length": "0"}, b""),
        ("PUT", "/bucket/key", {"X-Amz-Meta-A": b"bytes", "Content-MD5": "abc"}, b"\x00\xff"),
    ],
)
def test_the_environ_is_the_one_the_builder_gave(
    method: str, path: str, headers: dict[str, Any], data: Any
) -> None:
    request = AWSRequest(method=method, url=BASE + path, headers=headers, data=data).prepare()
    expected = _builder_environ(request)
    built = _environ(
        method,
        request.url,
        request.headers,
        _body(request),
        ("127.0.0.1", "4566", "127.0.0.1:4566"),
    )
    assert built.pop("wsgi.input").read() == expected.pop("wsgi.input").read()
    assert built == expected


def test_requests_to_the_embedded_moto_carry_a_placeholder_signature_others_a_real_one() -> None:
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

    from devstack.inprocess import PLACEHOLDER_SIGNATURE, _unsigned_locally

    credentials = Credentials("local", "local", "token")

    def signed(url: str) -> AWSRequest:
        request = AWSRequest(
            method="POST",
            url=url,
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "T.GetItem"},
            data=b"{}",
        )
        SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(request)
        return request

    before_local, before_other = signed(BASE + "/"), signed("https://dynamodb.example.org/")
    undo = _unsigned_locally(BASE + "/", BASE)
    try:
        local, other = signed(BASE + "/"), signed("https://dynamodb.example.org/")
    finally:
        undo()
    assert SigV4Auth.add_auth is not None and not hasattr(SigV4Auth.add_auth, "_in_process")

    def parts(request: AWSRequest) -> tuple[str, str]:
        head, _, signature = str(request.headers["Authorization"]).rpartition("Signature=")
        return head, signature

    # the same headers and credential scope; only the signature differs
    assert set(local.headers.keys()) == set(before_local.headers.keys())
    assert parts(local)[0] == parts(before_local)[0]
    assert "Credential=local/" in parts(local)[0]
    assert local.headers["X-Amz-Security-Token"] == "token"
    assert parts(local)[1] == PLACEHOLDER_SIGNATURE != parts(before_local)[1]
    assert parts(other)[1] != PLACEHOLDER_SIGNATURE
    assert parts(other)[0] == parts(before_other)[0]
