"""A malformed fact lands in one dead-letter queue: for every detail-type that template.yaml
routes to a function, exactly one of the functions that take it fails on a malformed one
(and so parks it in its DLQ with the reason); the others drop it. Derived from the rules of
template.yaml, and played through the handlers under moto."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from talentops.errors import InvalidEventError
from talentops.journeys.inbound import DEAD_LETTERED_BY
from tests.fuzz.strategies import INBOUND, envelope
from tests.support.cfn import template

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
# Function resource -> the handler directory of functions/.
HANDLER_OF = {
    "IngestProfileFunction": "ingest_profile",
    "JourneysFunction": "journeys",
    "RecordEventFunction": "record_event",
    "CandidateErasureFunction": "candidate_erasure",
    "JobFanoutFunction": "job_fanout",
}


def consumers() -> dict[str, set[str]]:
    """detail-type -> the handlers whose EventBridge rules take it from producers."""
    out: dict[str, set[str]] = defaultdict(set)
    for name, res in template()["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function" or name not in HANDLER_OF:
            continue
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "EventBridgeRule":
                continue
            pattern = event["Properties"]["Pattern"]
            if pattern.get("source") == ["talent.personalization"]:
                continue  # our own events
            for detail_type in pattern.get("detail-type", []):
                out[detail_type].add(HANDLER_OF[name])
    return out


def test_every_inbound_detail_type_has_one_owner_among_its_consumers():
    routed = consumers()
    assert set(INBOUND) <= set(routed)
    for detail_type, handlers in routed.items():
        dropping = {"journeys"} if DEAD_LETTERED_BY.get(detail_type) else set()
        owners = handlers - dropping
        assert len(owners) == 1, (detail_type, handlers)
        if detail_type in DEAD_LETTERED_BY:
            assert owners == {DEAD_LETTERED_BY[detail_type]}


@pytest.mark.parametrize("detail_type", INBOUND)
def test_a_malformed_fact_fails_in_exactly_one_function(aws, functions, context, detail_type):
    bad: dict[str, Any] = {"candidate": {}, "observed_at": "yesterday"}
    failed = []
    for handler in sorted(consumers()[detail_type]):
        try:
            functions[handler].handler(envelope(detail_type, bad), context)
        except InvalidEventError:
            failed.append(handler)
    assert len(failed) == 1, failed
