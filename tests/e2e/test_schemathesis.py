"""schemathesis against the local stack, from the committed docs/openapi.json: no 5xx, and
every response conforms to the document (documented status, content type and schema), and
input that the document says is invalid is refused.

Two passes: every operation as an anonymous client, then the careers-site routes with a
valid link token (so that the personalized path is fuzzed too). The report of each pass is
kept in out/schemathesis-<pass>.txt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"
CONFIG = Path(__file__).with_name("schemathesis.toml")
OUT = ROOT / "out"
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    )
)


def assert_schemathesis_passes(stack: LocalStack, name: str, *extra: str) -> None:
    executable = Path(sys.executable).with_name("schemathesis")
    command = [
        str(executable),
        "--config-file",
        str(CONFIG),
        "run",
        str(DOCUMENT),
        "--url",
        stack.api_url,
        "--checks",
        CHECKS,
        "--max-examples",
        "40",
        "--seed",
        "20261126",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "too_slow",
        *extra,
    ]
    env = {**os.environ, "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False
    )
    OUT.mkdir(exist_ok=True)
    report = OUT / f"schemathesis-{name}.txt"
    report.write_text(done.stdout + done.stderr, encoding="utf-8")
    assert done.returncode == 0, (
        f"schemathesis ({name}) found problems; the report is in {report}:\n"
        + done.stdout[-8000:]
        + done.stderr[-2000:]
    )


def test_schemathesis_finds_no_server_error_and_every_response_conforms(stack: LocalStack) -> None:
    assert_schemathesis_passes(stack, "anonymous")


def test_schemathesis_with_a_link_token_on_the_careers_site_routes(stack: LocalStack) -> None:
    from talentops.tokens import TokenSigner

    # A candidate and a link token as an email would carry (signed with the stack's key).
    address = "schemathesis@example.org"
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address},
            "observed_at": stack.now(),
            "fields": {
                "email": address,
                "first_name": "Fuzz",
                "seniority": "mid",
                "role_family": "data",
                "country": "US",
            },
        },
        source="talent.crm",
    )
    tables = stack.client("dynamodb")
    table = stack.client("cloudformation").describe_stack_resource(
        StackName="local", LogicalResourceId="TalentPoolTable"
    )["StackResourceDetail"]["PhysicalResourceId"]
    alias = stack.wait_for(
        lambda: tables.get_item(
            TableName=table, Key={"pk": {"S": f"ALIAS#email#{address}"}, "sk": {"S": "ALIAS"}}
        ).get("Item"),
        timeout=20,
    )
    key = stack.client("ssm").get_parameter(Name="/talentops/token-key", WithDecryption=True)
    token = TokenSigner(key["Parameter"]["Value"].encode()).issue(
        candidate_id=alias["candidate_id"]["S"],
        purpose="events",
        message_id="m_fuzz",
        scope="link",
        now=datetime.fromisoformat(stack.now()),
        ttl=timedelta(days=1),
    )
    assert_schemathesis_passes(
        stack,
        "token",
        "--include-path-regex",
        "^/(content|track)",
        "--header",
        f"Authorization: Bearer {token}",
    )
