"""The rule language: one model and one evaluator for every condition the system reads
(catalogue variants, fresh-field requirements, journey entries, exits and branches, campaign
segments). docs/journeys.md ("Conditions") describes it for the people who write them.

A condition is a rule, ``{field, op, value}`` (optionally ``exact: true``), or a group:
``{any: [conditions]}`` (at least one holds), ``{all: [conditions]}`` (every one holds) or
``{not: condition}``, nested at will. A list of conditions (a variant's ``rules``, a segment)
holds when every one of them does.

Text comparisons (eq, ne, in, not_in, prefix, contains, contains_any) ignore case and accents
unless the rule says ``exact: true``: ``Zürich`` = ``zurich`` = ``ZURICH``. The rule's side is
folded once, when the rule is loaded; an evaluation folds only the value it reads (ASCII text
with a plain ``lower()``).

Evaluating is pure: ``holds`` answers, with no text built; ``explain`` says what decided
(for a group, which branch: ``any[1]: candidate.city eq 'Berlin'``), to be called once on the
outcome that is reported, not on every candidate tried.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from ..models.events import SENIORITY_LEVELS

RuleOp = Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "prefix",
    "exists",
    "seniority_at_least",
    "seniority_at_most",
    "within_days",
    "not_within_days",
    "contains",
    "contains_any",
]

# Ops that compare text, folded (case and accents ignored) unless the rule is exact.
TEXT_OPS = frozenset({"eq", "ne", "in", "not_in", "prefix", "contains", "contains_any"})
# Ops that hold for a field without a value (nothing is not Berlin, nothing is not recent).
_HOLD_WHEN_MISSING = frozenset({"ne", "not_in", "not_within_days"})
_DAYS_OPS = ("within_days", "not_within_days")
_SCALAR = (str, int, float, bool)

Loc = tuple[str | int, ...]


def fold(text: str) -> str:
    """``text`` without case and accents: ``"Zürich"`` -> ``"zurich"``, ``"STRASSE"`` and
    ``"Straße"`` -> ``"strasse"``. ASCII text (most values) takes a plain ``lower()``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of the context (None when any part is missing)."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def as_time(value: Any) -> datetime | None:
    """A timezone-aware time from a datetime or an ISO 8601 text; None otherwise."""
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _folded(value: Any) -> Any:
    if isinstance(value, str):
        return fold(value)
    if isinstance(value, list | tuple):
        return tuple(fold(v) if isinstance(v, str) else v for v in value)
    return value


