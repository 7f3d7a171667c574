"""The local stack itself, independent of the business logic.

- `stack` (conftest): `python -m devstack` on the real template.yaml.
- `toy_stack`: `python -m devstack` on a small template in a temporary directory whose
  handlers only report what they receive: HTTP API v2 events, SigV4, rules, schedules, SQS
  event sources, retries and dead letters, environment localization.
- Unit-level tests of the parts (SigV4 shape check, async invoker, outbox, schedules, plan).
"""

from __future__ import annotations

import json
import socket
import textwrap
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from devstack.config import ACCOUNT_ID, REGION, LocalConfig
from devstack.functions import (
    AsyncPolicy,
    EnvironmentConflictError,
    FunctionRuntime,
    FunctionSpec,
    merged_environment,
)
from devstack.httpapi import HttpRequest, Route, Router, check_sigv4, translate_response
from devstack.plan import RoutePlan, build_plan
from devstack.schedules import ScheduleEngine, ScheduleSource, parse_expression
from devstack.template import load_template, parameter_values, prepare_for_translation, translate

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

ROOT = Path(__file__).resolve().parents[2]

e2e = pytest.mark.e2e


# == the stack on template.yaml =================================================================


def _translated_plan() -> Any:
    template = load_template(ROOT / "template.yaml")
    prepared, _ = prepare_for_translation(template, ROOT)
    return build_plan(translate(prepared, REGION, parameter_values(template, {})))


@e2e
def test_ready_line_is_the_first_line_beginning_with_ready(stack: LocalStack) -> None:
    assert stack.ready_line == f"ready aws={stack.aws_url} api={stack.api_url}"
    assert stack.ready_lines == [stack.ready_line]


@e2e
def test_health(stack: LocalStack) -> None:
    assert stack.get("/_local/health").status_code == 200


@e2e
def test_bus_and_table_of_the_template_exist(stack: LocalStack) -> None:
    bus = stack.client("events").describe_event_bus(Name="talent-events")
    assert bus["Name"] == "talent-events"
    cloudformation = stack.client("cloudformation")
    resources = cloudformation.describe_stack_resources(StackName="local")["StackResources"]
    tables = [r for r in resources if r["ResourceType"] == "AWS::DynamoDB::Table"]
    assert tables
    for table in tables:
        description = stack.client("dynamodb").describe_table(TableName=table["PhysicalResourceId"])
        assert description["Table"]["TableStatus"] == "ACTIVE"


@e2e
def test_rules_of_the_template_target_queues_only(stack: LocalStack) -> None:
    """Function targets are mirrored to SQS queues (moto cannot invoke Lambda targets)."""
    events = stack.client("events")
    resources = stack.client("cloudformation").describe_stack_resources(StackName="local")[
        "StackResources"
    ]
    rule_ids = {
        r["LogicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Events::Rule"
    }
    assert rule_ids
    seen = set()
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
            logical_id = rule["Name"].split("-")[1] if rule["Name"].count("-") >= 2 else ""
            if logical_id not in rule_ids:
                continue
            seen.add(logical_id)
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])
            assert all(":sqs:" in t["Arn"] for t in targets["Targets"])
    assert seen == rule_ids


@e2e
def test_sender_identity_and_token_key_exist(stack: LocalStack) -> None:
    identities = stack.client("sesv2").list_email_identities()["EmailIdentities"]
    assert "talent.example.com" in {i["IdentityName"] for i in identities}
    parameter = stack.client("ssm").get_parameter(Name="/talentops/token-key", WithDecryption=True)[
        "Parameter"
    ]
    assert parameter["Type"] == "SecureString"
    assert len(bytes.fromhex(parameter["Value"])) == 32


