"""The event lake on the local stack (docs/local-stack.md, "The event lake"): the bus rule
of template.yaml delivers every fact to the emulated Firehose stream, which runs the lake's
transform (functions/lake_transform) on Firehose's record batch and appends the rows by day
under the stack's lake folder; GET /admin/metrics/{name} answers from that folder (LAKE_DIR)
with DuckDB. The rows name the candidate by lake key only, and erasure leaves the rows with a
key that no longer maps to anyone, while the report's counts stay."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
ADDRESS = f"lena.lake.{RUN}@example.org"
FIRST_NAME = "Lenalake"


@pytest.fixture(scope="module")
def lstack(start_stack: Callable[..., LocalStack]) -> Iterator[LocalStack]:
    """A stack of its own: its lake holds this module's facts only."""
    local = start_stack(None)
    try:
        yield local
    finally:
        local.stop()


def _signed(stack: LocalStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    url = stack.api_url + path
    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(Credentials("AKIDLOCALTEST", "local-secret"), "execute-api", "eu-west-1").add_auth(
        request
    )
    return requests.request(
        method, url, headers=dict(request.headers.items()), timeout=30, **kwargs
    )


def _rows(stack: LocalStack) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(stack.lake_dir.glob("day=*/*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def _lake_text(stack: LocalStack) -> str:
    return "\n".join(p.read_text() for p in sorted(Path(stack.lake_dir).rglob("*.jsonl")))


def _table_items(stack: LocalStack) -> list[dict[str, Any]]:
    resources = stack.client("cloudformation").describe_stack_resources(
        StackName="local", LogicalResourceId="TalentPoolTable"
    )["StackResources"]
    ddb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": resources[0]["PhysicalResourceId"]}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def facts(lstack: LocalStack) -> dict[str, Any]:
    """A candidate ingested, then two messages sent to them and one delivered."""
    now = datetime.fromisoformat(lstack.now())
    lstack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": ADDRESS},
            "observed_at": (now - timedelta(minutes=30)).isoformat(),
            "fields": {"email": ADDRESS, "first_name": FIRST_NAME, "country": "NL"},
        },
        source="talent.crm",
    )

    def candidate_id() -> str | None:
        response = _signed(lstack, "GET", "/admin/candidates", params={"email": ADDRESS})
        return response.json()["candidate_id"] if response.status_code == 200 else None

    candidate = lstack.wait_for(candidate_id)
    messages = [f"m-{RUN}-1", f"m-{RUN}-2"]
    for index, message in enumerate(messages):
        lstack.put_event(
            "Message Sent",
            {
                "candidate_id": candidate,
                "message_id": message,
                "template": "event_reminder",
                "variant": "a",
                "purpose": "events",
                "at": (now - timedelta(minutes=20 - index)).isoformat(),
            },
            source="talent.personalization",
        )
    lstack.put_event(
        "Message Delivered",
        {"candidate_id": candidate, "message_id": messages[0], "at": now.isoformat()},
        source="talent.personalization",
    )
    wanted = {"Candidate Profile Changed", "Message Sent", "Message Delivered"}
    lstack.wait_for(
        lambda: (
            len([r for r in _rows(lstack) if r["detail_type"] in wanted]) >= 4
            and any(r["detail_type"] == "Message Delivered" for r in _rows(lstack))
        ),
        timeout=20,
    )
    return {"candidate": candidate, "now": now, "messages": messages}


def _report(stack: LocalStack, name: str, now: datetime, **params: str) -> dict[str, Any]:
    response = _signed(
        stack,
        "GET",
        f"/admin/metrics/{name}",
        params={
            "from": (now - timedelta(days=1)).isoformat(),
            "to": (now + timedelta(days=1)).isoformat(),
            **params,
        },
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_facts_land_in_the_lake_by_day_under_a_lake_key(
    lstack: LocalStack, facts: dict[str, Any]
) -> None:
    rows = _rows(lstack)
    for path in lstack.lake_dir.glob("day=*/*.jsonl"):
        days = {json.loads(line)["day"] for line in path.read_text().splitlines()}
        assert days == {path.parent.name.removeprefix("day=")}
    sent = [r for r in rows if r["detail_type"] == "Message Sent"]
    assert sorted(r["message_id"] for r in sent) == facts["messages"]
    changed = [r for r in rows if r["detail_type"] == "Candidate Profile Changed"]
    keys = {r["candidate_key"] for r in sent + changed}
    assert len(keys) == 1 and next(iter(keys)).startswith("k_")
    assert changed[0]["country"] == "NL"
    # The inbound update names the candidate by address only: its row has no key.
    [update] = [r for r in rows if r["detail_type"] == "Candidate Profile Updated"]
    assert update["candidate_key"] is None
    text = _lake_text(lstack)
    for personal in (facts["candidate"], ADDRESS, FIRST_NAME):
        assert personal not in text


def test_the_report_answers_from_the_local_lake(lstack: LocalStack, facts: dict[str, Any]) -> None:
    [row] = _report(lstack, "delivery_rate", facts["now"])["rows"]
    assert (row["numerator"], row["denominator"]) == (1, 2)
    assert row["value"] == 0.5
    by_variant = _report(lstack, "delivery_rate", facts["now"], group_by="variant")["rows"]
    assert [(r["group"], r["numerator"], r["denominator"]) for r in by_variant] == [
        ({"variant": "a"}, 1, 2)
    ]


def test_erasure_leaves_the_rows_unlinkable_and_the_counts_whole(
    lstack: LocalStack, facts: dict[str, Any]
) -> None:
    candidate = facts["candidate"]
    [key] = {r["candidate_key"] for r in _rows(lstack) if r["detail_type"] == "Message Sent"}
    assert any(
        item.get("key", {}).get("S") == key for item in _table_items(lstack)
    )  # linkable before
    assert _signed(lstack, "DELETE", f"/admin/candidates/{candidate}").status_code == 202
    assert not any(key in json.dumps(item) for item in _table_items(lstack))
    # The erasure's own fact reaches the lake without a key (the profile is gone).
    erased = lstack.wait_for(
        lambda: [r for r in _rows(lstack) if r["detail_type"] == "Candidate Erased"], timeout=20
    )
    assert all(r["candidate_key"] is None for r in erased)
    [row] = _report(lstack, "delivery_rate", facts["now"])["rows"]
    assert (row["numerator"], row["denominator"]) == (1, 2)
    assert candidate not in _lake_text(lstack)
