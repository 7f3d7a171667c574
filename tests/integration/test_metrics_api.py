"""`/admin/metrics` over the local lake (issue 13, item 5): definitions, a metric by its
breakdowns over a range, and every refusal with its status."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from talentops import wiring
from talentops.api import metrics as metrics_api
from talentops.clock import SYSTEM_CLOCK
from talentops.metrics.local import append_facts
from tests.conftest import load_handler
from tests.support.apigw import json_body
from tests.support.privacy import api_call
from tests.unit.test_metrics import T0, engaged, sent


@pytest.fixture
def api(aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("LAKE_DIR", str(tmp_path))
    wiring.reset()
    metrics_api._metrics.cache_clear()
    append_facts(
        tmp_path,
        [
            sent("m1", "c1", T0, "senior"),
            sent("m2", "c2", T0, "default"),
            engaged("Opened", "m1", "c1", T0),
        ],
    )
    return load_handler("api")


RANGE = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def test_the_definitions_are_listed_with_every_version(api: Any, context: Any) -> None:
    response = api_call(api, context, "GET", "/admin/metrics", iam=True)
    assert response["statusCode"] == 200
    listed = {(m["name"], m["version"]) for m in json_body(response)["metrics"]}
    assert {("time_to_apply", 1), ("time_to_apply", 2), ("open_rate", 1)} <= listed


def test_a_metric_by_its_breakdown_over_a_range(api: Any, context: Any) -> None:
    response = api_call(
        api,
        context,
        "GET",
        "/admin/metrics/open_rate",
        query={**RANGE, "group_by": "variant"},
        iam=True,
    )
    assert response["statusCode"] == 200
    body = json_body(response)
    assert (body["metric"], body["version"]) == ("open_rate", 1)
    assert body["definition"]["end"]["fact"] == "Message Opened"
    rows = {r["group"]["variant"]: r for r in body["rows"]}
    assert (rows["senior"]["numerator"], rows["senior"]["denominator"]) == (1, 1)
    assert (rows["default"]["numerator"], rows["default"]["denominator"]) == (0, 1)
    low, high = rows["senior"]["ci95"]
    assert 0 <= low < 1 <= high + 1e-9


def test_a_range_without_data_is_zero_denominators_not_an_error(api: Any, context: Any) -> None:
    query = {"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}
    response = api_call(api, context, "GET", "/admin/metrics/click_rate", query=query, iam=True)
    assert response["statusCode"] == 200
    [row] = json_body(response)["rows"]
    assert (row["numerator"], row["denominator"], row["value"]) == (0, 0, None)


def test_without_a_range_the_last_30_days_end_at_the_system_clock(
    api: Any, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local stack moves this clock (POST /_local/clock); the default range must follow it.
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime(2030, 1, 15, 12, 0, tzinfo=UTC))
    response = api_call(api, context, "GET", "/admin/metrics/open_rate", iam=True)
    assert response["statusCode"] == 200
    body = json_body(response)
    assert (body["from"][:10], body["to"][:10]) == ("2029-12-16", "2030-01-15")


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("/admin/metrics/shoe_size", {}, 404, "unknown_metric"),
        ("/admin/metrics/open_rate", {"version": "9"}, 404, "unknown_metric"),
        ("/admin/metrics/time_to_apply", {"group_by": "variant"}, 422, "invalid_breakdown"),
        ("/admin/metrics/open_rate", {"from": "yesterday"}, 422, "invalid_request"),
        (
            "/admin/metrics/open_rate",
            {"from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
            422,
            "invalid_range",
        ),
    ],
)
def test_refusals(api: Any, context: Any, path: str, query: dict, status: int, code: str) -> None:
    response = api_call(api, context, "GET", path, query=query, iam=True)
    assert response["statusCode"] == status
    assert json_body(response)["error"]["code"] == code


def test_reports_need_iam(api: Any, context: Any) -> None:
    for path in ("/admin/metrics", "/admin/metrics/open_rate"):
        assert api_call(api, context, "GET", path)["statusCode"] == 403


def test_the_athena_runner_transpiles_polls_and_reads_typed_rows() -> None:
    from talentops.metrics.athena import ReportTimeout, athena_runner

    class FakeAthena:
        def __init__(self, states: list[str]) -> None:
            self.states = states
            self.query = ""

        def start_query_execution(self, QueryString: str, WorkGroup: str) -> dict:
            assert WorkGroup == "wg"
            self.query = QueryString
            return {"QueryExecutionId": "q1"}

        def get_query_execution(self, QueryExecutionId: str) -> dict:
            return {"QueryExecution": {"Status": {"State": self.states.pop(0)}}}

        def get_paginator(self, name: str) -> Any:
            assert name == "get_query_results"
            page = {
                "ResultSet": {
                    "Rows": [
                        {"Data": [{"VarCharValue": "variant"}, {"VarCharValue": "numerator"}]},
                        {"Data": [{"VarCharValue": "senior"}, {"VarCharValue": "3"}]},
                        {"Data": [{}, {"VarCharValue": "1.5"}]},
                    ]
                }
            }
            return type("P", (), {"paginate": lambda self, **kw: [page]})()

    fake = FakeAthena(["QUEUED", "RUNNING", "SUCCEEDED"])
    run = athena_runner(fake, workgroup="wg", database="lake_db", sleep=lambda s: None)
    rows = run("SELECT variant, COUNT(*) AS numerator FROM facts s GROUP BY variant")
    assert rows == [{"variant": "senior", "numerator": 3}, {"variant": None, "numerator": 1.5}]
    assert '"lake_db"."facts"' in fake.query
    ticks = iter(range(100))
    slow = athena_runner(
        FakeAthena(["RUNNING"] * 50),
        workgroup="wg",
        database="d",
        deadline_seconds=3,
        sleep=lambda s: None,
        clock=lambda: float(next(ticks)),
    )
    with pytest.raises(ReportTimeout):
        slow("SELECT 1 AS x FROM facts s")


def test_when_no_lake_is_configured_the_report_says_so(
    aws: Any, context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAKE_DIR", raising=False)
    wiring.reset()
    api = load_handler("api")
    response = api_call(api, context, "GET", "/admin/metrics/open_rate", iam=True)
    assert response["statusCode"] == 503
    assert json_body(response)["error"]["code"] == "no_lake"
