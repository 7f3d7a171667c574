"""The inputs a decision used, recorded on its record so that it can be derived again.

A decision is a pure function of its trigger, the candidate's profile, the content
(catalogue, journeys) and the policies. The record names the trigger already; this module
adds the rest, compactly (a decision record stays under 4 KB whatever the catalogue):

- ``content``: the version of each piece of content, a hash prefix computed once per load
  (``content_hash``), never per message;
- ``fields``: only the profile fields the message reads (``fields_read``: the address, the
  country consent depends on, the fields its freshness requirements and its variants' rules
  name), each as ``[value, source, observed_at]``, or null when the profile held none. Values
  are personal data; the record lives in the candidate's partition and is erased with it,
  so they may be kept. A value whose JSON is longer than ``VALUE_CHARS`` (a long skills list)
  and the address (only its presence is read) are kept as ``{"sha256": <prefix>}``: enough to
  say whether it changed, not to reproduce it;
- ``consent``: the purpose's consent as ``[status, source, observed_at]`` (null: none);
- ``subject``: the values of the trigger's subject that the rules read (``job.remote``);
- ``sent``: how many messages of the purpose the frequency cap counted (null: no cap);
- ``suppressed``: whether the address was on the suppression list.

``profile_at`` rebuilds the profile as the decision read it (explain a decision at its time);
``compare_inputs`` says which inputs differ between two records of inputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any

from ..content.catalogue import MessageSpec
from ..content.rules import Condition, lookup, walk_rules
from ..models.state import ConsentState, DecisionInputs, FieldValue, Profile, SentRecord

HASH_CHARS = 12
VALUE_CHARS = 40
SOURCE_CHARS = 24
SUBJECT_KEPT = 4  # the subject's values the rules read, at most
CONTENT_KINDS = ("catalogue", "journeys", "policy")
# Read by decide() for every message: the address (present or not) and the country that
# sets the consent regime.
ALWAYS_READ = ("email", "country")
DIGEST_ONLY = frozenset({"email"})
RECORDED_ADDRESS = "recorded-address@invalid"


def content_hash(*parts: bytes | str) -> str:
    """A short, stable version of some content: the sha256 prefix of its parts in order."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()[:HASH_CHARS]


def canonical(data: Any) -> str:
    """JSON with sorted keys: the same data, the same text (and hash)."""
    if type(data) is str:  # an address, a long name: what the encoder writes for it
        return _json_str(data)
    return _CANONICAL.encode(data)


# json.dumps with these options builds this encoder for every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class ContentVersions:
    """The versions of the content a process decides with (each a ``content_hash``)."""

    catalogue: str = ""
    journeys: str = ""
    policy: str = ""

    def as_dict(self) -> dict[str, str]:
        return {k: v for k in CONTENT_KINDS if (v := getattr(self, k))}


def _rule_fields(conditions: Iterable[Condition]) -> Iterable[str]:
    """The fields the conditions read, groups walked, in order of appearance."""
    return (rule.field for _, rule in walk_rules(conditions))


# What each message spec reads, computed once per spec (a catalogue's specs live as long as
# the catalogue): keyed by the spec's id, the spec kept so that the id is not reused.
_READS: dict[int, tuple[MessageSpec, list[str], tuple[str, ...]]] = {}
_READS_KEPT = 512


def _reads(spec: MessageSpec) -> tuple[list[str], tuple[str, ...]]:
    found = _READS.get(id(spec))
    if found is None or found[0] is not spec:
        if len(_READS) >= _READS_KEPT:
            _READS.clear()
        found = (spec, _rule_paths(spec), _fields_read(spec))
        _READS[id(spec)] = found
    return found[1], found[2]


def rule_paths(spec: MessageSpec) -> list[str]:
    """Every field path the message's rules name (freshness conditions and variants), in
    order of first appearance."""
    return list(_reads(spec)[0])


def _rule_paths(spec: MessageSpec) -> list[str]:
    paths: list[str] = []
    for requirement in spec.requires_fresh:
        paths.extend(_rule_fields(requirement.when))
    for variant in spec.variants:
        paths.extend(_rule_fields(variant.rules))
    return list(dict.fromkeys(paths))


def fields_read(spec: MessageSpec) -> tuple[str, ...]:
    """The profile fields decide() reads for ``spec``: the address and country, the fields it
    requires fresh, and every ``candidate.<name>`` its rules name (variants' included)."""
    return _reads(spec)[1]