@e2e
def test_a_rule_that_a_client_adds_routes_put_events_to_its_queue(stack: LocalStack) -> None:
    sqs, events = stack.client("sqs"), stack.client("events")
    name = f"client-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=name,
        EventBusName="talent-events",
        EventPattern=json.dumps({"source": [f"e2e.{name}"]}),
    )
    events.put_targets(
        Rule=name, EventBusName="talent-events", Targets=[{"Id": "q", "Arn": queue_arn}]
    )

    event_id = stack.put_event("E2E Probe", {"probe": name}, source=f"e2e.{name}")

    def received() -> list[dict[str, Any]]:
        return sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])

    body = json.loads(stack.wait_for(received)[0]["Body"])
    assert body["id"] == event_id
    assert body["detail"] == {"probe": name}


@e2e
def test_clock_get_and_advance(stack: LocalStack) -> None:
    # A small step: the session's stack is shared with other tests.
    before = datetime.fromisoformat(stack.now())
    after = datetime.fromisoformat(stack.advance_clock(1.5))
    assert after - before >= timedelta(seconds=1.5)
    assert after.tzinfo is not None
    assert datetime.fromisoformat(stack.now()) >= after


@e2e
@pytest.mark.parametrize(
    "body",
    [
        "{}",
        '{"advance_seconds": -1}',
        '{"advance_seconds": "60"}',
        '{"advance_seconds": true}',
        "not json",
        "[60]",
        '{"advance_seconds": null}',
    ],
)
def test_clock_rejects_a_bad_body(stack: LocalStack, body: str) -> None:
    response = stack.post("/_local/clock", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


@e2e
def test_unknown_route_is_a_404_json_error(stack: LocalStack) -> None:
    response = stack.get(f"/no-such-route-{uuid.uuid4().hex}")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]


@e2e
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "OPTIONS"])
def test_any_method_without_a_route_is_a_404_json_error(stack: LocalStack, method: str) -> None:
    response = stack.request(method, "/_nothing_here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@e2e
def test_careers_site_is_served_as_static_files(stack: LocalStack) -> None:
    if not (ROOT / "examples" / "careers-site").is_dir():
        pytest.skip("examples/careers-site does not exist yet")
    page = stack.get("/careers/")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert stack.get("/careers", allow_redirects=False).status_code == 301
    assert stack.get("/careers/%2e%2e/template.yaml").status_code == 404


@e2e
def test_outbox_is_a_json_list(stack: LocalStack) -> None:
    assert isinstance(stack.outbox(), list)


@e2e
def test_unsigned_request_to_an_iam_route_is_forbidden(stack: LocalStack) -> None:
    iam_routes = [r for r in _translated_plan().routes if r.iam]
    if not iam_routes:
        pytest.skip("template.yaml has no IAM-authorized route yet (see the SigV4 unit tests)")
    route = iam_routes[0]
    path = "/".join("x" if part.startswith("{") else part for part in route.path.split("/"))
    method = "GET" if route.method == "ANY" else route.method
    response = stack.request(method, path)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


# == the stack on a toy template ================================================================

TOY_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  EventBusName:
    Type: String
    Default: talent-events
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 10
    MemorySize: 256
    Layers:
      - !Ref ContentLayer
    Environment:
      Variables:
        OUT_QUEUE_URL: !Ref OutQueue
        API_BASE_URL: !Sub "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
        CONTENT_DIR: /opt
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Ref EventBusName
  OutQueue:
    Type: AWS::SQS::Queue
  FailDLQ:
    Type: AWS::SQS::Queue
  WorkDLQ:
    Type: AWS::SQS::Queue
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 2
  ContentLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: content/
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        EnableIamAuthorizer: true
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Events:
        Item:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: "/items/{id}", Method: GET}
        ItemLiteral:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: /items/special, Method: GET}
        Files:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: "/files/{proxy+}", Method: ANY}
        Bare:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: /bare, Method: GET}
        Boom:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: /boom, Method: GET}
        Admin:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Path: /admin/things
            Method: GET
            Auth:
              Authorizer: AWS_IAM
        Echo:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref EventBusName
            Pattern:
              detail-type: [Toy Echo]
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Input: '{"kind": "tick"}'
        Tock:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
            Input: '{"kind": "tock"}'
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
  FailFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fail/
      DeadLetterQueue:
        Type: SQS
        TargetArn: !GetAtt FailDLQ.Arn
      EventInvokeConfig:
        MaximumRetryAttempts: 1
      Events:
        Fail:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref EventBusName
            Pattern:
              detail-type: [Toy Fail]
