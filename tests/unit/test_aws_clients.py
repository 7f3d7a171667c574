"""The process's AWS clients (talentops.adapters.aws): the functions skip botocore's check of
each request against the service's model (the service checks it again), and the test suite
turns that check on (tests/conftest.py), so every request made in a test is held to the
model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from talentops.adapters import aws


@pytest.fixture
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.reset_clients()
    yield monkeypatch
    aws.reset_clients()


# A request the service's model refuses: a Query without its table.
BAD_QUERY = {"KeyConditionExpression": "pk = :pk"}


def test_the_test_suite_checks_every_request() -> None:
    import os

    assert os.environ.get(aws.CHECK_REQUESTS) == "1"


def test_a_function_sends_a_request_without_the_clients_check(
    fresh_clients: pytest.MonkeyPatch,
) -> None:
    fresh_clients.delenv(aws.CHECK_REQUESTS)
    ddb = aws.client("dynamodb")
    # Kept from the product's config: timeouts (and retries: the test below).
    assert ddb.meta.config.connect_timeout == 3
    assert ddb.meta.config.read_timeout == 10
    with Stubber(ddb) as stub:
        stub.add_client_error("query", "ValidationException", http_status_code=400)
        # Sent as it is: the service's refusal is a ClientError, as every adapter expects.
        with pytest.raises(ddb.exceptions.ClientError):
            ddb.query(**BAD_QUERY)


def test_the_check_refuses_a_request_before_it_is_sent(
    fresh_clients: pytest.MonkeyPatch,
) -> None:
    fresh_clients.setenv(aws.CHECK_REQUESTS, "1")
    ddb = aws.client("dynamodb")
    with Stubber(ddb) as stub, pytest.raises(ParamValidationError):
        stub.add_response("query", {})  # never reached: the check refuses first
        ddb.query(**BAD_QUERY)


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self) -> Iterator[bytes]:
        yield self.data


def _attempts(
    monkeypatch: pytest.MonkeyPatch, service: str, operation: str, call: str, **params: object
) -> int:
    """How many times the client sends ``operation`` when the service answers 503 each time
    (botocore's backoff between attempts skipped)."""
    import time

    from botocore.awsrequest import AWSResponse

    monkeypatch.setattr(time, "sleep", lambda _seconds: None)
    made = aws.client(service)
    sent = []

    def unavailable(request: object, **_: object) -> AWSResponse:
        sent.append(request)
        body = b'{"__type":"ServiceUnavailable","message":"down"}'
        return AWSResponse("https://aws.invalid/", 503, {}, _Body(body))

    made.meta.events.register(f"before-send.*.{operation}", unavailable)
    with pytest.raises(made.exceptions.ClientError):
        getattr(made, call)(**params)
    return len(sent)


def test_an_ses_send_is_one_attempt_and_other_calls_three(
    fresh_clients: pytest.MonkeyPatch,
) -> None:
    # A second attempt of a send SES may have taken (a read timeout, a 5xx) could mail the
    # candidate twice: the application owns the retries of a send.
    mail = {
        "FromEmailAddress": "careers@example.com",
        "Destination": {"ToAddresses": ["ada@example.org"]},
        "Content": {"Raw": {"Data": b"Subject: x\r\n\r\nx\r\n"}},
    }
    assert _attempts(fresh_clients, "sesv2", "SendEmail", "send_email", **mail) == 1
    read = {"TableName": "talent-pool", "Key": {"pk": {"S": "CAND#c1"}, "sk": {"S": "PROFILE"}}}
    assert _attempts(fresh_clients, "dynamodb", "GetItem", "get_item", **read) == 3
