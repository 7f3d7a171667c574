"""The HTML report (`make report`) opened in Chromium: the charts are drawn, each with its
numbers beside it, offline (issue 13, item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts.report import main as make_report
from tests.unit.test_metrics import lake
from tests.unit.test_metrics_report import _holdout

__all__ = ["lake"]


def test_the_report_opens_with_its_charts_and_their_numbers(
    page: Any, page_log: Any, lake: Path, tmp_path: Path, screenshot: Any
) -> None:
    _holdout(lake)
    out = tmp_path / "report.html"
    assert (
        make_report(
            ["--lake", str(lake), "--from", "2026-11-01", "--to", "2026-12-01", "--out", str(out)]
        )
        == 0
    )
    page.goto(out.as_uri())
    charts = page.locator("figure.chart svg")
    assert charts.count() == 4
    for index in range(4):
        chart = charts.nth(index)
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
        # Marks drawn (bars, rules, points are SVG paths in Vega's output).
        assert chart.locator("path").count() > 3
    assert page.locator("table.numbers").count() == 4
    assert "+25.0 pts" in page.locator("section.metric").nth(1).inner_text()
    assert "time_to_apply v2" in page.locator("footer").inner_text()
    screenshot("report")
    assert page_log.page_errors == [] and page_log.console_errors == []
    assert page_log.blocked == []  # nothing fetched from the network
