"""The talent pool policy as configuration: the shipped file, overrides by environment,
refusal of bad configuration, and freshness of fields."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talentops.models.state import FieldValue, Profile
from talentops.talent_pool import policy as policy_module
from talentops.talent_pool.policy import (
    PolicyError,
    freshness_problem,
    load_policy,
    parse_policy,
    stale_fields,
)
from tests.support.fresh import fresh_python

ROOT = Path(__file__).resolve().parents[2]

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_shipped_policy():
    policy = load_policy({})
    assert policy.merge.authority["seniority"] == ("ats",)
    assert "city" not in policy.merge.authority  # newest wins, whatever the source
    assert policy.freshness["city"] == timedelta(days=180)
    assert policy.freshness["seniority"] == timedelta(days=180)
    alerts = policy.job_alerts
    assert (alerts.seniority_band, alerts.cap_limit, alerts.cap_window_days) == (1, 3, 7)


def test_override_inline_json_is_laid_over_the_shipped_file():
    override = {"fields": {"city": {"fresh_for_days": 30}}, "job_alerts": {"cap_limit": 5}}
    policy = load_policy({"TALENT_POOL_POLICY": json.dumps(override)})
    assert policy.freshness["city"] == timedelta(days=30)
    assert policy.freshness["seniority"] == timedelta(days=180)  # untouched
    assert policy.job_alerts.cap_limit == 5 and policy.job_alerts.cap_window_days == 7


def test_override_from_a_yaml_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("fields:\n  city:\n    authority: [crm]\n    fresh_for_days: 90\n")
    policy = load_policy({"TALENT_POOL_POLICY": str(path)})
    assert policy.merge.authority["city"] == ("crm",)
    assert policy.freshness["city"] == timedelta(days=90)


@pytest.mark.parametrize(
    ("override", "says"),
    [
        ({"fields": {"city": {"fresh_days": 3}}}, "fields.city.fresh_days"),
        ({"job_alerts": {"cap_limt": 3}}, "job_alerts.cap_limt"),
        ({"fields": {"city": {"fresh_for_days": 0}}}, "fresh_for_days"),
        ({"version": 2}, "version"),
    ],
)
def test_bad_configuration_is_refused_naming_where(override, says):
    with pytest.raises(PolicyError, match=says.replace(".", r"\.")):
        load_policy({"TALENT_POOL_POLICY": json.dumps(override)})


def test_unreadable_override_names_the_variable(tmp_path):
    with pytest.raises(PolicyError, match="TALENT_POOL_POLICY"):
        load_policy({"TALENT_POOL_POLICY": str(tmp_path / "missing.yaml")})


def _profile(**ages_in_days):
    p = Profile(candidate_id="c_test0001")
    for name, age in ages_in_days.items():
        p.fields[name] = FieldValue(
            value="x", source="talent.crm", observed_at=NOW - timedelta(days=age)
        )
    return p


def test_stale_fields_say_since_when():
    windows = {"city": timedelta(days=180), "seniority": timedelta(days=180)}
    stale = stale_fields(_profile(city=200, seniority=10, skills=900), windows, NOW)
    assert list(stale) == ["city"]  # skills has no window: never stale
    assert stale["city"].stale_since == NOW - timedelta(days=20)
    described = stale["city"].describe()
    assert described.startswith("city stale since 2026-11-11T00:00:00+00:00")
    assert "via talent.crm" in described and "fresh for 180 days" in described


def test_freshness_problem_includes_a_field_never_observed():
    windows = {"city": timedelta(days=180)}
    assert freshness_problem(_profile(city=10), "city", windows, NOW) is None
    missing = freshness_problem(_profile(), "city", windows, NOW)
    assert missing is not None and missing.describe() == "city never observed"
    exactly = freshness_problem(_profile(city=180), "city", windows, NOW)
    assert exactly is not None  # the window is [observed_at, observed_at + window)


# -- the policy compiled at build (policy.compiled.json) ------------------------------------


def _shipped_copy(tmp_path):
    path = tmp_path / "policy.yaml"
    shutil.copy(policy_module.POLICY_FILE, path)
    return path


def test_the_compiled_policy_is_read_as_the_yaml_without_parsing_it(tmp_path, monkeypatch):
    path = _shipped_copy(tmp_path)
    from_yaml = policy_module._shipped(path)
    written = policy_module.compile_policy_file(path)
    assert written == tmp_path / "policy.compiled.json"

    def refuse(text):
        raise AssertionError("the YAML was parsed")

    monkeypatch.setattr(policy_module, "_parse", refuse)
    assert policy_module._shipped(path) == from_yaml
    assert parse_policy(policy_module._shipped(path)) == parse_policy(from_yaml)


def test_a_compiled_policy_of_another_yaml_or_unreadable_is_ignored(tmp_path):
    path = _shipped_copy(tmp_path)
    policy_module.compile_policy_file(path)
    path.write_text(path.read_text().replace("fresh_for_days: 180", "fresh_for_days: 181", 1))
    assert parse_policy(policy_module._shipped(path)).freshness["seniority"] == timedelta(days=181)
    (tmp_path / "policy.compiled.json").write_text("{not json")
    assert parse_policy(policy_module._shipped(path)).freshness["seniority"] == timedelta(days=181)


def test_a_broken_policy_is_not_compiled(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nfields:\n  city:\n    fresh_days: 3\n")
    with pytest.raises(PolicyError, match="fresh_days"):
        policy_module.compile_policy_file(path)
    assert not (tmp_path / "policy.compiled.json").exists()


def test_the_compiled_policy_and_a_json_override_import_no_yaml_parser(tmp_path):
    """In a fresh interpreter, as a cold start: reading the policy from its compiled JSON,
    with an override in JSON, imports no YAML parser (an override in YAML still parses)."""
    layer = tmp_path / "layer"
    shutil.copytree(
        ROOT / "layers" / "talentops" / "talentops",
        layer / "talentops",
        ignore=shutil.ignore_patterns("__pycache__", "policy.compiled.json"),
    )
    load = (
        "import sys\n"
        "from talentops.talent_pool.policy import load_policy\n"
        "policy = load_policy()\n"
        "print('yaml' in sys.modules, policy.freshness['city'].days)\n"
    )
    compile_ = "from talentops.talent_pool.policy import compile_policy_file as c; c()"

    def run(source: str, override: str = "") -> str:
        env = {"TALENT_POOL_POLICY": override}
        return fresh_python(source, env, layer=layer, inherit=False).strip()

    as_json = json.dumps({"fields": {"city": {"fresh_for_days": 30}}})
    assert run(load, as_json) == "True 30"  # no compiled file: the YAML is parsed
    run(compile_)
    assert (layer / "talentops" / "talent_pool" / "policy.compiled.json").is_file()
    assert run(load, as_json) == "False 30"
    assert run(load) == "False 180"
    assert run(load, "fields:\n  city:\n    fresh_for_days: 31\n") == "True 31"
