"""How a journey instance's write is assembled with its step's decision (one update of the
profile from several writers' parts) and what a failed transaction of it means."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from talentops.adapters.journeys import CandidateGoneError, _save_failed
from talentops.adapters.pool.decisions import DecidedBeforeError, DecisionParts, ProfileUpdate
from talentops.errors import ConcurrencyError, StorageError

FAILED = {"Code": "ConditionalCheckFailed"}
PASSED = {"Code": "None"}


def _cancelled(*reasons: dict[str, Any]) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": list(reasons),
        },
        "TransactWriteItems",
    )


def _counted() -> ProfileUpdate:
    update = ProfileUpdate(counted=True)
    update.sets.append("#r.#k = :r")
    return update


def _decision() -> DecisionParts:
    put = {"Put": {"Item": {"sk": {"S": "DECISION#d1"}}}}
    return DecisionParts(pk="CAND#c1", put=put, profile=None)


def test_one_update_of_the_profile_carries_every_writers_part() -> None:
    update = ProfileUpdate()
    update.sets.append("#r.#k = :r")
    update.removes.append("#r.#p0")
    update.adds += ["alert_seq :one", "journey_items :one"]
    update.note_behaviour(("attended", {"at": "2026-12-03T19:00:00Z"}))
    update.conditions.append("alert_seq = :seq")
    item = update.item("t", "CAND#c1")["Update"]
    assert item["UpdateExpression"] == (
        "SET #r.#k = :r, #b.#bk = :b REMOVE #r.#p0 ADD alert_seq :one, journey_items :one"
    )
    assert item["ConditionExpression"] == "attribute_exists(pk) AND alert_seq = :seq"
    assert item["ExpressionAttributeNames"] == {"#b": "behaviours", "#bk": "attended"}
    assert item["Key"] == {"pk": {"S": "CAND#c1"}, "sk": {"S": "PROFILE"}}


def test_a_profile_that_failed_and_came_back_had_its_send_counter_moved() -> None:
    exc = _cancelled({**FAILED, "Item": {"pk": {"S": "CAND#c1"}}}, PASSED, PASSED)
    assert isinstance(_save_failed(exc, "c1", "i1", _counted(), _decision()), ConcurrencyError)


def test_a_profile_that_failed_and_did_not_come_back_was_erased() -> None:
    exc = _cancelled(FAILED, FAILED, PASSED)
    assert isinstance(_save_failed(exc, "c1", "i1", _counted(), _decision()), CandidateGoneError)


def test_an_instance_that_moved_on_is_a_race_whatever_the_decision_says() -> None:
    exc = _cancelled(PASSED, FAILED, FAILED)
    assert isinstance(_save_failed(exc, "c1", "i1", _counted(), _decision()), ConcurrencyError)
    alone = ClientError(
        {"Error": {"Code": "ConditionalCheckFailedException", "Message": "failed"}}, "PutItem"
    )
    assert isinstance(_save_failed(alone, "c1", "i1", None, None), ConcurrencyError)


def test_a_decision_alone_that_exists_is_decided_before_with_the_record_met() -> None:
    exc = _cancelled(PASSED, {**FAILED, "Item": {"sk": {"S": "DECISION#d1"}}})
    error = _save_failed(exc, "c1", "i1", None, _decision())
    assert isinstance(error, DecidedBeforeError)
    assert error.item == {"sk": {"S": "DECISION#d1"}}


@pytest.mark.parametrize(
    ("reasons", "kind"),
    [
        ((PASSED, {"Code": "TransactionConflict"}, PASSED), ConcurrencyError),
        ((PASSED, PASSED, {"Code": "ValidationError"}), StorageError),
    ],
)
def test_other_cancellations(reasons: tuple[dict[str, Any], ...], kind: type) -> None:
    error = _save_failed(_cancelled(*reasons), "c1", "i1", _counted(), _decision())
    assert type(error) is kind


def _ended_instance() -> dict[str, Any]:
    """An event journey's instance as it ends: context, inbox and trail (what grows)."""
    from datetime import UTC, datetime

    from talentops.journeys.engine import JourneyInstance

    at = datetime(2026, 12, 3, 18, 30, tzinfo=UTC)
    return JourneyInstance(
        instance_id="i1",
        journey="event",
        version="v1",
        candidate_id="c1",
        key="event#evt-1",
        subject_id="evt-1",
        context={"event": {"id": "evt-1", "name": "Summit", "city": "Berlin"}},
        status="completed",
        step="thank_attendee",
        seq=7,
        step_seq=6,
        inbox={"Candidate Event Attended|evt-1": at.isoformat()},
        started_at=at,
        updated_at=at,
        ended_at=at,
        end_reason="completed",
        trail=[f"step {n}: send something" for n in range(30)],
    ).model_dump(mode="json")


