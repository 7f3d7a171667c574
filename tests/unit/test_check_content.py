"""`make check-content` (issue 14, item 5): the shipped content passes; a journey waiting for
an event nobody routes, a template using a field without a fallback, and a broken catalogue
each fail with the file and where."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.check_content import check

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", copy)
    return copy


def test_the_shipped_content_passes() -> None:
    assert check(ROOT / "templates", TEMPLATE) == []


def test_a_journey_waiting_for_an_event_nobody_routes_fails(content: Path) -> None:
    journey = content / "journeys" / "event.yaml"
    text = journey.read_text()
    assert "- event: Candidate Event No-Show" in text
    journey.write_text(
        text.replace("- event: Candidate Event No-Show", "- event: Candidate Page Viewed", 1)
    )
    problems = check(content, TEMPLATE)
    assert len(problems) == 1
    [problem] = problems
    assert problem.file == "journeys/event.yaml"
    assert problem.path.startswith("steps[") and ".wait_for.events[" in problem.path
    assert "'Candidate Page Viewed' is not routed to the journeys function" in problem.message


def test_a_field_without_a_fallback_fails_at_its_template_line(content: Path) -> None:
    page = content / "email" / "event_reminder" / "default.html"
    lines = page.read_text().splitlines()
    at = lines.index("{% block content %}") + 1
    lines.insert(at, "{{ candidate.first_name.upper() }}")  # a minimal profile has no name
    page.write_text("\n".join(lines) + "\n")
    problems = check(content, TEMPLATE)
    assert problems, "a template that fails for a minimal profile must be reported"
    assert {p.path for p in problems} == {"event_reminder.default"}
    assert all(p.file == "templates/email/event_reminder/default.html" for p in problems)
    assert {p.line for p in problems} == {at + 1}
    assert any("minimal profile" in p.message for p in problems)


@pytest.mark.parametrize(
    "css",
    [
        '<td style="background:\\75 rl(https://evil.example/p.png)">',
        '<td style="background:u&#92;rl(https://evil.example/p.png)">',
        "<style>@import 'https:\\2f\\2f evil.example/x.css';</style>",
        "<div style=\"background-image:image-set('https://evil.example/p.png' 1x)\">",
        "<STYLE>\n.a { background: -webkit-IMAGE-SET(url(/a.png) 1x) }\n</STYLE>",
    ],
)
def test_css_the_link_gate_does_not_read_fails_at_its_template_line(
    content: Path, css: str
) -> None:
    """A style with a CSS escape, image-set() or @import could fetch a page the link gate
    (which reads url(...)) never sees: the template is refused before it ships."""
    page = content / "email" / "event_reminder" / "default.html"
    lines = page.read_text().splitlines()
    at = lines.index("{% block content %}") + 1
    lines.insert(at, css)
    page.write_text("\n".join(lines) + "\n")
    problems = [p for p in check(content, TEMPLATE) if p.path == "style"]
    assert [(p.file, p.line) for p in problems] == [
        ("templates/email/event_reminder/default.html", at + 1)
    ]
    assert "url(...) only" in problems[0].message


def test_a_backslash_or_those_words_outside_a_style_are_only_text(content: Path) -> None:
    page = content / "email" / "event_reminder" / "default.html"
    lines = page.read_text().splitlines()
    at = lines.index("{% block content %}") + 1
    lines.insert(at, '<p style="color:#333">C:\\jobs\\image-set and @import</p>')
    page.write_text("\n".join(lines) + "\n")
    assert check(content, TEMPLATE) == []


def test_a_broken_catalogue_fails_with_its_problems(content: Path) -> None:
    catalogue = content / "catalogue.yaml"
    catalogue.write_text(catalogue.read_text() + "\nthis is: [not closed\n")
    problems = check(content, TEMPLATE)
    assert problems and all("catalogue" in p.file for p in problems)


def test_the_command_exits_1_and_prints_each_problem(content: Path) -> None:
    journey = content / "journeys" / "event.yaml"
    journey.write_text(
        journey.read_text().replace(
            "- event: Candidate Event No-Show", "- event: Candidate Page Viewed", 1
        )
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_content.py"), str(content)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "journeys/event.yaml: steps[" in done.stderr


def test_a_policy_default_that_does_not_parse_fails() -> None:
    from scripts.check_content import policy_problems

    template = {"Parameters": {"ContactPolicy": {"Default": "{not json"}}}
    problems = policy_problems(template)
    assert [p.path for p in problems] == ["Parameters.ContactPolicy"]
