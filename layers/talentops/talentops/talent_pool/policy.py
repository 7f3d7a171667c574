"""The talent pool policy as configuration: per-field source authority and freshness windows,
and the job-alert settings (seniority band, cap, paging).

The shipped policy is ``policy.yaml`` beside this module. ``TALENT_POOL_POLICY`` overrides
it: a path to a YAML or JSON file, or the YAML / JSON text itself, laid over the shipped
file (a field named in the override replaces that field's entry; job_alerts keys replace
the keys they name). Pure apart from reading that file once per process.

`make build` writes the shipped file as JSON beside it (``policy.compiled.json``, keyed by the
hash of the YAML, `compile_policy_file`), so that a cold start reads JSON and imports no YAML
parser; a missing or stale compiled file is ignored and the YAML is parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..compiled import YamlError, compiled_json, parse_yaml, read_compiled
from ..models.state import Profile, shift
from .merge import MergePolicy

POLICY_FILE = Path(__file__).with_name("policy.yaml")
POLICY_ENV = "TALENT_POOL_POLICY"
COMPILED_POLICY = POLICY_FILE.with_name("policy.compiled.json")


class PolicyError(ValueError):
    """The talent pool policy cannot be read or is not valid (says where)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class FieldPolicy(_Strict):
    authority: tuple[str, ...] = ()
    fresh_for_days: int | None = Field(default=None, ge=1, le=36500)


class JobAlertPolicy(_Strict):
    seniority_band: int = Field(default=1, ge=0, le=6)
    cap_limit: int = Field(default=3, ge=0, le=1000)
    cap_window_days: int = Field(default=7, ge=1, le=365)
    page_size: int = Field(default=1000, ge=1, le=10000)
    message_size: int = Field(default=100, ge=1, le=100)


class PolicyFile(_Strict):
    version: Literal[1] = 1
    fields: dict[str, FieldPolicy] = Field(default_factory=dict)
    job_alerts: JobAlertPolicy = JobAlertPolicy()


@dataclass(frozen=True)
class StaleField:
    """A field whose newest observation is older than its freshness window."""

    name: str
    observed_at: datetime | None  # None: never observed
    source: str | None
    stale_since: datetime | None
    window: timedelta | None

    def describe(self) -> str:
        if self.observed_at is None:
            return f"{self.name} never observed"
        days = self.window.days if self.window else "?"
        since = self.stale_since.isoformat() if self.stale_since else "?"
        return (
            f"{self.name} stale since {since} (observed {self.observed_at.isoformat()} "
            f"via {self.source}, fresh for {days} days)"
        )


@dataclass(frozen=True)
class TalentPoolPolicy:
    merge: MergePolicy
    freshness: Mapping[str, timedelta]
    job_alerts: JobAlertPolicy

    @classmethod
    def from_file(cls, data: PolicyFile) -> TalentPoolPolicy:
        return cls(
            merge=MergePolicy(
                authority={name: fp.authority for name, fp in data.fields.items() if fp.authority}
            ),
            freshness={
                name: timedelta(days=fp.fresh_for_days)
                for name, fp in data.fields.items()
                if fp.fresh_for_days is not None
            },
            job_alerts=data.job_alerts,
        )


def stale_fields(
    profile: Profile, freshness: Mapping[str, timedelta], now: datetime
) -> dict[str, StaleField]:
    """The fields of ``profile`` that have a freshness window and are older than it."""
    stale: dict[str, StaleField] = {}
    for name, window in freshness.items():
        fv = profile.fields.get(name)
        if fv is None:
            continue
        since = shift(fv.observed_at, window)  # saturates on extreme stored dates
        if since <= now:
            stale[name] = StaleField(name, fv.observed_at, fv.source, since, window)
    return stale


def freshness_problem(
    profile: Profile, name: str, freshness: Mapping[str, timedelta], now: datetime
) -> StaleField | None:
    """Why ``name`` is not fresh on ``profile`` (stale or never observed), or None."""
    fv = profile.fields.get(name)
    if fv is None or fv.value in (None, "", []):
        return StaleField(name, None, None, None, freshness.get(name))
    window = freshness.get(name)
    if window is None:
        return None
    since = shift(fv.observed_at, window)
    if since <= now:
        return StaleField(name, fv.observed_at, fv.source, since, window)
    return None


def _read(text_or_path: str) -> Any:
    text = text_or_path
    stripped = text_or_path.strip()
    if stripped and "\n" not in stripped and not stripped.startswith("{"):
        path = Path(stripped)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{POLICY_ENV}: cannot read {path.name}: {exc.strerror}") from exc
    return _parse(text)


def _parse(text: str) -> Any:
    if text.lstrip().startswith("{"):  # JSON (an override may be): no YAML parser needed
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML's flow style, or broken: the YAML parser says which
    try:
        return parse_yaml(text) or {}
    except YamlError as exc:
        raise PolicyError(f"talent pool policy is not valid YAML / JSON: {exc}") from exc


def _version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shipped(path: Path = POLICY_FILE) -> Any:
    """The shipped policy's data: from the build's JSON when it was compiled from this very
    YAML, else parsed from the YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read {path.name}: {exc.strerror}") from exc
    compiled = read_compiled(path.with_name(COMPILED_POLICY.name), _version(text), "policy")
    return _parse(text) if compiled is None else compiled


def compile_policy_file(path: Path = POLICY_FILE) -> Path:
    """Check the shipped policy and write it as JSON beside it, with the hash of its YAML
    (what a cold start reads first). PolicyError when it is not valid."""
    text = path.read_text(encoding="utf-8")
    data = _parse(text)
    parse_policy(data, path.name)
    target = path.with_name(COMPILED_POLICY.name)
    target.write_text(compiled_json(_version(text), "policy", data), encoding="utf-8")
    return target


def _overlay(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if key in ("fields", "job_alerts") and isinstance(value, dict):
            merged[key] = {**(base.get(key) or {}), **value}
        else:
            merged[key] = value
    return merged


def parse_policy(raw: Any, where: str = "policy") -> TalentPoolPolicy:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be a mapping")
    try:
        return TalentPoolPolicy.from_file(PolicyFile.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise PolicyError(f"{where}: {problems}") from exc


def load_policy(env: Mapping[str, str] | None = None) -> TalentPoolPolicy:
    """The shipped policy with the environment's override laid over it."""
    base = _shipped()
    override = (os.environ if env is None else env).get(POLICY_ENV, "")
    if override.strip():
        extra = _read(override)
        if not isinstance(extra, dict):
            raise PolicyError(f"{POLICY_ENV}: must be a mapping")
        base = _overlay(base, extra)
    return parse_policy(base, "talent pool policy")


@lru_cache(maxsize=1)
def default_policy() -> TalentPoolPolicy:
    """The policy of this process (read once)."""
    return load_policy()
