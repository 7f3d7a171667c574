"""Issue #4 end to end on the local stack, through the public contract only: one-click
unsubscribe (GET changes nothing, POST stops the next message), forged tokens, the preference
centre, access export with proof of consent, erasure (full table scan, re-import blocked),
SES feedback, unsigned admin calls, and finally: no personal data in any log line of the
stack that ran all of it (the stack runs the handlers in-process, so their logs are its
stdout and stderr, captured whole here)."""

from __future__ import annotations

import collections
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
# Every piece of personal data the scenarios give the stack; the last test looks for each.
ADA = f"ada.privacy.{RUN}@example.org"
BOB = f"bob.bounce.{RUN}@example.org"
NAMES = ["Adalinde", "Quennell", "Bobbington"]
EVENT = {
    "id": f"evt-privacy-{RUN}",
    "name": "Privacy Meetup",
    "starts_at": "2026-12-03T17:30:00Z",
    "city": "Berlin",
}
TOKEN_RE = re.compile(r"v1\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}")
SEEN_TOKENS: set[str] = set()


@pytest.fixture(scope="module")
def pstack(start_stack: Callable[..., LocalStack]) -> Iterator[LocalStack]:
    """A stack of its own for this module, whose logs are kept whole (not only a tail)."""
    local = start_stack(None)
    local.stderr_tail = collections.deque(local.stderr_tail, maxlen=None)
    local.stdout_tail = collections.deque(local.stdout_tail, maxlen=None)
    try:
        yield local
    finally:
        local.stop()


def _now(stack: LocalStack) -> datetime:
    return datetime.fromisoformat(stack.now())


def _at(stack: LocalStack, minutes: int = 0) -> str:
    return (_now(stack) + timedelta(minutes=minutes)).isoformat()


def _signed(stack: LocalStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    url = stack.api_url + path
    request = AWSRequest(method=method, url=url, data=b"")
    SigV4Auth(Credentials("AKIDLOCALTEST", "local-secret"), "execute-api", "eu-west-1").add_auth(
        request
    )
    return requests.request(
        method, url, headers=dict(request.headers.items()), timeout=30, **kwargs
    )


def _candidate_id(stack: LocalStack, address: str) -> str | None:
    response = _signed(stack, "GET", "/admin/candidates", params={"email": address})
    return response.json()["candidate_id"] if response.status_code == 200 else None


def _export(stack: LocalStack, candidate_id: str) -> dict[str, Any]:
    response = _signed(stack, "GET", f"/admin/candidates/{candidate_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _mails_to(stack: LocalStack, address: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if address in m["to"]]


def _seed(
    stack: LocalStack, address: str, *, country: str, first: str, last: str, grant: bool = True
) -> str:
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address},
            "observed_at": _at(stack, -60),
            "fields": {
                "email": address,
                "first_name": first,
                "last_name": last,
                "country": country,
                "seniority": "mid",
                "role_family": "data",
            },
        },
        source="talent.crm",
    )
    if grant:
        stack.put_event(
            "Candidate Consent Changed",
            {
                "candidate": {"email": address},
                "observed_at": _at(stack, -59),
                "channel": "email",
                "purpose": "events",
                "status": "granted",
                "evidence": "careers-site signup form, checkbox events",
            },
            source="talent.careers-site",
        )
    candidate_id = stack.wait_for(lambda: _candidate_id(stack, address))
    if grant:
        stack.wait_for(
            lambda: _export(stack, candidate_id)["consent"]["events"]["status"] == "granted"
        )
    return candidate_id


def _attend(stack: LocalStack, address: str, minutes: int) -> str:
    # ``minutes`` tells the check-ins apart; each is observed in the past (a fact dated more
    # than 5 minutes ahead of the stack's clock is refused), after the seeded facts (-59).
    return stack.put_event(
        "Candidate Event Attended",
        {
            "candidate": {"email": address},
            "observed_at": _at(stack, minutes - 10),
            "event": EVENT,
        },
        source="talent.events-platform",
    )


def _decided(stack: LocalStack, candidate_id: str, event_id: str) -> dict[str, Any] | None:
    response = _signed(stack, "GET", f"/admin/candidates/{candidate_id}/decisions")
    if response.status_code != 200:
        return None
    for decision in response.json()["decisions"]:
        if decision["trigger"]["event_id"] == event_id:
            return dict(decision)
    return None


def _token(url: str) -> str:
    token = parse_qs(urlsplit(url).query)["token"][0]
    SEEN_TOKENS.add(token)
    return token


