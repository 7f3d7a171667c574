"""`make lint`: templates/metrics.yaml loads (every fact and field it names is known), and
every metric's query transpiles to Athena's dialect. Exit 1 with each problem at its line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.journeys.source import SourceError  # noqa: E402
from talentops.metrics.definitions import load_metrics  # noqa: E402
from talentops.metrics.queries import athena_sql, metric_sql  # noqa: E402


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else ROOT / "templates"
    try:
        metrics = load_metrics(root)
    except SourceError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    for definition in metrics.all:
        athena_sql(metric_sql(definition, list(definition.breakdowns), start, end))
    print(f"{len(metrics.all)} metric definitions ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