class Rule(BaseModel):
    """A condition on one field: {field: candidate.city, op: eq, value: Berlin}. Text
    comparisons ignore case and accents unless the rule says exact: true."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    field: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")
    op: RuleOp
    value: Any = None
    exact: bool | None = Field(
        default=None,
        description="Text comparisons only: true compares case and accents as written "
        "(by default they are ignored: Zürich = zurich)",
    )

    @model_validator(mode="after")
    def _value_fits(self) -> Rule:
        op, value = self.op, self.value
        if op in ("in", "not_in") and not isinstance(value, list):
            raise ValueError(f"op {op} needs a list value")
        if op in ("seniority_at_least", "seniority_at_most") and value not in SENIORITY_LEVELS:
            raise ValueError(f"op {op} needs a seniority, one of {SENIORITY_LEVELS}")
        if op == "exists" and not isinstance(value, bool):
            raise ValueError("op exists needs true or false")
        if op in _DAYS_OPS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"op {op} needs a whole number of days (1 or more)")
        if op == "contains" and not isinstance(value, _SCALAR):
            raise ValueError("op contains needs one value (a text or a number), not a list")
        if op == "contains_any" and (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, _SCALAR) for v in value)
        ):
            raise ValueError("op contains_any needs a list of one or more values")
        if self.exact is not None and op not in TEXT_OPS:
            raise ValueError(
                f"exact applies to text comparisons ({', '.join(sorted(TEXT_OPS))}), not to {op}"
            )
        return self

    @cached_property
    def compared(self) -> tuple[bool, Any]:
        """Whether text is folded, and the value as compared (folded unless exact): computed
        once, when the rule is loaded (model_post_init), then a plain attribute read."""
        folds = self.exact is not True and self.op in TEXT_OPS
        if self.op == "prefix":
            return folds, fold(str(self.value)) if folds else str(self.value)
        return folds, _folded(self.value) if folds else self.value

    def model_post_init(self, context: Any, /) -> None:
        self.compared  # noqa: B018  (computed now, not on the first evaluation)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Rule:
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy.__dict__.pop("compared", None)
            copy.model_post_init(None)
        return copy

    # -- evaluation ----------------------------------------------------------------------

    @staticmethod
    def _same(folds: bool, actual: Any, match: Any, value: Any) -> bool:
        """``actual`` equals the rule's value (``match`` folded, ``value`` as written)."""
        if folds and isinstance(actual, str):
            return fold(actual) == match
        return bool(actual == value)

    @staticmethod
    def _contains(folds: bool, actual: Any, match: Any, value: Any) -> bool:
        """A list holds an item equal to the value; a text holds the value."""
        if isinstance(actual, str):
            if not isinstance(value, str):
                return False
            return match in fold(actual) if folds else value in actual
        if isinstance(actual, list | tuple | set | frozenset):
            return any(Rule._same(folds, item, match, value) for item in actual)
        return False

    def holds(self, context: Mapping[str, Any], now: datetime | None = None) -> bool:
        actual = lookup(context, self.field)
        op = self.op
        if op == "exists":
            return (actual not in (None, "", [])) is self.value
        if actual is None:
            return op in _HOLD_WHEN_MISSING
        if op in _DAYS_OPS:
            # Without a clock, or with a value that is no time, neither holds.
            at = as_time(actual)
            if now is None or at is None:
                return False
            recent = at >= now - timedelta(days=self.value)
            return recent if op == "within_days" else not recent
        folds, match = self.compared
        if op == "eq":
            return self._same(folds, actual, match, self.value)
        if op == "ne":
            return not self._same(folds, actual, match, self.value)
        if op in ("in", "not_in"):
            found = fold(actual) in match if folds and isinstance(actual, str) else actual in match
            return found if op == "in" else not found
        if op == "prefix":
            text = str(actual)
            return (fold(text) if folds else text).startswith(match)
        if op == "contains":
            return self._contains(folds, actual, match, self.value)
        if op == "contains_any":
            pairs = zip(match, self.value, strict=True)
            return any(self._contains(folds, actual, m, v) for m, v in pairs)
        if actual not in SENIORITY_LEVELS:
            return False
        level = SENIORITY_LEVELS.index(actual)
        target = SENIORITY_LEVELS.index(self.value)
        return level >= target if op == "seniority_at_least" else level <= target

    # -- words ---------------------------------------------------------------------------

    def describe(self) -> str:
        text = f"{self.field} {self.op} {self.value!r}"
        return f"{text} (exact)" if self.exact else text

    def explain(self, context: Mapping[str, Any], now: datetime | None = None) -> str:
        return self.describe()

    def rules(self, at: Loc = ()) -> Iterator[tuple[Loc, Rule]]:
        yield at, self


class _Group(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        serialize_by_alias=True,
        hide_input_in_errors=True,
    )


class AnyGroup(_Group):
    """Holds when at least one of its conditions holds: {any: [conditions]}."""

    any_: tuple[Condition, ...] = Field(alias="any", min_length=1)

    def holds(self, context: Mapping[str, Any], now: datetime | None = None) -> bool:
        return any(c.holds(context, now) for c in self.any_)

    def describe(self) -> str:
        return f"any({', '.join(c.describe() for c in self.any_)})"

    def explain(self, context: Mapping[str, Any], now: datetime | None = None) -> str:
        """The first branch that holds (``any[1]: ...``); when none does, the whole group."""
        for index, condition in enumerate(self.any_):
            if condition.holds(context, now):
                return f"any[{index}]: {condition.explain(context, now)}"
        return self.describe()

    def rules(self, at: Loc = ()) -> Iterator[tuple[Loc, Rule]]:
        for index, condition in enumerate(self.any_):
            yield from condition.rules((*at, "any", index))


class AllGroup(_Group):
    """Holds when every one of its conditions holds: {all: [conditions]}."""

    all_: tuple[Condition, ...] = Field(alias="all", min_length=1)

    def holds(self, context: Mapping[str, Any], now: datetime | None = None) -> bool:
        return all(c.holds(context, now) for c in self.all_)

    def describe(self) -> str:
        return f"all({', '.join(c.describe() for c in self.all_)})"

    def explain(self, context: Mapping[str, Any], now: datetime | None = None) -> str:
        """The first branch that does not hold (``all[1]: ...``); when all do, each of them."""
        for index, condition in enumerate(self.all_):
            if not condition.holds(context, now):
                return f"all[{index}]: {condition.explain(context, now)}"
        return f"all({', '.join(c.explain(context, now) for c in self.all_)})"

    def rules(self, at: Loc = ()) -> Iterator[tuple[Loc, Rule]]:
        for index, condition in enumerate(self.all_):
            yield from condition.rules((*at, "all", index))


