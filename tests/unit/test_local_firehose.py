"""The local stack's Firehose (devstack/firehose.py, docs/local-stack.md): the template's
delivery stream is planned as an emulation (the rule's stream target mirrored to a queue,
the processor found behind its alias, the Glue catalogue and Athena left out), and a batch
goes through the processor in Firehose's shape into JSON Lines files by partition key, Ok
rows only, with retries and failures counted, never written."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from devstack.aws import StartupError
from devstack.firehose import StreamEmulation, clear_lake, partition_template
from devstack.plan import STREAM_TYPE, StackPlan, build_plan
from devstack.template import load_template, parameter_values, prepare_for_translation, translate
from tests.support.cfn import ROOT

ARN = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/local-LakeDeliveryStream"
PREFIX = "facts/day=!{partitionKeyFromLambda:day}/"


@cache
def plan() -> StackPlan:
    raw = load_template(ROOT / "template.yaml")
    prepared, _ = prepare_for_translation(raw, ROOT)
    return build_plan(translate(prepared, "eu-west-1", parameter_values(raw, {})))


def test_the_template_stream_is_emulated_and_its_rule_target_mirrored():
    current = plan()
    assert current.warnings == []
    [stream] = current.streams.values()
    assert stream.stream_id == "LakeDeliveryStream"
    assert stream.processor_id == "LakeTransformFunction"  # behind its alias
    [target] = current.stream_targets
    assert (target.rule_id, target.stream_id) == ("LakeRule", "LakeDeliveryStream")
    resources = current.cfn_template["Resources"]
    [rule_target] = resources["LakeRule"]["Properties"]["Targets"]
    assert rule_target["Arn"] == {"Fn::GetAtt": [target.queue_id, "Arn"]}
    assert "RoleArn" not in rule_target
    assert resources[target.queue_id]["Type"] == "AWS::SQS::Queue"
    # Nothing left in moto's stack refers to what it cannot create.
    for lid in ("LakeDeliveryStream", "LakeDatabase", "LakeFactsTable", "LakeWorkGroup"):
        assert lid in current.dropped and lid not in resources and lid not in current.skipped
    assert STREAM_TYPE not in {r["Type"] for r in resources.values()}
    assert "LakeDeliveryLogStream" in current.direct  # created with a plain API call
    assert "LakeBucket" in resources


def test_the_partition_template_is_the_prefix_below_the_tables_location():
    assert partition_template(PREFIX) == "day={day}"
    assert (
        partition_template("lake/v1/y=!{partitionKeyFromLambda:y}/d=!{partitionKeyFromLambda:d}/")
        == "y={y}/d={d}"
    )
    assert partition_template("static/") == ""
    with pytest.raises(StartupError):
        partition_template("facts/!{timestamp:yyyy}/")


class Processor:
    """A stand-in of the lake's transform: answers by record, fails `failures` times first."""

    def __init__(self, failures: int = 0, answer: Any = None):
        self.failures = failures
        self.batches: list[dict[str, Any]] = []
        self.answer = answer

    def invoke(self, batch: dict[str, Any], request_id: str | None = None) -> Any:
        self.batches.append(batch)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("boom")
        if self.answer is not None:
            return self.answer
        answers = []
        for record in batch["records"]:
            event = json.loads(base64.b64decode(record["data"]))
            day = event.get("day")
            if day is None:
                answers.append({"recordId": record["recordId"], "result": "Dropped"})
            elif day == "fail":
                answers.append({"recordId": record["recordId"], "result": "ProcessingFailed"})
            else:
                row = json.dumps({"n": event["n"], "day": day}) + "\n"
                answers.append(
                    {
                        "recordId": record["recordId"],
                        "result": "Ok",
                        "data": base64.b64encode(row.encode()).decode(),
                        "metadata": {"partitionKeys": {"day": day}},
                    }
                )
        return {"records": answers}


def emulation(tmp_path: Path, processor: Any, retries: str = "3") -> StreamEmulation:
    destination = {
        "Prefix": PREFIX,
        "ProcessingConfiguration": {
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [{"ParameterName": "NumberOfRetries", "ParameterValue": retries}],
                }
            ]
        },
    }
    return StreamEmulation(
        "LakeDeliveryStream",
        ARN,
        "eu-west-1",
        destination=destination,
        processor=processor,
        lake_dir=tmp_path / "lake",
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_batch_goes_through_the_processor_into_files_by_day(tmp_path):
    processor = Processor()
    stream = emulation(tmp_path, processor)
    events = [
        {"n": 1, "day": "2026-12-04"},
        {"n": 2},
        {"n": 3, "day": "2026-12-05"},
        {"n": 4, "day": "fail"},
        {"n": 5, "day": "2026-12-04"},
        {"n": 6, "day": "../escape"},
    ]
    report = stream.deliver(events)
    assert (report.delivered, report.dropped, report.failed) == (3, 1, 2)
    [batch] = processor.batches
    assert batch["deliveryStreamArn"] == ARN and batch["region"] == "eu-west-1"
    ids = [r["recordId"] for r in batch["records"]]
    assert len(set(ids)) == len(events)
    assert all(isinstance(r["approximateArrivalTimestamp"], int) for r in batch["records"])
    lake = tmp_path / "lake"
    assert sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.jsonl")) == [
        "day=2026-12-04/facts.jsonl",
        "day=2026-12-05/facts.jsonl",
    ]
    assert [r["n"] for r in lines(lake / "day=2026-12-04" / "facts.jsonl")] == [1, 5]
    stream.deliver([{"n": 7, "day": "2026-12-04"}])  # appended, not replaced
    assert [r["n"] for r in lines(lake / "day=2026-12-04" / "facts.jsonl")] == [1, 5, 7]


def test_a_failing_processor_is_retried_then_the_batch_is_counted_failed(tmp_path):
    recovering = Processor(failures=2)
    assert emulation(tmp_path, recovering).deliver([{"n": 1, "day": "2026-12-04"}]).delivered == 1
    assert len(recovering.batches) == 3
    failing = Processor(failures=10)
    report = emulation(tmp_path / "b", failing, retries="1").deliver([{"n": 1, "day": "x"}])
    assert (report.delivered, report.failed) == (0, 1) and len(failing.batches) == 2
    assert not (tmp_path / "b" / "lake").exists()
    # An answer that leaves a record out fails that record.
    silent = emulation(tmp_path / "c", Processor(answer={"records": []}))
    assert silent.deliver([{"n": 1, "day": "2026-12-04"}]).failed == 1


def test_a_start_clears_the_rows_of_an_earlier_run_only(tmp_path):
    lake = tmp_path / "lake"
    (lake / "day=2026-12-04").mkdir(parents=True)
    (lake / "day=2026-12-04" / "facts.jsonl").write_text("{}\n")
    (lake / "notes.txt").write_text("kept")
    assert clear_lake(lake) == 1
    assert sorted(p.name for p in lake.iterdir()) == ["notes.txt"]
    assert clear_lake(tmp_path / "missing") == 0
