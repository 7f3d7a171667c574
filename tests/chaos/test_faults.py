"""The local stack's faults (devstack/faults.py) as a client sees them, on moto's server in
this process: SES refusal and DynamoDB throttling answer as AWS answers, botocore's own retry
policy applies to the throttle, and the route validates and reports them.

(The crash faults and the SES throttle through a running stack: tests/e2e/test_crash_recovery.py
and tests/e2e/test_campaigns_e2e.py.)
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from devstack import faults as fault_injection

REGION = "eu-west-1"
SENDER = "chaos@example.org"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def faults() -> Iterator[fault_injection.Faults]:
    """Fresh faults installed in this process (moto's SES backend, botocore), undone after."""
    from talentops.delivery import leases

    lookups_before = list(leases.ACCEPTANCE_LOOKUPS)
    state = fault_injection.Faults()
    uninstall = fault_injection.install(state)
    try:
        yield state
    finally:
        uninstall()
        leases.ACCEPTANCE_LOOKUPS[:] = lookups_before


def _client(endpoint: str, service: str, attempts: int = 3) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def _send(sesv2: Any, n: int, decision_id: str = "") -> str:
    header = f"X-TalentOps-Decision: {decision_id}\r\n" if decision_id else ""
    raw = (
        f"{header}From: {SENDER}\r\nTo: chaos-{n}@example.org\r\nSubject: chaos {n}\r\n\r\nhi\r\n"
    ).encode()
    return str(
        sesv2.send_email(
            FromEmailAddress=SENDER,
            Destination={"ToAddresses": [f"chaos-{n}@example.org"]},
            Content={"Raw": {"Data": raw}},
        )["MessageId"]
    )


def test_ses_reject_refuses_the_next_sends_for_good_as_ses_does(
    endpoint: str, faults: fault_injection.Faults
) -> None:
    from talentops.adapters.ses import classify

    sesv2 = _client(endpoint, "sesv2")
    _client(endpoint, "ses").verify_email_identity(EmailAddress=SENDER)
    assert fault_injection.handle(faults, "POST", b'{"ses_reject": 2}').status == 200
    for n, decision in ((1, "dec-one"), (2, "")):
        with pytest.raises(ClientError) as error:
            _send(sesv2, n, decision)
        response = error.value.response
        assert response["Error"]["Code"] == "MessageRejected"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        # what the application's SES adapter takes as a permanent refusal
        assert classify("MessageRejected", response["Error"]["Message"], SENDER) == "refused"
        assert error.value.response["ResponseMetadata"]["RetryAttempts"] == 0  # not retried
    assert _send(sesv2, 3)  # the third goes through
    # A resend of a refused decision (its refusal could not be recorded) is refused again,
    # as SES refuses that recipient again, without using up a fault.
    with pytest.raises(ClientError) as again:
        _send(sesv2, 4, "dec-one")
    assert again.value.response["Error"]["Code"] == "MessageRejected"
    state = faults.state()
    assert state["ses_reject"] == 0
    assert state["injected"]["ses_reject"] == 2
    assert state["rejected"] == ["dec-one", ""]


def test_ddb_throttle_is_retried_by_botocore_and_raised_when_every_attempt_is_throttled(
    endpoint: str, faults: fault_injection.Faults
) -> None:
    ddb = _client(endpoint, "dynamodb", attempts=3)
    ddb.create_table(
        TableName="chaos",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # Two throttled attempts: botocore's standard policy (3 attempts) goes through them.
    faults.set("ddb_throttle", 2)
    written = ddb.put_item(TableName="chaos", Item={"pk": {"S": "a"}})
    assert written["ResponseMetadata"]["RetryAttempts"] == 2
    assert ddb.get_item(TableName="chaos", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}

    # Every attempt throttled: the caller sees DynamoDB's error, nothing was written.
    faults.set("ddb_throttle", 3)
    with pytest.raises(ClientError) as error:
        ddb.put_item(TableName="chaos", Item={"pk": {"S": "b"}})
    response = error.value.response
    assert response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert "Item" not in ddb.get_item(TableName="chaos", Key={"pk": {"S": "b"}})

    # The control plane throttles with ThrottlingException.
    faults.set("ddb_throttle", 1)
    single = _client(endpoint, "dynamodb", attempts=1)
    with pytest.raises(ClientError) as control:
        single.describe_table(TableName="chaos")
    assert control.value.response["Error"]["Code"] == "ThrottlingException"
    assert faults.state()["injected"]["ddb_throttle"] == 6
    assert faults.state()["ddb_throttle"] == 0

    # Other services are untouched by it.
    faults.set("ddb_throttle", 5)
    _client(endpoint, "sqs").list_queues()
    assert faults.state()["ddb_throttle"] == 5
    faults.set("ddb_throttle", 0)


@pytest.mark.parametrize(
    "body",
    [
        {"ses_reject": -1},
        {"ddb_throttle": "2"},
        {"ddb_throttle": True},
        {"ses_reject": 1_000_001},
        {"dynamo_throttle": 1},
    ],
)
def test_the_faults_route_refuses_what_it_cannot_inject(body: dict[str, Any]) -> None:
    faults = fault_injection.Faults()
    response = fault_injection.handle(faults, "POST", json.dumps(body).encode())
    assert response.status == 400
    assert faults.state()["injected"] == dict.fromkeys(fault_injection.KNOWN, 0)


def test_the_faults_route_sets_and_reports_every_fault() -> None:
    faults = fault_injection.Faults()
    everything = dict.fromkeys(fault_injection.KNOWN, 3)
    response = fault_injection.handle(faults, "POST", json.dumps(everything).encode())
    assert response.status == 200
    assert set(fault_injection.KNOWN) == {
        "ses_throttle",
        "ses_reject",
        "ddb_throttle",
        "crash_before_send",
        "crash_after_send",
    }
    state = faults.state()
    assert {name: state[name] for name in fault_injection.KNOWN} == everything
    assert faults.take("ddb_throttle") and faults.take("ses_reject")
    assert faults.state()["injected"] == {
        **dict.fromkeys(fault_injection.KNOWN, 0),
        "ddb_throttle": 1,
        "ses_reject": 1,
    }
    cleared = fault_injection.handle(faults, "POST", b'{"ddb_throttle": 0, "ses_reject": 0}')
    assert cleared.status == 200
    assert faults.state()["ddb_throttle"] == faults.state()["ses_reject"] == 0
