"""Reports over the event lake (`/admin/metrics`, IAM like every admin route; docs/metrics.md):
the definitions, and one metric by its breakdowns over a range, each row with its numerator,
denominator, value and 95 % interval. The lake is Athena on AWS and DuckDB over the local
stack's lake folder; a range with no data answers zero denominators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from .. import clock
from ..metrics.definitions import Metrics, load_metrics
from ..metrics.report import metric_report
from .admin import _FORBIDDEN, _json, _ok, require_iam
from .errors import ApiError, error_docs

router = APIGatewayHttpRouter()


class MetricInfo(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    name: str
    version: int
    description: str
    kind: str
    breakdowns: list[str]


class MetricList(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    metrics: list[MetricInfo]


class MetricRow(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    group: dict[str, Any]
    numerator: int
    denominator: int
    value: float | None
    ci95: list[float] | None = Field(description="[low, high] at 95 %; null without data")
    control: dict[str, int] | None = Field(
        default=None, description="a lift's held-out arm: numerator and denominator"
    )


class MetricReport(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    metric: str
    version: int
    definition: dict[str, Any] = Field(description="the definition the report used")
    from_: str = Field(alias="from", description="the range's start (ISO 8601)")
    to: str = Field(description="the range's end, excluded")
    rows: list[MetricRow]


TAG = "reports"
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


@lru_cache(maxsize=1)
def _metrics() -> Metrics:
    from ..settings import get_settings

    return load_metrics(get_settings().templates_dir)


def _runner() -> Any:
    from ..settings import get_settings

    settings = get_settings()
    if settings.lake_workgroup and settings.lake_database:
        from ..adapters.aws import client
        from ..metrics.athena import athena_runner

        return athena_runner(
            client("athena"), workgroup=settings.lake_workgroup, database=settings.lake_database
        )
    if settings.lake_dir:
        from pathlib import Path

        from ..metrics.local import duckdb_runner

        return duckdb_runner(Path(settings.lake_dir))
    raise ApiError(503, "no_lake", "no event lake is configured (LAKE_WORKGROUP or LAKE_DIR)")


def _moment(name: str, value: str | None, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(422, "invalid_request", f"{name}: not an ISO 8601 date or time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get(
    "/admin/metrics",
    summary="Metric definitions",
    description="Every version of every metric defined in templates/metrics.yaml.",
    tags=[TAG],
    operation_id="listMetrics",
    responses={**_ok(200, MetricList, "The definitions"), **error_docs({403: _FORBIDDEN})},
)
def list_metrics() -> Any:
    require_iam(router.current_event)
    return _json(
        200,
        {
            "metrics": [
                {
                    "name": d.name,
                    "version": d.version,
                    "description": d.description,
                    "kind": d.kind,
                    "breakdowns": d.breakdowns,
                }
                for d in _metrics().all
            ]
        },
    )


@router.get(
    "/admin/metrics/<name>",
    summary="A metric over a range, by its breakdowns",
    description=(
        "Rows of {group, numerator, denominator, value, ci95} over [from, to) (default: the "
        f"last {DEFAULT_DAYS} days), for the newest version or `version`."
    ),
    tags=[TAG],
    operation_id="getMetric",
    responses={
        **_ok(200, MetricReport, "The report"),
        **error_docs(
            {
                403: _FORBIDDEN,
                404: "No such metric or version",
                422: "A breakdown the definition does not allow, or a bad range",
                503: "The report is still running on Athena (ask again), or no lake is set",
            }
        ),
    },
)
def get_metric(
    name: str,
    group_by: Annotated[str | None, Query(max_length=200)] = None,
    version: Annotated[int | None, Query(ge=1)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Any:
    require_iam(router.current_event)
    definition = _metrics().get(name, version)
    if definition is None:
        what = f"{name} version {version}" if version else name
        raise ApiError(404, "unknown_metric", f"no metric {what[:80]!r}")
    keys = [k.strip() for k in (group_by or "").split(",") if k.strip()]
    refused = [k for k in keys if k not in definition.breakdowns]
    if refused:
        allowed = ", ".join(definition.breakdowns) or "none"
        raise ApiError(
            422,
            "invalid_breakdown",
            f"{definition.name} cannot be broken down by {', '.join(k[:40] for k in refused)} "
            f"(allowed: {allowed})",
        )
    now = clock.now()  # the system's clock, which the local stack moves
    to = _moment("to", end, now)
    since = _moment("from", start, to - timedelta(days=DEFAULT_DAYS))
    if not since < to or to - since > timedelta(days=MAX_DAYS):
        raise ApiError(422, "invalid_range", f"from must be before to, at most {MAX_DAYS} days")
    from ..metrics.athena import ReportTimeout

    try:
        body = metric_report(definition, keys, since, to, _runner())
    except ReportTimeout as exc:
        raise ApiError(503, "report_running", str(exc)) from exc
    return _json(200, body)
