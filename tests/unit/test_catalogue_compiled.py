"""The catalogue compiled at build (catalogue.compiled.json): read instead of the YAML when it
was compiled from this very YAML, ignored otherwise; never written for a broken catalogue."""

import shutil
from pathlib import Path

import pytest
import yaml

from talentops.content import catalogue as catalogue_module
from talentops.content.catalogue import COMPILED_NAME, Catalogue, compile_catalogue_file
from talentops.errors import CatalogueError
from tests.support.fresh import fresh_python, refuse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", root, ignore=shutil.ignore_patterns(COMPILED_NAME))
    return root


def _no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse(monkeypatch, catalogue_module, "parse_yaml", "the YAML was parsed")


def test_the_compiled_catalogue_loads_as_the_yaml_does_without_parsing_it(
    content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_yaml = Catalogue.load(content)
    written = compile_catalogue_file(content)
    assert written == content / COMPILED_NAME
    _no_yaml(monkeypatch)
    compiled = Catalogue.load(content)
    assert compiled.version == from_yaml.version
    assert compiled.messages == from_yaml.messages
    assert compiled.slots == from_yaml.slots
    assert compiled.for_trigger("Candidate Event Attended") == from_yaml.for_trigger(
        "Candidate Event Attended"
    )


def test_a_compiled_file_of_another_version_of_the_yaml_is_ignored(content: Path) -> None:
    compile_catalogue_file(content)
    path = content / "catalogue.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    message = next(iter(raw["messages"]))
    raw["messages"][message]["variants"][-1]["subject"] = "Edited after the build"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    loaded = Catalogue.load(content)
    assert loaded.message(message).variants[-1].subject == "Edited after the build"


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[]", b'{"source": 1}'])
def test_an_unreadable_compiled_file_is_ignored(content: Path, garbage: bytes) -> None:
    from_yaml = Catalogue.load(content)
    (content / COMPILED_NAME).write_bytes(garbage)
    assert Catalogue.load(content).messages == from_yaml.messages


def test_a_broken_catalogue_is_not_compiled(content: Path) -> None:
    html = next(content.glob("email/*/default.html"))
    html.write_text(html.read_text(encoding="utf-8") + "\n{% if %}", encoding="utf-8")
    with pytest.raises(CatalogueError, match="line"):
        compile_catalogue_file(content)
    assert not (content / COMPILED_NAME).exists()


def test_a_catalogue_read_from_its_json_imports_no_yaml_parser(content: Path) -> None:
    """In a fresh interpreter, as a cold start: neither PyYAML nor the journeys' YAML source
    reader is imported to load a compiled catalogue (the YAML without it still loads)."""
    compile_catalogue_file(content)
    code = (
        "import sys\n"
        "from talentops.content.catalogue import Catalogue\n"
        f"Catalogue.load({str(content)!r})\n"
        "print(sorted(m for m in ('yaml', 'talentops.journeys.source') if m in sys.modules))\n"
    )
    assert fresh_python(code, inherit=False).strip() == "[]"
    (content / COMPILED_NAME).unlink()
    code_yaml = code.replace("print(sorted(", "print('yaml' in sys.modules, sorted(")
    assert fresh_python(code_yaml, inherit=False).startswith("True")
