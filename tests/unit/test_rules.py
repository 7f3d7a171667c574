"""The rule language (content/rules.py), shared by catalogue variants, fresh-field
requirements, journey conditions and campaign segments: every op, groups (any, all, not,
nested), text folding and its exact form, problems at their path (and line, in YAML), and
explanations that name the branch of a group that decided."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from talentops.campaigns.model import CampaignError, parse_campaign, validate_campaign
from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import (
    Catalogue,
    CatalogueFileError,
    MessageSpec,
    load_catalogue,
    select_variant,
)
from talentops.content.rules import (
    AllGroup,
    AnyGroup,
    Condition,
    NotGroup,
    Rule,
    clean_loc,
    condition_fields,
    fold,
    rule_holds,
    walk_rules,
)
from talentops.delivery.decide import TriggerFact, decide
from talentops.errors import CatalogueError
from talentops.explain.message import explain_message
from talentops.journeys.engine import ProfileChanged, entry_matches, start
from talentops.journeys.loader import load_journeys, messages_of, parse_journey
from talentops.journeys.source import SourceError
from talentops.models.state import ConsentState, FieldValue, Profile

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def cond(data: object) -> Condition:
    return CONDITION.validate_python(data)


def holds(data: object, context: dict, now: datetime | None = NOW) -> bool:
    return rule_holds(cond(data), context, now=now)


def who(**candidate: object) -> dict:
    return {"candidate": candidate}


# -- text folding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "folded"),
    [
        ("Berlin", "berlin"),
        ("BERLIN", "berlin"),
        ("Zürich", "zurich"),
        ("ZÜRICH", "zurich"),
        ("São Paulo", "sao paulo"),
        ("Straße", "strasse"),
        ("Ångström", "angstrom"),
        ("東京", "東京"),
    ],
)
def test_fold_drops_case_and_accents(given, folded):
    assert fold(given) == folded


@pytest.mark.parametrize("city", ["Berlin", "berlin", "BERLIN", "bErLiN"])
def test_eq_ignores_case(city):
    assert holds({"field": "candidate.city", "op": "eq", "value": "Berlin"}, who(city=city))


@pytest.mark.parametrize("city", ["Zürich", "zurich", "ZURICH", "Zurich", "ZÜRICH"])
def test_eq_ignores_accents_both_ways(city):
    assert holds({"field": "candidate.city", "op": "eq", "value": "Zürich"}, who(city=city))
    assert holds({"field": "candidate.city", "op": "eq", "value": "zurich"}, who(city=city))


def test_exact_compares_case_and_accents_as_written():
    rule = {"field": "candidate.city", "op": "eq", "value": "Zürich", "exact": True}
    assert holds(rule, who(city="Zürich"))
    assert not holds(rule, who(city="zurich"))
    assert not holds(rule, who(city="ZÜRICH"))
    ne = {"field": "candidate.city", "op": "ne", "value": "Berlin", "exact": True}
    assert holds(ne, who(city="berlin")) and not holds(ne, who(city="Berlin"))
    within = {"field": "candidate.city", "op": "in", "value": ["Köln"], "exact": True}
    assert holds(within, who(city="Köln")) and not holds(within, who(city="Koln"))
    prefix = {"field": "candidate.language", "op": "prefix", "value": "de", "exact": True}
    assert holds(prefix, who(language="de-AT")) and not holds(prefix, who(language="DE"))
    contains = {"field": "candidate.skills", "op": "contains", "value": "Go", "exact": True}
    assert holds(contains, who(skills=["Go"])) and not holds(contains, who(skills=["go"]))
    assert cond(rule).describe() == "candidate.city eq 'Zürich' (exact)"


def test_exact_false_is_the_default_and_applies_to_text_ops_only():
    rule = cond({"field": "candidate.city", "op": "eq", "value": "Berlin", "exact": False})
    assert rule.holds(who(city="BERLIN"))
    with pytest.raises(ValidationError, match="exact applies to text comparisons"):
        cond({"field": "candidate.seniority", "op": "exists", "value": True, "exact": True})


def test_the_rule_side_is_folded_once_when_loaded():
    rule = cond({"field": "candidate.city", "op": "in", "value": ["Zürich", "MÜNCHEN", 7]})
    assert isinstance(rule, Rule)
    assert rule.__dict__["compared"] == (True, ("zurich", "munchen", 7))  # computed at load
    assert rule.value == ["Zürich", "MÜNCHEN", 7]  # as written, for describe and dumps
    exact = cond({"field": "candidate.city", "op": "eq", "value": "Zürich", "exact": True})
    assert exact.compared == (False, "Zürich")


# -- every op ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "context", "expected"),
    [
        ({"op": "eq", "value": "Berlin"}, {"city": "berlin"}, True),
        ({"op": "eq", "value": "Berlin"}, {"city": "Munich"}, False),
        ({"op": "eq", "value": "Berlin"}, {}, False),
        ({"op": "ne", "value": "Berlin"}, {"city": "BERLIN"}, False),
        ({"op": "ne", "value": "Berlin"}, {"city": "Munich"}, True),
        ({"op": "ne", "value": "Berlin"}, {}, True),
        ({"op": "in", "value": ["Berlin", "München"]}, {"city": "munchen"}, True),
        ({"op": "in", "value": ["Berlin", "München"]}, {"city": "Hamburg"}, False),
        ({"op": "in", "value": ["Berlin"]}, {}, False),
        ({"op": "not_in", "value": ["Berlin", "München"]}, {"city": "MÜNCHEN"}, False),
        ({"op": "not_in", "value": ["Berlin"]}, {"city": "Hamburg"}, True),
        ({"op": "not_in", "value": ["Berlin"]}, {}, True),
        ({"op": "prefix", "value": "Ber"}, {"city": "berlin"}, True),
        ({"op": "prefix", "value": "zür"}, {"city": "Zurich"}, True),
        ({"op": "prefix", "value": "Ham"}, {"city": "Berlin"}, False),
        ({"op": "exists", "value": True}, {"city": "Berlin"}, True),
        ({"op": "exists", "value": True}, {"city": ""}, False),
        ({"op": "exists", "value": False}, {}, True),
    ],
)
def test_text_ops(rule, context, expected):
    assert holds({"field": "candidate.city", **rule}, who(**context)) is expected


def test_non_text_values_compare_as_before():
    assert holds({"field": "job.remote", "op": "eq", "value": True}, {"job": {"remote": True}})
    assert not holds({"field": "job.remote", "op": "eq", "value": True}, {"job": {"remote": "1"}})
    assert holds({"field": "job.remote", "op": "ne", "value": True}, {"job": {"remote": False}})
    assert holds({"field": "job.level", "op": "in", "value": [1, 2]}, {"job": {"level": 2}})
    assert not holds({"field": "job.level", "op": "eq", "value": 2}, {"job": {"level": "2"}})


@pytest.mark.parametrize(
    ("op", "value", "skills", "expected"),
    [
        ("contains", "python", ["Python", "SQL"], True),
        ("contains", "python", ["SQL", "Go"], False),
        ("contains", "Python", ["python"], True),
        ("contains", "scikit-learn", ["Scikit-Learn"], True),
        ("contains", "python", [], False),
        ("contains", "python", None, False),
        ("contains", 3, [1, 2, 3], True),
        ("contains", "python", "Python, SQL", True),  # a text: it contains the value
        ("contains", "java", "Python, SQL", False),
        ("contains_any", ["rust", "Go"], ["go", "SQL"], True),
        ("contains_any", ["rust", "Go"], ["Python"], False),
        ("contains_any", ["Zürich"], ["zurich"], True),
        ("contains_any", ["rust"], None, False),
    ],
)
def test_contains_on_lists(op, value, skills, expected):
    rule = {"field": "candidate.skills", "op": op, "value": value}
    assert holds(rule, who(skills=skills)) is expected


@pytest.mark.parametrize(
    ("op", "value", "needle"),
    [
        ("contains", ["python"], "one value"),
        ("contains", None, "one value"),
        ("contains_any", "python", "list of one or more"),
        ("contains_any", [], "list of one or more"),
        ("contains_any", [["x"]], "list of one or more"),
        ("not_within_days", 0, "whole number of days"),
        ("not_within_days", True, "whole number of days"),
        ("within_days", "7", "whole number of days"),
        ("in", "Berlin", "needs a list"),
        ("seniority_at_least", "boss", "needs a seniority"),
        ("exists", "yes", "true or false"),
    ],
)
def test_values_that_do_not_fit_the_op_are_refused(op, value, needle):
    with pytest.raises(ValidationError, match=needle):
        cond({"field": "candidate.skills", "op": op, "value": value})


def test_within_days_and_not_within_days():
    attended = {"field": "behaviours.event_attended.at", "value": 30}
    recent = {"behaviours": {"event_attended": {"at": (NOW - timedelta(days=3)).isoformat()}}}
    old = {"behaviours": {"event_attended": {"at": (NOW - timedelta(days=90)).isoformat()}}}
    never: dict = {"behaviours": {}}
    within = {**attended, "op": "within_days"}
    not_within = {**attended, "op": "not_within_days"}
    assert holds(within, recent) and not holds(within, old) and not holds(within, never)
    assert not holds(not_within, recent) and holds(not_within, old)
    # Never done is not done in the last 30 days.
    assert holds(not_within, never)
    # A time that is no time, or no clock: neither holds.
    bad = {"behaviours": {"event_attended": {"at": "soon"}}}
    assert not holds(within, bad) and not holds(not_within, bad)
    assert not holds(within, recent, now=None) and not holds(not_within, old, now=None)
    # The boundary: exactly N days ago is within.
    edge = {"behaviours": {"event_attended": {"at": (NOW - timedelta(days=30)).isoformat()}}}
    assert holds(within, edge) and not holds(not_within, edge)


def test_seniority_ops():
    at_least = {"field": "candidate.seniority", "op": "seniority_at_least", "value": "senior"}
    at_most = {"field": "candidate.seniority", "op": "seniority_at_most", "value": "mid"}
    assert holds(at_least, who(seniority="lead")) and not holds(at_least, who(seniority="mid"))
    assert holds(at_most, who(seniority="junior")) and not holds(at_most, who(seniority="senior"))
    assert not holds(at_least, who())


# -- groups ------------------------------------------------------------------------------------

BERLIN = {"field": "candidate.city", "op": "eq", "value": "Berlin"}
MUNICH = {"field": "candidate.city", "op": "eq", "value": "München"}
SENIOR = {"field": "candidate.seniority", "op": "seniority_at_least", "value": "senior"}
PYTHON = {"field": "candidate.skills", "op": "contains", "value": "python"}


def test_any_all_not():
    assert isinstance(cond({"any": [BERLIN, MUNICH]}), AnyGroup)
    assert isinstance(cond({"all": [BERLIN, SENIOR]}), AllGroup)
    assert isinstance(cond({"not": BERLIN}), NotGroup)
    assert holds({"any": [BERLIN, MUNICH]}, who(city="munchen"))
    assert not holds({"any": [BERLIN, MUNICH]}, who(city="Hamburg"))
    assert holds({"all": [BERLIN, SENIOR]}, who(city="Berlin", seniority="lead"))
    assert not holds({"all": [BERLIN, SENIOR]}, who(city="Berlin", seniority="mid"))
    assert holds({"not": BERLIN}, who(city="Hamburg"))
    assert holds({"not": BERLIN}, who())  # no city is not Berlin
    assert not holds({"not": BERLIN}, who(city="BERLIN"))


def test_groups_nest():
    # Senior in Berlin or Munich, knowing python, but not in the design family.
    nested = {
        "all": [
            {"any": [BERLIN, MUNICH]},
            SENIOR,
            {"not": {"any": [{"field": "candidate.role_family", "op": "eq", "value": "design"}]}},
            {"not": {"not": PYTHON}},
        ]
    }
    fits = who(city="MÜNCHEN", seniority="senior", role_family="data", skills=["Python"])
    assert holds(nested, fits)
    assert not holds(nested, {**fits, "candidate": {**fits["candidate"], "city": "Paris"}})
    assert not holds(nested, {**fits, "candidate": {**fits["candidate"], "role_family": "design"}})
    assert not holds(nested, {**fits, "candidate": {**fits["candidate"], "skills": ["Go"]}})
    walked = [(path, rule.field) for path, rule in walk_rules([cond(nested)], ("segment",))]
    assert walked == [
        (("segment", 0, "all", 0, "any", 0), "candidate.city"),
        (("segment", 0, "all", 0, "any", 1), "candidate.city"),
        (("segment", 0, "all", 1), "candidate.seniority"),
        (("segment", 0, "all", 2, "not", "any", 0), "candidate.role_family"),
        (("segment", 0, "all", 3, "not", "not"), "candidate.skills"),
    ]
    assert condition_fields([cond(nested)]) == {
        "candidate.city",
        "candidate.seniority",
        "candidate.role_family",
        "candidate.skills",
    }


def test_explain_names_the_branch_that_decided():
    any_group = cond({"any": [MUNICH, BERLIN]})
    berlin = who(city="berlin")
    assert any_group.explain(berlin, NOW) == "any[1]: candidate.city eq 'Berlin'"
    assert any_group.explain(who(city="Paris"), NOW) == (
        "any(candidate.city eq 'München', candidate.city eq 'Berlin')"
    )
    all_group = cond({"all": [BERLIN, SENIOR]})
    assert all_group.explain(who(city="Berlin", seniority="mid"), NOW) == (
        "all[1]: candidate.seniority seniority_at_least 'senior'"
    )
    nested = cond({"all": [SENIOR, {"any": [MUNICH, BERLIN]}]})
    assert nested.explain(who(city="Berlin", seniority="lead"), NOW) == (
        "all(candidate.seniority seniority_at_least 'senior', any[1]: candidate.city eq 'Berlin')"
    )
    assert cond({"not": BERLIN}).describe() == "not(candidate.city eq 'Berlin')"


def test_groups_serialise_with_their_keys_and_round_trip():
    group = cond({"all": [{"not": BERLIN}, {"any": [MUNICH, PYTHON]}]})
    dumped = CONDITION.dump_python(group, mode="json", exclude_none=True)
    assert dumped == {"all": [{"not": BERLIN}, {"any": [MUNICH, PYTHON]}]}
    assert CONDITION.validate_json(json.dumps(dumped)) == group


def test_an_old_rule_dumps_as_it_did():
    """No ``exact`` key unless written: journey versions and campaign fingerprints of old
    files do not move."""
    assert CONDITION.dump_python(cond(BERLIN), mode="json", exclude_none=True) == BERLIN


@pytest.mark.parametrize(
    ("data", "loc", "needle"),
    [
        ({"any": []}, ("any",), "at least 1"),
        ({"any": [BERLIN, "city is Berlin"]}, ("any", 1), "a condition is a mapping"),
        ({"all": [BERLIN, {"field": "candidate.city"}]}, ("all", 1, "op"), "Field required"),
        ({"not": {"any": [{**BERLIN, "op": "like"}]}}, ("not", "any", 0, "op"), "Input should"),
        ({"any": [BERLIN], "field": "x"}, ("field",), "Extra inputs"),
        ({"not": [BERLIN]}, ("not",), "a condition is a mapping"),
    ],
)
def test_problems_in_groups_have_the_path_in_the_file(data, loc, needle):
    with pytest.raises(ValidationError) as caught:
        cond(data)
    found = {clean_loc(e["loc"]): e["msg"] for e in caught.value.errors()}
    assert loc in found, found
    assert needle in found[loc]


# -- the catalogue -----------------------------------------------------------------------------

CATALOGUE = """\
version: 1
messages:
  hello:
    purpose: marketing
    variants:
      - name: local
        rules:
          - any:
              - {field: candidate.city, op: eq, value: München}
              - {field: candidate.city, op: eq, value: Berlin}
          - not: {field: candidate.skills, op: contains, value: cobol}
        subject: Hallo
        html: a.html
        text: a.txt
      - name: default
        subject: Hi
        html: a.html
        text: a.txt
