"""Simulate a content change before it ships: the recorded triggers of a time range replayed
through the decision and journey logic with the recorded inputs, with the current content
(templates/) and with the changed one, sending and writing nothing; the difference says who
would gain or lose which message or variant, with counts by reason and examples of both
explanations side by side.

    python scripts/simulate.py --content DIR [--from T] [--to T] [--log FILE]
                               [--decisions FILE | --api URL] [--examples N] [--json]
    make simulate CONTENT=dir FROM=2026-12-01T00:00:00Z TO=2026-12-08T00:00:00Z

--content: the changed content directory (catalogue.yaml, journeys/, optionally policy.yaml:
a talent pool policy laid over the shipped one); default templates/ (then there is no
difference). It is checked first as `make check-content` checks it: a malformed directory
fails with every problem and its file, path and line (exit 1).

--log: the event log (one event a JSON line: `id`, `time`, `detail-type`, `source`,
`detail`); default the local stack's, `$LOCAL_DATA_DIR/events.jsonl` (out/). A range
without events says so (exit 1). --from / --to: ISO 8601 moments with a timezone; the range
is [from, to).

The recorded decisions of the range's triggers come from --decisions (JSON lines of decision
records, as GET /admin/candidates/{id}/decisions lists them) or else from that route of the
admin API (--api, signed as scripts/campaign.py signs; default the local stack), for the
candidates the log's `Message Sent` / `Message Suppressed` events name.

Policies (consent, contact, talent pool) are template.yaml's defaults for both sides, with the
changed directory's policy.yaml for the changed side. Exit 0 when the simulation ran (whether
or not it found differences), 1 on bad input, 2 on bad options.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT / "layers" / "talentops"), str(ROOT)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

from scripts.campaign import (  # noqa: E402  (the repository root on the path first)
    Api,
    CliError,
    Transport,
    default_api,
    table,
    urllib_transport,
)

DEFAULT_CONTENT = ROOT / "templates"
OWN_EVENTS = ("Message Sent", "Message Suppressed")
COLUMN = 58
MARKS = {True: "✓", False: "✗"}


def default_log(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    folder = env.get("LOCAL_DATA_DIR")
    return (Path(folder) if folder else ROOT / "out") / "events.jsonl"


def parse_moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise CliError(f"--{name}: not an ISO 8601 date and time", code=2) from exc
    if moment.tzinfo is None:
        raise CliError(f"--{name}: give a timezone (e.g. Z or +01:00)", code=2)
    return moment


# -- loading ----------------------------------------------------------------------------------


def template_policies() -> dict[str, str]:
    """The consent, contact and talent pool policies as template.yaml's defaults set them."""
    from devstack.template import load_template

    parameters = load_template(ROOT / "template.yaml").get("Parameters") or {}

    def default(name: str) -> str:
        return str((parameters.get(name) or {}).get("Default") or "")

    return {
        "consent_policy": default("ConsentPolicy"),
        "contact_policy": default("ContactPolicy"),
        "talent_pool_policy": default("TalentPoolPolicy"),
    }


def content_problems(content: Path) -> list[str]:
    """Every problem of the content directory, as `make check-content` finds them, each
    with its file (under ``content``), path and line."""
    from scripts.check_content import check

    if not content.is_dir():
        return [f"{content}: not a directory"]
    found = []
    for problem in check(content, ROOT / "template.yaml"):
        where = content / problem.file
        if not where.exists() and (content / "journeys" / problem.file).is_file():
            where = content / "journeys" / problem.file  # a journey's problem names its file
        if problem.file == "template.yaml":
            where = ROOT / "template.yaml"
        found.append(str(replace(problem, file=str(where))))
    return found


def load_sides(content: Path) -> tuple[Any, Any]:
    from talentops.simulate.content import load_content

    policies = template_policies()
    return load_content(DEFAULT_CONTENT, **policies), load_content(content, **policies)


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise CliError(f"no event log at {path} (the local stack writes it as events are put)")
    events = []
    with path.open(encoding="utf-8") as log:
        for line in log:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def decision_of(record: Mapping[str, Any], candidate_id: str | None = None) -> Any:
    """A decision record as stored, or as GET /admin/candidates/{id}/decisions lists it
    (its reasons under `why`, the candidate given by the route)."""
    from talentops.models.state import Decision

    data = dict(record)
    if "reasons" not in data and "why" in data:
        data["reasons"] = data.pop("why")
    data.setdefault("candidate_id", candidate_id)
    return Decision.model_validate(data)


def read_decisions(path: Path) -> list[Any]:
    if not path.is_file():
        raise CliError(f"--decisions: no file {path}")
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            found.append(decision_of(json.loads(line)))
        except ValueError as exc:
            raise CliError(f"--decisions: line {number} is not a decision record") from exc
    return found


def candidates_of(events: Iterable[Mapping[str, Any]], trigger_ids: set[str]) -> list[str]:
    """The candidates the system's announcements name for the given triggers."""
    found: set[str] = set()
    for event in events:
        detail = event.get("detail")
        if event.get("detail-type") not in OWN_EVENTS or not isinstance(detail, Mapping):
            continue
        trigger = detail.get("trigger") or {}
        if trigger.get("event_id") in trigger_ids and detail.get("candidate_id"):
            found.add(str(detail["candidate_id"]))
    return sorted(found)


def fetch_decisions(api: Api, candidate_ids: Sequence[str]) -> list[Any]:
    found = []
    for candidate_id in candidate_ids:
        answer = api.call("GET", f"/admin/candidates/{quote(candidate_id, safe='')}/decisions")
        for record in (answer or {}).get("decisions", []):
            found.append(decision_of(record, candidate_id))
    return found


