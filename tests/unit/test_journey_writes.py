"""How a journey instance's write is assembled with its step's decision (one update of the
profile from several writers' parts) and what a failed transaction of it means."""

from __future__ import annotations

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
