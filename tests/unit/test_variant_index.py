"""Choosing a variant through the index (content/selection.py): the same variant, and the
same reasons, as trying every variant in order; the reasons bounded as a decision keeps them;
the environment's template cache keeps the most recently used."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from talentops.content.catalogue import MessageSpec, select_variant
from talentops.content.render import _RecentTemplates
from talentops.content.rules import explain_held, first_failed
from talentops.content.selection import VariantIndex, variant_index
from talentops.models.state import PASSED_OVER_NAMED, passed_over

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
CITIES = ["Berlin", "berlin", "BERLİN", "Zürich", "zurich", "Paris", "", "Köln"]
FAMILIES = ["data", "Data", "design", "sales"]


def walk(spec: MessageSpec, context: dict[str, Any], stale: dict[str, str]) -> tuple[str, list]:
    """The reference: every variant tried in order, every reason written, then bounded."""
    reasons = []
    for variant in spec.variants:
        not_fresh = [f for f in variant.requires_fresh if f in stale]
        if not_fresh:
            reasons.append(f"not {variant.name}: {stale[not_fresh[0]]}")
            continue
        failed = first_failed(variant.rules, context, NOW)
        if failed is None:
            held = explain_held(variant.rules, context, NOW) if variant.rules else "fallback"
            reasons.append(f"variant {variant.name}: {held}")
            return variant.name, passed_over(reasons)
        reasons.append(f"not {variant.name}: {failed.explain(context, NOW)} does not hold")
    raise AssertionError("no fallback")


def _text(values: list[str]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


rule = st.one_of(
    st.builds(
        lambda v, exact: {"field": "candidate.city", "op": "eq", "value": v, "exact": exact},
        _text(CITIES),
        st.sampled_from([None, True]),
    ),
    st.builds(
        lambda vs: {"field": "candidate.city", "op": "in", "value": vs},
        st.lists(_text(CITIES), min_size=1, max_size=3),
    ),
    st.builds(
        lambda v: {"field": "candidate.role_family", "op": "eq", "value": v},
        _text(FAMILIES),
    ),
    st.builds(
        lambda vs: {"field": "candidate.role_family", "op": "in", "value": vs},
        st.lists(st.one_of(_text(FAMILIES), st.integers(0, 2)), min_size=1, max_size=3),
    ),
    st.just({"field": "candidate.role_family", "op": "ne", "value": "data"}),
    st.just({"field": "candidate.seniority", "op": "seniority_at_least", "value": "senior"}),
    st.just({"field": "candidate.skills", "op": "contains", "value": "go"}),
    st.just({"any": [{"field": "candidate.city", "op": "eq", "value": "Paris"}]}),
    st.just({"not": {"field": "candidate.city", "op": "eq", "value": "Berlin"}}),
    st.just({"field": "candidate.count", "op": "eq", "value": 3}),
)

variant = st.tuples(
    st.lists(rule, max_size=3), st.lists(st.sampled_from(["city", "seniority"]), max_size=1)
)

actual = st.one_of(
    st.none(), _text(CITIES), _text(FAMILIES), st.integers(0, 3), st.lists(_text(CITIES))
)


def _spec(variants: list[tuple[list[dict], list[str]]]) -> MessageSpec:
    entries = [
        {
            "name": f"v{i}",
            "rules": rules,
            "requires_fresh": fresh,
            "subject": "s",
            "html": "a.html",
            "text": "a.txt",
        }
        for i, (rules, fresh) in enumerate(variants)
    ]
    entries.append({"name": "fallback", "subject": "s", "html": "a.html", "text": "a.txt"})
    return MessageSpec.model_validate({"purpose": "events", "variants": entries})


@settings(max_examples=300, deadline=None)
@given(
    variants=st.lists(variant, max_size=12),
    city=actual,
    family=actual,
    seniority=st.sampled_from([None, "junior", "senior", "lead"]),
    skills=st.one_of(st.none(), st.lists(st.sampled_from(["Go", "python"]), max_size=2)),
    count=st.one_of(st.none(), st.integers(2, 4), st.just("3")),
    stale=st.sampled_from([{}, {"city": "city is stale"}, {"seniority": "seniority unknown"}]),
)
def test_the_index_chooses_what_the_full_walk_chooses_with_the_same_reasons(
    variants, city, family, seniority, skills, count, stale
):
    spec = _spec(variants)
    context = {
        "candidate": {
            "city": city,
            "role_family": family,
            "seniority": seniority,
            "skills": skills,
            "count": count,
        }
    }
    chosen = select_variant(spec, context, now=NOW, stale=stale)
    assert (chosen.variant.name, chosen.reasons) == walk(spec, context, stale)


def _pinned_spec(n: int) -> MessageSpec:
    return _spec(
        [
            ([{"field": "candidate.role_family", "op": "eq", "value": f"f{i:04d}"}], [])
            for i in range(n)
        ]
    )


def test_a_thousand_pinned_variants_try_only_the_candidates_own():
    spec = _pinned_spec(1000)
    index = variant_index(spec.variants)
    assert index.candidates({"candidate": {"role_family": "F0500"}}) == [500, 1000]
    assert index.candidates({"candidate": {"role_family": "other"}}) == [1000]
    assert index.candidates({"candidate": {"role_family": None}}) == [1000]
    assert index.candidates({"candidate": {"role_family": ["f0001"]}}) == [1000]
    chosen = select_variant(spec, {"candidate": {"role_family": "f0500"}}, now=NOW)
    assert chosen.variant.name == "v500"
    assert len(chosen.reasons) == PASSED_OVER_NAMED + 2
    assert chosen.reasons[PASSED_OVER_NAMED] == "and 495 more variants passed over"
    assert chosen.reasons[0] == "not v0: candidate.role_family eq 'f0000' does not hold"
    assert chosen.reasons[-1] == "variant v500: candidate.role_family eq 'f0500'"


def test_unpinned_variants_are_always_tried_in_their_place():
    spec = _spec(
        [
            ([{"field": "candidate.role_family", "op": "eq", "value": "data"}], []),
            ([{"field": "candidate.seniority", "op": "seniority_at_least", "value": "senior"}], []),
            ([{"field": "candidate.role_family", "op": "in", "value": ["data", "design"]}], []),
        ]
    )
    index = VariantIndex(spec.variants)
    assert index.unpinned == [1, 3]
    assert index.candidates({"candidate": {"role_family": "DATA"}}) == [0, 1, 2, 3]
    assert index.candidates({"candidate": {"role_family": "design"}}) == [1, 2, 3]
    senior = {"candidate": {"role_family": "design", "seniority": "lead"}}
    assert select_variant(spec, senior, now=NOW).variant.name == "v1"


def test_an_index_is_built_once_per_tuple_of_variants():
    spec = _pinned_spec(3)
    assert variant_index(spec.variants) is variant_index(spec.variants)
    restricted = spec.model_copy(update={"variants": spec.variants[1:]})
    assert variant_index(restricted.variants) is not variant_index(spec.variants)
    assert variant_index(restricted.variants).size == 3
    as_list = list(spec.variants)
    assert variant_index(as_list) is not variant_index(as_list)  # a list may change


def test_passed_over_counts_what_it_was_not_given():
    assert passed_over(["not a: x", "variant b: y"], more=7) == [
        "not a: x",
        "and 7 more variants passed over",
        "variant b: y",
    ]
    assert passed_over(["not a: x", "variant b: y"], more=1)[1] == "and 1 more variant passed over"
    assert passed_over(["variant b: y"]) == ["variant b: y"]


def test_the_template_cache_drops_the_least_recently_used():
    cache = _RecentTemplates(3)
    for key in "abc":
        cache[key] = key.upper()
    assert cache.get("a") == "A"  # a is now the most recent
    cache["d"] = "D"
    assert list(cache) == ["c", "a", "d"]
    assert cache.get("b") is None and cache.get("b", 0) == 0
    assert len(cache) == 3


def test_staleness_of_a_required_field_is_checked_with_the_index():
    spec = _spec(
        [
            ([{"field": "candidate.city", "op": "eq", "value": "Berlin"}], ["city"]),
            ([{"field": "candidate.city", "op": "eq", "value": "Berlin"}], []),
        ]
    )
    chosen = select_variant(
        spec, {"candidate": {"city": "berlin"}}, now=NOW, stale={"city": "city since 2025"}
    )
    assert chosen.variant.name == "v1"
    assert chosen.reasons == ["not v0: city since 2025", "variant v1: candidate.city eq 'Berlin'"]