"""


def _catalogue(tmp_path: Path, text: str) -> Catalogue:
    (tmp_path / "catalogue.yaml").write_text(text)
    (tmp_path / "a.html").write_text("<p>{{ candidate.first_name }}</p>")
    (tmp_path / "a.txt").write_text("{{ candidate.first_name }}")
    return Catalogue.load(tmp_path)


def _profile(**fields: object) -> Profile:
    profile = Profile(candidate_id="c_rules0001")
    for name, value in {"email": "r@example.org", **fields}.items():
        profile.fields[name] = FieldValue(value=value, source="talent.ats", observed_at=NOW)
    profile.consent["marketing"] = ConsentState(
        status="granted", source="talent.crm", observed_at=NOW
    )
    return profile


def test_catalogue_groups_choose_the_variant_and_the_reasons_show_the_branch(tmp_path):
    spec = _catalogue(tmp_path, CATALOGUE).message("hello")
    chosen = select_variant(spec, {"candidate": {"city": "BERLIN", "skills": ["Go"]}}, now=NOW)
    assert chosen.variant.name == "local"
    assert chosen.reasons == [
        "variant local: any[1]: candidate.city eq 'Berlin', not(candidate.skills contains 'cobol')"
    ]
    other = select_variant(spec, {"candidate": {"city": "Paris"}}, now=NOW)
    assert other.variant.name == "default"
    assert other.reasons[0] == (
        "not local: any(candidate.city eq 'München', candidate.city eq 'Berlin') does not hold"
    )


def test_decide_and_explain_show_the_branch_that_held(tmp_path):
    spec = _catalogue(tmp_path, CATALOGUE).message("hello")
    profile = _profile(city="münchen", skills=["Python"])
    fact = TriggerFact("Explain", "e-1", f"id:{profile.candidate_id}", NOW)
    policy = ConsentPolicy()
    outcome = decide(
        fact=fact, profile=profile, template="hello", spec=spec, policy=policy, now=NOW
    )
    assert outcome.decision.variant == "local"
    assert outcome.decision.reasons[-1] == (
        "variant local: any[0]: candidate.city eq 'München', not(candidate.skills contains 'cobol')"
    )
    explained = explain_message(profile=profile, template="hello", spec=spec, policy=policy, at=NOW)
    variant = next(s for s in explained.steps if s.check == "variant")
    assert "any[0]: candidate.city eq 'München'" in variant.why


def test_catalogue_problems_name_the_path_and_the_line(tmp_path):
    broken = CATALOGUE.replace("value: Berlin}", "value: Berlin, exact: yes please}").replace(
        "op: contains, value: cobol", "op: contains, value: [cobol]"
    )
    with pytest.raises(CatalogueFileError) as caught:
        _catalogue(tmp_path, broken)
    problems = {p.path: p for p in caught.value.problems}
    exact = problems["messages.hello.variants[0].rules[0].any[1].exact"]
    assert exact.line == 10 and exact.file == "catalogue.yaml"
    contains = problems["messages.hello.variants[0].rules[1].not"]
    assert contains.line == 11 and "one value" in contains.message
    # Still a CatalogueError, its message every problem at its line.
    assert isinstance(caught.value, CatalogueError)
    assert "catalogue.yaml:10: messages.hello.variants[0].rules[0].any[1].exact" in str(
        caught.value
    )


def test_fresh_requirements_take_groups_too():
    spec = MessageSpec.model_validate(
        {
            "purpose": "job_alerts",
            "requires_fresh": [
                {
                    "field": "city",
                    "when": [{"not": {"field": "job.remote", "op": "eq", "value": True}}],
                }
            ],
            "variants": [{"name": "default", "subject": "Hi", "html": "a.html", "text": "a.txt"}],
        }
    )
    assert spec.fresh_fields({"job": {"remote": False}}) == ["city"]
    assert spec.fresh_fields({"job": {"remote": True}}) == []


def test_the_shipped_content_decides_as_before():
    """Every shipped rule is a plain rule; their words are unchanged (the shipped catalogue's
    decisions are covered rule by rule in test_decide.py and test_slots.py)."""
    catalogue = load_catalogue(str(TEMPLATES))
    rules = [
        rule
        for spec in catalogue.messages.values()
        for variant in spec.variants
        for _, rule in walk_rules(variant.rules)
    ]
    assert rules and all(isinstance(r, Rule) and r.exact is None for r in rules)
    assert all(r.describe() == f"{r.field} {r.op} {r.value!r}" for r in rules)
    journeys = load_journeys(TEMPLATES / "journeys", messages_of(catalogue))
    assert journeys  # they load unchanged


# -- journeys ----------------------------------------------------------------------------------

JOURNEY = """\
name: berlin
category: nurture
entry:
  segment:
    - any:
        - {field: candidate.city, op: eq, value: München}
        - {field: candidate.city, op: eq, value: Berlin}
  when:
    - not: {field: candidate.skills, op: contains, value: cobol}
