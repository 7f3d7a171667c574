"""devstack/inprocess.py builds the WSGI environ of a request itself: the one werkzeug's test
EnvironBuilder built from the same request, key for key."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSRequest
from werkzeug.test import EnvironBuilder

from devstack.inprocess import _body, _environ

BASE = "http://127.0.0.1:4566"


def _builder_environ(request: Any) -> dict[str, Any]:
    parts = urlsplit(request.url)
    headers = [
        (str(name), value.decode("latin-1") if isinstance(value, bytes) else str(value))
        for name, value in request.headers.items()
    ]
    return EnvironBuilder(
        method=request.method,
        base_url=BASE,
        path=parts.path or "/",
        query_string=parts.query,
        headers=headers,
        data=_body(request),
    ).get_environ()


@pytest.mark.parametrize(
    ("method", "path", "headers", "data"),
    [
        (
            "POST",
            "/",
            {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.GetItem",
                "Authorization": "AWS4-HMAC-SHA256 Credential=x/20261205/eu-west-1/dynamodb",
                "Content-Length": "2",
            },
            b"{}",
        ),
        ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, "Action=X&V=%C3%A9"),
        ("GET", "/bucket/a%20b%C3%A9/key?list-type=2&prefix=x%2Fy", {"User-Agent": "ua"}, b""),
        ("DELETE", "/123456789012/queue", {"Content-Length": "0"}, b""),
        ("PUT", "/bucket/key", {"X-Amz-Meta-A": b"bytes", "Content-MD5": "abc"}, b"\x00\xff"),
    ],
)
def test_the_environ_is_the_one_the_builder_gave(
    method: str, path: str, headers: dict[str, Any], data: Any
) -> None:
    request = AWSRequest(method=method, url=BASE + path, headers=headers, data=data).prepare()
    expected = _builder_environ(request)
    built = _environ(
        method,
        request.url,
        request.headers,
        _body(request),
        ("127.0.0.1", "4566", "127.0.0.1:4566"),
    )
    assert built.pop("wsgi.input").read() == expected.pop("wsgi.input").read()
    assert built == expected


def test_requests_to_the_embedded_moto_carry_a_placeholder_signature_others_a_real_one() -> None:
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

    from devstack.inprocess import PLACEHOLDER_SIGNATURE, _unsigned_locally

    credentials = Credentials("local", "local", "token")

    def signed(url: str) -> AWSRequest:
        request = AWSRequest(
            method="POST",
            url=url,
            headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "T.GetItem"},
            data=b"{}",
        )
        SigV4Auth(credentials, "dynamodb", "eu-west-1").add_auth(request)
        return request

    before_local, before_other = signed(BASE + "/"), signed("https://dynamodb.example.org/")
    undo = _unsigned_locally(BASE + "/", BASE)
    try:
        local, other = signed(BASE + "/"), signed("https://dynamodb.example.org/")
    finally:
        undo()
    assert SigV4Auth.add_auth is not None and not hasattr(SigV4Auth.add_auth, "_in_process")

    def parts(request: AWSRequest) -> tuple[str, str]:
        head, _, signature = str(request.headers["Authorization"]).rpartition("Signature=")
        return head, signature

    # the same headers and credential scope; only the signature differs
    assert set(local.headers.keys()) == set(before_local.headers.keys())
    assert parts(local)[0] == parts(before_local)[0]
    assert "Credential=local/" in parts(local)[0]
    assert local.headers["X-Amz-Security-Token"] == "token"
    assert parts(local)[1] == PLACEHOLDER_SIGNATURE != parts(before_local)[1]
    assert parts(other)[1] != PLACEHOLDER_SIGNATURE
    assert parts(other)[0] == parts(before_other)[0]


# Headers whose values are drawn at each answer (request ids, the clock), and the one header
# Flask's CORS hook adds that the direct answer leaves out.
_DRAWN = {"date", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amzn-trace-id"}
_CORS = "access-control-allow-origin"


def test_moto_answers_directly_what_its_flask_app_answers() -> None:
    """Read requests of the services the stack uses (and errors: a missing table, a missing
    key, a ClientError answer), with JSON bodies, a form (STS's query protocol, which
    werkzeug parses itself) and a gzip body (CloudWatch's, which moto decompresses) answered by `_direct_answer` and by moto's WSGI
    application, from the same environ: the same status, body and headers."""
    import json

    import boto3
    from botocore.config import Config
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from devstack import inprocess
    from devstack.moto_patches import install as patch_moto

    application = DomainDispatcherApplication(create_backend_app)
    direct = inprocess._direct_answer(application)
    server = ("127.0.0.1", "4566", "127.0.0.1:4566")
    compared: list[str] = []

    def run(app: Any, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
        answer: list[Any] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return None

        body = b"".join(app(environ, start_response))
        return answer[0], {k.lower(): v for k, v in answer[1]}, body

    def compare(request: Any, event_name: str, **_: Any) -> None:
        def environ() -> dict[str, Any]:
            body = inprocess._body(request)
            return inprocess._environ(request.method, request.url, request.headers, body, server)

        status, headers, body = run(direct, environ())
        flask_status, flask_headers, flask_body = run(application, environ())
        assert _CORS not in headers and flask_headers.pop(_CORS, None) == "*"
        for name in _DRAWN:
            assert (name in headers) == (name in flask_headers)
            headers.pop(name, None)
            flask_headers.pop(name, None)
        assert (status, headers) == (flask_status, flask_headers)
        if b"RequestId" not in body:
            assert body == flask_body
        compared.append(f"{event_name} {status}")

    undo_moto = patch_moto()
    undo = inprocess.install("http://127.0.0.1:4566")
    try:
        kw: dict[str, Any] = {
            "region_name": "eu-west-1",
            "endpoint_url": "http://127.0.0.1:4566",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        ddb, sqs = boto3.client("dynamodb", **kw), boto3.client("sqs", **kw)
        events, s3 = boto3.client("events", **kw), boto3.client("s3", **kw)
        ses, sts = boto3.client("sesv2", **kw), boto3.client("sts", **kw)
        gzipped = Config(request_min_compression_size_bytes=1)  # botocore compresses the body
        cloudwatch = boto3.client("cloudwatch", config=gzipped, **kw)
        ddb.create_table(
            TableName="direct",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.put_item(TableName="direct", Item={"pk": {"S": "a"}, "v": {"M": {"x": {"N": "1"}}}})
        url = sqs.create_queue(QueueName="direct")["QueueUrl"]
        events.put_rule(Name="direct", EventPattern=json.dumps({"source": ["x"]}))
        s3.create_bucket(
            Bucket="direct", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object(Bucket="direct", Key="a/b.json", Body=b"{}")
        for client in (ddb, sqs, events, s3, ses, sts, cloudwatch):
            client.meta.events.register("before-send", compare)
        ddb.get_item(TableName="direct", Key={"pk": {"S": "a"}})
        ddb.query(
            TableName="direct",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
        )
        with pytest.raises(ddb.exceptions.ResourceNotFoundException):
            ddb.get_item(TableName="missing", Key={"pk": {"S": "a"}})
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        sqs.list_queues()
        events.list_rules()
        events.describe_rule(Name="direct")
        s3.list_objects_v2(Bucket="direct")
        assert s3.get_object(Bucket="direct", Key="a/b.json")["Body"].read() == b"{}"
        s3.head_object(Bucket="direct", Key="a/b.json")
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="direct", Key="missing")
        ses.list_email_identities()
        assert sts.get_caller_identity()["Account"]
        cloudwatch.put_metric_data(
            Namespace="direct", MetricData=[{"MetricName": "gzipped", "Value": 1.0}]
        )
        listed = cloudwatch.list_metrics(Namespace="direct")["Metrics"]
        assert {m["MetricName"] for m in listed} == {"gzipped"}
    finally:
        undo()
        undo_moto()
    assert len(compared) == 15
    assert "before-send.cloudwatch.PutMetricData 200 OK" in compared
    assert "before-send.sts.GetCallerIdentity 200 OK" in compared
    assert "before-send.dynamodb.GetItem 400 BAD REQUEST" in compared
    assert "before-send.s3.GetObject 404 NOT FOUND" in compared


def test_stopping_the_embedded_moto_takes_out_what_starting_it_installed() -> None:
    """`start_moto` installs the moto patches and the in-process transport; `stop` takes them
    out, so that a process that goes on (a test run) does not keep them: a test of the
    transport run after a stack's test in the same process met them installed."""
    import socket
    from pathlib import Path

    from botocore.auth import SigV4Auth
    from botocore.endpoint import Endpoint
    from moto.dynamodb.models.dynamo_type import Item

    from devstack.aws import start_moto
    from devstack.config import LocalConfig

    def patched() -> tuple[Any, ...]:
        return (SigV4Auth.add_auth, Endpoint._send, Item.__init__)

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    root = Path(__file__).resolve().parents[2]
    before = patched()
    server = start_moto(LocalConfig(repo=root, template_path=root / "template.yaml", aws_port=port))
    try:
        during = patched()
    finally:
        server.stop()
    assert all(now is not then for now, then in zip(during, before, strict=True))
    assert patched() == before
