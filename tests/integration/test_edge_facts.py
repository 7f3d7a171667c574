"""Facts checked at the edge, through the handlers under moto (issue 11): a producer's grant
dated ahead never beats the candidate's one-click unsubscribe; countries that are no
country are refused, aliases normalized, stored ones that are not valid treated as opt-in;
extreme stored dates crash neither the preference centre nor retention; the retention sweep
resumes from its cursor and skips a record it cannot decide."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

import boto3
import pytest

from talentops.clock import SYSTEM_CLOCK
from talentops.errors import InvalidEventError
from tests.conftest import REGION, TABLE, FakeContext, load_handler
from tests.support.events import EVENT, consent, profile
from tests.support.privacy import (
    api_call,
    attend,
    body_text,
    candidate_id_of,
    mails,
    seed,
    token_of,
    unsubscribe_url,
)

ONE_CLICK = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def fns():
    return {n: load_handler(n) for n in ("api", "retention_sweeper")}


def _repo():
    from talentops import wiring

    return wiring.repository()


def _suppressions(aws) -> list[str]:
    return [e["detail"]["reason"] for e in aws.drain() if e["detail-type"] == "Message Suppressed"]


def _other_event(n: int) -> dict:
    return {**EVENT, "id": f"evt-edge-{n}", "name": f"Edge meetup {n}"}


def _now(**delta: float) -> str:
    """A moment relative to the clock. Grants are seeded at _now(days=-1), not on a fixed date:
    a fixed grant lapses (24 months) as the calendar moves on, and no mail would be sent."""
    return (SYSTEM_CLOCK.now() + timedelta(**delta)).isoformat()


def _preferences(api, context, token: str) -> dict[str, bool]:
    response = api_call(
        api,
        context,
        "GET",
        "/preferences",
        query={"token": token},
        headers={"accept": "application/json"},
    )
    assert response["statusCode"] == 200, response
    return {p["purpose"]: p["on"] for p in json.loads(body_text(response))["purposes"]}


# -- the candidate's own choice wins -----------------------------------------------------------


def test_a_grant_dated_ahead_never_beats_the_one_click_unsubscribe(aws, handlers, context, fns):
    ingest = handlers["ingest_profile"].handler
    seed(handlers, context, "ada@example.org", observed_at=_now(days=-1))
    attend(handlers, context, "ada@example.org")
    [message] = mails(aws)
    token = token_of(unsubscribe_url(message))
    # A year ahead: refused at the edge, the field named (Lambda retries, then the DLQ).
    with pytest.raises(InvalidEventError, match="observed_at: .*in the future"):
        ingest(consent("ada@example.org", "granted", observed_at=_now(days=365)), context)
    # Four minutes ahead (a producer's clock running fast, within the skew): accepted ...
    ingest(consent("ada@example.org", "granted", observed_at=_now(minutes=4)), context)
    # ... and the unsubscribe a moment later still wins.
    response = api_call(
        fns["api"],
        context,
        "POST",
        "/unsubscribe",
        query={"token": token},
        headers=ONE_CLICK,
        body="List-Unsubscribe=One-Click",
    )
    assert response["statusCode"] == 200
    assert _preferences(fns["api"], context, token)["events"] is False
    aws.drain()
    attend(handlers, context, "ada@example.org", event=_other_event(1), observed_at=_now())
    assert len(mails(aws)) == 1
    assert _suppressions(aws) == ["consent_withdrawn"]


def test_a_stored_grant_from_the_future_yields_to_the_unsubscribe(aws, handlers, context, fns):
    # Stored before dates were bounded: a grant observed in 2076.
    seed(handlers, context, "bo@example.org", observed_at=_now(days=-1))
    attend(handlers, context, "bo@example.org")
    [message] = mails(aws)
    token = token_of(unsubscribe_url(message))
    repo = _repo()
    stored = repo.get_profile(candidate_id_of("bo@example.org"))
    stored.consent["events"] = stored.consent["events"].model_copy(
        update={"observed_at": SYSTEM_CLOCK.now().replace(year=2076), "received_at": None}
    )
    repo.save_profile(stored, expected_version=stored.version)
    response = api_call(
        fns["api"],
        context,
        "POST",
        "/unsubscribe",
        query={"token": token},
        headers=ONE_CLICK,
        body="List-Unsubscribe=One-Click",
    )
    assert response["statusCode"] == 200
    assert _preferences(fns["api"], context, token)["events"] is False
    aws.drain()
    attend(handlers, context, "bo@example.org", event=_other_event(2), observed_at=_now())
    assert len(mails(aws)) == 1
    assert _suppressions(aws) == ["consent_withdrawn"]


# -- countries ---------------------------------------------------------------------------------


def test_uk_is_stored_as_gb_and_needs_a_grant(aws, handlers, context):
    handlers["ingest_profile"].handler(
        profile("cy@example.org", first_name="Cy", country="UK", seniority="mid"), context
    )
    stored = _repo().get_profile(candidate_id_of("cy@example.org"))
    assert stored.value("country") == "GB"
    aws.drain()
    attend(handlers, context, "cy@example.org")
    assert mails(aws) == []
    assert _suppressions(aws) == ["no_consent"]


@pytest.mark.parametrize("country", ["ZZ", "EU"])
def test_a_code_that_is_no_country_is_refused_at_ingest(aws, handlers, context, country):
    with pytest.raises(InvalidEventError, match=r"fields\.country"):
        handlers["ingest_profile"].handler(
            profile("di@example.org", first_name="Di", country=country), context
        )
    assert _repo().find_by_email("di@example.org") is None


def test_a_stored_country_that_is_no_country_is_treated_as_opt_in(aws, handlers, context):
    # Opt-out country, no grant recorded: mailable.
    seed(handlers, context, "ed@example.org", country="US", status=None)
    attend(handlers, context, "ed@example.org")
    assert len(mails(aws)) == 1
    # Stored before ingest checked codes: "EU". Unknown, hence opt-in: no grant, no mail.
    repo = _repo()
    stored = repo.get_profile(candidate_id_of("ed@example.org"))
    stored.fields["country"] = stored.fields["country"].model_copy(update={"value": "EU"})
    repo.save_profile(stored, expected_version=stored.version)
    aws.drain()
    attend(handlers, context, "ed@example.org", event=_other_event(3), observed_at=_now())
    assert len(mails(aws)) == 1
    assert _suppressions(aws) == ["no_consent"]


# -- extreme stored dates ----------------------------------------------------------------------


def test_dates_at_the_end_of_the_calendar_crash_neither_preferences_nor_retention(
    aws, handlers, context, fns
):
    seed(handlers, context, "fi@example.org", observed_at=_now(days=-1))
    attend(handlers, context, "fi@example.org")
    [message] = mails(aws)
    token = token_of(unsubscribe_url(message))
    repo = _repo()
    stored = repo.get_profile(candidate_id_of("fi@example.org"))
    end = SYSTEM_CLOCK.now().replace(year=9999, month=12, day=31)
    stored.consent["events"] = stored.consent["events"].model_copy(update={"observed_at": end})
    stored.behaviours["event_attended"] = {"at": end.isoformat()}
    repo.save_profile(stored, expected_version=stored.version)
    page = api_call(fns["api"], context, "GET", "/preferences", query={"token": token})
    assert page["statusCode"] == 200
    assert _preferences(fns["api"], context, token)["events"] is True
    report = fns["retention_sweeper"].handler({}, context)
    assert report["status"] == "done" and report["failed"] == 0 and report["scanned"] == 1


# -- the retention sweep: cursor and poison ----------------------------------------------------


@dataclass
class Deadline(FakeContext):
    """A Lambda context whose time runs out after ``calls`` looks at it."""

    calls: int = 1_000_000
    looked: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        self.looked.append(1)
        return 600_000 if len(self.looked) <= self.calls else 1_000


def _sweep_state() -> dict:
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"pk": {"S": "SWEEP#retention"}, "sk": {"S": "STATE"}}
    )["Item"]
    return item


def test_the_sweep_resumes_from_its_cursor_and_skips_a_poison_record(
    aws, handlers, context, fns, monkeypatch
):
    addresses = [f"r{i}@example.org" for i in range(5)]
    for address in addresses:
        seed(handlers, context, address, country="DE")
    ids = [candidate_id_of(a) for a in addresses]
    repo = _repo()
    # A behaviour dated 2076 (stored before dates were bounded) keeps nobody from erasure.
    stored = repo.get_profile(ids[0])
    stored.behaviours["event_attended"] = {"at": "2076-05-01T10:00:00+00:00"}
    repo.save_profile(stored, expected_version=stored.version)
    # A profile item that no longer validates (a field without its provenance).
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "CAND#c_poison00001"},
            "sk": {"S": "PROFILE"},
            "candidate_id": {"S": "c_poison00001"},
            "fields": {"M": {"country": {"S": "DE"}}},
        },
    )
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", SYSTEM_CLOCK.offset + timedelta(days=31 * 7))
    sweep = fns["retention_sweeper"].handler
    # The first run's time runs out after the lease and three candidates.
    first = sweep({"source": "aws.events"}, Deadline(calls=4))
    assert first["status"] == "paused" and first["scanned"] == 3
    state = _sweep_state()
    assert state["status"]["S"] == "running" and "cursor" in state
    assert "lease_until" not in state  # released: the next run may go on at once
    # The next run goes on from the cursor: it reads only the rest.
    second = sweep({"source": "aws.events"}, context)
    assert second["status"] == "done" and second["scanned"] == 3
    assert first["erased"] + second["erased"] == 5
    assert first["failed"] + second["failed"] == 1
    assert all(repo.get_profile(i) is None for i in ids)
    # The record that could not be decided is left as it is, for the next pass to try again.
    poison = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"pk": {"S": "CAND#c_poison00001"}, "sk": {"S": "PROFILE"}}
    )
    assert "Item" in poison
    state = _sweep_state()
    assert state["status"]["S"] == "done" and "cursor" not in state
    assert (int(state["scanned"]["N"]), int(state["erased"]["N"]), int(state["failed"]["N"])) == (
        6,
        5,
        1,
    )
    # Today's pass is done: later runs today find nothing to do, a restart runs it anew.
    assert sweep({}, context)["status"] == "idle"
    again = sweep({"restart": True}, context)
    assert again["status"] == "done" and again["scanned"] == 1 and again["failed"] == 1