steps:
  - id: pick
    branch:
      - if:
          - all:
              - {field: candidate.seniority, op: seniority_at_least, value: senior}
              - any:
                  - {field: candidate.skills, op: contains_any, value: [rust, go]}
                  - {field: candidate.skills, op: contains, value: python}
        goto: done
  - id: done
    end: completed
"""


def test_journey_groups_run_and_the_notes_show_the_branch():
    journey = parse_journey(JOURNEY, "berlin.yaml", {})
    profile = _profile(city="Berlin", seniority="lead", skills=["Python"])
    stimulus = ProfileChanged("p-1", NOW, frozenset({"city"}))
    started = start(
        journey, candidate_id=profile.candidate_id, profile=profile, stimulus=stimulus, now=NOW
    )
    assert started is not None and started.instance is not None
    note = next(n for n in started.notes if "pick:" in n)
    assert (
        "pick: all(candidate.seniority seniority_at_least 'senior', any[1]: candidate.skills "
        "contains 'python') -> done"
    ) in note
    refused = start(
        journey,
        candidate_id=profile.candidate_id,
        profile=_profile(city="Paris", seniority="lead"),
        stimulus=stimulus,
        now=NOW,
    )
    assert refused is not None and refused.instance is None
    assert any(
        "any(candidate.city eq 'München', candidate.city eq 'Berlin') does not hold" in n
        for n in refused.notes
    )
    # A segment entry watches every field its groups read.
    assert entry_matches(journey, ProfileChanged("p-2", NOW, frozenset({"city"})))
    assert not entry_matches(journey, ProfileChanged("p-3", NOW, frozenset({"language"})))


def test_journey_problems_in_groups_name_the_path_and_the_line():
    broken = JOURNEY.replace("value: [rust, go]", "value: rust")
    with pytest.raises(SourceError) as caught:
        parse_journey(broken, "berlin.yaml", {})
    problems = {p.path: p for p in caught.value.problems}
    bad_value = problems["steps[0].branch[0].if[0].all[1].any[0]"]
    assert bad_value.line == 17 and "list of one or more" in bad_value.message


def test_journey_unknown_fields_in_groups_name_the_path_and_the_line():
    broken = JOURNEY.replace(
        "candidate.skills, op: contains, value: python",
        "candidate.skils, op: contains, value: python",
    )
    with pytest.raises(SourceError) as caught:
        parse_journey(broken, "berlin.yaml", {})
    problems = {p.path: p for p in caught.value.problems}
    unknown = problems["steps[0].branch[0].if[0].all[1].any[1].field"]
    assert unknown.line == 18 and "did you mean 'candidate.skills'" in unknown.message
    assert str(unknown).startswith("berlin.yaml:18: steps[0].branch[0].if[0].all[1].any[1].field")


# -- campaign segments -------------------------------------------------------------------------

SEGMENT_CAMPAIGN = {
    "name": "Berlin or Munich",
    "purpose": "marketing",
    "segment": [
        {
            "any": [
                {"field": "city", "op": "eq", "value": "Berlin"},
                {"field": "city", "op": "eq", "value": "München"},
            ]
        },
        {"not": {"field": "country", "op": "in", "value": ["uk"]}},
    ],
    "content": {"template": "spring_hiring"},
}


def test_a_campaign_segment_takes_groups_with_its_shorthands():
    campaign = validate_campaign(SEGMENT_CAMPAIGN)
    first, second = campaign.segment
    assert isinstance(first, AnyGroup) and isinstance(second, NotGroup)
    assert [r.field for r in first.any_] == ["candidate.city", "candidate.city"]
    assert isinstance(second.not_, Rule) and second.not_.value == ["GB"]  # UK is GB
    inside, why = campaign.in_segment(_profile(city="münchen", country="DE"), NOW)
    assert inside
    assert why == [
        "in segment: any[1]: candidate.city eq 'München', not(candidate.country in ['GB'])"
    ]
    outside, why = campaign.in_segment(_profile(city="Berlin", country="GB"), NOW)
    assert not outside
    assert why == ["not in segment: not(candidate.country in ['GB']) does not hold"]
    # The definition as stored (model_dump) is the definition again.
    stored = json.loads(json.dumps(campaign.model_dump(mode="json", exclude_none=True)))
    assert stored["segment"][0] == {
        "any": [
            {"field": "candidate.city", "op": "eq", "value": "Berlin"},
            {"field": "candidate.city", "op": "eq", "value": "München"},
        ]
    }
    again = validate_campaign(stored)
    assert again == campaign and again.fingerprint() == campaign.fingerprint()


@pytest.mark.parametrize(
    ("segment", "path", "needle"),
    [
        (
            [{"any": [{"field": "citty", "op": "eq", "value": "X"}]}],
            "segment[0].any[0].field",
            "did you mean 'candidate.city'",
        ),
        (
            [{"not": {"all": [{"field": "candidate.salary", "op": "exists", "value": True}]}}],
            "segment[0].not.all[0].field",
            "unknown field 'candidate.salary'",
        ),
        (
            [{"any": [{"field": "country", "op": "eq", "value": "Germany"}]}],
            "segment[0].any[0].value",
            "not ISO 3166-1",
        ),
        ([{"any": []}], "segment[0].any", "at least 1"),
        (
            [{"all": [{"field": "city", "op": "like", "value": "x"}]}],
            "segment[0].all[0].op",
            "Input should be",
        ),
        ([{"not": {"field": "city", "op": "in", "value": "x"}}], "segment[0].not", "needs a list"),
        (
            [{"any": [{"field": "city", "op": "eq", "value": "x", "colour": 1}]}],
            "segment[0].any[0].colour",
            "unknown key 'colour'",
        ),
        (["city = Berlin"], "segment[0]", "a condition is a mapping"),
    ],
)
def test_bad_segment_groups_name_the_path(segment, path, needle):
    with pytest.raises(CampaignError) as caught:
        validate_campaign({**SEGMENT_CAMPAIGN, "segment": segment})
    problems = {p.path: p.message for p in caught.value.problems}
    assert path in problems, problems
    assert needle in problems[path]


def test_a_campaign_file_names_the_line_of_a_problem_in_a_group():
    text = """\