"""

REPORTER = """
import json
import os

import boto3

_clients = {}


def report(kind, payload):
    sqs = _clients.setdefault("sqs", boto3.client("sqs"))
    sqs.send_message(QueueUrl=os.environ["OUT_QUEUE_URL"],
                     MessageBody=json.dumps({"kind": kind, "payload": payload}))
"""

ECHO_HANDLER = (
    REPORTER
    + """

def handler(event, context):
    if isinstance(event, dict) and "routeKey" in event:
        if event["rawPath"] == "/boom":
            raise RuntimeError("boom")
        if event["rawPath"] == "/bare":
            return {"bare": True}
        env = {k: os.environ.get(k) for k in ("API_BASE_URL", "CONTENT_DIR", "OUT_QUEUE_URL")}
        return {"statusCode": 201, "headers": {"content-type": "application/json", "x-echo": "1"},
                "cookies": ["a=1", "b=2"],
                "body": json.dumps({"event": event, "env": env,
                                    "function_name": context.function_name,
                                    "memory": context.memory_limit_in_mb,
                                    "remaining": context.get_remaining_time_in_millis()})}
    if isinstance(event, dict) and "Records" in event:
        report("sqs", [r["body"] for r in event["Records"]])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"] if r["body"] == "fail"]}
    report("event", event)
    return {"ok": True}
"""
)

FAIL_HANDLER = (
    REPORTER
    + """

def handler(event, context):
    report("attempt", {"request_id": context.aws_request_id, "id": event.get("id")})
    raise ValueError("cannot process this event " + "x" * 2000)
