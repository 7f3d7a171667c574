"""Job alerts under moto: the job-alert queue, the fan-out and worker handlers, SQS delivery
with Lambda's partial-batch semantics, and an exact count of AWS requests."""

from __future__ import annotations

import email
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from typing import Any

from tests.support.events import envelope

JOB = {
    "id": "job-de-data-42",
    "title": "Data Engineer",
    "role_family": "data",
    "seniority": "mid",
    "city": "Berlin",
    "country": "DE",
    "remote": False,
    "url": "https://careers.example.com/jobs/job-de-data-42",
}


def job_opened(
    job: dict[str, Any] | None = None,
    *,
    observed_at: str = "2026-12-01T09:00:00Z",
    event_id: str | None = None,
) -> dict[str, Any]:
    return envelope(
        "Job Opened",
        {"observed_at": observed_at, "job": {**JOB, **(job or {})}},
        source="talent.ats",
        event_id=event_id,
    )


def profile_fact(
    *,
    ref: str | None = None,
    email_address: str | None = None,
    observed_at: str = "2026-11-20T09:00:00Z",
    source: str = "talent.ats",
    **fields: Any,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {}
    if ref:
        candidate["ref"] = ref
    if email_address:
        candidate["email"] = email_address
        fields.setdefault("email", email_address)
    return envelope(
        "Candidate Profile Updated",
        {"candidate": candidate, "observed_at": observed_at, "fields": fields},
        source=source,
    )


def consent_fact(
    email_address: str,
    purpose: str = "job_alerts",
    status: str = "granted",
    observed_at: str = "2026-11-20T09:00:00Z",
) -> dict[str, Any]:
    return envelope(
        "Candidate Consent Changed",
        {
            "candidate": {"email": email_address},
            "observed_at": observed_at,
            "channel": "email",
            "purpose": purpose,
            "status": status,
            "evidence": "careers-site job alert signup",
        },
        source="talent.careers-site",
    )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for m in messages
        ]
    }


@dataclass
class RequestCounter:
    """Every AWS request the system's clients make, by service.Operation (botocore hooks)."""

    calls: Counter[str] = field(default_factory=Counter)

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def besides(self, *operations: str) -> int:
        return sum(v for k, v in self.calls.items() if k not in operations)


@contextmanager
def counting(
    services: tuple[str, ...] = ("dynamodb", "sqs", "events", "sesv2", "ssm"),
) -> Iterator[RequestCounter]:
    from talentops.adapters.aws import client

    counter = RequestCounter()
    clients = [client(s) for s in services]
    for c in clients:
        c.meta.events.register("before-call.*.*", counter)
    try:
        yield counter
    finally:
        for c in clients:
            c.meta.events.unregister("before-call.*.*", counter)


@dataclass
class JobAlertRig:
    """The job-alert queue in the emulated account and the two handlers around it."""

    aws: Any
    handlers: dict[str, Any]
    context: Any
    queue_url: str
    queue_arn: str
    failures: list[str] = field(default_factory=list)

    def ingest(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handlers["ingest_profile"].handler(event, self.context)

    def open_job(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handlers["job_fanout"].handler(event, self.context)

    def receive(self, limit: int = 10) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            resp = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, limit - len(out)),
                VisibilityTimeout=300,
            )
            msgs = resp.get("Messages", [])
            if not msgs:
                break
            out += msgs
        return out

    def deliver(self, messages: list[dict[str, Any]]) -> list[str]:
        """Hand messages to the worker as Lambda's SQS poller would; delete those that
        succeeded; return the ids of the failed ones (left on the queue)."""
        sqs = self.aws.client("sqs")
        result = self.handlers["job_alert_worker"].handler(
            sqs_event(messages, self.queue_arn), self.context
        )
        failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
        self.failures += failed
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            else:  # visible again at once: SQS delivers it again
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
        return failed

    def drain(self, rounds: int = 50) -> int:
        """Deliver until the queue is empty (failed messages come back, as SQS redelivers)."""
        delivered = 0
        for _ in range(rounds):
            batch = self.receive(10)
            if not batch:
                return delivered
            self.deliver(batch)
            delivered += len(batch)
        raise AssertionError("the job-alert queue did not drain")

    def mails(self) -> list[email.message.EmailMessage]:
        out = []
        for m in self.aws.sent_emails():
            raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
            out.append(email.message_from_bytes(raw, policy=policy.default))
        return out

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.mails() if address in str(m["To"])]


def put_profiles(ddb: Any, table: str, profiles: list[Any]) -> None:
    """Profile items as ingest writes them (index keys included), 25 a BatchWriteItem: moto
    copies the whole table for each transaction, so seeding a large pool through ingest
    would be slow."""
    from talentops.adapters.dynamo import to_item
    from talentops.adapters.talent_pool import match_attributes

    items = []
    for p in profiles:
        data = p.model_dump(mode="json")
        data.update(version=1, email_norm=p.email.lower(), **match_attributes(p))
        items.append(to_item({"pk": f"CAND#{p.candidate_id}", "sk": "PROFILE", **data}))
    for start in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )


def new_id() -> str:
    return str(uuid.uuid4())


def body_candidates(message: dict[str, Any]) -> list[str]:
    return list(json.loads(message["Body"])["candidates"])
