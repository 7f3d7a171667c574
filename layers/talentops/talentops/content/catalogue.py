"""The content catalogue: messages, their variants, and the rules that choose a variant.

The catalogue is data that marketing ops own (templates/catalogue.yaml). Loading validates it
strictly and compiles every template it names, so a broken catalogue fails at load with a
message that names the problem, never at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import CatalogueError
from ..models.events import SENIORITY_LEVELS

RuleOp = Literal[
    "eq", "ne", "in", "not_in", "prefix", "exists", "seniority_at_least", "seniority_at_most"
]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")
    op: RuleOp
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> Rule:
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op} needs a list value")
        if self.op in ("seniority_at_least", "seniority_at_most") and (
            self.value not in SENIORITY_LEVELS
        ):
            raise ValueError(f"op {self.op} needs a seniority, one of {SENIORITY_LEVELS}")
        if self.op == "exists" and not isinstance(self.value, bool):
            raise ValueError("op exists needs true or false")
        return self

    def describe(self) -> str:
        return f"{self.field} {self.op} {self.value!r}"


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str | None = None
    rules: tuple[Rule, ...] = ()
    subject: str = Field(min_length=1, max_length=300)
    html: str
    text: str


class MessageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Literal["events", "job_alerts", "marketing", "transactional"]
    triggers: tuple[str, ...] = ()
    description: str | None = None
    variants: tuple[Variant, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fallback_last(self) -> MessageSpec:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        if self.variants[-1].rules:
            raise ValueError("the last variant must have no rules (it is the fallback)")
        return self


class CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    messages: dict[str, MessageSpec]


@dataclass(frozen=True)
class Selection:
    variant: Variant
    reasons: list[str]


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def rule_holds(rule: Rule, context: Mapping[str, Any]) -> bool:
    actual = _lookup(context, rule.field)
    op = rule.op
    if op == "exists":
        return (actual not in (None, "", [])) is rule.value
    if actual is None:
        return op in ("ne", "not_in")
    if op == "eq":
        return bool(actual == rule.value)
    if op == "ne":
        return bool(actual != rule.value)
    if op == "in":
        return actual in rule.value
    if op == "not_in":
        return actual not in rule.value
    if op == "prefix":
        return str(actual).lower().startswith(str(rule.value).lower())
    if actual not in SENIORITY_LEVELS:
        return False
    level = SENIORITY_LEVELS.index(actual)
    target = SENIORITY_LEVELS.index(rule.value)
    return level >= target if op == "seniority_at_least" else level <= target


def select_variant(spec: MessageSpec, context: Mapping[str, Any]) -> Selection:
    """First variant whose rules all hold; the reasons say why each earlier one did not."""
    reasons: list[str] = []
    for variant in spec.variants:
        failed = [r for r in variant.rules if not rule_holds(r, context)]
        if not failed:
            if variant.rules:
                held = ", ".join(r.describe() for r in variant.rules)
                reasons.append(f"variant {variant.name}: {held}")
            else:
                reasons.append(f"variant {variant.name}: fallback")
            return Selection(variant, reasons)
        reasons.append(f"not {variant.name}: {failed[0].describe()} does not hold")
    raise CatalogueError("no fallback variant")  # unreachable: validated at load


class Catalogue:
    def __init__(self, root: Path, data: CatalogueFile):
        self.root = root
        self.messages = data.messages
        self._by_trigger: dict[str, list[str]] = {}
        for name, spec in data.messages.items():
            for trigger in spec.triggers:
                self._by_trigger.setdefault(trigger, []).append(name)

    def message(self, name: str) -> MessageSpec:
        try:
            return self.messages[name]
        except KeyError as exc:
            raise CatalogueError(f"catalogue has no message {name!r}") from exc

    def for_trigger(self, detail_type: str) -> list[str]:
        return list(self._by_trigger.get(detail_type, ()))

    @classmethod
    def load(cls, root: str | Path) -> Catalogue:
        root = Path(root)
        path = root / "catalogue.yaml"
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogueError(f"{path.name}: cannot be read: {exc}") from exc
        try:
            data = CatalogueFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise CatalogueError(f"{path.name}: {problems}") from exc
        catalogue = cls(root, data)
        from .render import compile_catalogue

        compile_catalogue(catalogue)
        return catalogue


@lru_cache(maxsize=4)
def load_catalogue(root: str) -> Catalogue:
    return Catalogue.load(root)
