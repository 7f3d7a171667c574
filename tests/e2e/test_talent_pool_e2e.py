"""The talent pool and job alerts on the local stack, through the public contract only
(PutEvents, the outbox, a capture rule of our own on the bus, the signed admin API).

The story: candidates who moved city, became too senior or sit in another role family get
no alert for a job that fits their old profile; a late, older fact never undoes a newer one;
the one who fits gets exactly one alert, also when the same Job Opened arrives twice; the
weekly cap holds; the access export shows each field with its source and observed_at.

Each run uses a role family and a city of its own, so that other tests' candidates on the
shared stack never match these jobs (and these alerts never reach theirs).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
ROLE = f"rf-{RUN}"
CITY = f"Testburg {RUN}"


def _at(stack: LocalStack, minutes: int) -> str:
    return (datetime.fromisoformat(stack.now()) + timedelta(minutes=minutes)).isoformat()


def _address(name: str) -> str:
    return f"{name}.{RUN}@example.org"


class Capture:
    """A queue of our own behind a rule on the bus: what the system emits."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        sqs, events = stack.client("sqs"), stack.client("events")
        self.url = sqs.create_queue(QueueName=f"capture-tp-{RUN}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=f"capture-tp-{RUN}",
            EventBusName="talent-events",
            EventPattern=json.dumps({"source": ["talent.personalization"]}),
        )
        events.put_targets(
            Rule=f"capture-tp-{RUN}",
            EventBusName="talent-events",
            Targets=[{"Id": "q", "Arn": arn}],
        )
        self.seen: list[dict[str, Any]] = []

    def events(self) -> list[dict[str, Any]]:
        for message in self.stack.drain(self.url):
            self.seen.append(json.loads(message["Body"]))
        return self.seen

    def wait(self, predicate: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
        return self.stack.wait_for(
            lambda: [e for e in self.events() if predicate(e)], timeout=timeout
        )


def _signed_get(stack: LocalStack, path: str, **kwargs: Any) -> requests.Response:
    url = stack.api_url + path
    request = AWSRequest(method="GET", url=url, data=b"")
    SigV4Auth(Credentials("AKIDLOCALTEST", "local-secret"), "execute-api", "eu-west-1").add_auth(
        request
    )
    return requests.get(url, headers=dict(request.headers.items()), timeout=30, **kwargs)


def _profile(stack: LocalStack, name: str, minutes: int, **fields: Any) -> None:
    address = _address(name)
    stack.put_event(
        "Candidate Profile Updated",
        {
            "candidate": {"email": address, "ref": f"ats:{name}-{RUN}"},
            "observed_at": _at(stack, minutes),
            "fields": fields,
        },
    )


def _seed(stack: LocalStack, name: str, **fields: Any) -> None:
    base = {
        "email": _address(name),
        "first_name": name.title(),
        "country": "DE",
        "role_family": ROLE,
        "seniority": "mid",
        "city": CITY,
    }
    _profile(stack, name, -120, **{**base, **fields})
    stack.put_event(
        "Candidate Consent Changed",
        {
            "candidate": {"email": _address(name)},
            "observed_at": _at(stack, -120),
            "channel": "email",
            "purpose": "job_alerts",
            "status": "granted",
            "evidence": "careers-site job alert signup",
        },
        source="talent.careers-site",
    )


def _job(stack: LocalStack, job_id: str, title: str = "Data Engineer") -> str:
    return stack.put_event(
        "Job Opened",
        {
            "observed_at": _at(stack, 0),
            "job": {
                "id": job_id,
                "title": title,
                "role_family": ROLE,
                "seniority": "mid",
                "city": CITY,
                "country": "DE",
                "remote": False,
                "url": f"https://careers.example.com/jobs/{job_id}",
            },
        },
    )


def _mails_to(stack: LocalStack, name: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if _address(name) in m["to"]]


def test_job_alerts_reach_who_fits_now_once_within_the_cap(stack: LocalStack) -> None:
    capture = Capture(stack)
    for name in ("fit", "moved", "late", "grown", "other"):
        _seed(stack, name, **({"role_family": f"other-{RUN}"} if name == "other" else {}))

    for name in ("fit", "moved", "late", "grown", "other"):
        capture.wait(
            lambda e, n=name: (
                e["detail-type"] == "Candidate Profile Changed"
                and e["detail"]["changed"].get("email", {}).get("value") == _address(n)
            )
        )
    # Moved to another city an hour ago.
    _profile(stack, "moved", -60, city=f"Elsewhere {RUN}")
    # Moved too; then a late, older fact still names the old city (and a first name):
    # the city must stay, only the new field changes.
    _profile(stack, "late", -60, city=f"Elsewhere {RUN}")
    capture.wait(
        lambda e: (
            e["detail-type"] == "Candidate Profile Changed"
            and e["detail"]["changed"].get("city", {}).get("value") == f"Elsewhere {RUN}"
        ),
        timeout=20,
    )
    _profile(stack, "late", -90, city=CITY, last_name=f"Late{RUN}")
    # Became too senior.
    _profile(stack, "grown", -60, seniority="principal")
    late_changed = capture.wait(
        lambda e: (
            e["detail-type"] == "Candidate Profile Changed"
            and e["detail"]["changed"].get("last_name", {}).get("value") == f"Late{RUN}"
        )
    )
    assert set(late_changed[0]["detail"]["changed"]) == {"last_name"}  # city did not change
    capture.wait(
        lambda e: (
            e["detail-type"] == "Candidate Profile Changed"
            and e["detail"]["changed"].get("seniority", {}).get("value") == "principal"
        )
    )

    job_id = f"job-{RUN}-1"
    event_id = _job(stack, job_id)
    sent = capture.wait(
        lambda e: (
            e["detail-type"] == "Message Sent" and e["detail"]["trigger"]["event_id"] == event_id
        )
    )
    [mail] = stack.wait_for(lambda: _mails_to(stack, "fit"))
    assert "Data Engineer" in mail["subject"] and CITY in mail["subject"]
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/jobs/{job_id}?t=v2." in mail["text"]
    # The same Job Opened again, as the ATS resends it (a new envelope id).
    _job(stack, job_id)
    time.sleep(3)
    assert len(sent) == 1 and len(_mails_to(stack, "fit")) == 1
    for name in ("moved", "late", "grown", "other"):
        assert _mails_to(stack, name) == [], name

    # The weekly cap: three job alerts a week; the fourth job is suppressed.
    for n in (2, 3, 4):
        _job(stack, f"job-{RUN}-{n}", title=f"Data Engineer {n}")
    capped = capture.wait(
        lambda e: (
            e["detail-type"] == "Message Suppressed" and e["detail"]["reason"] == "frequency_cap"
        )
    )
    assert capped[0]["detail"]["purpose"] == "job_alerts"
    stack.wait_for(lambda: len(_mails_to(stack, "fit")) == 3)
    time.sleep(2)
    assert len(_mails_to(stack, "fit")) == 3

    # The access export: each field with its source and observed_at.
    found = _signed_get(stack, "/admin/candidates", params={"email": _address("late")})
    assert found.status_code == 200, found.text
    export = _signed_get(stack, f"/admin/candidates/{found.json()['candidate_id']}").json()
    city = export["profile"]["fields"]["city"]
    assert city["value"] == f"Elsewhere {RUN}" and city["source"] == "talent.ats"
    assert datetime.fromisoformat(city["observed_at"]) < datetime.fromisoformat(stack.now())
