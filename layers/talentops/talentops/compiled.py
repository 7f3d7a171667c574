"""What `make build` writes beside a YAML source that a cold start reads (the catalogue, the
talent pool policy): the YAML's data as JSON, with the version (hash) of the YAML text it came
from. A missing, stale or unreadable compiled file is ignored and the YAML is parsed, so an
edited source is never served stale. PyYAML is imported only to parse: a function that reads
the JSON never imports it (about 8 ms)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class YamlError(ValueError):
    """PyYAML's error, as ``parse_yaml`` raises it (its message kept)."""


def parse_yaml(text: str) -> Any:
    """YAML text as Python data, with the C (libyaml) safe loader when PyYAML has it (the
    pure-Python one takes about ten times as long)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise YamlError(str(exc)) from exc


def read_compiled(path: Path, version: str, key: str) -> Any | None:
    """The data under ``key`` of the compiled file at ``path`` when it was compiled from this
    ``version`` of its YAML; None otherwise (no file, another version, not readable)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):  # RecursionError: nested past the parser's
        return None
    if not isinstance(data, dict) or data.get("source") != version:
        return None
    return data.get(key)


def compiled_json(version: str, key: str, data: Any) -> str:
    """The compiled file's text for ``data`` parsed from ``version`` of its YAML (TypeError or
    ValueError when the data has no JSON form)."""
    return json.dumps({"source": version, key: data}, ensure_ascii=False, separators=(",", ":"))
