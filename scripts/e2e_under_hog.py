"""Runs the end-to-end suite again and again while every core is kept busy, to show that the
local stack does not flake on a loaded machine.

    python scripts/e2e_under_hog.py [--runs 10] [--hogs N] [pytest args ...]

Starts N busy-loop processes (default: one per core), runs `pytest -p no:xdist -q tests/e2e`
(or the given pytest arguments) --runs times in a row, stops at the first failing run, ends
the hog processes it started, and prints one line a run and a summary: how many runs passed
in a row and how long each took. Exit status 0 only when every run passed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_HOG = "while True:\n    pass\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("pytest_args", nargs="*", default=["tests/e2e"])
    args = parser.parse_args(argv)
    hogs = [
        subprocess.Popen([sys.executable, "-c", _HOG], stdin=subprocess.DEVNULL)
        for _ in range(args.hogs)
    ]
    passed = 0
    durations: list[float] = []
    try:
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", *args.pytest_args],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            durations.append(time.monotonic() - started)
            last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            print(f"run {run}: exit {done.returncode} in {durations[-1]:.0f} s: {last}", flush=True)
            if done.returncode != 0:
                print(done.stdout[-6000:], flush=True)
                print(done.stderr[-3000:], file=sys.stderr, flush=True)
                break
            passed += 1
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    print(
        f"{passed} of {args.runs} runs passed in a row under {args.hogs} busy cores "
        f"(runs took {', '.join(f'{d:.0f}' for d in durations)} s)",
        flush=True,
    )
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
