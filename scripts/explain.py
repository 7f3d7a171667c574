"""Why a candidate would (not) get something, and why the pool would not, from the command
line (support, marketing ops), through the admin API.

    python scripts/explain.py c_123 --message event_reminder           # one candidate, now
    python scripts/explain.py c_123 --campaign cmp_... --at 2026-12-01T09:00:00Z
    python scripts/explain.py c_123 --journey job_nurture               # entered? next step?
    python scripts/explain.py c_123 --job job-42                        # the job's alert
    python scripts/explain.py c_123 --decision 999f52dd...              # a recorded decision
    python scripts/explain.py why-not --campaign cmp_... [--limit N]    # the pool, by reason

Exactly one of --message, --campaign, --journey, --job, --decision (a recorded decision,
explained at its time with its recorded inputs, and what changed since). --at: the moment
(ISO 8601 with a timezone; default now by the system's clock; not with --decision). One
candidate prints one line per check (✓ held, ✗ did not) and then the outcome and its
reason; why-not prints how many are reached and, for each reason, how many are not, with an
example candidate and why. --json prints the API's JSON instead.
`make explain CANDIDATE=c_123 MESSAGE=event_reminder` (or DECISION=<decision id>).

--api, --region and the SigV4 signing are scripts/campaign.py's: the default API is
$TALENTOPS_API_URL, else the local stack (http://127.0.0.1:$LOCAL_API_PORT, port 3000 by
default); the default AWS credential chain signs (dummy credentials for the local stack).
An error answer of the API is printed with its code and message, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.campaign import (  # noqa: E402  (the repository root on the path first)
    Api,
    CliError,
    Transport,
    default_api,
    table,
    urllib_transport,
)

SUBJECTS = ("message", "campaign", "journey", "job", "decision")
WHY_NOT = "why-not"
MARKS = {True: "✓", False: "✗"}


# -- requests ---------------------------------------------------------------------------------


def subject_query(args: argparse.Namespace) -> dict[str, str]:
    query = {kind: getattr(args, kind) for kind in SUBJECTS if getattr(args, kind)}
    if len(query) != 1:
        raise CliError(
            "give exactly one of --message, --campaign, --journey, --job, --decision", code=2
        )
    if args.at and "decision" in query:
        raise CliError("--at: a decision is explained at its own time", code=2)
    if args.at:
        query["at"] = args.at
    return query


def explain_path(candidate_id: str, query: Mapping[str, str]) -> str:
    return f"/admin/candidates/{quote(candidate_id, safe='')}/explain?{urlencode(query)}"


def why_not_path(query: Mapping[str, str], limit: int | None) -> str:
    full = dict(query)
    if limit is not None:
        full["limit"] = str(limit)
    return f"/admin/why-not?{urlencode(full)}"


# -- output -----------------------------------------------------------------------------------


def _subject_line(subject: Mapping[str, Any]) -> str:
    for kind in ("campaign", "journey", "job"):
        if subject.get(kind):
            text = f"{kind} {subject[kind]}"
            if subject.get("message"):
                text += f" (message {subject['message']})"
            return text
    return f"message {subject.get('message')}"


def show_explanation(found: Mapping[str, Any], out: TextIO) -> None:
    """One line per step (✓/✗ check: why), then the outcome and its reason."""
    subject = found.get("subject") or {}
    out.write(f"{found.get('candidate_id')} and {_subject_line(subject)}, at {found.get('at')}\n\n")
    for step in found.get("steps") or []:
        mark = MARKS[bool(step.get("passed"))]
        out.write(f"  {mark} {step.get('check')}: {step.get('why')}\n")
    outcome = str(found.get("outcome"))
    words = {
        "send": "would be sent",
        "defer": "would be sent later",
        "suppress": "would be held back",
        "not_eligible": "not eligible",
    }
    line = f"\noutcome: {outcome} ({words.get(outcome, outcome)})"
    if found.get("reason"):
        line += f", reason {found['reason']}"
    if found.get("variant"):
        line += f", variant {found['variant']}"
    when = subject.get("deferred_until") or subject.get("send_at")
    if when and outcome in ("send", "defer"):
        line += f", at {when}"
    out.write(line + "\n")
    if found.get("decision"):
        show_recorded(found, out)


def show_recorded(found: Mapping[str, Any], out: TextIO) -> None:
    """A recorded decision (--decision): whether its recorded inputs reproduce it, which
    inputs changed since, and what today's inputs would give at its time."""
    recorded = found["decision"]
    said = recorded.get("variant") or recorded.get("reason") or ""
    out.write(f"recorded: {recorded.get('outcome')} {said} ({recorded.get('status')})\n")
    if not found.get("inputs_recorded"):
        out.write("no inputs were recorded with this decision (it predates them)\n")
    else:
        out.write(
            f"reproduced from its recorded inputs: {'yes' if found.get('reproduced') else 'no'}\n"
        )
    changed = found.get("changed") or []
    out.write("\ninputs changed since:" + ("" if changed else " none") + "\n")
    for change in changed:
        out.write(f"  - {change.get('why')}\n")
    current = found.get("current") or {}
    said = current.get("variant") or current.get("reason") or ""
    verdict = "a different outcome" if found.get("outcome_changed") else "the same outcome"
    out.write(f"\non today's inputs at its time: {current.get('outcome')} {said} ({verdict})\n")
    for note in found.get("notes") or []:
        out.write(f"note: {note}\n")


