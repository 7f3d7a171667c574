"""Metric definitions: versioned data that marketing ops own (templates/metrics.yaml).

A definition says what a number means, so that "time to apply" is one thing in every report:
the fact that starts the clock, the fact that ends it (and how the two are tied: the same
message, or the same candidate), the window, the population, and the breakdowns allowed.
A changed definition is a new version beside the old one (name and version are unique), so a
report over an old version can be made again. Loading checks every fact against the facts
the system knows and every breakdown against the lake's columns; each problem is reported
at its path and line (`make lint` runs the check).

Kinds:
- ``rate``: of the ``start`` facts in the range, the share followed by an ``end`` fact
  within ``window_days`` (tied by ``match``); the interval is Wilson's at 95 %.
- ``duration``: per candidate, the days from the first ``start`` fact in the range to the
  first ``end`` fact after it (within the window); the value is the median, the rows count
  candidates whose clock stopped over candidates whose clock started.
- ``count``: the ``start`` facts in the range (``where`` narrows them), by the breakdowns.
- ``lift``: the ``rate`` of ``end`` after a message sent in a holdout's treatment arm (the
  lake's ``arm`` is ``treatment``) minus the same rate after a held-out one (``Message
  Suppressed`` with reason ``holdout``), with a 95 % interval. A message sent without a
  holdout is in neither arm.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..journeys.source import Problem, Source, SourceError, read_source
from .lake import BREAKDOWN_COLUMNS, CANDIDATE_BREAKDOWNS, FILTER_COLUMNS, KNOWN_FACTS

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
METRICS_FILE = "metrics.yaml"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class FactRef(Model):
    fact: str | list[str] = Field(description="A detail-type the lake records, or several")
    where: dict[str, str] = Field(
        default_factory=dict, description="Column equals value, e.g. {reason: holdout}"
    )

    @property
    def facts(self) -> tuple[str, ...]:
        return (self.fact,) if isinstance(self.fact, str) else tuple(self.fact)


class MetricDefinition(Model):
    name: Name
    version: int = Field(ge=1)
    description: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    kind: Literal["rate", "duration", "count", "lift"]
    start: FactRef
    end: FactRef | None = None
    match: Literal["message", "candidate"] = "candidate"
    window_days: int = Field(default=30, ge=1, le=366)
    population: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    breakdowns: list[str] = Field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)


class MetricsFile(Model):
    metrics: list[MetricDefinition] = Field(min_length=1)


class Metrics:
    """The loaded definitions: every version of every metric."""

    def __init__(self, definitions: Iterable[MetricDefinition]):
        self.all = sorted(definitions, key=lambda d: (d.name, d.version))

    def names(self) -> list[str]:
        return sorted({d.name for d in self.all})

    def get(self, name: str, version: int | None = None) -> MetricDefinition | None:
        """The version asked for, or the newest."""
        found = [d for d in self.all if d.name == name]
        if version is not None:
            found = [d for d in found if d.version == version]
        return found[-1] if found else None

    def latest(self) -> list[MetricDefinition]:
        return [d for d in (self.get(n) for n in self.names()) if d is not None]


def _semantic_problems(source: Source, parsed: MetricsFile) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, int], int] = {}
    for index, definition in enumerate(parsed.metrics):
        at: tuple[str | int, ...] = ("metrics", index)
        if definition.key in seen:
            problems.append(
                source.problem(
                    (*at, "version"),
                    f"{definition.name} version {definition.version} is defined twice "
                    f"(first at metrics[{seen[definition.key]}]); a change is a new version",
                )
            )
        seen.setdefault(definition.key, index)
        for side in ("start", "end"):
            ref: FactRef | None = getattr(definition, side)
            if ref is None:
                continue
            for fact in ref.facts:
                if fact not in KNOWN_FACTS:
                    problems.append(
                        source.problem((*at, side, "fact"), f"unknown fact {fact[:80]!r}")
                    )
            for column in ref.where:
                if column not in FILTER_COLUMNS:
                    problems.append(
                        source.problem((*at, side, "where", column), f"unknown field {column!r}")
                    )
        if definition.kind in ("rate", "duration", "lift") and definition.end is None:
            problems.append(source.problem(at, f"a {definition.kind} needs an 'end' fact"))
        if definition.kind == "count" and definition.end is not None:
            problems.append(source.problem((*at, "end"), "a count has no 'end' fact"))
        for position, breakdown in enumerate(definition.breakdowns):
            if breakdown not in BREAKDOWN_COLUMNS:
                problems.append(
                    source.problem(
                        (*at, "breakdowns", position), f"unknown field {breakdown[:80]!r}"
                    )
                )
            elif definition.kind == "duration" and breakdown not in CANDIDATE_BREAKDOWNS:
                problems.append(
                    source.problem(
                        (*at, "breakdowns", position),
                        f"a duration is per candidate: {breakdown!r} is not a candidate's field",
                    )
                )
    return problems


def parse_metrics(text: str, file: str = METRICS_FILE) -> Metrics:
    """Definitions from YAML text; SourceError lists every problem with its line."""
    source = read_source(text, file)
    try:
        parsed = MetricsFile.model_validate(source.data)
    except ValidationError as exc:
        raise SourceError(source.validation_problems(exc)) from exc
    problems = _semantic_problems(source, parsed)
    if problems:
        raise SourceError(problems)
    return Metrics(parsed.metrics)


def load_metrics(root: str | Path) -> Metrics:
    """templates/metrics.yaml under ``root`` (the content folder)."""
    path = Path(root) / METRICS_FILE
    return parse_metrics(path.read_text(encoding="utf-8"), file=f"templates/{METRICS_FILE}")
