"""Choosing a variant: the first one whose rules hold, found without trying every one before
it.

A message's variants are tried in order and the first whose rules all hold (and whose
required fields are fresh) is chosen; the last one has no rules. Walking the list costs a few
microseconds a variant, so a message with 1,000 variants, one per role family or city, cost
milliseconds a send. Most such variants are pinned by one rule to one text: ``candidate.
role_family eq data``, ``candidate.city in [Berlin, Munich]``. A ``VariantIndex`` files those
variants under their texts (folded, as the rule compares them), so a candidate's own values
name the few pinned variants that can hold; the variants pinned by nothing are always tried.
The candidates are tried in the catalogue's order and the first that holds is chosen, which
is the variant the full walk would choose: a pinned variant whose text is not the
candidate's fails its pinning rule, whatever its other rules say.

The reasons stay what a decision record keeps (models.state.passed_over): the first few
variants passed over, each explained, then how many more. Only those few are evaluated
again for their words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..models.state import PASSED_OVER_NAMED, passed_over
from .rules import Condition, Rule, explain_held, first_failed, fold, lookup

# Ops whose rule holds only for a text among the rule's own (with text values).
_PINNING_OPS = ("eq", "in")
# Indexes kept for variant tuples seen (a catalogue's messages and slots, a campaign's
# restriction of one); past this many the cache starts again.
_CACHED = 256


def _pin(rules: Sequence[Condition]) -> tuple[str, bool, tuple[str, ...]] | None:
    """The first top-level rule that holds only when its field is one of a few texts: its
    field, whether it folds, and the texts as it compares them. None when no rule does."""
    for condition in rules:
        if not isinstance(condition, Rule) or condition.op not in _PINNING_OPS:
            continue
        folds, match = condition.compared
        texts = (match,) if condition.op == "eq" else tuple(match)
        if texts and all(isinstance(t, str) for t in texts):
            return condition.field, folds, texts
    return None


class VariantIndex:
    """The variants of one message (or slot) filed by the text that pins each, if any."""

    def __init__(self, variants: Sequence[Any]):
        self.size = len(variants)
        self.unpinned: list[int] = []
        # (field, folds) -> text as compared -> positions of the variants it pins, in order.
        self.pinned: dict[tuple[str, bool], dict[str, list[int]]] = {}
        for position, variant in enumerate(variants):
            pin = _pin(variant.rules)
            if pin is None:
                self.unpinned.append(position)
                continue
            field, folds, texts = pin
            by_text = self.pinned.setdefault((field, folds), {})
            for text in dict.fromkeys(texts):
                by_text.setdefault(text, []).append(position)
        # Every field some variant requires fresh (decide checks these once per message).
        self.fresh_fields = tuple(
            sorted({f for v in variants for f in getattr(v, "requires_fresh", ())})
        )

    def candidates(self, context: Mapping[str, Any]) -> list[int]:
        """The positions of the variants that may hold in ``context``, in order: every
        variant whose rules all hold is among them."""
        if not self.pinned:
            return self.unpinned
        found = list(self.unpinned)
        for (field, folds), by_text in self.pinned.items():
            actual = lookup(context, field)
            if isinstance(actual, str):  # a pinning rule holds for nothing else
                hit = by_text.get(fold(actual) if folds else actual)
                if hit:
                    found.extend(hit)
        found.sort()
        return found


_INDEXES: dict[int, tuple[Sequence[Any], VariantIndex]] = {}


def variant_index(variants: Sequence[Any]) -> VariantIndex:
    """The index of a tuple of variants, built once per tuple (a list is indexed anew)."""
    if not isinstance(variants, tuple):
        return VariantIndex(variants)
    cached = _INDEXES.get(id(variants))
    if cached is not None and cached[0] is variants:
        return cached[1]
    if len(_INDEXES) >= _CACHED:
        _INDEXES.clear()
    index = VariantIndex(variants)
    _INDEXES[id(variants)] = (variants, index)  # the tuple is held: its id is not reused
    return index


def _stale_field(variant: Any, stale: Mapping[str, str]) -> str | None:
    for name in getattr(variant, "requires_fresh", ()):
        if name in stale:
            return name
    return None


def _passed_reason(
    variant: Any, context: Mapping[str, Any], now: datetime | None, stale: Mapping[str, str]
) -> str:
    """Why ``variant``, one before the chosen, was passed over, in words."""
    field = _stale_field(variant, stale)
    if field is not None:
        return f"not {variant.name}: {stale[field]}"
    failed = first_failed(variant.rules, context, now)
    assert failed is not None  # the chosen variant is the first that holds
    return f"not {variant.name}: {failed.explain(context, now)} does not hold"


def first_holding(
    variants: Sequence[Any],
    context: Mapping[str, Any],
    *,
    now: datetime | None = None,
    stale: Mapping[str, str] | None = None,
) -> tuple[int, list[str]] | None:
    """The position of the first variant that holds (its required fields fresh, its rules
    all holding) and the reasons, bounded as a decision keeps them; None when none holds."""
    stale = stale or {}
    for position in variant_index(variants).candidates(context):
        variant = variants[position]
        if _stale_field(variant, stale) is not None:
            continue
        if first_failed(variant.rules, context, now) is not None:
            continue
        earlier = variants[: min(position, PASSED_OVER_NAMED)]
        named = [_passed_reason(v, context, now, stale) for v in earlier]
        held = explain_held(variant.rules, context, now) if variant.rules else "fallback"
        chosen = f"variant {variant.name}: {held}"
        return position, passed_over([*named, chosen], more=position - len(named))
    return None
