"""Running a metric's query on Athena: the DuckDB query transpiled (queries.athena_sql),
the facts table qualified with the lake's Glue database, polled until it ends or the
request's time is up, and its result read as rows of dicts with numbers as numbers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..errors import StorageError, TalentOpsError
from .queries import TABLE, athena_sql

POLL_SECONDS = 0.5


class ReportTimeout(TalentOpsError):
    """Athena did not finish within the request's time (the query keeps running)."""

    code = "report_running"


def _number(value: str | None) -> Any:
    if value is None:
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def athena_runner(
    athena: Any,
    *,
    workgroup: str,
    database: str,
    deadline_seconds: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[str], list[dict[str, Any]]]:
    def run(sql: str) -> list[dict[str, Any]]:
        query = athena_sql(sql).replace(f" {TABLE} ", f' "{database}"."{TABLE}" ')
        started = athena.start_query_execution(QueryString=query, WorkGroup=workgroup)
        execution_id = started["QueryExecutionId"]
        ends = clock() + deadline_seconds
        while True:
            status = athena.get_query_execution(QueryExecutionId=execution_id)
            state = status["QueryExecution"]["Status"]["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                raise StorageError(f"the report's query {state.lower()} on Athena")
            if clock() > ends:
                raise ReportTimeout("the report is still running on Athena; ask again")
            sleep(POLL_SECONDS)
        rows: list[dict[str, Any]] = []
        names: list[str] | None = None
        for page in athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=execution_id
        ):
            for row in page["ResultSet"]["Rows"]:
                values = [d.get("VarCharValue") for d in row["Data"]]
                if names is None:
                    names = [str(v) for v in values]
                    continue
                rows.append(dict(zip(names, (_number(v) for v in values), strict=True)))
        return rows

    return run
