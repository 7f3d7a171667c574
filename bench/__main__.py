"""`python -m bench` (make bench): every benchmark, bench/results.json, the tables of
docs/performance.md, and the ratios on stdout.

    python -m bench                      # everything (about 4 minutes on 2 cores)
    python -m bench --only cpu,scale     # some modules; the others keep their last results
    python -m bench --quick              # fewer repeats, for trying the bench itself
    python -m bench --no-doc             # leave docs/performance.md alone
    python -m bench --report-only        # rewrite the doc's tables from bench/results.json

A module that fails is reported as failed (with its error) and the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from . import common, report

MODULES = (
    "requests",
    "cpu",
    "scale",
    "campaign_scale",
    "coldstart",
    "local_stack",
    "redaction",
)


def _runner(name: str, quick: bool) -> Callable[[], dict[str, Any]]:
    if name == "requests":
        from . import requests

        return requests.run
    if name == "cpu":
        from . import cpu

        return lambda: cpu.run(repeats=5 if quick else 11)
    if name == "scale":
        from . import scale

        return lambda: scale.run(repeats=3 if quick else 5)
    if name == "campaign_scale":
        from . import campaign_scale

        return campaign_scale.run  # the largest pool: CAMPAIGN_BENCH_MAX (default 1,000,000)
    if name == "coldstart":
        from . import coldstart

        return lambda: coldstart.run(runs=5 if quick else coldstart.RUNS)
    if name == "local_stack":
        from . import local_stack

        return local_stack.run
    if name == "redaction":
        from . import redaction

        return lambda: redaction.run(repeats=3 if quick else 7)
    raise ValueError(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(MODULES))
    parser.add_argument("--quick", action="store_true", help="fewer repeats (not for the doc)")
    parser.add_argument("--no-doc", action="store_true", help="do not update the doc")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite the doc's tables from bench/results.json",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        stored = json.loads(report.RESULTS.read_text(encoding="utf-8"))
        report.update_doc(report.markdown(stored))
        for line in report.summary_lines(stored):
            print(line)
        return 0
    only = [m.strip() for m in args.only.split(",") if m.strip()] or list(MODULES)
    unknown = set(only) - set(MODULES)
    if unknown:
        parser.error(f"unknown modules: {sorted(unknown)}")

    os.chdir(common.ROOT)
    common.use_repository()
    common.apply_function_env()
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    started = time.perf_counter()
    results: dict[str, Any] = {}
    if len(only) < len(MODULES) and report.RESULTS.exists():
        previous = json.loads(report.RESULTS.read_text(encoding="utf-8"))
        results = {k: v for k, v in previous.items() if k in MODULES}
    timings: dict[str, float] = {}
    for name in only:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            results[name] = _runner(name, args.quick)()
        except Exception as exc:  # report it and go on with the other modules
            traceback.print_exc(file=sys.stderr)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        timings[name] = time.perf_counter() - t0
        print(f"bench: {name} done in {timings[name]:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started
    meta = common.machine()
    meta |= {
        "wall_seconds": wall,
        "module_seconds": timings,
        "modules_run": only,
        "quick": args.quick,
    }
    results = {"meta": meta, **{k: results[k] for k in MODULES if k in results}}
    report.write_json(results)
    if not args.no_doc:
        report.update_doc(report.markdown(results))
    print()
    print(
        f"{meta['cpu']} ({meta['cores']} cores), Python {meta['python']}, "
        f"commit {meta['commit']}, {meta['date']}"
    )
    for line in report.summary_lines(results):
        print(line)
    if "shapes" in results.get("redaction", {}):
        from . import redaction

        for line in redaction.summary_lines(results["redaction"]):
            print(line)
    for name, module in results.items():
        if isinstance(module, dict) and "error" in module:
            print(f"FAILED {name}: {module['error']}")
    print(f"\nwall time {wall:.0f} s; results in {report.RESULTS.relative_to(common.ROOT)}")
    return 1 if any(isinstance(m, dict) and "error" in m for m in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
