"""The event lake as template.yaml deploys it (docs/metrics.md): a rule on the bus sends
every fact of the contract to Firehose, whose Lambda processor (LakeTransformFunction)
builds the rows that land in S3 by day; the Glue table reads exactly that layout and those
columns; the API reports through an Athena workgroup with least privilege; delivery
failures raise alarms. Read from the template itself, so a new fact or column that the
lake would miss fails here."""

from __future__ import annotations

import re
from typing import Any

from talentops.metrics.lake import COLUMNS, KNOWN_FACTS
from tests.support.cfn import template

# DuckDB's column types (metrics/lake.py) as the Glue table (Hive) declares them.
HIVE_TYPES = {"VARCHAR": "string", "TIMESTAMP": "timestamp"}


def resource(logical_id: str, kind: str) -> dict[str, Any]:
    found = template()["Resources"][logical_id]
    assert found["Type"] == kind
    return dict(found["Properties"])


def sub_text(node: Any) -> str:
    assert isinstance(node, dict) and "Fn::Sub" in node, node
    value = node["Fn::Sub"]
    return str(value if isinstance(value, str) else value[0])


def stream() -> dict[str, Any]:
    props = resource("LakeDeliveryStream", "AWS::KinesisFirehose::DeliveryStream")
    return dict(props["ExtendedS3DestinationConfiguration"])


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_the_bucket_is_private_encrypted_and_expires_what_it_holds():
    bucket = resource("LakeBucket", "AWS::S3::Bucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    lifecycle = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert lifecycle["facts"]["Prefix"] == "facts/"
    assert lifecycle["facts"]["ExpirationInDays"] == {"Ref": "LakeRetentionDays"}
    # Error records hold whole facts (personal data): no longer than the dead letters.
    assert lifecycle["errors"]["Prefix"] == "errors/"
    assert lifecycle["errors"]["ExpirationInDays"] <= 7
    assert lifecycle["athena-results"]["ExpirationInDays"] <= 7
    policy = resource("LakeBucketPolicy", "AWS::S3::BucketPolicy")["PolicyDocument"]
    [tls] = policy["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_the_rule_sends_every_fact_of_the_contract_to_the_stream():
    rule = resource("LakeRule", "AWS::Events::Rule")
    assert rule["EventBusName"] == {"Ref": "EventBusName"}
    assert set(rule["EventPattern"]) == {"detail-type"}  # every source, ours included
    assert sorted(rule["EventPattern"]["detail-type"]) == sorted(KNOWN_FACTS)
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["LakeDeliveryStream", "Arn"]}
    role = resource(target["RoleArn"]["Fn::GetAtt"][0], "AWS::IAM::Role")
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "events.amazonaws.com"}
    [allowed] = statements(role)
    assert sorted(allowed["Action"]) == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert allowed["Resource"] == {"Fn::GetAtt": ["LakeDeliveryStream", "Arn"]}


