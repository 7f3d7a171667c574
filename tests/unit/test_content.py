"""Catalogue validation, variant selection with reasons, and rendering rules."""

from pathlib import Path

import pytest

from talentops.content.catalogue import (
    Catalogue,
    check_catalogue,
    load_catalogue,
    select_variant,
)
from talentops.content.render import render_variant
from talentops.errors import CatalogueError, RenderError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def catalogue():
    return load_catalogue(str(ROOT / "templates"))


def _write(tmp_path, catalogue_yaml, files=None):
    (tmp_path / "catalogue.yaml").write_text(catalogue_yaml)
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


MINIMAL = """
version: 1
messages:
  hello:
    purpose: events
    variants:
      - name: de
        rules: [{field: candidate.language, op: prefix, value: de}]
        subject: "Hallo {{ candidate.first_name }}"
        html: a.html
        text: a.txt
      - name: default
        subject: "Hello {{ candidate.first_name }}"
        html: a.html
        text: a.txt
"""


def test_shipped_catalogue_has_two_variants_per_event_message(catalogue):
    for name in (
        "event_registration_confirmation",
        "event_attended_followup",
        "event_no_show_followup",
    ):
        assert len(catalogue.message(name).variants) >= 2


def test_selection_names_its_reasons(catalogue):
    spec = catalogue.message("event_attended_followup")
    senior = select_variant(spec, {"candidate": {"language": "en", "seniority": "lead"}})
    assert senior.variant.name == "senior"
    assert any("not de" in r for r in senior.reasons)
    fallback = select_variant(spec, {"candidate": {"language": None, "seniority": "junior"}})
    assert fallback.variant.name == "default" and fallback.reasons[-1].endswith("fallback")


def test_unknown_key_in_catalogue_is_refused_with_its_place(tmp_path):
    root = _write(
        tmp_path,
        MINIMAL.replace("purpose: events", "purpose: events\n    colour: red"),
        {"a.html": "x", "a.txt": "x"},
    )
    with pytest.raises(CatalogueError, match=r"messages.hello.colour"):
        Catalogue.load(root)


def test_missing_template_is_refused_at_load(tmp_path):
    root = _write(tmp_path, MINIMAL, {"a.html": "x"})
    with pytest.raises(CatalogueError, match="a.txt does not exist"):
        Catalogue.load(root)


def test_syntax_error_fails_the_check_naming_the_line(tmp_path):
    root = _write(tmp_path, MINIMAL, {"a.html": "ok\n{% if %}", "a.txt": "x"})
    with pytest.raises(CatalogueError, match="a.html line 2"):
        check_catalogue(root)


def test_templates_compile_when_first_used_and_a_syntax_error_is_a_render_error(tmp_path):
    root = _write(tmp_path, MINIMAL, {"a.html": "ok\n{% if %}", "a.txt": "x"})
    cat = Catalogue.load(root)  # compiles nothing: a cold start does not grow with the catalogue
    with pytest.raises(RenderError, match="a.html line 2"):
        render_variant(cat, cat.message("hello").variants[1], {"candidate": {"first_name": "A"}})


def test_the_shipped_catalogue_compiles_every_template():
    catalogue = check_catalogue(ROOT / "templates")
    assert sum(1 for _ in catalogue.template_names()) > 50


def test_fallback_must_come_last(tmp_path):
    broken = MINIMAL.replace(
        "      - name: default\n",
        "      - name: default\n        rules: [{field: candidate.city, op: exists, value: true}]\n",
    )
    root = _write(tmp_path, broken, {"a.html": "x", "a.txt": "x"})
    with pytest.raises(CatalogueError, match="fallback"):
        Catalogue.load(root)


def test_missing_value_stops_the_render(tmp_path):
    root = _write(tmp_path, MINIMAL, {"a.html": "Hi {{ candidate.nickname }}", "a.txt": "x"})
    cat = Catalogue.load(root)
    with pytest.raises(RenderError, match="nickname"):
        render_variant(cat, cat.message("hello").variants[1], {"candidate": {"first_name": "Ada"}})


def test_sandbox_refuses_unsafe_access(tmp_path):
    root = _write(tmp_path, MINIMAL, {"a.html": "{{ candidate.__class__.__mro__ }}", "a.txt": "x"})
    cat = Catalogue.load(root)
    with pytest.raises(RenderError):
        render_variant(cat, cat.message("hello").variants[1], {"candidate": {"first_name": "A"}})


def test_values_are_data_not_templates(tmp_path):
    root = _write(
        tmp_path,
        MINIMAL,
        {"a.html": "<p>{{ candidate.first_name }}</p>", "a.txt": "{{ candidate.first_name }}"},
    )
    cat = Catalogue.load(root)
    hostile = "{{ 7*7 }}<img src=x onerror=alert(1)>\r\nBcc: x@example.org"
    out = render_variant(
        cat, cat.message("hello").variants[1], {"candidate": {"first_name": hostile}}
    )
    assert "49" not in out.html and "<img" not in out.html and "&lt;img" in out.html
    assert "\n" not in out.subject and "\r" not in out.subject
    assert out.subject.startswith("Hello {{ 7*7 }}")