name: Berlin or Munich
purpose: marketing
segment:
  - any:
      - {field: city, op: eq, value: Berlin}
      - {field: citty, op: eq, value: München}
  - not: {field: candidate.skills, op: contains_any, value: cobol}
content:
  template: spring_hiring
"""
    with pytest.raises(CampaignError) as caught:
        parse_campaign(text, "segment.yaml")
    lines = {p.path: p.line for p in caught.value.problems}
    assert lines == {"segment[0].any[1].field": 6, "segment[1].not": 7}


# -- make check-content ------------------------------------------------------------------------


def test_check_content_reports_a_bad_group_at_its_file_and_line(tmp_path):
    from scripts.check_content import check

    root = Path(__file__).resolve().parents[2]
    content = tmp_path / "templates"
    shutil.copytree(TEMPLATES, content)
    catalogue = content / "catalogue.yaml"
    text = catalogue.read_text()
    old = "          - {field: candidate.language, op: prefix, value: de}\n"
    assert text.count(old) > 1
    lines = text.splitlines()
    at = lines.index(old.rstrip("\n")) + 1
    new = (
        "          - any:\n"
        "              - {field: candidate.language, op: prefix, value: de}\n"
        "              - {field: candidate.country, op: contains_any, value: AT}\n"
    )
    catalogue.write_text(text.replace(old, new, 1))
    problems = check(content, root / "template.yaml")
    assert len(problems) == 1, problems
    [problem] = problems
    assert problem.file == "catalogue.yaml" and problem.line == at + 2
    assert problem.path.endswith(".rules[0].any[1]")
    assert "contains_any needs a list" in problem.message
    # Fixed, the group loads and the content passes.
    catalogue.write_text(text.replace(old, new.replace("value: AT", "value: [AT]"), 1))
    assert check(content, root / "template.yaml") == []
