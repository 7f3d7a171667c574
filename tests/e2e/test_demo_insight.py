"""`make demo-insight` in small (scripts/demo_insight.py, docs/metrics.md): a generated pool of
a few hundred candidates, the same code with a fixed seed, on a local stack of its own (its
lake holds this simulation only). The metrics the admin API answers from the lake recover
the simulated truth: every rate within TOLERANCE_SIGMAS standard errors of its simulated
value (the standard error of a proportion over the report's own denominator), every true
lift inside the report's 95 % interval; and the HTML report shows the same lift."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from scripts import demo_insight

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

CANDIDATES = 300
SEED = 20261205


def test_the_report_recovers_the_simulated_truth(
    start_stack: Callable[..., LocalStack],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The demo points boto3 at the stack and the importer sets TABLE_NAME: undone afterwards.
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID"):
        monkeypatch.setenv(name, "testing" if name != "AWS_DEFAULT_REGION" else "eu-west-1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TABLE_NAME", "")
    pool = tmp_path / "pool.jsonl"
    rows = demo_insight.small_pool(CANDIDATES, SEED, datetime.now(UTC))
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = tmp_path / "report.html"
    stack = start_stack(None)
    try:
        checks = demo_insight.run(
            stack.aws_url, stack.api_url, stack.lake_dir, pool, seed=SEED, out=report
        )
    finally:
        stack.stop()
        from talentops import wiring

        wiring.reset()
    print(demo_insight.table(checks))

    # Every rate of every variant, and the lift, was measured and recovered.
    variants = set(demo_insight.WORLD.variants)
    for metric in demo_insight.RATES:
        assert {c.group for c in checks if c.metric == metric} == variants
    [lift] = [c for c in checks if c.metric == "application_lift"]
    assert not [c for c in checks if not c.ok], demo_insight.table(checks)
    # Each rate's tolerance is its standard error at the truth over the report's own n.
    for c in checks:
        assert c.measured is not None and c.n > 0
        if c.metric != "application_lift":
            sigma = math.sqrt(c.truth * (1 - c.truth) / c.n)
            assert c.rule == f"\u00b1{demo_insight.TOLERANCE_SIGMAS * sigma:.3f}"
            assert abs(c.measured - c.truth) <= demo_insight.TOLERANCE_SIGMAS * sigma
    # About a fifth of the pool was held out, and the lift is the one the report shows.
    assert (
        0.1 * CANDIDATES
        <= lift.n - sum(c.n for c in checks if c.metric == "delivery_rate")
        <= 0.3 * CANDIDATES
    )
    page = html.unescape(report.read_text(encoding="utf-8"))
    assert "application_lift" in page
    assert lift.low is not None and lift.high is not None
    assert lift.measured is not None
    shown = f"{100 * lift.measured:+.1f} pts"
    interval = f"{100 * lift.low:+.1f} \u2013 {100 * lift.high:+.1f} pts"
    assert shown in page and interval in page, (shown, interval)
