"""Export JSON Schemas of the content files marketing ops edit (`make schemas`):
schemas/content/catalogue.schema.json, journey.schema.json and metrics.schema.json, from the
models that load them. An editor with a YAML language server gives completion and errors
with them (docs/journeys.md, "Editing with a schema"). tests/unit/test_content_schemas.py
fails when a file is out of date, and checks that the shipped files validate."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))

from talentops.content.catalogue import CatalogueFile  # noqa: E402
from talentops.journeys.model import Journey  # noqa: E402
from talentops.metrics.definitions import MetricsFile  # noqa: E402

TARGET = ROOT / "schemas" / "content"
MODELS: dict[str, tuple[Any, str]] = {
    "catalogue.schema.json": (CatalogueFile, "templates/catalogue.yaml"),
    "journey.schema.json": (Journey, "a journey of templates/journeys/"),
    "metrics.schema.json": (MetricsFile, "templates/metrics.yaml"),
}


def _shorthands(schema: dict[str, Any]) -> dict[str, Any]:
    """The short forms the loaders accept before validation (a bare field name for a fresh
    requirement; a number for a holdout's share; `never`, `always` or `{after: 14d}` for
    re-entry), which a model's schema
    cannot tell by itself."""
    defs = schema.get("$defs", {})
    if "FreshRequirement" in defs:
        full = defs["FreshRequirement"]
        defs["FreshRequirement"] = {
            "anyOf": [
                {**full["properties"]["field"], "description": "short for {field: <name>}"},
                full,
            ]
        }
    if "Holdout" in defs:
        full = defs["Holdout"]
        defs["Holdout"] = {
            "description": full.get("description", ""),
            "anyOf": [
                {**full["properties"]["share"], "description": "short for {share: <share>}"},
                full,
            ],
        }
    if "ReEntry" in defs:
        full = defs["ReEntry"]
        after = full["properties"]["after"]["anyOf"][0]
        defs["ReEntry"] = {
            "description": full.get("description", ""),
            "anyOf": [
                {"enum": ["never", "always"], "type": "string"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"after": after, "policy": {"const": "after"}},
                    "required": ["after"],
                },
            ],
        }
    return schema


def schemas() -> dict[str, str]:
    out = {}
    for name, (model, what) in MODELS.items():
        schema = _shorthands(model.model_json_schema(mode="validation"))
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = what
        schema["description"] = (
            f"The shape of {what}. Loading checks more than the shape (references, known "
            "fields, routing): run `make check-content`."
        )
        out[name] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, text in schemas().items():
        (TARGET / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(MODELS)} content schemas to {TARGET.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