# -- output -----------------------------------------------------------------------------------


def _versions(report: Mapping[str, Any]) -> str:
    current, changed = report["content"]["current"], report["content"]["changed"]
    parts = []
    for kind in ("catalogue", "journeys", "policy"):
        a, b = current.get(kind, "?"), changed.get(kind, "?")
        parts.append(f"{kind} {a} -> {b}" if a != b else f"{kind} unchanged")
    return "; ".join(parts)


def _verdict(side: Mapping[str, Any]) -> str:
    if side["outcome"] == "send":
        return f"send, variant {side['variant']}"
    return f"{side['outcome']} ({side['reason']})"


def _column(side: Mapping[str, Any]) -> list[str]:
    lines = [_verdict(side)]
    for step in side.get("steps", []):
        lines.append(f"{MARKS[bool(step['passed'])]} {step['check']}: {step['why']}")
    return lines


def _wrapped(lines: Sequence[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(line, COLUMN, subsequent_indent="  ") or [""])
    return out


def side_by_side(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Both explanations in two columns, each step wrapped to the column."""
    left, right = _wrapped(_column(before)), _wrapped(_column(after))
    rows = [f"    {'current content':<{COLUMN}} | changed content"]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        rows.append(f"    {a:<{COLUMN}} | {b}".rstrip())
    return rows


def show(report: Mapping[str, Any], out: TextIO) -> None:
    span = report["range"]
    out.write(
        f"simulated {span['from'] or 'the start'} to {span['to'] or 'the end'}: "
        f"{report['events']} events, {report['triggers']} triggers, "
        f"{report['decisions_replayed']} messages decided\n"
    )
    out.write(f"content: {_versions(report)}\n")
    done = report["reproduced"]
    total = done["matched"] + done["differ"]
    out.write(f"the current content reproduces {done['matched']} of {total} recorded decisions\n")
    for example in done["examples"]:
        out.write(
            f"  not reproduced: {example['candidate_id']} {example['message']}: recorded "
            f"{_verdict(example['recorded'])}, replayed {_verdict(example['replayed'])}\n"
        )
    if report["unresolved_triggers"]:
        out.write(
            f"{report['unresolved_triggers']} triggers with no recorded decision (no candidate "
            "known to replay them for)\n"
        )
    if not report["differences"]:
        out.write("\nno difference: the changed content decides as the current content does\n")
        return
    many = report["differences"]
    out.write(f"\n{many} difference{'s' if many != 1 else ''}\n")
    rows = [
        [kind.replace("_", " "), why, count]
        for kind in ("gained", "lost", "variant_changed", "reason_changed")
        for why, count in report[kind].items()
    ]
    out.write(table(rows, ["change", "why", "candidates"]) + "\n")
    rows = [
        [name, counts.get("gained", 0), counts.get("lost", 0), counts.get("variant_changed", 0)]
        for name, counts in report["by_message"].items()
    ]
    out.write("\n" + table(rows, ["message", "gained", "lost", "variant changed"]) + "\n")
    for kind, examples in report["examples"].items():
        for example in examples:
            trigger = example["trigger"]
            out.write(
                f"\n[{kind.replace('_', ' ')}] {example['candidate_id']} {example['message']} "
                f"on {trigger['detail_type']} {trigger['event_id']}: {example['why']}\n"
            )
            out.write("\n".join(side_by_side(example["before"], example["after"])) + "\n")


# -- the command ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simulate.py",
        description="Replay the recorded triggers of a range with changed content: who would "
        "gain or lose which message or variant. Sends and writes nothing.",
    )
    parser.add_argument("--content", type=Path, default=DEFAULT_CONTENT)
    parser.add_argument("--from", dest="start", metavar="FROM")
    parser.add_argument("--to", dest="end", metavar="TO")
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--decisions", type=Path, default=None)
    parser.add_argument("--api", default=None)
    parser.add_argument("--region", default=None)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--examples", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    return parser


def run(args: argparse.Namespace, *, out: TextIO, transport: Transport = urllib_transport) -> int:
    from talentops.models.events import OWN_SOURCE
    from talentops.simulate.replay import simulate, triggers_in

    start = parse_moment(args.start, "from")
    end = parse_moment(args.end, "to")
    if start and end and end <= start:
        raise CliError("--to must be after --from", code=2)
    problems = content_problems(args.content)
    if problems:
        raise CliError(
            f"{len(problems)} problem(s) in the content directory {args.content}",
            details=problems,
        )
    log = args.log or default_log()
    events = read_log(log)
    count, triggers = triggers_in(events, start, end)
    if count == 0:
        raise CliError(
            f"no events between {args.start or 'the start'} and {args.end or 'the end'} in {log}"
        )
    if args.decisions is not None:
        decisions = read_decisions(args.decisions)
    else:
        api = Api(
            args.api or default_api(), region=args.region, transport=transport, timeout=args.timeout
        )
        own = [e for e in events if e.get("source") == OWN_SOURCE]
        decisions = fetch_decisions(api, candidates_of(own, {str(t.get("id")) for t in triggers}))
    current, changed = load_sides(args.content)
    report = simulate(
        events=events, decisions=decisions, current=current, changed=changed, start=start, end=end
    ).as_dict(examples=args.examples)
    if args.json:
        out.write(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        show(report, out)
    return 0


def main(argv: Sequence[str] | None = None, *, transport: Transport = urllib_transport) -> int:
    try:
        args = build_parser().parse_args(argv)
        return run(args, out=sys.stdout, transport=transport)
    except CliError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"error: {exc.message}\n")
        for line in exc.details:
            sys.stderr.write(f"  {line}\n")
        return exc.code
    except BrokenPipeError:  # e.g. `... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
