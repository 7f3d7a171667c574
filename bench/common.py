"""What every benchmark module shares: paths, the environment of a function, clocks and
medians, the machine and the commit."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "talentops"
FUNCTIONS = ROOT / "functions"
TEMPLATES = ROOT / "templates"

REGION = "eu-west-1"
TABLE = "talent-pool-bench"
BUS = "talent-events"
SENDER = "careers@talent.example.com"
TOKEN_PARAM = "/talentops/token-key"
TOKEN_KEY = "0123456789abcdef0123456789abcdef"

# The environment template.yaml gives every function (values for this machine).
FUNCTION_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TABLE_NAME": TABLE,
    "EVENT_BUS_NAME": BUS,
    "SENDER_ADDRESS": SENDER,
    "SENDER_NAME": "Example Careers",
    "COMPANY_NAME": "Example Corp",
    "POSTAL_ADDRESS": "1 Example Street, Dublin, Ireland",
    "TOKEN_KEY_PARAMETER": TOKEN_PARAM,
    "API_BASE_URL": "https://api.careers.example.com",
    "CAREERS_SITE_URL": "https://careers.example.com",
    "TEMPLATES_DIR": str(TEMPLATES),
    "POWERTOOLS_SERVICE_NAME": "talentops",
    "POWERTOOLS_METRICS_NAMESPACE": "TalentOpsBench",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_DEV": "false",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def use_repository() -> None:
    """Put the shared layer and the repository root on sys.path, as the tests do."""
    for path in (str(LAYER), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


def apply_function_env() -> None:
    os.environ.update(FUNCTION_ENV)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)


def silence_logs() -> None:
    """Powertools writes log lines to the stdout it saw at import: send them to /dev/null
    (the formatting and redaction still run, as in Lambda)."""
    import logging

    devnull = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the process)
    for name in ("talentops", os.environ.get("POWERTOOLS_SERVICE_NAME", "talentops")):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)


# -- clocks and medians -------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and the range of the repeats, for the JSON results."""
    return {
        "median": median(values),
        "min": min(values) if values else float("nan"),
        "max": max(values) if values else float("nan"),
        "repeats": len(values),
    }


def time_interleaved(
    cases: Mapping[str, Callable[[], object]],
    *,
    iterations: int,
    repeats: int,
    clock: Callable[[], int] = time.process_time_ns,
) -> dict[str, list[float]]:
    """Nanoseconds per call of each case, one value per repeat.

    The cases run in turn within each repeat (A B C, A B C, ...), so that a slow phase of the
    machine touches all of them alike. Each batch starts after a collection, with the
    collector left on (the code under test allocates as it would in Lambda).
    """
    results: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm caches (compiled templates, lru caches)
        for _ in range(min(20, iterations)):
            fn()
    # What exists now (the bench's own objects, moto's) is not the code under test's garbage:
    # keep it out of the collector's way, as a Lambda process would not have it.
    gc.collect()
    gc.freeze()
    try:
        for _ in range(repeats):
            for name, fn in cases.items():
                gc.collect()
                start = clock()
                for _ in range(iterations):
                    fn()
                results[name].append((clock() - start) / iterations)
    finally:
        gc.unfreeze()
    return results


def calibrate(fn: Callable[[], object], target_s: float = 0.05) -> int:
    """Iterations so that one batch takes about target_s of CPU."""
    n = 1
    while True:
        start = time.process_time_ns()
        for _ in range(n):
            fn()
        elapsed = (time.process_time_ns() - start) / 1e9
        if elapsed >= target_s / 4 or n >= 1_000_000:
            return max(1, int(n * target_s / max(elapsed, 1e-9)))
        n *= 4


# -- the machine and the commit ------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "commit": commit,
        "uncommitted_changes": bool(dirty) if dirty is not None else None,
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
