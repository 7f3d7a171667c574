"""Shared fixtures: an AWS account under moto with the resources of template.yaml."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.support.cfn import ROOT, table_definition

REGION = "eu-west-1"
TABLE = "talent-pool-test"
BUS = "talent-events"
SENDER = "careers@talent.example.com"
TOKEN_PARAM = "/talentops/token-key"
TIMER_GROUP = "talentops-timers"
# Every request the code makes in a test is checked against the service's model by botocore
# (the functions skip that check: talentops.adapters.aws).
os.environ.setdefault("TALENTOPS_CHECK_AWS_REQUESTS", "1")


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py under a unique module name."""
    path = ROOT / "functions" / function / "app.py"
    name = f"fn_{function}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "req-1"
    log_group_name: str = "/aws/lambda/test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Aws:
    """Handles on the emulated account, and what the system published on the bus."""

    capture_queue_url: str
    published: list[dict[str, Any]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def drain(self) -> list[dict[str, Any]]:
        """Events the system emitted since the last drain (source talent.personalization)."""
        sqs = self.client("sqs")
        while True:
            resp = sqs.receive_message(QueueUrl=self.capture_queue_url, MaxNumberOfMessages=10)
            msgs = resp.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                self.published.append(json.loads(m["Body"]))
                sqs.delete_message(
                    QueueUrl=self.capture_queue_url, ReceiptHandle=m["ReceiptHandle"]
                )
        out, self.published = self.published, []
        return out

    def sent_emails(self) -> list[Any]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    from moto import mock_aws

    from devstack.moto_patches import deep_expressions

    deep_expressions()  # moto recurses once per clause of an expression (moto_patches.py, 7.)

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE,
        "EVENT_BUS_NAME": BUS,
        "SENDER_ADDRESS": SENDER,
        "TOKEN_KEY_PARAMETER": TOKEN_PARAM,
        "API_BASE_URL": "http://127.0.0.1:3000",
        "CAREERS_SITE_URL": "https://careers.example.com",
        "TEMPLATES_DIR": str(ROOT / "templates"),
        "POWERTOOLS_METRICS_NAMESPACE": "TalentOpsTest",
        "POWERTOOLS_SERVICE_NAME": "talentops",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from talentops import wiring

    wiring.reset()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(TableName=TABLE, **table_definition())
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=BUS)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name="capture",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": ["talent.personalization"]}),
        )
        events.put_targets(
            Rule="capture", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        boto3.client("sesv2", region_name=REGION).create_email_identity(
            EmailIdentity=SENDER.split("@")[1]
        )
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=TOKEN_PARAM, Value="0123456789abcdef0123456789abcdef", Type="SecureString"
        )
        # Journey timers: a schedule group and the queue its schedules deliver to.
        timer_url = sqs.create_queue(QueueName="timers")["QueueUrl"]
        timer_arn = sqs.get_queue_attributes(QueueUrl=timer_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=TIMER_GROUP)
        monkeypatch.setenv("TIMER_GROUP", TIMER_GROUP)
        monkeypatch.setenv("TIMER_QUEUE_ARN", timer_arn)
        monkeypatch.setenv("SCHEDULER_ROLE_ARN", f"arn:aws:iam::123456789012:role/{TIMER_GROUP}")
        yield Aws(capture_queue_url=queue_url)
    wiring.reset()


@pytest.fixture(scope="session")
def handlers() -> dict[str, ModuleType]:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TalentOpsTest")
    return {name: load_handler(name) for name in ("ingest_profile", "journeys", "journey_timer")}


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def templates_dir() -> Path:
    return ROOT / "templates"