@pytest.fixture(scope="module")
def ada(pstack: LocalStack) -> dict[str, Any]:
    """Ada (DE, events granted) got the attended follow-up: her id and its links."""
    candidate_id = _seed(pstack, ADA, country="DE", first=NAMES[0], last=NAMES[1])
    _attend(pstack, ADA, 1)
    [mail] = pstack.wait_for(lambda: _mails_to(pstack, ADA), timeout=15)
    header = mail["headers"]["List-Unsubscribe"]
    unsubscribe = header.split(",")[0].strip().strip("<>")
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.startswith(pstack.api_url + "/unsubscribe?token=")
    return {
        "id": candidate_id,
        "unsubscribe": unsubscribe,
        "token": _token(unsubscribe),
        "mail": mail,
    }


# -- scenarios, in order -----------------------------------------------------------------------


def test_unsigned_admin_calls_get_403(pstack: LocalStack, ada: dict[str, Any]) -> None:
    for method, path in (
        ("GET", f"/admin/candidates?email={ADA}"),
        ("GET", f"/admin/candidates/{ada['id']}"),
        ("GET", f"/admin/candidates/{ada['id']}/decisions"),
        ("DELETE", f"/admin/candidates/{ada['id']}"),
    ):
        response = pstack.request(method, path)
        assert response.status_code == 403, (method, path)
    assert _signed(pstack, "GET", f"/admin/candidates/{ada['id']}").status_code == 200


def test_get_on_the_unsubscribe_link_changes_nothing(
    pstack: LocalStack, ada: dict[str, Any]
) -> None:
    response = requests.get(ada["unsubscribe"], timeout=30, allow_redirects=False)
    assert response.status_code == 200 and "text/html" in response.headers["Content-Type"]
    export = _export(pstack, ada["id"])
    assert export["consent"]["events"]["status"] == "granted"
    assert [h["status"] for h in export["consent_history"]] == ["granted"]


def test_a_forged_or_altered_token_fails_and_changes_nothing(
    pstack: LocalStack, ada: dict[str, Any]
) -> None:
    *head_parts, payload, signature = ada["token"].split(".")  # v2.<kid>.<payload>.<sig>
    head = ".".join(head_parts)
    altered = f"{head}.{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}"
    forged = f"{head}.{payload}.{'A' * len(signature)}"
    for bad in (altered, forged, "v1.bm90LWEtdG9rZW4.c2ln"):
        response = pstack.post(
            "/unsubscribe",
            params={"token": bad},
            data={"List-Unsubscribe": "One-Click"},
            allow_redirects=False,
        )
        assert 400 <= response.status_code < 500
    assert _export(pstack, ada["id"])["consent"]["events"]["status"] == "granted"


def test_one_click_post_stops_the_next_message(pstack: LocalStack, ada: dict[str, Any]) -> None:
    response = requests.post(
        ada["unsubscribe"],
        data={"List-Unsubscribe": "One-Click"},
        timeout=30,
        allow_redirects=False,
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    event_id = _attend(pstack, ADA, 2)
    decision = pstack.wait_for(lambda: _decided(pstack, ada["id"], event_id), timeout=15)
    assert decision["outcome"] == "suppress" and decision["reason"] == "consent_withdrawn"
    assert len(_mails_to(pstack, ADA)) == 1


def test_preference_centre_round_trip(pstack: LocalStack, ada: dict[str, Any]) -> None:
    url = ada["unsubscribe"].replace("/unsubscribe?", "/preferences?")
    page = requests.get(url, timeout=30)
    assert page.status_code == 200 and 'name="events"' in page.text
    saved = requests.post(
        url,
        data={"form": "preferences", "events": "on", "job_alerts": "on"},
        timeout=30,
        allow_redirects=False,
    )
    assert saved.status_code == 200 and "Your preferences are saved" in saved.text
    export = _export(pstack, ada["id"])
    assert export["consent"]["events"]["status"] == "granted"
    assert export["consent"]["job_alerts"]["status"] == "granted"
    assert export["consent"]["job_alerts"]["source"] == "talent.preference-centre"


def test_access_export_holds_proof_of_consent(pstack: LocalStack, ada: dict[str, Any]) -> None:
    export = _export(pstack, ada["id"])
    assert export["profile"]["fields"]["email"]["value"] == ADA
    assert export["profile"]["fields"]["country"]["source"] == "talent.crm"
    history = [(h["purpose"], h["status"], h["source"]) for h in export["consent_history"]]
    assert ("events", "granted", "talent.careers-site") in history
    assert ("events", "withdrawn", "talent.preference-centre") in history
    assert all(h["evidence"] and h["observed_at"] for h in export["consent_history"])
    assert [m["template"] for m in export["messages"]] == ["event_attended_followup"]
    assert {d["reason"] for d in export["decisions"]} >= {None, "consent_withdrawn"}
    assert export["events"]


def _table_items(stack: LocalStack) -> list[dict[str, Any]]:
    resources = stack.client("cloudformation").describe_stack_resources(
        StackName="local", LogicalResourceId="TalentPoolTable"
    )["StackResources"]
    table = resources[0]["PhysicalResourceId"]
    ddb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_erasure_leaves_nothing_and_a_re_import_is_not_mailable(
    pstack: LocalStack, ada: dict[str, Any]
) -> None:
    response = _signed(pstack, "DELETE", f"/admin/candidates/{ada['id']}")
    assert response.status_code == 202
    leftovers = [
        item
        for item in _table_items(pstack)
        if ada["id"].lower() in json.dumps(item).lower()
        or ADA.lower() in json.dumps(item).lower()
        or NAMES[0].lower() in json.dumps(item).lower()
    ]
    assert leftovers == []
    assert _signed(pstack, "GET", f"/admin/candidates/{ada['id']}").status_code == 404
    # Re-imported by the ATS, now in an opt-out country, with its old grant replayed.
    pstack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": ADA, "ref": f"ats:A-{RUN}"},
            "observed_at": _at(pstack, 5),
            "fields": {"email": ADA, "first_name": NAMES[0], "country": "US"},
        },
        source="talent.ats",
    )
    pstack.put_event(
        "Candidate Consent Changed",
        {
            "candidate": {"email": ADA},
            "observed_at": _at(pstack, -59),
            "channel": "email",
            "purpose": "events",
            "status": "granted",
            "evidence": "replayed by the ATS",
        },
        source="talent.ats",
    )
    new_id = pstack.wait_for(lambda: _candidate_id(pstack, ADA))
    assert new_id != ada["id"]
    pstack.wait_for(lambda: len(_export(pstack, new_id)["consent_history"]) >= 4)
    event_id = _attend(pstack, ADA, 6)
    decision = pstack.wait_for(lambda: _decided(pstack, new_id, event_id), timeout=15)
    assert decision["outcome"] == "suppress" and decision["reason"] == "consent_withdrawn"
    assert len(_mails_to(pstack, ADA)) == 1