def show_why_not(found: Mapping[str, Any], out: TextIO) -> None:
    subject = found.get("subject") or {}
    out.write(
        f"why not: {subject.get('kind')} {subject.get('name')}, at {found.get('at')} "
        "(nothing was sent)\n\n"
    )
    rows: list[list[Any]] = [
        ["profiles explained", "", found.get("scanned", 0)],
        ["reached now", "", found.get("reached", 0)],
    ]
    for name, reason in (found.get("deferred") or {}).items():
        rows.append(["reached later", name, reason.get("count", 0)])
    for name, reason in (found.get("not_reached") or {}).items():
        rows.append(["not reached", name, reason.get("count", 0)])
    out.write(table(rows, ["", "reason", "candidates"]) + "\n")
    examples = [
        [name, reason.get("example"), str(reason.get("why") or "-")[:120]]
        for group in ("not_reached", "deferred")
        for name, reason in (found.get(group) or {}).items()
    ]
    if examples:
        out.write("\nan example of each reason:\n")
        out.write(table(examples, ["reason", "candidate", "first check that failed"]) + "\n")
    if not found.get("complete", True):
        out.write("\n(stopped at --limit: not the whole pool)\n")


# -- the command ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="explain",
        description="Why a candidate would (not) get a message, a campaign, a journey's next "
        "step or a job alert; or `why-not`: the pool by first reason.",
    )
    parser.add_argument(
        "target",
        metavar="CANDIDATE|why-not",
        help="a candidate id (c_...), or why-not for the whole pool",
    )
    group = parser.add_argument_group("the subject (exactly one)")
    group.add_argument("--message", help="a catalogue message, e.g. event_reminder")
    group.add_argument("--campaign", help="a campaign id, cmp_...")
    group.add_argument("--journey", help="a journey, e.g. job_nurture")
    group.add_argument("--job", help="a job id (its alert)")
    group.add_argument(
        "--decision",
        help="a recorded decision id of the candidate: explained at its time with its "
        "recorded inputs, and the inputs that changed since",
    )
    parser.add_argument("--at", help="the moment, ISO 8601 with a timezone (default now)")
    parser.add_argument("--limit", type=int, help="why-not: stop after about N profiles")
    parser.add_argument(
        "--api", help="the HTTP API's base URL (default $TALENTOPS_API_URL, else the local stack)"
    )
    parser.add_argument("--region", help="SigV4 region")
    parser.add_argument("--json", action="store_true", help="print the API's JSON")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per HTTP request (default 120)"
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    args.api = args.api or default_api()
    return args


def run(args: argparse.Namespace, *, out: TextIO, transport: Transport = urllib_transport) -> int:
    query = subject_query(args)
    if args.limit is not None and args.target != WHY_NOT:
        raise CliError("--limit is for why-not", code=2)
    api = Api(args.api, region=args.region, transport=transport, timeout=args.timeout)
    if args.target == WHY_NOT:
        found = api.call("GET", why_not_path(query, args.limit))
        show = show_why_not
    else:
        found = api.call("GET", explain_path(args.target, query))
        show = show_explanation
    if args.json:
        out.write(json.dumps(found, indent=2, ensure_ascii=False) + "\n")
    else:
        show(found, out)
    return 0


def main(argv: Sequence[str] | None = None, *, transport: Transport = urllib_transport) -> int:
    args = parse_args(argv)
    try:
        return run(args, out=sys.stdout, transport=transport)
    except CliError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"error: {exc.message}\n")
        for line in exc.details:
            sys.stderr.write(f"  {line}\n")
        return exc.code
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:  # e.g. `... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
