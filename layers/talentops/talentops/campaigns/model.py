"""The campaign definition (docs/campaigns.md, ``POST /admin/campaigns``): a name, a
purpose, a segment of the talent pool, the content, and optionally when to send.

``segment`` is a list of conditions in the rule language of the catalogue and the journeys
(content/rules.py: rules and ``any``/``all``/``not`` groups, nested; all must hold). A field is
``candidate.<field>`` (or just ``<field>``) for a profile field, or
``behaviours.<kind>.at|subject_id|event_id``; anything else is refused, naming it (its path
inside groups, e.g. ``segment[0].any[1].field``).
``content`` names a message of the catalogue; the catalogue's rules choose each candidate's
variant, optionally among ``variants`` only (which must include the catalogue's fallback, so
that every candidate of the segment gets something). ``holdout`` (more than 0, at most 0.5)
holds that share of the candidates who would get the campaign out of it (suppressed with
reason ``holdout``), assigned by a hash of the candidate and the campaign's name.

Validated from JSON (the API: problems name the path) or from a YAML file (the CLI: problems
name the file and the line).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..content.catalogue import MessageSpec
from ..content.rules import (
    GROUP_KEYS,
    Condition,
    explain_held,
    first_failed,
    walk_rules,
)
from ..delivery.decide import candidate_view
from ..delivery.holdouts import HoldoutRef, check_share
from ..journeys.fields import field_problem, known_fields, unknown_name
from ..journeys.source import Problem, Source, SourceError, format_path, read_source
from ..models.countries import country_code
from ..models.events import EventStart
from ..models.state import Profile

CampaignPurpose = Literal["marketing", "events", "job_alerts"]
CAMPAIGN_ID_PATTERN = r"^cmp_[0-9a-f]{16}$"
SEGMENT_ID_PATTERN = r"^seg_[0-9a-f]{16}$"
MAX_EXCLUDED_CAMPAIGNS = 20
# (segment id, version or None for the latest) -> (the version, its conditions), or None.
SegmentResolver = Callable[[str, int | None], tuple[int, Sequence[Any]] | None]


class CampaignError(SourceError):
    """A campaign definition is not valid: each problem names where (path, and line in a
    file) and what."""

    code = "invalid_campaign"


def _single_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("must be a single line")
    return value


class CampaignContent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    template: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    # Only these variants of the catalogue's message (in the catalogue's order); empty: all.
    variants: tuple[Annotated[str, Field(pattern=r"^[a-z0-9_]+$")], ...] = ()


class SegmentRef(BaseModel):
    """A saved segment (POST /admin/segments): pinned at creation to a version."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    id: Annotated[str, Field(pattern=SEGMENT_ID_PATTERN)]
    version: Annotated[int, Field(ge=1)] | None = None


