"""JSON Schemas of the content files (issue 14, item 5): current, the shipped files valid
against them, and a typo caught as an editor would catch it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from scripts.export_content_schemas import TARGET, schemas

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "catalogue.schema.json": [ROOT / "templates" / "catalogue.yaml"],
    "journey.schema.json": sorted((ROOT / "templates" / "journeys").glob("*.yaml")),
    "metrics.schema.json": [ROOT / "templates" / "metrics.yaml"],
}


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((TARGET / name).read_text()))


def test_the_committed_schemas_are_current() -> None:
    for name, text in schemas().items():
        assert (TARGET / name).read_text() == text, f"{name} is out of date: run make schemas"


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_shipped_files_validate(name: str) -> None:
    assert FILES[name]
    for path in FILES[name]:
        errors = list(_validator(name).iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], f"{path.name}: {[e.message for e in errors]}"


def test_a_misspelt_key_is_an_error_in_the_editor() -> None:
    journey = yaml.safe_load((ROOT / "templates" / "journeys" / "event.yaml").read_text())
    journey["steps"][0]["waitt"] = "1d"
    errors = list(_validator("journey.schema.json").iter_errors(journey))
    assert errors and any("waitt" in e.message for e in errors)
    metrics = yaml.safe_load((ROOT / "templates" / "metrics.yaml").read_text())
    metrics["metrics"][0]["kind"] = "ratio"
    assert list(_validator("metrics.schema.json").iter_errors(metrics))
