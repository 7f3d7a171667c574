"""The content catalogue: messages, their variants, and the rules that choose a variant.

The catalogue is data that marketing ops own (templates/catalogue.yaml). Loading validates it
strictly and checks that every template it names exists, so a broken catalogue fails at load
with a message that names the problem. Templates are compiled when first rendered (one
message needs a handful of the catalogue's templates), so a cold start does not grow with the
catalogue; `check_catalogue` compiles every one of them (the unit tests run it on the shipped
templates, and `make check-content` renders every variant), so a syntax error is found
before a deploy, naming its file and line.

The build also writes the catalogue as JSON beside the YAML (``catalogue.compiled.json``,
`compile_catalogue_file`, run by `make build`), keyed by the hash of the YAML it came from.
Loading reads it instead of parsing the YAML when that hash is the YAML's: PyYAML builds its
Python objects in Python even with the C parser (about 50 ms per 1,000 variants at every cold
start; the JSON, about 1 ms). A missing, stale or unreadable compiled file is ignored, and the
YAML is parsed as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..compiled import YamlError, compiled_json, parse_yaml, read_compiled
from ..delivery.holdouts import check_share
from ..errors import CatalogueError
from ..problems import Problem, SourceError
from .rules import (  # noqa: F401  (Rule, RuleOp: the rule language, as the catalogue's)
    Condition,
    Rule,
    RuleOp,
    rule_holds,
)
from .selection import first_holding

ProfileFieldName = Annotated[str, Field(pattern=r"^[a-z_]+$")]


class FreshRequirement(BaseModel):
    """A profile field that must be fresh (observed within its window of the talent pool
    policy) for a message to be sent; ``when`` limits the requirement to the cases where its
    rules hold (e.g. city only for a job that is not remote). A bare field name is short for
    ``{field: <name>}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    field: ProfileFieldName
    when: tuple[Condition, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"field": value} if isinstance(value, str) else value


# The name of a holdout or an experiment: what the assignment hashes with the candidate id,
# so it alone decides who is in which arm (changing anything else moves nobody).
ExperimentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
VariantName = Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]