def test_a_running_instance_is_one_item_in_full() -> None:
    from talentops.adapters.journeys import instance_items

    data = {**_ended_instance(), "status": "active", "ended_at": None, "end_reason": None}
    [item] = instance_items("c1", "i1", data, 7, outbox=[{"kind": "timer"}], ended=False)
    assert item["sk"] == {"S": "JOURNEY#i1"} and item["status"] == {"S": "active"}
    assert json.loads(item["instance"]["S"]) == data
    assert json.loads(item["outbox"]["S"]) == [{"kind": "timer"}]


def test_an_ended_instance_keeps_its_summary_where_triggers_read_and_the_rest_apart() -> None:
    from talentops.adapters.dynamo import from_item
    from talentops.adapters.journeys import ENDED_FIELDS, in_full, instance_items
    from talentops.journeys.engine import JourneyInstance

    data = _ended_instance()
    outbox = [{"kind": "exit"}]
    summary, full = instance_items("c1", "i1", data, 7, outbox=outbox, ended=True)
    assert summary["sk"] == {"S": "JOURNEY#i1"} and full["sk"] == {"S": "JEND#i1"}
    assert "JEND#" < "JOURNEY#"  # outside BETWEEN "JOURNEY#" AND "PROFILE"
    kept = json.loads(summary["instance"]["S"])
    assert kept == {name: data[name] for name in ENDED_FIELDS}
    assert "trail" not in kept and "context" not in kept and "inbox" not in kept
    assert JourneyInstance.model_validate(kept).status == "completed"  # what triggers read
    assert json.loads(summary["outbox"]["S"]) == outbox and summary["seq"] == {"N": "7"}
    assert json.loads(full["instance"]["S"]) == data and "outbox" not in full
    assert len(json.dumps(summary)) < len(json.dumps(full)) / 2

    # Read in full: the summary's place, the item in full, the outbox still pending.
    profile = {"pk": {"S": "CAND#c1"}, "sk": {"S": "PROFILE"}}
    older = instance_items("c1", "i0", {**data, "instance_id": "i0"}, 3, outbox=[], ended=False)
    older[0]["status"] = {"S": "ended"}  # an instance that ended before summaries: in full
    items = [from_item(i) for i in [full, *older, summary, profile]]
    read = in_full(items)
    assert [i["sk"] for i in read] == ["JOURNEY#i0", "JOURNEY#i1", "PROFILE"]
    assert json.loads(read[1]["instance"]) == data and json.loads(read[1]["outbox"]) == outbox
    assert read[0] == items[1] and read[2] == items[3]


def test_an_ended_instance_whose_decision_exists_is_decided_before() -> None:
    # The transaction: the profile's update, the summary, the item in full, the decision.
    exc = _cancelled(PASSED, PASSED, PASSED, {**FAILED, "Item": {"sk": {"S": "DECISION#d1"}}})
    found = _save_failed(exc, "c1", "i1", ProfileUpdate(), _decision())
    assert isinstance(found, DecidedBeforeError)