def test_ses_hard_bounce_suppresses_and_soft_bounce_does_not(pstack: LocalStack) -> None:
    candidate_id = _seed(pstack, BOB, country="US", first=NAMES[2], last="Smith", grant=False)

    def ses(bounce_type: str) -> None:
        detail = {
            "eventType": "Bounce",
            "mail": {
                "timestamp": _at(pstack),
                "source": "careers@talent.example.com",
                "messageId": f"ses-{uuid.uuid4().hex}",
                "destination": [BOB],
                "tags": {"ses:configuration-set": ["talentops-dev"]},
            },
            "bounce": {
                "bounceType": bounce_type,
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": BOB}],
                "timestamp": _at(pstack),
            },
        }
        response = pstack.client("events").put_events(
            Entries=[
                {"Source": "aws.ses", "DetailType": "Email Bounced", "Detail": json.dumps(detail)}
            ]
        )
        assert response["FailedEntryCount"] == 0

    ses("Transient")
    first = _attend(pstack, BOB, 7)
    pstack.wait_for(lambda: _decided(pstack, candidate_id, first), timeout=15)
    assert not _export(pstack, candidate_id)["profile"]["suppressed"]
    assert len(_mails_to(pstack, BOB)) == 1
    ses("Permanent")
    pstack.wait_for(lambda: _export(pstack, candidate_id)["profile"]["suppressed"], timeout=15)
    second = _attend(pstack, BOB, 8)
    decision = pstack.wait_for(lambda: _decided(pstack, candidate_id, second), timeout=15)
    assert decision["reason"] == "suppressed_address"
    assert len(_mails_to(pstack, BOB)) == 1
    mail = _mails_to(pstack, BOB)[0]
    _token(mail["headers"]["List-Unsubscribe"].split(",")[0].strip("<> "))


def test_the_stacks_logs_hold_no_personal_data(pstack: LocalStack) -> None:
    """Runs last: every line the stack wrote while the scenarios above ran."""
    lines = [*pstack.stdout_tail, *pstack.stderr_tail]
    text = "\n".join(lines)
    # The handlers' own lines are there (so the check below looks at them).
    for message in (
        "consent changed by the candidate",
        "candidate erased",
        "address suppressed",
        "address is on the suppression list",
    ):
        assert message in text, message
    for needle in (ADA, BOB, *NAMES, *SEEN_TOKENS):
        assert needle.lower() not in text.lower(), f"personal data in the logs: {needle[:12]}..."
    assert not TOKEN_RE.search(text), "a signed token reached the logs"
    assert not re.search(r"[A-Za-z0-9._%+-]+@example\.org", text), "an address reached the logs"