class CampaignExclude(BaseModel):
    """Who the campaign leaves out (counted ``excluded``): the recipients of other
    campaigns, and whoever received a message of a purpose within some days."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    campaigns: tuple[Annotated[str, Field(pattern=CAMPAIGN_ID_PATTERN)], ...] = Field(
        default=(), max_length=MAX_EXCLUDED_CAMPAIGNS
    )
    purposes: dict[
        Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,31}$")],
        Annotated[int, Field(ge=1, le=365)],
    ] = Field(default_factory=dict, max_length=10)


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: Annotated[str, Field(max_length=1000)] | None = None
    purpose: CampaignPurpose
    segment: tuple[Condition, ...] = Field(min_length=1)
    content: CampaignContent
    # Bounded like an event's start: from 2000-01-01 to 731 days ahead of the clock.
    send_at: EventStart | None = None
    # The share of the candidates who would get it held out (not sent): 0 < share <= 0.5.
    holdout: float | None = Field(
        default=None, json_schema_extra={"exclusiveMinimum": 0, "maximum": 0.5}
    )
    # The saved segment ``segment`` was taken from (id and the version pinned at creation).
    segment_ref: SegmentRef | None = None
    exclude: CampaignExclude | None = None

    @field_validator("name")
    @classmethod
    def _name_single_line(cls, value: str) -> str:
        return _single_line(value)

    @field_validator("holdout")
    @classmethod
    def _holdout_share(cls, value: float | None) -> float | None:
        return None if value is None else check_share(value)

    def holdouts(self) -> list[HoldoutRef]:
        """The campaign's holdout, named after the campaign (its name, not its id: the id
        is a hash of the whole definition, so a campaign made again with another share or
        segment keeps the candidates it held out)."""
        if self.holdout is None:
            return []
        return [HoldoutRef(f"campaign:{self.name}", self.holdout)]

    @field_validator("segment", mode="before")
    @classmethod
    def _bare_fields(cls, value: Any) -> Any:
        """``city`` is short for ``candidate.city`` (in groups too)."""
        if not isinstance(value, list | tuple):
            return value
        return [_shorthands(item) for item in value]

    def fingerprint(self) -> str:
        """A hash of the definition (e.g. to tell a re-sent create from a new campaign)."""
        data = self.model_dump(mode="json", exclude_none=True)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def segment_attributes(self) -> tuple[str, ...]:
        """What of a profile item the segment reads (document paths of the item): the
        candidate id, each ``candidate.<field>`` as ``fields.<field>``, each
        ``behaviours.<kind>...`` as ``behaviours.<kind>``."""
        paths = ["candidate_id"]
        fields = dict.fromkeys(rule.field for _, rule in walk_rules(self.segment))
        for field in fields:  # in the segment's order, inside groups too
            kind, _, rest = field.partition(".")
            if kind == "candidate":
                paths.append(f"fields.{rest}")
            elif kind == "behaviours":
                paths.append(f"behaviours.{rest.split('.')[0]}")
            else:  # not a field a definition passes (validate_campaign): the whole view
                return ("candidate_id", "fields", "behaviours")
        return tuple(dict.fromkeys(paths))

    def in_segment(self, profile: Profile, now: datetime) -> tuple[bool, list[str]]:
        """Whether every condition holds for ``profile``, and which failed (or all held)."""
        context = segment_context(profile)
        failed = first_failed(self.segment, context, now)
        if failed is not None:
            return False, [f"not in segment: {failed.explain(context, now)} does not hold"]
        return True, [f"in segment: {explain_held(self.segment, context, now)}"]


_COUNTRY_OPS = ("eq", "ne", "in", "not_in")


def _names_countries(item: Any) -> bool:
    return (
        isinstance(item, Mapping)
        and item.get("field") in ("country", "candidate.country")
        and item.get("op") in _COUNTRY_OPS
    )


def _country_values(value: Any, *, normalize: bool) -> Any:
    """A rule's country value(s) as ISO codes (``normalize``), or the ones that are no code."""
    values = value if isinstance(value, list) else [value]
    if normalize:
        fixed = [country_code(v) or v for v in values]
        return fixed if isinstance(value, list) else fixed[0]
    return [v for v in values if country_code(v) is None]


def _shorthands(item: Any) -> Any:
    """A condition with its bare fields prefixed and its countries as ISO codes, however deep
    in groups."""
    if not isinstance(item, Mapping):
        return item
    if any(key in item for key in GROUP_KEYS):
        out = dict(item)
        for key in GROUP_KEYS:
            inner = item.get(key)
            if isinstance(inner, list | tuple):
                out[key] = [_shorthands(i) for i in inner]
            elif key in item:
                out[key] = _shorthands(inner)
        return out
    name = item.get("field")
    if isinstance(name, str) and "." not in name:
        item = {**item, "field": f"candidate.{name}"}
    if _names_countries(item):
        # Stored countries are ISO codes: UK and EL mean GB and GR here too.
        item = {**item, "value": _country_values(item.get("value"), normalize=True)}
    return item