def _fields_read(spec: MessageSpec) -> tuple[str, ...]:
    from .decide import PROFILE_FIELDS  # decide imports this module

    names: list[str] = [*ALWAYS_READ]
    names.extend(r.field for r in spec.requires_fresh)
    for path in _rule_paths(spec):
        if path.startswith("candidate."):
            names.append(path.removeprefix("candidate."))
    for variant in spec.variants:
        names.extend(variant.requires_fresh)
    # Only the profile's fields: a rule on another name reads nothing (and the record stays
    # bounded by the ten of them whatever the catalogue names).
    return tuple(n for n in dict.fromkeys(names) if n in PROFILE_FIELDS)


def _compact(value: Any, *, digest_only: bool = False) -> Any:
    if not digest_only and (
        value is None
        or isinstance(value, bool | int | float)
        or (isinstance(value, str) and len(value) <= VALUE_CHARS // 2)
    ):
        return value  # short enough whatever JSON escapes it needs (at most 2 chars each)
    text = canonical(value)
    if digest_only or len(text) > VALUE_CHARS:
        return {"sha256": content_hash(text)}
    return value


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def field_input(fv: FieldValue | None, name: str) -> list[Any] | None:
    if fv is None:
        return None
    value = _compact(fv.value, digest_only=name in DIGEST_ONLY and fv.value not in (None, ""))
    return [value, fv.source[:SOURCE_CHARS], _when(fv.observed_at)]


def consent_input(state: ConsentState | None) -> list[Any] | None:
    if state is None:
        return None
    return [state.status, state.source[:SOURCE_CHARS], _when(state.observed_at)]


def record_inputs(
    *,
    profile: Profile | None,
    spec: MessageSpec,
    payload: Mapping[str, Any],
    versions: Mapping[str, str] | None,
    sent: int | None = None,
) -> DecisionInputs:
    """What a decision of ``spec`` read (pure; see the module's docstring)."""
    content = dict(versions or {})
    if profile is None:
        return DecisionInputs.model_construct(
            content=content, fields={}, consent=None, subject={}, sent=None, suppressed=False
        )
    paths, names = _reads(spec)
    subject: dict[str, Any] = {}
    for path in paths:
        if len(subject) >= SUBJECT_KEPT or path.startswith(("candidate.", "behaviours.")):
            continue
        value = lookup(payload, path) if path.split(".", 1)[0] in payload else None
        if value is not None:  # an absent value replays as absent
            subject[path] = _compact(value)
    # Built as validated (every value is of its field's type): no validation per decision.
    return DecisionInputs.model_construct(
        content=content,
        fields={name: field_input(profile.fields.get(name), name) for name in names},
        consent=consent_input(profile.consent.get(spec.purpose)),
        subject=subject,
        sent=sent,
        suppressed=profile.suppressed,
    )


def _is_digest(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"sha256"}


def _parse_time(text: Any) -> datetime:
    return datetime.fromisoformat(str(text))


def profile_at(
    profile: Profile, inputs: DecisionInputs, purpose: str, decided_at: datetime
) -> tuple[Profile, list[str]]:
    """The profile as the decision read it: its recorded fields, consent, suppression and
    cap count laid over the profile held now. Returns it and notes on what could not be
    reproduced (a value kept as a digest that differs from today's: today's is used)."""
    notes: list[str] = []
    fields = dict(profile.fields)
    for name, recorded in inputs.fields.items():
        if recorded is None:
            fields.pop(name, None)
            continue
        value, source, observed = recorded
        if _is_digest(value):
            now_value = profile.value(name)
            same = now_value is not None and _compact(now_value, digest_only=True) == value
            if name in DIGEST_ONLY:
                value = now_value if same else RECORDED_ADDRESS
            elif same:
                value = now_value
            else:
                value = now_value
                notes.append(f"{name}: its value then was not kept (too long); today's is used")
        fields[name] = FieldValue(value=value, source=source, observed_at=_parse_time(observed))
    consent = dict(profile.consent)
    if inputs.fields or inputs.consent is not None:
        if inputs.consent is None:
            consent.pop(purpose, None)
        else:
            status, source, observed = inputs.consent
            consent[purpose] = ConsentState(
                status=status, source=source, observed_at=_parse_time(observed)
            )
    recent = profile.recent
    if inputs.sent is not None:
        # The cap counted ``sent`` messages of the purpose then: as many traces at that time.
        recent = {
            f"recorded-{i}": SentRecord(at=decided_at, purpose=purpose, template="recorded")
            for i in range(inputs.sent)
        }
    then = profile.model_copy(
        update={
            "fields": fields,
            "consent": consent,
            "recent": recent,
            "suppressed": inputs.suppressed if inputs.fields else profile.suppressed,
        }
    )
    return then, notes


def payload_at(inputs: DecisionInputs) -> dict[str, Any]:
    """The trigger's subject as far as the rules read it (``{"job": {"remote": true}}``)."""
    payload: dict[str, Any] = {}
    for path, value in inputs.subject.items():
        if _is_digest(value):
            continue
        head, *rest = path.split(".")
        node = payload.setdefault(head, {})
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        if rest:
            node[rest[-1]] = value
    return payload


@dataclass(frozen=True)
class InputChange:
    """One input that differs: ``kind`` content, field, consent, subject, sent or
    suppressed; ``name`` which one; ``then`` and ``now`` as recorded."""

    kind: str
    name: str
    then: Any
    now: Any

    def describe(self) -> str:
        if self.kind == "content":
            return f"content {self.name} changed (version {self.then} then, {self.now} now)"
        if self.kind == "field":
            what = "observed again, the same value" if self.same_value else "changed"
            return f"field {self.name} {what}: {_side(self.then)} then, {_side(self.now)} now"
        if self.kind == "consent":
            return f"consent changed: {_side(self.then)} then, {_side(self.now)} now"
        if self.kind == "sent":
            return (
                f"the frequency cap counted {self.then} messages then, {self.now} now (the "
                "ledger keeps a send's trace only as long as a window reads it)"
            )
        return f"{self.kind} {self.name} changed: {self.then!r} then, {self.now!r} now"

    @property
    def same_value(self) -> bool:
        """A field observed again (source or time) with the value it had."""
        return (
            self.kind == "field"
            and self.then is not None
            and self.now is not None
            and self.then[0] == self.now[0]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "then": self.then,
            "now": self.now,
            "why": self.describe(),
        }


def _side(recorded: Any) -> str:
    if recorded is None:
        return "not known"
    if isinstance(recorded, Sequence) and not isinstance(recorded, str) and len(recorded) == 3:
        value, source, observed = recorded
        shown = "a value (not kept)" if _is_digest(value) else repr(value)
        return f"{shown} from {source}, observed {observed}"
    return repr(recorded)


def _normal(recorded: Any) -> Any:
    """JSON round trip: a record read back from storage compares equal to a fresh one."""
    return json.loads(canonical(recorded))


def compare_inputs(then: DecisionInputs, now: DecisionInputs) -> list[InputChange]:
    """Which inputs differ between ``then`` (a decision's record) and ``now`` (the same
    message's inputs today): content versions, fields (value, source or time), consent, the
    subject's values the rules read, the cap's count, the suppression list. Content a record
    does not name (recorded before it was kept) is not compared; a field only one side read
    is compared with the other side's absence."""
    changes: list[InputChange] = []
    for kind in CONTENT_KINDS:
        a, b = then.content.get(kind), now.content.get(kind)
        if a and b and a != b:
            changes.append(InputChange("content", kind, a, b))
    if not then.fields:
        # Nothing of the profile was recorded (a suppression held back before the decision,
        # an unknown candidate): only the content can be compared.
        return changes
    a_fields, b_fields = _normal(then.fields), _normal(now.fields)
    for name in dict.fromkeys([*a_fields, *b_fields]):
        a, b = a_fields.get(name), b_fields.get(name)
        if a != b:
            changes.append(InputChange("field", name, a, b))
    if _normal(then.consent) != _normal(now.consent):
        changes.append(InputChange("consent", "purpose", then.consent, now.consent))
    a_subject, b_subject = _normal(then.subject), _normal(now.subject)
    for path in dict.fromkeys([*a_subject, *b_subject]):
        if a_subject.get(path) != b_subject.get(path):
            changes.append(InputChange("subject", path, a_subject.get(path), b_subject.get(path)))
    if then.sent != now.sent and then.sent is not None and now.sent is not None:
        changes.append(InputChange("sent", "frequency cap", then.sent, now.sent))
    if then.suppressed != now.suppressed:
        changes.append(InputChange("suppressed", "address", then.suppressed, now.suppressed))
    return changes


def cap_count(profile: Profile, purpose: str, window: timedelta, now: datetime) -> int:
    """Messages of ``purpose`` the frequency cap counts at ``now`` (decide()'s count)."""
    since = now - window
    return sum(1 for r in profile.recent.values() if r.purpose == purpose and r.at > since)