"""
)


def toy_reports(stack: LocalStack, kind: str | None = None, wait: int = 1) -> list[Any]:
    """What the toy handlers reported on their OutQueue since the last call."""
    bodies = [json.loads(m["Body"]) for m in stack.drain(stack.queue("OutQueue"), wait)]
    return [b for b in bodies if kind is None or b["kind"] == kind]


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toy")


@pytest.fixture(scope="module")
def toy_stack(
    toy_root: Path, start_stack: Callable[[dict[str, str]], LocalStack]
) -> Iterator[LocalStack]:
    root = toy_root
    (root / "template.yaml").write_text(TOY_TEMPLATE)
    for name, source in (("echo", ECHO_HANDLER), ("fail", FAIL_HANDLER)):
        (root / name).mkdir()
        (root / name / "app.py").write_text(textwrap.dedent(source))
    (root / "content").mkdir()
    (root / "content" / "catalogue.yaml").write_text("toy: true\n")
    toy = start_stack({"LOCAL_TEMPLATE": str(root / "template.yaml")})
    yield toy
    assert toy.stop() == 0, toy.logs()


@e2e
def test_toy_http_event_is_payload_format_2(toy_stack: LocalStack) -> None:
    response = toy_stack.get(
        "/items/a%20b?x=1&x=2&y=", headers={"X-Multi": "v", "Cookie": "c1=1; c2=2"}
    )
    assert response.status_code == 201
    assert response.headers["x-echo"] == "1"
    assert "a=1" in response.headers["Set-Cookie"]
    document = response.json()
    event = document["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/a%20b"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"id": "a b"}
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["headers"]["x-multi"] == "v"
    assert "cookie" not in event["headers"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /items/{id}"
    assert {"requestId", "time", "timeEpoch", "accountId", "apiId", "domainName"} <= set(context)
    assert "authorizer" not in context
    assert "body" not in event
    assert document["function_name"] == "local-EchoFunction"
    assert document["memory"] == 256
    assert 0 < document["remaining"] <= 10_000


@e2e
def test_toy_environment_is_localized(toy_stack: LocalStack, toy_root: Path) -> None:
    env = toy_stack.get("/items/1").json()["env"]
    assert env["API_BASE_URL"] == toy_stack.api_url
    assert env["CONTENT_DIR"] == str(toy_root / "content")
    assert env["OUT_QUEUE_URL"].startswith(toy_stack.aws_url)


@e2e
def test_toy_route_priority_and_greedy_paths(toy_stack: LocalStack) -> None:
    assert toy_stack.get("/items/special").json()["event"]["routeKey"] == "GET /items/special"
    event = toy_stack.request("DELETE", "/files/a/b.txt").json()["event"]
    assert event["routeKey"] == "ANY /files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b.txt"}
    assert toy_stack.get("/files").status_code == 404
    assert toy_stack.request("POST", "/items/1").status_code == 404


@e2e
def test_toy_bodies_text_and_binary(toy_stack: LocalStack) -> None:
    event = toy_stack.post("/files/x", json={"a": 1}).json()["event"]
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"a": 1}
    event = toy_stack.post("/files/x", data={"a": "1"}).json()["event"]
    assert event["isBase64Encoded"] is True  # forms arrive base64-encoded, as in HTTP APIs


@e2e
def test_toy_chunked_request_body(toy_stack: LocalStack) -> None:
    chunks = (part for part in [b'{"a": ', b"1}"])
    response = toy_stack.post("/files/x", data=chunks, headers={"Content-Type": "application/json"})
    assert json.loads(response.json()["event"]["body"]) == {"a": 1}


@e2e
def test_toy_bare_response_and_handler_error(toy_stack: LocalStack) -> None:
    response = toy_stack.get("/bare")
    assert response.status_code == 200
    assert response.json() == {"bare": True}
    response = toy_stack.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert toy_stack.get("/_local/health").status_code == 200


@e2e
def test_toy_iam_route_needs_a_well_formed_signature(toy_stack: LocalStack) -> None:
    unsigned = toy_stack.get("/admin/things")
    assert unsigned.status_code == 403
    assert unsigned.json()["error"]["code"] == "forbidden"
    malformed = toy_stack.get("/admin/things", headers={"Authorization": "AWS4-HMAC-SHA256 x"})
    assert malformed.status_code == 403

    url = toy_stack.api_url + "/admin/things"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("AKIDLOCAL", "secret"), "execute-api", REGION).add_auth(request)
    signed = requests.get(url, headers=dict(request.headers), timeout=10)
    assert signed.status_code == 201
    iam = signed.json()["event"]["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == "AKIDLOCAL"
    assert iam["accountId"] == ACCOUNT_ID


@e2e
def test_toy_rule_reaches_the_handler_with_the_envelope(toy_stack: LocalStack) -> None:
    toy_reports(toy_stack)
    event_id = toy_stack.put_event("Toy Echo", {"n": 1}, source="toy")
    reports = toy_stack.wait_for(lambda: toy_reports(toy_stack, "event"))
    envelope = reports[0]["payload"]
    assert envelope["id"] == event_id
    assert envelope["detail-type"] == "Toy Echo"
    assert envelope["detail"] == {"n": 1}
    assert envelope["account"] == ACCOUNT_ID
    assert envelope["region"] == REGION


@e2e
def test_toy_async_failure_is_retried_then_dead_lettered(toy_stack: LocalStack) -> None:
    toy_reports(toy_stack)
    event_id = toy_stack.put_event("Toy Fail", {"n": 2}, source="toy")
    dead = toy_stack.wait_for(lambda: toy_stack.drain(toy_stack.queue("FailDLQ"), wait=1))
    attempts = toy_reports(toy_stack, "attempt")
    assert len(attempts) == 2  # MaximumRetryAttempts: 1
    assert {a["payload"]["id"] for a in attempts} == {event_id}
    assert len({a["payload"]["request_id"] for a in attempts}) == 1
    assert json.loads(dead[0]["Body"])["id"] == event_id
    attributes = dead[0]["MessageAttributes"]
    assert attributes["ErrorCode"]["StringValue"] == "200"
    assert attributes["RequestID"]["StringValue"] == attempts[0]["payload"]["request_id"]
    message = attributes["ErrorMessage"]["StringValue"]
    assert message.startswith("cannot process this event")
    assert len(message.encode()) == 1024


@e2e
def test_toy_sqs_source_reports_partial_failures(toy_stack: LocalStack) -> None:
    toy_reports(toy_stack)
    sqs = toy_stack.client("sqs")
    work = toy_stack.queue("WorkQueue")
    sqs.send_message_batch(
        QueueUrl=work,
        Entries=[
            {"Id": "1", "MessageBody": "ok-1"},
            {"Id": "2", "MessageBody": "fail"},
            {"Id": "3", "MessageBody": "ok-2"},
        ],
    )
    dead = toy_stack.wait_for(
        lambda: toy_stack.drain(toy_stack.queue("WorkDLQ"), wait=1), timeout=20
    )
    assert [m["Body"] for m in dead] == ["fail"]
    bodies = [body for r in toy_reports(toy_stack, "sqs") for body in r["payload"]]
    assert bodies.count("ok-1") == 1
    assert bodies.count("ok-2") == 1
    assert bodies.count("fail") == 2  # maxReceiveCount: 2


@e2e
def test_toy_schedules_fire_when_the_clock_passes_them(toy_stack: LocalStack) -> None:
    toy_reports(toy_stack)
    toy_stack.advance_clock(300)
    ticks = [r for r in toy_reports(toy_stack, "event", wait=0) if r["payload"] == {"kind": "tick"}]
    assert len(ticks) == 1
    toy_stack.advance_clock(3600)
    payloads = [r["payload"] for r in toy_reports(toy_stack, "event", wait=0)]
    assert payloads.count({"kind": "tick"}) == 12
    assert payloads.count({"kind": "tock"}) == 1


@e2e
def test_toy_scheduler_schedule_created_at_run_time_fires(toy_stack: LocalStack) -> None:
    sqs = toy_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"wake-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    at = datetime.fromisoformat(toy_stack.now()).astimezone(UTC) + timedelta(minutes=10)
    toy_stack.client("scheduler").create_schedule(
        Name=f"wake-{uuid.uuid4().hex[:8]}",
        ScheduleExpression=f"at({at:%Y-%m-%dT%H:%M:%S})",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={
            "Arn": queue_arn,
            "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/x",
            "Input": "wake up",
        },
    )
    toy_stack.advance_clock(60)
    assert not toy_stack.drain(queue_url)
    toy_stack.advance_clock(600)
    assert [m["Body"] for m in toy_stack.drain(queue_url)] == ["wake up"]
    remaining = toy_stack.client("scheduler").list_schedules()["Schedules"]
    assert not [s for s in remaining if s["Name"].startswith("wake-")]  # ActionAfterCompletion


@e2e
def test_toy_scheduler_schedule_updated_fires_at_its_new_time(toy_stack: LocalStack) -> None:
    """A schedule moved by UpdateSchedule fires at its new time only (the stack keeps what it
    made of each schedule between ticks, and makes it again when the schedule changes)."""
    sqs = toy_stack.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"moved-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    now = datetime.fromisoformat(toy_stack.now()).astimezone(UTC)
    scheduler = toy_stack.client("scheduler")
    name = f"moved-{uuid.uuid4().hex[:8]}"
    common: dict[str, Any] = {
        "Name": name,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "Target": {"Arn": queue_arn, "RoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/x"},
    }
    first, moved = now + timedelta(minutes=10), now + timedelta(minutes=30)
    scheduler.create_schedule(
        ScheduleExpression=f"at({first:%Y-%m-%dT%H:%M:%S})",
        **{**common, "Target": {**common["Target"], "Input": "first"}},
    )
    toy_stack.advance_clock(60)  # a tick has seen it (and kept what it made of it)
    scheduler.update_schedule(
        ScheduleExpression=f"at({moved:%Y-%m-%dT%H:%M:%S})",
        **{**common, "Target": {**common["Target"], "Input": "moved"}},
    )
    toy_stack.advance_clock(15 * 60)
    assert not toy_stack.drain(queue_url)
    toy_stack.advance_clock(20 * 60)
    assert [m["Body"] for m in toy_stack.drain(queue_url)] == ["moved"]


# == unit level =================================================================================


def _request(headers: dict[str, str], query: str = "") -> HttpRequest:
    return HttpRequest("GET", "/admin/x", query, list(headers.items()), b"", "127.0.0.1")


def _signed_headers() -> dict[str, str]:
    request = AWSRequest(method="GET", url="http://127.0.0.1:3000/admin/x")
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "execute-api", REGION).add_auth(request)
    headers = dict(request.headers)
    headers["Host"] = "127.0.0.1:3000"
    return headers


def test_sigv4_accepts_a_botocore_signature_without_verifying_it() -> None:
    headers = _signed_headers()
    identity = check_sigv4(_request(headers))
    assert identity is not None
    assert (identity.access_key, identity.region, identity.service) == (
        "AKIDEXAMPLE",
        REGION,
        "execute-api",
    )
    tampered = dict(headers, Authorization=headers["Authorization"][:-4] + "0000")
    assert check_sigv4(_request(tampered)) is not None  # shape only


@pytest.mark.parametrize(
    "change",
    [
        {"Authorization": None},
        {"X-Amz-Date": None},
        {"Authorization": "Bearer abc"},
        {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/execute-api/"
            "aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
        },
        {"X-Amz-Date": "20000101T000000Z"},  # not the credential's date
    ],
)
def test_sigv4_rejects_malformed_requests(change: dict[str, str | None]) -> None:
    headers: dict[str, Any] = _signed_headers()
    for name, value in change.items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    assert check_sigv4(_request(headers)) is None


def test_sigv4_accepts_a_presigned_query() -> None:
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101%2Feu-west-1"
        "%2Fexecute-api%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=" + "a" * 64
    )
    identity = check_sigv4(_request({"Host": "h"}, query))
    assert identity is not None and identity.access_key == "AKID"


def _route(method: str, path: str) -> Route:
    plan = RoutePlan(
        api_id="Api", method=method, path=path, function_id="F", iam=False, payload_version="2.0"
    )
    return Route(plan, None, tuple(path.split("/")[1:]) if path != "$default" else ())  # type: ignore[arg-type]


def test_router_picks_the_most_specific_route() -> None:
    router = Router(
        [
            _route("ANY", "/a/{proxy+}"),
            _route("GET", "/a/{id}"),
            _route("GET", "/a/b"),
            _route("ANY", "/a/b"),
            _route("ANY", "$default"),
        ]
    )

    def key(method: str, path: str) -> str:
        found = router.find(method, path)
        assert found is not None
        return found[0].route_key

    assert key("GET", "/a/b") == "GET /a/b"
    assert key("POST", "/a/b") == "ANY /a/b"
    assert key("GET", "/a/c") == "GET /a/{id}"
    assert key("GET", "/a/c/d") == "ANY /a/{proxy+}"
    assert key("GET", "/elsewhere") == "$default"


def test_translate_response() -> None:
    response = translate_response({"statusCode": 204, "headers": {"X": "1"}, "cookies": ["c=1"]})
    assert (response.status, response.body) == (204, b"")
    assert ("Set-Cookie", "c=1") in response.headers
    response = translate_response({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True})
    assert response.body == b"hi"
    response = translate_response("text")
    assert (response.status, response.body) == (200, b'"text"')


def _spec(name: str, environment: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(
        logical_id=name,
        name=name,
        arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
        code_dir=Path("."),
        handler="app.handler",
        memory_mb=128,
        timeout_seconds=3,
        environment=environment,
        async_policy=AsyncPolicy(),
    )


def test_environment_conflicts_fail_loudly() -> None:
    specs = {"A": _spec("A", {"SHARED": "1", "ONLY_A": "a"}), "B": _spec("B", {"SHARED": "1"})}
    assert merged_environment(specs) == {"SHARED": "1", "ONLY_A": "a"}
    specs["D"] = _spec("D", {"ONLY_A": ""})  # empty counts as unset
    assert merged_environment(specs)["ONLY_A"] == "a"
    specs["C"] = _spec("C", {"SHARED": "2"})
    with pytest.raises(EnvironmentConflictError, match="SHARED"):
        merged_environment(specs)


def test_schedule_expressions() -> None:
    start = datetime(2024, 1, 1, 10, 7, 30, tzinfo=UTC)
    rate = parse_expression("rate(5 minutes)")
    assert rate.first(start) == start + timedelta(minutes=5)
    cron = parse_expression("cron(0/15 9-17 ? * MON-FRI *)")
    assert cron.after(start) == datetime(2024, 1, 1, 10, 15, tzinfo=UTC)  # a Monday
    assert cron.after(datetime(2024, 1, 5, 17, 50, tzinfo=UTC)) == datetime(
        2024, 1, 8, 9, 0, tzinfo=UTC
    )
    at = parse_expression("at(2024-01-01T12:00:00)", "Europe/Dublin")
    assert at.first(start) == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert at.after(datetime(2024, 1, 1, 12, 0, tzinfo=UTC)) is None


def test_schedule_engine_fires_each_due_occurrence_once() -> None:
    class Clock:
        def __init__(self) -> None:
            self.value = datetime(2024, 1, 1, tzinfo=UTC)

        def now(self) -> datetime:
            return self.value

    clock, fired = Clock(), list[datetime]()
    source = ScheduleSource(
        key="s", expression="rate(1 minute)", timezone=None, deliver=fired.append
    )
    engine = ScheduleEngine(clock, lambda: iter([source]))
    assert engine.run_due() == 0
    clock.value += timedelta(seconds=59)
    assert engine.run_due() == 0
    clock.value += timedelta(minutes=3)
    assert engine.run_due() == 3
    assert engine.run_due() == 0
    assert fired == [datetime(2024, 1, 1, 0, m, tzinfo=UTC) for m in (1, 2, 3)]


def test_plan_of_the_template_mirrors_function_targets_and_drops_lambda_resources() -> None:
    plan = _translated_plan()
    resources = plan.cfn_template["Resources"]
    assert not any(
        r["Type"].startswith(("AWS::Lambda::", "AWS::ApiGatewayV2::")) for r in resources.values()
    )
    for mirror in plan.mirrors:
        targets = [t["Arn"] for t in resources[mirror.rule_id]["Properties"]["Targets"]]
        if mirror.scheduled:  # the schedule engine invokes these itself
            assert not mirror.queue_id
            assert not any("Function" in json.dumps(arn) for arn in targets)
        else:
            assert resources[mirror.queue_id]["Type"] == "AWS::SQS::Queue"
            assert {"Fn::GetAtt": [mirror.queue_id, "Arn"]} in targets
    for rule in (r for r in resources.values() if r["Type"] == "AWS::Events::Rule"):
        bus = rule["Properties"].get("EventBusName")
        assert not (
            isinstance(bus, dict)
            and "Ref" in bus
            and plan.resource_types.get(bus["Ref"]) == "AWS::Events::EventBus"
        )


# -- against moto's server in this process --------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[LocalConfig]:
    from devstack.aws import start_moto

    config = LocalConfig(repo=ROOT, template_path=ROOT / "template.yaml", aws_port=free_port())
    server = start_moto(config)
    yield config
    server.stop()


def _client(config: LocalConfig, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=config.aws_url,
        region_name=REGION,  # type: ignore[call-overload]
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_async_invoker_retries_then_dead_letters(moto_server: LocalConfig) -> None:
    from devstack.aws import AwsClients
    from devstack.invoker import AsyncInvoker, Destinations

    sqs = _client(moto_server, "sqs")
    dlq_url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    calls: list[tuple[Any, str]] = []

    def failing(event: Any, context: Any) -> None:
        calls.append((event, context.aws_request_id))
        raise KeyError("é" * 1000)  # 2,000 bytes of message: truncated to 1 KB

    spec = _spec("Failing", {})
    spec = FunctionSpec(
        **{
            **spec.__dict__,
            "async_policy": AsyncPolicy(max_retry_attempts=2, dead_letter_arn=dlq_arn),
        }
    )
    clients = AwsClients(moto_server)
    invoker = AsyncInvoker(
        FunctionRuntime(spec, failing), spec.async_policy, Destinations(clients, lambda arn: None)
    )
    event = {"id": "evt-1", "detail-type": "Probe", "detail": {"n": 1}}

    assert invoker.invoke(event) is False

    assert [c[0] for c in calls] == [event] * 3  # 1 + MaximumRetryAttempts
    assert len({c[1] for c in calls}) == 1  # one request id across the retries
    message = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"])["Messages"][0]
    assert json.loads(message["Body"]) == event
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == calls[0][1]
    assert attributes["ErrorCode"] == {"StringValue": "200", "DataType": "Number"}
    error = attributes["ErrorMessage"]["StringValue"]
    assert error.startswith("'éé") and len(error.encode()) <= 1024


def test_async_invoker_success_needs_no_retry(moto_server: LocalConfig) -> None:
    from devstack.invoker import AsyncInvoker

    calls: list[Any] = []
    spec = _spec("Fine", {})
    invoker = AsyncInvoker(
        FunctionRuntime(spec, lambda e, c: calls.append(e)), AsyncPolicy(max_retry_attempts=2), None
    )
    assert invoker.invoke({"n": 1}) is True
    assert calls == [{"n": 1}]


def test_outbox_reads_raw_sends_from_moto(moto_server: LocalConfig) -> None:
    from devstack.outbox import Outbox

    _client(moto_server, "sesv2").create_email_identity(EmailIdentity="outbox.example.com")
    subject = f"Grüße {uuid.uuid4().hex}"
    long_url = "https://127.0.0.1:3000/unsubscribe?token=" + "t" * 120
    message = EmailMessage(policy=SMTP.clone(max_line_length=998))
    message["From"] = "Careers <careers@outbox.example.com>"
    message["To"] = "ann@example.org"
    message["Subject"] = subject
    message["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    message["List-Unsubscribe"] = f"<{long_url}>"
    message["Message-ID"] = f"<m_{uuid.uuid4().hex}@outbox.example.com>"
    message["X-Tag"] = "one"
    message["X-Tag"] = "two"
    message.set_content("plain text")
    message.add_alternative("<p>html</p>", subtype="html")
    response = _client(moto_server, "sesv2").send_email(
        FromEmailAddress="careers@outbox.example.com",
        Destination={"ToAddresses": ["ann@example.org"]},
        Content={"Raw": {"Data": message.as_bytes()}},
    )

    sent = [m for m in Outbox(ACCOUNT_ID, REGION).messages() if m["subject"] == subject]

    assert len(sent) == 1
    mail = sent[0]
    assert mail["message_id"] == message["Message-ID"].strip("<>")
    assert mail["ses_message_id"] == response["MessageId"]
    assert mail["from"] == "careers@outbox.example.com"
    assert mail["to"] == ["ann@example.org"]
    assert mail["text"].strip() == "plain text"
    assert mail["html"].strip() == "<p>html</p>"
    assert mail["headers"]["List-Unsubscribe"] == f"<{long_url}>"
    assert mail["headers"]["X-Tag"] == ["one", "two"]
    assert mail["headers"]["Subject"].startswith("=?utf-8?")  # as sent, not decoded
    assert mail["sent_at"] == "2024-01-01T10:00:00+00:00"
