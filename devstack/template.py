"""template.yaml to plain CloudFormation, offline, with aws-sam-translator.

The translator accepts only `s3://` code locations, so local CodeUri / ContentUri paths are
rewritten to a marker bucket first; the translated Code / Content keys map back to the
directories.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from .aws import StartupError
from .config import ACCESS_KEY_ID, SECRET_ACCESS_KEY

try:
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse
except ImportError as exc:  # pragma: no cover - an incomplete environment
    raise StartupError(
        "aws-sam-translator is not installed (pip install aws-sam-translator); the local "
        "stack translates template.yaml with it"
    ) from exc

LOCAL_CODE_BUCKET = "devstack-local-code"
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


@dataclass(frozen=True)
class CodeLocation:
    directory: Path
    build_method: str | None  # a layer's Metadata.BuildMethod, e.g. "python3.13"


def load_template(path: Path) -> dict[str, Any]:
    template = yaml_parse(path.read_text(encoding="utf-8"))
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path} is not a CloudFormation / SAM template")
    return template


def _to_s3_uri(
    uri: Any, base_dir: Path, locations: dict[str, CodeLocation], build_method: str | None
) -> Any:
    if not isinstance(uri, str) or uri.startswith("s3://"):
        return uri
    directory = (base_dir / uri).resolve()  # an absolute CodeUri stays as it is
    key = directory.as_posix().lstrip("/")
    locations[key] = CodeLocation(directory, build_method)
    return f"s3://{LOCAL_CODE_BUCKET}/{key}"


def prepare_for_translation(
    template: dict[str, Any], base_dir: Path
) -> tuple[dict[str, Any], dict[str, CodeLocation]]:
    """A copy of the template whose local code paths are s3:// URIs, and the key -> location map."""
    prepared = copy.deepcopy(template)
    locations: dict[str, CodeLocation] = {}
    function_globals = prepared.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = _to_s3_uri(
            function_globals["CodeUri"], base_dir, locations, None
        )
    for resource in prepared["Resources"].values():
        prop = _CODE_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if prop and prop in properties:
            build_method = (resource.get("Metadata") or {}).get("BuildMethod")
            properties[prop] = _to_s3_uri(properties[prop], base_dir, locations, build_method)
    return prepared, locations


def translate(
    template: dict[str, Any], region: str, parameter_values: dict[str, Any]
) -> dict[str, Any]:
    """The SAM transform, offline (no managed-policy lookups)."""
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    translator = Translator(None, Parser(), boto_session=session)
    translated: dict[str, Any] = translator.translate(
        copy.deepcopy(template),
        parameter_values=dict(parameter_values),
        get_managed_policy_map=lambda: {},
    )
    return translated


def code_location(code: Any, locations: dict[str, CodeLocation]) -> CodeLocation | None:
    """The local directory of a translated `Code` / `Content` property, if it is local."""
    if isinstance(code, dict) and code.get("S3Bucket") == LOCAL_CODE_BUCKET:
        return locations.get(str(code.get("S3Key")))
    return None


def parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Parameter defaults of the template with overrides; list types become lists."""
    values: dict[str, Any] = {}
    for name, definition in (template.get("Parameters") or {}).items():
        raw = overrides.get(name, definition.get("Default"))
        if raw is None:
            raise ValueError(
                f"template parameter {name} has no default; set it in LOCAL_TEMPLATE_PARAMETERS"
            )
        kind = str(definition.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            values[name] = (
                raw if isinstance(raw, list) else [part.strip() for part in str(raw).split(",")]
            )
        else:
            values[name] = str(raw) if not isinstance(raw, str) else raw
    return values