class Holdout(BaseModel):
    """A share of the candidates who would get a message held out of it: decided like
    everyone else, then not sent (suppressed with reason ``holdout``), so that what the
    message does can be measured against them. ``holdout: 0.1`` is short for
    ``{share: 0.1}``; ``name`` defaults to the message's (a journey step's: ``<journey>.<step>``;
    a campaign's: its name)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    share: float = Field(
        description="The share held out: more than 0, at most 0.5",
        json_schema_extra={"exclusiveMinimum": 0, "maximum": 0.5},
    )
    name: ExperimentName | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"share": value}
        return value

    @field_validator("share")
    @classmethod
    def _bounded(cls, value: float) -> float:
        return check_share(value)


class Experiment(BaseModel):
    """An experiment on a variant: the candidates whom the rules give this variant are split
    between ``arms`` (variants of the same message, this one among them) by weight, each
    candidate always into the same arm (a hash of the candidate id and ``name``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: ExperimentName
    arms: dict[VariantName, Annotated[float, Field(gt=0)]] = Field(min_length=2)


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str | None = None
    rules: tuple[Condition, ...] = ()
    # Profile fields this variant's content depends on: when one is stale (or unknown) the
    # variant is passed over, down to the fallback.
    requires_fresh: tuple[ProfileFieldName, ...] = ()
    subject: str = Field(min_length=1, max_length=300)
    html: str
    text: str
    # The candidates this variant's rules choose are split between the experiment's arms.
    experiment: Experiment | None = None


# Candidate events about a job: they carry the job as the careers site (or whoever sent them)
# described it. A message about a job shows the job the listings hold, which a journey looks
# up at send time (journeys/runtime.py); a catalogue trigger would show the event's own
# title and URL, so none may name these.
JOB_BEHAVIOURS = frozenset(
    {"Candidate Job Viewed", "Candidate Application Started", "Candidate Application Submitted"}
)


class MessageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    purpose: Literal["events", "job_alerts", "marketing", "transactional"]
    triggers: tuple[str, ...] = ()
    description: str | None = None
    # Fields that must be fresh for the message to be sent at all; a stale one suppresses it
    # with reason stale_profile (the decision's reasons say which field, and since when).
    requires_fresh: tuple[FreshRequirement, ...] = ()
    # A share of the candidates who would get it is held out (not sent): suppressed holdout.
    holdout: Holdout | None = None
    variants: tuple[Variant, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _fallback_last(self) -> MessageSpec:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique")
        experiments: set[str] = set()
        for variant in self.variants:
            if variant.experiment is not None:
                experiment_problem(variant, names, experiments)
                experiments.add(variant.experiment.name)
        if self.holdout is not None and self.holdout.name in experiments:
            raise ValueError(
                f"holdout {self.holdout.name!r}: a holdout and an experiment need different "
                "names (the same name would assign the same candidates to both)"
            )
        if self.variants[-1].rules:
            raise ValueError("the last variant must have no rules (it is the fallback)")
        if self.variants[-1].requires_fresh:
            raise ValueError("the last variant must not require fresh fields (it is the fallback)")
        for trigger in self.triggers:
            if trigger in JOB_BEHAVIOURS:
                raise ValueError(
                    f"trigger {trigger!r}: a message about a job is sent by a journey, which "
                    "shows the job as the listings hold it, not as the event describes it"
                )
        return self

    def holdout_name(self, message: str) -> str | None:
        """The name the holdout's assignment hashes with: its own, else the message's."""
        if self.holdout is None:
            return None
        return self.holdout.name or message

    def fresh_fields(self, context: Mapping[str, Any]) -> list[str]:
        """The fields that must be fresh for this message in this context."""
        return [r.field for r in self.requires_fresh if all(rule_holds(w, context) for w in r.when)]


def experiment_problem(variant: Variant, names: Sequence[str], seen: set[str]) -> None:
    """ValueError when ``variant``'s experiment does not fit the message (``names``: its
    variants; ``seen``: the experiment names of the variants before it)."""
    experiment = variant.experiment
    assert experiment is not None
    where = f"variant {variant.name}: experiment {experiment.name!r}"
    if experiment.name in seen:
        raise ValueError(f"{where}: another variant runs an experiment of that name")
    reserved = [arm for arm in experiment.arms if arm in ("holdout", "treatment")]
    if reserved:
        raise ValueError(f"{where}: {reserved[0]!r} names a holdout's arm; rename the variant")
    unknown = [arm for arm in experiment.arms if arm not in names]
    if unknown:
        raise ValueError(f"{where}: arm {unknown[0]!r} is not a variant of this message")
    if variant.name not in experiment.arms:
        raise ValueError(f"{where}: the arms must include {variant.name!r} itself")


class SlotVariant(BaseModel):
    """A variant of a careers-site content block: rules as for email, one HTML template."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str | None = None
    rules: tuple[Condition, ...] = ()
    html: str


class SlotSpec(BaseModel):
    """A content slot of the careers site (`GET /content/{slot}`).

    `anonymous` is shown to visitors without a token. `variants` are for known candidates:
    the first whose rules all hold, the last (without rules) as their fallback. `data` names
    what the block lists (jobs of Job Opened, events of event messages), at most `limit`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    description: str | None = None
    data: Literal["none", "jobs", "events"] = "none"
    limit: int = Field(default=5, ge=1, le=20)
    anonymous: SlotVariant
    variants: tuple[SlotVariant, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _well_formed(self) -> SlotSpec:
        names = [self.anonymous.name, *(v.name for v in self.variants)]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be unique (anonymous included)")
        if self.anonymous.rules:
            raise ValueError("the anonymous variant has no rules (it is shown without a token)")
        if self.variants[-1].rules:
            raise ValueError("the last variant must have no rules (it is the fallback)")
        return self


SLOT_NAME = r"^[a-z][a-z0-9_-]{0,39}$"


class CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    version: Literal[1]
    messages: dict[str, MessageSpec]
    slots: dict[Annotated[str, Field(pattern=SLOT_NAME)], SlotSpec] = Field(default_factory=dict)


V = TypeVar("V", Variant, SlotVariant)


@dataclass(frozen=True)
class Selection(Generic[V]):
    variant: V
    reasons: list[str]


def select_variant(
    spec: MessageSpec,
    context: Mapping[str, Any],
    *,
    now: datetime | None = None,
    stale: Mapping[str, str] | None = None,
) -> Selection[Variant]:
    """First variant whose rules all hold (and whose required fields are fresh: ``stale``
    maps a stale field to why); the reasons say why the first earlier ones did not, and how
    many more there were."""
    return choose_variant(spec.variants, context, now=now, stale=stale)


def choose_variant(
    variants: Sequence[V],
    context: Mapping[str, Any],
    *,
    now: datetime | None = None,
    stale: Mapping[str, str] | None = None,
) -> Selection[V]:
    """The variant chosen for email messages and careers-site slots alike (the last variant
    has no rules, as loading checks), with its reasons bounded as a decision record keeps
    them (content/selection.py)."""
    found = first_holding(variants, context, now=now, stale=stale)
    if found is not None:
        position, reasons = found
        return Selection(variants[position], reasons)
    raise CatalogueError("no fallback variant")  # unreachable: validated at load


class Catalogue:
    def __init__(self, root: Path, data: CatalogueFile, version: str = ""):
        self.root = root
        # The catalogue's content version (delivery.inputs.content_hash of catalogue.yaml),
        # computed once per load and recorded on every decision made with it.
        self.version = version
        self.messages = data.messages
        self.slots = data.slots
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

    def slot(self, name: str) -> SlotSpec:
        try:
            return self.slots[name]
        except KeyError as exc:
            from ..errors import UnknownSlotError

            raise UnknownSlotError(f"there is no content slot {name[:64]!r}") from exc

    def slots_named(self, names: Sequence[str]) -> list[SlotSpec]:
        """The specs of `names`, in order; UnknownSlotError naming every unknown one."""
        unknown = [name for name in names if name not in self.slots]
        if len(unknown) == 1:
            self.slot(unknown[0])
        if unknown:
            from ..errors import UnknownSlotError

            listed = ", ".join(repr(name[:64]) for name in unknown)
            raise UnknownSlotError(f"there are no content slots {listed}")
        return [self.slots[name] for name in names]

    @classmethod
    def load(cls, root: str | Path) -> Catalogue:
        root = Path(root)
        path = root / "catalogue.yaml"
        from ..delivery.inputs import content_hash

        try:
            text = path.read_text(encoding="utf-8")
            version = content_hash(text)
            raw = read_compiled(root / COMPILED_NAME, version, "catalogue")
            if raw is None:
                raw = parse_yaml(text)
        except (OSError, YamlError) as exc:
            raise CatalogueError(f"{path.name}: cannot be read: {exc}") from exc
        try:
            data = CatalogueFile.model_validate(raw)
        except ValidationError as exc:
            raise CatalogueFileError(_problems(path.name, text, exc)) from exc
        catalogue = cls(root, data, version)
        catalogue.check_templates_exist()
        return catalogue

    def template_names(self) -> Iterator[tuple[str, str]]:
        """(where, template) for every template file the catalogue names."""
        for name, spec in self.messages.items():
            for variant in spec.variants:
                where = f"messages.{name}.variants.{variant.name}"
                yield where, variant.html
                yield where, variant.text
        for name, slot in self.slots.items():
            for block in (slot.anonymous, *slot.variants):
                yield f"slots.{name}.{block.name}", block.html

    def check_templates_exist(self) -> None:
        """Every named template is a file under the root (a stat each; nothing compiled)."""
        from jinja2 import TemplateNotFound
        from jinja2.loaders import split_template_path

        root = str(self.root)
        for where, template in self.template_names():
            try:
                found = os.path.isfile(os.path.join(root, *split_template_path(template)))
            except TemplateNotFound:
                found = False
            if not found:
                raise CatalogueError(f"{where}: template {template} does not exist")


class CatalogueFileError(SourceError, CatalogueError):
    """The catalogue file is not valid: ``problems`` names each problem's path and line."""

    code = CatalogueError.code


def _problems(file: str, text: str, exc: ValidationError) -> list[Problem]:
    """The validation errors of the catalogue at their lines: the file is parsed again,
    keeping where each value came from, only when it failed (loading a valid one stays the
    fast C parser alone)."""
    from ..journeys.source import Source, read_source

    try:
        source = read_source(text, file)
    except SourceError:  # e.g. a repeated key, which PyYAML's loader lets pass
        source = Source(file=file, data=None, root=None)
    return source.validation_problems(exc)


@lru_cache(maxsize=4)
def load_catalogue(root: str) -> Catalogue:
    return Catalogue.load(root)


COMPILED_NAME = "catalogue.compiled.json"


def compile_catalogue_file(root: str | Path) -> Path:
    """Check the catalogue as `check_catalogue` does, then write its data as JSON with the
    hash of the YAML (what `Catalogue.load` reads first). Refused, with CatalogueError, when
    the JSON would not load as the same catalogue as the YAML."""
    from ..delivery.inputs import content_hash

    root = Path(root)
    check_catalogue(root)
    text = (root / "catalogue.yaml").read_text(encoding="utf-8")
    raw = parse_yaml(text)
    try:
        payload = compiled_json(content_hash(text), "catalogue", raw)
    except (TypeError, ValueError) as exc:
        raise CatalogueError(f"catalogue.yaml: cannot be written as JSON: {exc}") from exc
    again = json.loads(payload)["catalogue"]
    if CatalogueFile.model_validate(again) != CatalogueFile.model_validate(raw):
        raise CatalogueError("catalogue.yaml: its JSON form does not load as the same catalogue")
    target = root / COMPILED_NAME
    target.write_text(payload, encoding="utf-8")
    return target


def check_catalogue(root: str | Path) -> Catalogue:
    """Load the catalogue and compile every template it names (subjects included): what a
    build runs, so that a template with a syntax error fails it, naming the line."""
    from .render import compile_catalogue

    catalogue = Catalogue.load(root)
    compile_catalogue(catalogue)
    return catalogue