def test_the_stream_runs_the_transform_and_writes_by_day_without_a_raw_copy():
    config = stream()
    assert config["BucketARN"] == {"Fn::GetAtt": ["LakeBucket", "Arn"]}
    assert config["Prefix"] == "facts/day=!{partitionKeyFromLambda:day}/"
    assert config["ErrorOutputPrefix"].startswith("errors/")
    assert config["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert config["BufferingHints"]["SizeInMBs"] >= 64  # dynamic partitioning's minimum
    assert config["S3BackupMode"] == "Disabled"  # the raw facts hold personal data
    [processor] = config["ProcessingConfiguration"]["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert processor["Type"] == "Lambda"
    assert parameters["LambdaArn"] == {"Ref": "LakeTransformFunction.Alias"}
    function = resource("LakeTransformFunction", "AWS::Serverless::Function")
    assert function["CodeUri"] == "functions/lake_transform/"
    assert not function.get("Events")  # Firehose invokes it, nothing else
    role = resource(config["RoleARN"]["Fn::GetAtt"][0], "AWS::IAM::Role")
    actions = {a for s in statements(role) for a in s["Action"]}
    assert {"s3:PutObject", "lambda:InvokeFunction"} <= actions
    assert not any(s["Resource"] == "*" for s in statements(role))


def test_the_glue_table_reads_the_streams_layout_and_the_lakes_columns():
    table = resource("LakeFactsTable", "AWS::Glue::Table")
    assert table["DatabaseName"] == {"Ref": "LakeDatabase"}
    spec = table["TableInput"]
    assert spec["Name"] == "facts"  # metrics/queries.py TABLE, which athena.py qualifies
    storage = spec["StorageDescriptor"]
    location = sub_text(storage["Location"])
    assert location == "s3://${LakeBucket}/facts/"
    # The stream's prefix, with its partition key as the projection names it.
    prefix = stream()["Prefix"].replace("!{partitionKeyFromLambda:day}", "${!day}")
    assert sub_text(spec["Parameters"]["storage.location.template"]) == (
        "s3://${LakeBucket}/" + prefix
    )
    assert location.removeprefix("s3://${LakeBucket}/") == re.sub(r"day=.*$", "", prefix)
    parameters = spec["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.day.type"] == "date"
    assert parameters["projection.day.format"] == "yyyy-MM-dd"
    assert spec["PartitionKeys"] == [{"Name": "day", "Type": "string"}]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    columns = [(c["Name"], c["Type"]) for c in storage["Columns"]]
    assert columns == [(n, HIVE_TYPES[t]) for n, t in COLUMNS.items() if n != "day"]


def test_the_api_reports_through_the_workgroup_with_least_privilege():
    workgroup = resource("LakeWorkGroup", "AWS::Athena::WorkGroup")["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    output = workgroup["ResultConfiguration"]["OutputLocation"]
    assert sub_text(output) == "s3://${LakeBucket}/athena-results/"
    api = resource("ApiFunction", "AWS::Serverless::Function")
    variables = api["Environment"]["Variables"]
    assert variables["LAKE_WORKGROUP"] == {"Ref": "LakeWorkGroup"}
    assert variables["LAKE_DATABASE"] == {"Ref": "LakeDatabase"}
    granted = [
        s
        for p in api["Policies"]
        for s in p["Statement"]
        if any(str(a).split(":")[0] in ("athena", "glue", "s3") for a in s["Action"])
    ]
    actions = {
        a for s in granted for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {"athena:StartQueryExecution", "athena:GetQueryResults", "glue:GetTable"} <= actions
    assert not any(a.endswith("*") for a in actions)
    for statement in granted:
        assert statement["Resource"] != "*", statement
        if statement["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]:
            assert sub_text(statement["Resource"]).endswith("/athena-results/*")


def test_delivery_failures_raise_alarms_on_the_stream_and_the_rule():
    alarms = [
        r["Properties"]
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    ]
    on_stream = {
        a["MetricName"]
        for a in alarms
        if a["Namespace"] == "AWS/Firehose"
        and a["Dimensions"]
        == [{"Name": "DeliveryStreamName", "Value": {"Ref": "LakeDeliveryStream"}}]
    }
    assert {"ExecuteProcessing.Success", "DeliveryToS3.Success", "DeliveryToS3.DataFreshness"} <= (
        on_stream
    )
    rule_name = {"Fn::Select": [1, {"Fn::Split": ["|", {"Ref": "LakeRule"}]}]}
    failed = [
        a
        for a in alarms
        if a["Namespace"] == "AWS/Events" and a["MetricName"] == "FailedInvocations"
    ]
    assert [d["Value"] for d in failed[0]["Dimensions"] if d["Name"] == "RuleName"] == [rule_name]
    for alarm in alarms:
        if alarm["Namespace"] in ("AWS/Firehose", "AWS/Events"):
            assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