def _raw_rules(
    item: Any, at: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """Every rule-like mapping of a raw (not validated) condition, with its path."""
    if not isinstance(item, Mapping):
        return
    if any(key in item for key in GROUP_KEYS):
        for key in GROUP_KEYS:
            inner = item.get(key)
            if isinstance(inner, list | tuple):
                for index, each in enumerate(inner):
                    yield from _raw_rules(each, (*at, key, index))
            elif key in item:
                yield from _raw_rules(inner, (*at, key))
        return
    yield at, item


def segment_problems(segment: Any, problem: Callable[..., Problem]) -> list[Problem]:
    """The problems of a raw segment's fields (unknown fields, country values that are no
    ISO code), each at its path ``segment[i]...``; the shape is pydantic's to check."""
    problems: list[Problem] = []
    allowed = known_fields(None)
    if not isinstance(segment, list):
        return problems
    for index, item in enumerate(segment):
        for at, rule in _raw_rules(item, ("segment", index)):
            field = rule.get("field")
            if isinstance(field, str):
                name = field if "." in field else f"candidate.{field}"
                issue = field_problem(name, allowed)
                if issue is not None:
                    problems.append(problem((*at, "field"), issue))
            if _names_countries(rule):
                wrong = _country_values(rule.get("value"), normalize=False)
                if wrong:
                    problems.append(
                        problem(
                            (*at, "value"),
                            f"not ISO 3166-1 alpha-2 country codes: {wrong[:5]!r}",
                        )
                    )
    return problems


def _resolve_segment_ref(
    data: Mapping[str, Any],
    segments: SegmentResolver | None,
    problem: Callable[..., Problem],
) -> tuple[Mapping[str, Any], list[Problem]]:
    """``data`` with the saved segment it refers to pinned: ``segment_ref`` gets the version
    (the latest when none is named) and ``segment`` that version's conditions."""
    ref = data.get("segment_ref")
    if "segment" in data:
        return data, [problem(("segment_ref",), "give either segment or segment_ref, not both")]
    if not isinstance(ref, Mapping):
        return data, []  # pydantic names the shape
    segment_id, version = ref.get("id"), ref.get("version")
    if not isinstance(segment_id, str) or not (version is None or type(version) is int):
        return data, []  # pydantic names the shape
    if segments is None:
        return data, [problem(("segment_ref",), "a saved segment can be used through the API only")]
    found = segments(segment_id, version)
    if found is None:
        if version is None:
            return data, [problem(("segment_ref", "id"), "no saved segment has this id")]
        return data, [problem(("segment_ref", "version"), "the segment has no such version")]
    pinned, conditions = found
    resolved = {**data, "segment_ref": {**ref, "version": pinned}, "segment": list(conditions)}
    return resolved, []


def _exclusion_window_problems(
    purposes: Mapping[str, Any], window: timedelta | None, problem: Callable[..., Problem]
) -> list[Problem]:
    """A purpose's exclusion reads the send ledger on the profile: no longer than it keeps."""
    if window is None:
        return []
    days = window / timedelta(days=1)
    return [
        problem(
            ("exclude", "purposes", purpose),
            f"{value} days is longer than the send ledger keeps ({days:g} days: "
            "LEDGER_WINDOW_DAYS, docs/campaigns.md)",
        )
        for purpose, value in purposes.items()
        if type(value) is int and value > days
    ]


def segment_context(profile: Profile) -> dict[str, Any]:
    return {"candidate": candidate_view(profile), "behaviours": dict(profile.behaviours)}


def validate_campaign(
    data: Any,
    *,
    messages: Mapping[str, MessageSpec] | None = None,
    source: Source | None = None,
    segments: SegmentResolver | None = None,
    window: timedelta | None = None,
) -> Campaign:
    """A Campaign from ``data`` (parsed JSON or YAML), all checks done: the shape, every
    segment field known, the template in the catalogue (``messages``: the catalogue's
    messages; None skips the catalogue checks) with the campaign's purpose, and the variants
    among the template's, its fallback included. ``segment_ref`` is resolved by ``segments``
    (id, version or None: the latest) to the version's number and conditions, pinned in the
    definition; a purpose's exclusion is at most ``window`` (the send ledger's). Raises
    CampaignError with every problem."""
    src = source or Source(file="campaign", data=data, root=None)

    def problem(path: tuple[str | int, ...], message: str) -> Problem:
        if source is not None:
            return source.problem(path, message)
        return Problem("campaign", None, format_path(path), message)

    if not isinstance(data, Mapping):
        raise CampaignError([problem((), "a campaign is a mapping (name, purpose, ...)")])
    problems: list[Problem] = []
    if "segment_ref" in data:
        data, ref_problems = _resolve_segment_ref(data, segments, problem)
        problems += ref_problems
    problems += segment_problems(data.get("segment"), problem)
    exclude = data.get("exclude")
    if isinstance(exclude, Mapping) and isinstance(exclude.get("purposes"), Mapping):
        problems += _exclusion_window_problems(exclude["purposes"], window, problem)
    try:
        campaign = Campaign.model_validate(dict(data))
    except ValidationError as exc:
        # Without a file, src has no nodes: the problems have their path and no line.
        unresolved = any(p.path.startswith("segment_ref") for p in problems)
        for found in src.validation_problems(exc):
            if unresolved and found.message == "missing 'segment'":
                continue  # no segment because its reference is wrong: said already
            if not any(p.path == found.path for p in problems):
                problems.append(found)
        raise CampaignError(problems) from exc
    if messages is not None:
        problems.extend(_check_content(campaign, messages, problem))
    if problems:
        raise CampaignError(problems)
    return campaign


def _check_content(
    campaign: Campaign, messages: Mapping[str, MessageSpec], problem: Any
) -> list[Problem]:
    template = campaign.content.template
    spec = messages.get(template)
    if spec is None:
        text = unknown_name("template", template, list(messages), where="in the catalogue")
        return [problem(("content", "template"), text)]
    problems = []
    if spec.purpose != campaign.purpose:
        problems.append(
            problem(
                ("content", "template"),
                f"template {template!r} has purpose {spec.purpose!r} in the catalogue; the "
                f"campaign's purpose is {campaign.purpose!r}",
            )
        )
    names = [v.name for v in spec.variants]
    for index, variant in enumerate(campaign.content.variants):
        if variant not in names:
            text = unknown_name("variant", variant, names, where=f"a variant of {template!r}")
            problems.append(problem(("content", "variants", index), text))
    if campaign.content.variants and names[-1] not in campaign.content.variants:
        problems.append(
            problem(
                ("content", "variants"),
                f"the variants must include {names[-1]!r}, the fallback of {template!r}, so "
                "that every candidate of the segment gets a variant",
            )
        )
    return problems


def parse_campaign(
    text: str, file: str, messages: Mapping[str, MessageSpec] | None = None
) -> Campaign:
    """A campaign from YAML (or JSON) text; problems name ``file`` and the line."""
    try:
        source = read_source(text, file)
    except SourceError as exc:
        raise CampaignError(exc.problems) from exc
    return validate_campaign(source.data, messages=messages, source=source)


def load_campaign_file(
    path: str | Path, messages: Mapping[str, MessageSpec] | None = None
) -> Campaign:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignError([Problem(path.name, None, "", f"cannot be read: {exc}")]) from exc
    return parse_campaign(text, path.name, messages)


def restricted_spec(campaign: Campaign, spec: MessageSpec) -> MessageSpec:
    """The catalogue's message with only the campaign's variants (all when it names none):
    one copy per message and restriction, so that a campaign's recipients share it (and the
    index of its variants, content/selection.py)."""
    if not campaign.content.variants:
        return spec
    key = (id(spec), tuple(campaign.content.variants))
    held = _RESTRICTED.get(key)
    if held is not None and held[0] is spec:  # the spec is held: its id is not reused
        return held[1]
    keep = set(campaign.content.variants)
    variants = tuple(v for v in spec.variants if v.name in keep)
    restricted = spec.model_copy(update={"variants": variants})
    if len(_RESTRICTED) >= 64:
        _RESTRICTED.clear()
    _RESTRICTED[key] = (spec, restricted)
    return restricted


_RESTRICTED: dict[tuple[int, tuple[str, ...]], tuple[MessageSpec, MessageSpec]] = {}