class NotGroup(_Group):
    """Holds when its condition does not: {not: condition}."""

    not_: Condition = Field(alias="not")

    def holds(self, context: Mapping[str, Any], now: datetime | None = None) -> bool:
        return not self.not_.holds(context, now)

    def describe(self) -> str:
        return f"not({self.not_.describe()})"

    def explain(self, context: Mapping[str, Any], now: datetime | None = None) -> str:
        return f"not({self.not_.explain(context, now)})"

    def rules(self, at: Loc = ()) -> Iterator[tuple[Loc, Rule]]:
        yield from self.not_.rules((*at, "not"))


# The tags pydantic puts in an error's location for the union below; clean_loc drops them.
_TAG_OF: dict[type, str] = {Rule: "<rule>", AnyGroup: "<any>", AllGroup: "<all>", NotGroup: "<not>"}
CONDITION_TAGS = frozenset(_TAG_OF.values())
GROUP_KEYS = ("any", "all", "not")


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key in GROUP_KEYS:
            if key in value:
                return f"<{key}>"
        return "<rule>"
    return _TAG_OF.get(type(value))


Condition = Annotated[
    Annotated[Rule, Tag("<rule>")]
    | Annotated[AnyGroup, Tag("<any>")]
    | Annotated[AllGroup, Tag("<all>")]
    | Annotated[NotGroup, Tag("<not>")],
    Discriminator(
        _condition_kind,
        custom_error_type="condition",
        custom_error_message=(
            "a condition is a mapping: a rule {field, op, value} or a group "
            "{any: [conditions]}, {all: [conditions]} or {not: condition}"
        ),
    ),
]

AnyGroup.model_rebuild()
AllGroup.model_rebuild()
NotGroup.model_rebuild()


def clean_loc(loc: Iterable[str | int]) -> Loc:
    """A validation error's location without the union's tags: the path in the file."""
    return tuple(part for part in loc if part not in CONDITION_TAGS)


def located_errors(errors: Sequence[Any]) -> list[tuple[Loc, Any]]:
    """pydantic's errors with their paths in the file (``clean_loc``), without the echo of a
    failed item: the "too short" of a list (a group, a segment) whose items all failed, which
    the items' own errors say better."""
    located = [(clean_loc(e["loc"]), e) for e in errors]
    return [
        (loc, error)
        for loc, error in located
        if not (
            error["type"] == "too_short"
            and any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in located)
        )
    ]


def rule_holds(
    condition: Condition, context: Mapping[str, Any], *, now: datetime | None = None
) -> bool:
    """Whether a condition (a rule or a group) holds in ``context`` at ``now``."""
    return condition.holds(context, now)


def all_hold(
    conditions: Iterable[Condition], context: Mapping[str, Any], now: datetime | None = None
) -> bool:
    """Whether every condition of a list holds (an empty list does)."""
    return first_failed(conditions, context, now) is None


def first_failed(
    conditions: Iterable[Condition], context: Mapping[str, Any], now: datetime | None = None
) -> Condition | None:
    """The first condition that does not hold; None when all do."""
    for condition in conditions:
        if not condition.holds(context, now):
            return condition
    return None


def explain_held(
    conditions: Sequence[Condition], context: Mapping[str, Any], now: datetime | None = None
) -> str:
    """Conditions that hold, in words, with the branch of each group that held (a plain rule
    reads as it always did: ``candidate.city eq 'Berlin'``)."""
    return ", ".join(c.explain(context, now) for c in conditions)


def walk_rules(conditions: Iterable[Condition], at: Loc = ()) -> Iterator[tuple[Loc, Rule]]:
    """Every rule of a list of conditions, however nested, with its path (``at`` + index +
    ``any``/``all``/``not`` steps)."""
    for index, condition in enumerate(conditions):
        yield from condition.rules((*at, index))


def condition_fields(conditions: Iterable[Condition]) -> set[str]:
    """Every field the conditions read."""
    return {rule.field for _, rule in walk_rules(conditions)}
