"""Bulk-load a talent pool from an ATS export (CSV or JSON Lines) through the merge rules.

    python scripts/import_pool.py FILE [--source talent.ats] [--observed-at RFC3339]
                                       [--table NAME] [--no-events] [--batch-size 100]
                                       [--restart] [--report PATH] [--state PATH]

`make import FILE=...` runs it against the local stack. Rows are validated with the contract's
models and applied in batches (docs/talent-pool.md); every rejected row is written to the
report (default out/import/FILE.rejected.csv: line, reason) and the import goes on.
Progress is saved after each batch (default out/import/FILE.import-state.json): run the
command again after an interruption and it continues where it stopped (--restart starts
over; applying a row twice changes nothing).

The table is --table, else TABLE_NAME, else the TalentPoolTableName output of the local
stack's CloudFormation stack (LOCAL_STACK_NAME, default "local"). The bus is EVENT_BUS_NAME
(default talent-events); --no-events imports without `Candidate Profile Changed`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.talent_pool.importer import (  # noqa: E402
    ImportRow,
    Rejection,
    parse_row,
)

LOCAL_ENDPOINT = "http://127.0.0.1:{port}"


@dataclass
class Stats:
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    written: int = 0
    one_by_one: int = 0
    unchanged: int = 0
    events: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "started" and isinstance(v, int)}


# -- reading --------------------------------------------------------------------------------


def file_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise SystemExit(f"{path.name}: unknown format (use .csv or .jsonl)")


def records(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | Rejection]]:
    """(line number, raw row or rejection) for each row of the file, in order."""
    from talentops.talent_pool.importer import COLUMNS

    with path.open(encoding="utf-8-sig", newline="") as handle:
        if kind == "csv":
            reader = csv.DictReader(handle)
            known = set(COLUMNS)
            for raw in reader:
                line = reader.line_num
                if None in raw:
                    yield line, Rejection(line, "more cells than the header has columns")
                    continue
                # A column the contract does not know only matters where it holds a value.
                yield (
                    line,
                    {k: v for k, v in raw.items() if k in known or (v is not None and v.strip())},
                )
            return
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line, Rejection(line, f"not valid JSON ({exc.msg}, column {exc.colno})")
                continue
            if not isinstance(raw, dict):
                yield line, Rejection(line, "not a JSON object")
                continue
            yield line, raw


def count_rows(path: Path, kind: str) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if kind == "csv":
            return sum(1 for _ in csv.reader(handle)) - 1
        return sum(1 for text in handle if text.strip())


def file_identity(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    return {
        "file": path.name,
        "size": path.stat().st_size,
        "sha256_head": hashlib.sha256(head).hexdigest(),
    }


# -- progress, state, report ----------------------------------------------------------------


class Progress:
    def __init__(self, total: int, stream: Any = sys.stderr):
        self.total = max(total, 1)
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_tenth = -1

    def show(self, stats: Stats, done_rows: int) -> None:
        share = min(done_rows / self.total, 1.0)
        rate = done_rows / max(time.monotonic() - stats.started, 1e-6)
        filled = int(share * 30)
        bar = "#" * filled + "-" * (30 - filled)
        text = (
            f"[{bar}] {done_rows:>7,}/{self.total:,} rows  "
            f"accepted {stats.accepted:,}  rejected {stats.rejected:,}  {rate:,.0f} rows/s"
        )
        if self.tty:
            self.stream.write("\r" + text)
        elif int(share * 10) != self.last_tenth:
            self.last_tenth = int(share * 10)
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def load_state(path: Path, identity: dict[str, Any], restart: bool) -> dict[str, Any] | None:
    if restart or not path.exists():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if state.get("identity") != identity:
        raise SystemExit(
            f"{path.name} belongs to another version of the file; use --restart to start over"
        )
    return state


def save_state(path: Path, identity: dict[str, Any], line: int, stats: Stats, done: bool) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(
        json.dumps(
            {"identity": identity, "line": line, "done": done, "stats": stats.as_dict()}, indent=2
        ),
        encoding="utf-8",
    )
    tmp.replace(path)


def open_report(path: Path, resume_line: int) -> Any:
    """The rejected-rows report; on resume, only the rejections of rows already done stay."""
    kept: list[list[str]] = []
    if resume_line and path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            kept = [r for r in csv.reader(handle)][1:]
        kept = [r for r in kept if r and int(r[0]) <= resume_line]
    handle = path.open("w", encoding="utf-8", newline="")
    writer = csv.writer(handle)
    writer.writerow(["line", "reason"])
    writer.writerows(kept)
    return handle, writer, len(kept)


# -- AWS ------------------------------------------------------------------------------------


def resolve_table(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("TABLE_NAME"):
        return os.environ["TABLE_NAME"]
    import boto3

    stack = os.environ.get("LOCAL_STACK_NAME", "local")
    try:
        outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0][
            "Outputs"
        ]
    except Exception as exc:
        raise SystemExit(
            f"no table given: set --table or TABLE_NAME (stack {stack!r} not readable: "
            f"{type(exc).__name__})"
        ) from exc
    for output in outputs:
        if output["OutputKey"] == "TalentPoolTableName":
            return str(output["OutputValue"])
    raise SystemExit(f"stack {stack!r} has no TalentPoolTableName output")


def build_importer(source: str, events: bool) -> Any:
    from talentops import wiring
    from talentops.clock import now
    from talentops.talent_pool.importer import PoolImporter

    service = wiring.talent_pool_service()
    return PoolImporter(
        repo=wiring.repository(),
        service=service,
        publisher=wiring.publisher() if events else None,
        source=source,
        now=now,
    )


# -- the command ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--source", default="talent.ats", help="the system the rows come from")
    parser.add_argument(
        "--observed-at", help="RFC 3339 time for rows without observed_at (the export's time)"
    )
    parser.add_argument("--table")
    parser.add_argument("--no-events", action="store_true")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--restart", action="store_true")
    parser.add_argument(
        "--out", type=Path, default=Path("out/import"), help="where the report and state go"
    )
    parser.add_argument("--report", type=Path, help="default OUT/FILE.rejected.csv")
    parser.add_argument("--state", type=Path, help="default OUT/FILE.import-state.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, out: Any = sys.stdout, err: Any = sys.stderr) -> Stats:
    path: Path = args.file
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    if not args.source.startswith("talent.") or args.source == "talent.personalization":
        raise SystemExit("--source must name a producing system, e.g. talent.ats")
    default_at = datetime.fromisoformat(args.observed_at) if args.observed_at else None
    if default_at is not None and default_at.tzinfo is None:
        raise SystemExit("--observed-at needs an offset, e.g. 2026-11-30T18:00:00Z")
    kind = file_kind(path)
    os.environ["TABLE_NAME"] = resolve_table(args.table)
    from talentops import wiring
    from talentops.clock import now

    wiring.reset()
    importer = build_importer(args.source, not args.no_events)

    identity = file_identity(path)
    args.out.mkdir(parents=True, exist_ok=True)
    state_path = args.state or args.out / (path.name + ".import-state.json")
    report_path = args.report or args.out / (path.name + ".rejected.csv")
    state = load_state(state_path, identity, args.restart)
    resume = int(state["line"]) if state else 0
    stats = Stats()
    if state:
        for key, value in state.get("stats", {}).items():
            setattr(stats, key, value)
        if state.get("done"):
            out.write(f"{path.name}: imported already ({state_path.name}); --restart to redo\n")
            return stats
        out.write(f"{path.name}: resuming after line {resume:,}\n")
    handle, report, _ = open_report(report_path, resume)
    progress = Progress(count_rows(path, kind), err)
    pending: list[ImportRow] = []
    last_line = resume

    def flush() -> None:
        nonlocal pending
        if pending:
            result = importer.apply(pending)
            stats.written += result.written
            stats.one_by_one += result.one_by_one
            stats.unchanged += result.unchanged
            stats.events += result.events
            for rejection in result.rejected:
                report.writerow([rejection.line, rejection.reason])
                stats.rejected += 1
                stats.accepted -= 1
            pending = []
        handle.flush()
        save_state(state_path, identity, last_line, stats, done=False)
        if not args.quiet:
            progress.show(stats, stats.lines)

    try:
        for line, raw in records(path, kind):
            if line <= resume:
                continue
            stats.lines += 1
            row = (
                raw
                if isinstance(raw, Rejection)
                else parse_row(
                    raw, line=line, now=now(), default_observed_at=default_at, csv=kind == "csv"
                )
            )
            if isinstance(row, Rejection):
                report.writerow([row.line, row.reason])
                stats.rejected += 1
            else:
                stats.accepted += 1
                pending.append(row)
            last_line = line
            if len(pending) >= args.batch_size:
                flush()
        flush()
        save_state(state_path, identity, last_line, stats, done=True)
    finally:
        handle.close()
        if not args.quiet:
            progress.close()
    elapsed = time.monotonic() - stats.started
    out.write(
        f"{path.name}: {stats.lines:,} rows, {stats.accepted:,} imported "
        f"({stats.written:,} candidates written in batches, {stats.one_by_one:,} rows one by "
        f"one, {stats.unchanged:,} unchanged), {stats.rejected:,} rejected -> {report_path}"
        f" ({elapsed:,.1f} s)\n"
    )
    return stats


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stats = run(args)
    return 0 if stats.accepted or not stats.lines else 1


if __name__ == "__main__":
    raise SystemExit(main())
