"""`make report`: the HTML report over the local event lake (docs/metrics.md).

    python scripts/report.py [--lake out/lake] [--from 2026-11-01] [--to 2026-12-01]
                             [--out out/report.html]

Without a range: the last 30 days. The lake folder is the local stack's (LAKE_DIR).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.metrics.definitions import load_metrics  # noqa: E402
from talentops.metrics.html import build_report  # noqa: E402
from talentops.metrics.local import duckdb_runner  # noqa: E402


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", default=os.environ.get("LAKE_DIR", str(ROOT / "out" / "lake")))
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    parser.add_argument("--out", default=str(ROOT / "out" / "report.html"))
    args = parser.parse_args(argv)
    end = _moment(args.end) if args.end else datetime.now(UTC)
    start = _moment(args.start) if args.start else end - timedelta(days=30)
    if not start < end:
        parser.error("--from must be before --to")
    page = build_report(
        load_metrics(ROOT / "templates"), duckdb_runner(Path(args.lake)), start, end
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    print(f"report: {out} ({start:%Y-%m-%d} to {end:%Y-%m-%d}, lake {args.lake})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
