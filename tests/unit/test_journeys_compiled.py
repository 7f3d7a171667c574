"""The journeys compiled at build (journeys/journeys.compiled.json): read instead of the YAML
when compiled from these very files, ignored otherwise; never written for a broken journey;
a journey that no longer validates against the catalogue is reported at its line."""

import shutil
from pathlib import Path

import pytest

from talentops.content.catalogue import COMPILED_NAME as CATALOGUE_COMPILED
from talentops.content.catalogue import Catalogue
from talentops.journeys import loader
from talentops.journeys.loader import (
    COMPILED_NAME,
    compile_journeys_file,
    load_journeys,
    messages_of,
)
from talentops.problems import SourceError
from tests.support.fresh import fresh_python, refuse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "templates"
    shutil.copytree(
        ROOT / "templates", root, ignore=shutil.ignore_patterns(COMPILED_NAME, CATALOGUE_COMPILED)
    )
    return root


def _messages(content: Path) -> dict[str, str]:
    return messages_of(Catalogue.load(content))


def _no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse(monkeypatch, loader, "read_source", "the YAML was parsed")


def test_compiled_journeys_load_as_the_yaml_does_without_parsing_it(
    content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _messages(content)
    from_yaml = load_journeys(content / "journeys", messages)
    written = compile_journeys_file(content / "journeys", messages)
    assert written == content / "journeys" / COMPILED_NAME
    _no_yaml(monkeypatch)
    compiled = load_journeys(content / "journeys", messages)
    assert [j.name for j in compiled] == [j.name for j in from_yaml] != []
    assert compiled == from_yaml
    assert [j.version for j in compiled] == [j.version for j in from_yaml]


def test_a_compiled_file_of_other_journey_files_is_ignored(content: Path) -> None:
    """A comment added after the build changes no journey, but the files are not those
    compiled: every file is read from its YAML."""
    messages = _messages(content)
    compile_journeys_file(content / "journeys", messages)
    path = content / "journeys" / "event.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited after the build\n", "utf-8")
    read: list[str] = []
    original = loader.read_source

    def counting(text: str, file: str) -> loader.Source:
        read.append(file)
        return original(text, file)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "read_source", counting)
        load_journeys(content / "journeys", messages)
    assert sorted(read) == sorted(p.name for p in (content / "journeys").glob("*.yaml"))


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[]", b'{"source": 1}'])
def test_an_unreadable_compiled_file_is_ignored(content: Path, garbage: bytes) -> None:
    messages = _messages(content)
    from_yaml = load_journeys(content / "journeys", messages)
    (content / "journeys" / COMPILED_NAME).write_bytes(garbage)
    assert load_journeys(content / "journeys", messages) == from_yaml


@pytest.mark.parametrize(
    "data",
    [[], {"event.yaml": 1}, {"event.yaml": {"name": "event"}}, "[" * 100_000],
    ids=["not-a-mapping", "not-a-journey", "an-invalid-journey", "nested-too-deep"],
)
def test_a_current_compiled_file_with_bad_data_is_not_trusted(content: Path, data: object) -> None:
    """A compiled file of the very files (its version current) whose data is not what the
    build writes: each journey it spoils is read from its YAML, validated as ever."""
    from talentops.compiled import compiled_json

    messages = _messages(content)
    from_yaml = load_journeys(content / "journeys", messages)
    texts = {p.name: p.read_text(encoding="utf-8") for p in (content / "journeys").glob("*.yaml")}
    target = content / "journeys" / COMPILED_NAME
    if isinstance(data, str):
        target.write_text(
            f'{{"source":"{loader.journeys_version(texts)}","journeys":{data}', "utf-8"
        )
    else:
        target.write_text(compiled_json(loader.journeys_version(texts), "journeys", data), "utf-8")
    assert load_journeys(content / "journeys", messages) == from_yaml


def test_a_broken_journey_is_not_compiled_and_leaves_no_stale_file(content: Path) -> None:
    messages = _messages(content)
    compile_journeys_file(content / "journeys", messages)
    path = content / "journeys" / "event.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nnot_a_key: 1\n", encoding="utf-8")
    with pytest.raises(SourceError, match="unknown key 'not_a_key'"):
        compile_journeys_file(content / "journeys", messages)
    assert not (content / "journeys" / COMPILED_NAME).exists()


def test_a_compiled_journey_the_catalogue_no_longer_fits_is_reported_at_its_line(
    content: Path,
) -> None:
    """The journey files are unchanged (the compiled file is current), but a message they
    send is gone from the catalogue: the problem is found again from the YAML, with a line."""
    messages = _messages(content)
    compile_journeys_file(content / "journeys", messages)
    journeys = load_journeys(content / "journeys", messages)
    sent = next(
        step.send
        for journey in journeys
        for step in journey.steps
        if getattr(step, "send", None) is not None
    )
    fewer = {name: purpose for name, purpose in messages.items() if name != sent}
    with pytest.raises(SourceError) as raised:
        load_journeys(content / "journeys", fewer)
    about = [p for p in raised.value.problems if sent in p.message]
    assert about and all(p.line is not None for p in about)


def test_journeys_read_from_their_json_import_no_yaml_parser(content: Path) -> None:
    """In a fresh interpreter, as a cold start: the compiled catalogue and journeys load
    without PyYAML (without the journeys' JSON, the YAML is parsed)."""
    from talentops.content.catalogue import compile_catalogue_file

    compile_catalogue_file(content)
    compile_journeys_file(content / "journeys", _messages(content))
    code = (
        "import sys\n"
        "from talentops.content.catalogue import Catalogue\n"
        "from talentops.journeys.loader import load_journeys, messages_of\n"
        f"c = Catalogue.load({str(content)!r})\n"
        f"js = load_journeys({str(content / 'journeys')!r}, messages_of(c))\n"
        "print(len(js), 'yaml' in sys.modules)\n"
    )
    count = len(list((content / "journeys").glob("*.yaml")))
    assert fresh_python(code, inherit=False).strip() == f"{count} False"
    (content / "journeys" / COMPILED_NAME).unlink()
    assert fresh_python(code, inherit=False).strip() == f"{count} True"
