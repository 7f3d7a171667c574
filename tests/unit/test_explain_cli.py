"""The explanation CLI (scripts/explain.py): the request it signs and sends for one candidate
and for why-not, what it prints for a person (a ✓/✗ line per step, then the outcome and
reason), --json, and its refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.httpapi import HttpRequest, check_sigv4
from scripts import explain as cli
from scripts.campaign import CliError, HttpResult

EXPLANATION = {
    "candidate_id": "c_ada0000",
    "subject": {"message": "event_reminder", "purpose": "events"},
    "at": "2026-12-02T10:00:00+00:00",
    "outcome": "suppress",
    "reason": "consent_withdrawn",
    "variant": None,
    "steps": [
        {"check": "candidate", "passed": True, "why": "in the talent pool since 2026-11-02"},
        {"check": "suppression list", "passed": True, "why": "not on the list"},
        {"check": "consent (events)", "passed": False, "why": "events withdrawn"},
    ],
}
WHY_NOT = {
    "subject": {"kind": "campaign", "name": "cmp_0123456789abcdef"},
    "at": "2026-12-02T10:00:00+00:00",
    "complete": False,
    "scanned": 40,
    "reached": 30,
    "deferred_total": 2,
    "not_reached_total": 8,
    "by_variant": {"default": 32},
    "deferred": {"quiet_hours": {"count": 2, "example": "c_ivy0000", "why": "quiet hours"}},
    "not_reached": {
        "not_in_segment": {"count": 5, "example": "c_ben0000", "why": "segment: no"},
        "no_consent": {"count": 3, "example": "c_dan0000", "why": "consent (marketing): none"},
    },
}


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, region or AWS configuration from the machine running the tests."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "TALENTOPS_API_URL",
        "LOCAL_API_PORT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class Transport:
    """Records each request and answers ``reply``."""

    def __init__(self, status: int, reply: Any):
        self.status, self.reply = status, reply
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, method, url, headers, body, timeout) -> HttpResult:
        self.requests.append((method, url, dict(headers)))
        return HttpResult(self.status, json.dumps(self.reply).encode())


def run(argv: list[str], transport: Transport) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.run(cli.parse_args(argv), out=out, transport=transport)
    return code, out.getvalue()


def test_one_candidate_is_a_signed_get_and_a_line_per_step() -> None:
    transport = Transport(200, EXPLANATION)
    code, out = run(
        ["c_ada0000", "--message", "event_reminder", "--at", "2026-12-02T10:00:00Z"], transport
    )
    assert code == 0
    [(method, url, headers)] = transport.requests
    parts = urlsplit(url)
    assert (method, parts.netloc, parts.path) == (
        "GET",
        "127.0.0.1:3000",
        "/admin/candidates/c_ada0000/explain",
    )
    assert parse_qs(parts.query) == {
        "message": ["event_reminder"],
        "at": ["2026-12-02T10:00:00Z"],
    }
    # Signed as the local stack checks it (the campaign CLI's signing; the HTTP client adds
    # the Host header it signed).
    pairs = [*headers.items(), ("Host", parts.netloc)]
    identity = check_sigv4(HttpRequest("GET", parts.path, parts.query, pairs, b"", "127.0.0.1"))
    assert identity is not None and identity.service == "execute-api"
    assert out.splitlines() == [
        "c_ada0000 and message event_reminder, at 2026-12-02T10:00:00+00:00",
        "",
        "  ✓ candidate: in the talent pool since 2026-11-02",
        "  ✓ suppression list: not on the list",
        "  ✗ consent (events): events withdrawn",
        "",
        "outcome: suppress (would be held back), reason consent_withdrawn",
    ]


def test_a_send_names_its_variant_and_a_journey_its_send() -> None:
    found = {
        **EXPLANATION,
        "subject": {
            "journey": "job_nurture",
            "message": "job_nurture",
            "send_at": "2026-12-06T07:00:00+00:00",
        },
        "outcome": "defer",
        "reason": "quiet_hours",
        "variant": "default",
        "steps": [],
    }
    _, out = run(["c_ada0000", "--journey", "job_nurture"], Transport(200, found))
    assert out.splitlines()[0].startswith("c_ada0000 and journey job_nurture (message job_nurture)")
    assert out.splitlines()[-1] == (
        "outcome: defer (would be sent later), reason quiet_hours, variant default, "
        "at 2026-12-06T07:00:00+00:00"
    )


def test_why_not_prints_counts_and_an_example_of_each_reason() -> None:
    transport = Transport(200, WHY_NOT)
    code, out = run(["why-not", "--campaign", "cmp_0123456789abcdef", "--limit", "40"], transport)
    assert code == 0
    [(_, url, _)] = transport.requests
    parts = urlsplit(url)
    assert parts.path == "/admin/why-not"
    assert parse_qs(parts.query) == {"campaign": ["cmp_0123456789abcdef"], "limit": ["40"]}
    rows = [line.split() for line in out.splitlines()]
    assert ["reached", "now", "30"] in rows
    assert ["reached", "later", "quiet_hours", "2"] in rows
    assert ["not", "reached", "not_in_segment", "5"] in rows
    assert ["not", "reached", "no_consent", "3"] in rows
    assert ["not_in_segment", "c_ben0000", "segment:", "no"] in rows
    assert ["no_consent", "c_dan0000", "consent", "(marketing):", "none"] in rows
    assert "(stopped at --limit: not the whole pool)" in out


def test_json_prints_the_apis_answer() -> None:
    _, out = run(["c_ada0000", "--job", "job-42", "--json"], Transport(200, EXPLANATION))
    assert json.loads(out) == EXPLANATION


@pytest.mark.parametrize(
    "argv",
    [
        ["c_ada0000"],
        ["c_ada0000", "--message", "a", "--journey", "b"],
        ["c_ada0000", "--message", "a", "--limit", "3"],
    ],
)
def test_zero_or_two_subjects_or_a_misplaced_limit_is_refused_before_any_request(argv) -> None:
    transport = Transport(200, {})
    with pytest.raises(CliError) as refused:
        run(argv, transport)
    assert refused.value.code == 2 and transport.requests == []


def test_the_apis_error_is_shown_with_its_code(capsys) -> None:
    transport = Transport(404, {"error": {"code": "unknown_journey", "message": "no journey"}})
    code = cli.main(["c_ada0000", "--journey", "nope"], transport=transport)
    assert code == 1
    err = capsys.readouterr().err
    assert "404 unknown_journey: no journey" in err


def test_a_recorded_decision_is_explained_with_the_inputs_changed_since() -> None:
    found = {
        **EXPLANATION,
        "subject": {"message": "event_attended_followup", "purpose": "events", "decision": "d1"},
        "outcome": "send",
        "reason": None,
        "variant": "default",
        "steps": [],
        "decision": {
            "decision_id": "d1",
            "outcome": "send",
            "variant": "default",
            "reason": None,
            "status": "sent",
        },
        "inputs_recorded": True,
        "reproduced": True,
        "changed": [{"kind": "field", "name": "seniority", "why": "field seniority changed: x"}],
        "current": {"outcome": "send", "reason": None, "variant": "senior"},
        "outcome_changed": True,
        "notes": [],
    }
    transport = Transport(200, found)
    _, out = run(["c_ada0000", "--decision", "d1"], transport)
    [(_, url, _)] = transport.requests
    assert parse_qs(urlsplit(url).query) == {"decision": ["d1"]}
    lines = out.splitlines()
    assert "recorded: send default (sent)" in lines
    assert "reproduced from its recorded inputs: yes" in lines
    assert "  - field seniority changed: x" in lines
    assert lines[-1] == "on today's inputs at its time: send senior (a different outcome)"
    with pytest.raises(CliError) as refused:
        run(["c_ada0000", "--decision", "d1", "--at", "2026-12-01T00:00:00Z"], transport)
    assert refused.value.code == 2
