"""The local stack's lake: the facts as JSON Lines files by day under a folder, queried with
DuckDB (a development dependency: on AWS the same queries run on Athena)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .lake import COLUMNS, candidate_of, lake_record
from .queries import TABLE

_lock = threading.Lock()


def append_rows(folder: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Append lake rows to `folder/day=YYYY-MM-DD/facts.jsonl`; returns how many."""
    written = 0
    by_day: dict[str, list[str]] = {}
    for row in rows:
        by_day.setdefault(str(row["day"]), []).append(json.dumps(row, separators=(",", ":")))
        written += 1
    with _lock:
        for day, lines in by_day.items():
            target = folder / f"day={day}" / "facts.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")
    return written


def append_facts(
    folder: Path,
    events: Iterable[Mapping[str, Any]],
    key_of: Callable[[str], str | None] = lambda candidate_id: candidate_id,
) -> int:
    """Append each event's lake row (what is not a fact is skipped); `key_of` gives a
    candidate's lake key (the id itself by default, for tests)."""
    rows = []
    for event in events:
        candidate = candidate_of(event)
        row = lake_record(event, key_of(candidate) if candidate else None)
        if row is not None:
            rows.append(row)
    return append_rows(folder, rows)


def duckdb_runner(folder: Path) -> Any:
    """A function that runs a query over the lake in `folder` and returns rows as dicts."""
    import duckdb

    def run(sql: str) -> list[dict[str, Any]]:
        connection = duckdb.connect()
        try:
            files = sorted(folder.glob("day=*/*.jsonl")) if folder.is_dir() else []
            columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
            connection.execute(f"CREATE TABLE {TABLE} ({columns})")
            if files:
                spec = "{" + ", ".join(f"'{n}': '{k}'" for n, k in COLUMNS.items()) + "}"
                paths = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
                connection.execute(
                    f"INSERT INTO {TABLE} SELECT * FROM read_json({paths}, "
                    f"format='newline_delimited', columns={spec})"
                )
            cursor = connection.execute(sql)
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            connection.close()

    return run
