"""The fuzz suite: events generated from the contract's JSON Schemas (schemas/*.json) and
mutations of them, into every handler under moto; hostile requests into the API in-process.

How many examples: the profile `fuzz-ci` (the default, derandomized so that a run of `make
test` is repeatable) runs each test's CI share, at least 2,000 examples in all; `make fuzz`
sets FUZZ_EXAMPLES (50,000 in all, spread over the tests by their weights) and draws new
examples each run (docs/operations.md, "Fuzzing").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import load_handler

# The examples of every test in CI added up (each test's fuzz_settings(n)); under `make fuzz`
# a test runs FUZZ_EXAMPLES * n / CI_TOTAL, so that the suite runs FUZZ_EXAMPLES in all.
CI_TOTAL = 2_590
_TOTAL = int(os.environ.get("FUZZ_EXAMPLES") or 0)
_HEALTH = [
    HealthCheck.function_scoped_fixture,  # one emulated account per test, reused by examples
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]
settings.register_profile(
    "fuzz-ci", deadline=None, derandomize=True, database=None, suppress_health_check=_HEALTH
)
settings.register_profile(
    "fuzz", deadline=None, derandomize=False, database=None, suppress_health_check=_HEALTH
)
PROFILE = "fuzz" if _TOTAL else "fuzz-ci"


def examples(ci: int) -> int:
    """A test's examples: `ci` in CI; its share of FUZZ_EXAMPLES under `make fuzz`."""
    if not _TOTAL:
        return ci
    return max(ci, round(_TOTAL * ci / CI_TOTAL))


def fuzz_settings(ci: int) -> settings:
    return settings(settings.get_profile(PROFILE), max_examples=examples(ci))


FUNCTIONS = (
    "ingest_profile",
    "journeys",
    "record_event",
    "candidate_erasure",
    "job_fanout",
    "ses_feedback",
    "job_alert_worker",
    "campaign_worker",
    "journey_timer",
    "retention_sweeper",
    "api",
)


@pytest.fixture(scope="session")
def functions() -> dict[str, ModuleType]:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TalentOpsTest")
    return {name: load_handler(name) for name in FUNCTIONS}


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    # Thousands of examples: the handlers' log lines would fill the captured output.
    from talentops.observability import logger

    level = logger.log_level
    logger.setLevel("CRITICAL")
    yield
    logger.setLevel(level)
