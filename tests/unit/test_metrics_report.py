"""The HTML report (issue 13, item 5): every chart with its numbers beside it, the
definitions at the foot, and an empty lake that says so."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from talentops.metrics.html import build_report
from talentops.metrics.local import append_facts, duckdb_runner
from tests.unit.test_metrics import METRICS, RANGE, T0, applied, fact, lake, sent, treated

__all__ = ["lake"]  # the lake of hand-counted facts, as a fixture here too


def _holdout(tmp: Path) -> None:
    facts: list[dict[str, Any]] = []
    for n in range(8):
        candidate = f"h{n}"
        if n < 4:
            facts.append(treated(sent(f"mh{n}", candidate, T0)))
        else:
            facts.append(
                fact(
                    "Message Suppressed",
                    T0,
                    candidate_id=candidate,
                    purpose="events",
                    reason="holdout",
                    template="event_followup",
                    trigger={"detail_type": "x", "event_id": "e"},
                    experiments=[{"experiment": "event_followup", "arm": "holdout"}],
                )
            )
        if n in (0, 1, 4):
            facts.append(applied(candidate, T0 + timedelta(days=2)))
    append_facts(tmp, facts)


def test_every_section_has_a_chart_its_numbers_and_the_definitions_at_the_foot(lake: Path) -> None:
    _holdout(lake)
    page = build_report(METRICS, duckdb_runner(lake), *RANGE)
    assert page.count("<svg") == 4
    assert page.count('<table class="numbers">') == 4
    for title in (
        "Funnel per message and variant",
        "Application lift against the holdout",
        "Time to apply, under each definition",
        "Suppression reasons over time",
    ):
        assert title in page
    # Numbers beside the charts, as counted by hand: the senior variant's two messages were
    # both delivered; of the default's six (two, and the holdout story's four), one was
    # delivered in the window.
    assert re.search(
        r"event_followup / senior</td><td>delivery_rate</td><td>2</td><td>2</td>", page
    )
    assert re.search(
        r"event_followup / default</td><td>delivery_rate</td><td>1</td><td>6</td>", page
    )
    # Lift: of the 4 sent in the holdout's treatment arm 2 applied (h0 and h1; the first
    # story's messages had no holdout: in neither arm), 1 of 4 held out (h4): +25 points.
    assert "<td>2/4</td><td>1/4</td><td>+25.0 pts</td>" in page
    footer = page.split("<footer>", 1)[1]
    for used in ("time_to_apply v1", "time_to_apply v2", "application_lift v1", "delivery_rate v1"):
        assert used in footer
    assert "every figure below is empty" not in page


def test_an_empty_lake_gives_a_report_that_says_it_is_empty(tmp_path: Path) -> None:
    page = build_report(METRICS, duckdb_runner(tmp_path / "nothing"), *RANGE)
    assert "The lake holds no message sent in this range" in page
    assert page.count("<svg") == 4  # the charts are drawn, empty


def test_hostile_names_in_the_lake_are_inert(tmp_path: Path) -> None:
    hostile = sent("m1", "c1", T0, "<script>alert(1)</script>")
    append_facts(tmp_path, [hostile])
    page = build_report(METRICS, duckdb_runner(tmp_path), *RANGE)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
