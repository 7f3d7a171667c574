"""Campaigns on the local stack, on the shipped 10,000-candidate sample, through the contract
only: the signed admin API, /_local/outbox, /_local/clock (read) and /_local/faults, and the
CLI (scripts/campaign.py) as marketing ops run it.

- One campaign, created, previewed and launched (--wait) with the CLI: the preview reads
  the whole pool and its counts per variant and per suppression reason are what the launch
  then sends (the outbox, told apart by subject) and counts (the status); SES throttles the
  launch's first sends (/_local/faults), and still every recipient of the preview gets the
  campaign exactly once; launched again over the API, at once and after the end, it sends
  nothing new. (One campaign only: every preview and every fan-out reads the whole pool,
  which takes a while on moto.)
- /_local/faults itself: what a throttled send looks like to boto3.

The pool is seeded once, for this module (fixture ``pool``), and deleted after it, so that the
session's later tests (and a retention sweep they set off by moving the clock past 03:15 UTC)
do not work through 10,000 more candidates. The sample goes through the bulk importer's own
parsing and merge rules (talentops.talent_pool.importer.PoolImporter), whose new profiles
are written as the items the importer's transactions would create, with BatchWriteItem
instead (moto evaluates an UpdateExpression over the profile's nested maps very slowly;
``make import`` of the sample takes minutes), and without `Candidate Profile Changed`
events. Only creations take that path: a profile that exists already (a candidate repeated
in the file) goes through the importer's own transaction, conditions included;
test_seeding_writes_what_the_importer_writes checks that both write the same items.

Quiet hours: the stack's clock starts at the wall clock, and the segment keeps to the time
zones where it is day now and for the next 45 minutes, so nobody is deferred to a night's
end and the clock is not moved (a move past 03:15 UTC would also run the retention sweep
over the pool). Its role family is the one with about SEGMENT_TARGET rows in those zones.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample-pool.jsonl"
REGION = "eu-west-1"
SIGNER = SigV4Auth(Credentials("AKIDCAMPAIGNE2E", "local-secret"), "execute-api", REGION)
LAUNCH_TIMEOUT = 600.0
# The local hours a segment's time zones must be in, now and AHEAD from now (the test's
# preview and launch): outside the default quiet hours (21:00 to 08:00 is quiet).
DAY = (8, 21)
AHEAD = timedelta(minutes=45)
SEGMENT_TARGET = 400  # rows of the sample in the segment, about
# The catalogue's spring_hiring variants, told apart by their subjects in the outbox.
VARIANT_SUBJECTS = {
    "de": re.compile(r"^Wir stellen ein"),
    "senior": re.compile(r"^Spring hiring at .*, and a conversation first$"),
    "default": re.compile(r"^Spring hiring at .*roles are open$"),
}


# -- seeding the sample -------------------------------------------------------------------


@dataclass
class Pool:
    table: str
    rows: list[dict[str, Any]]  # the sample's rows as JSON objects
    written: int
    unchanged: int
    rejected: int
    seconds: float
    keys: set[tuple[str, str]]  # (pk, sk) of every item seeding wrote


def seed(
    ddb: Any,
    table: str,
    path: Path = SAMPLE,
    *,
    fast: bool = True,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch: int = 100,
) -> Pool:
    """The rows of ``path`` through the bulk importer (parsing, merge rules, suppression
    screen), into ``table``, without events. ``fast``: creations are written with
    BatchWriteItem as the items the importer's transaction would create; everything else
    goes through the importer's own writes."""
    from scripts.import_pool import records
    from talentops.adapters.dynamo import batch_write
    from talentops.adapters.suppression import SuppressionRepository
    from talentops.adapters.talent_pool import ProfileWrite, TalentPoolRepository
    from talentops.privacy.screening import AddressScreen
    from talentops.talent_pool.importer import ImportRow, PoolImporter, Rejection, parse_row
    from talentops.talent_pool.service import TalentPoolService

    keys: set[tuple[str, str]] = set()

    class SeedingRepository(TalentPoolRepository):
        def save_profiles(self, entries: Sequence[ProfileWrite]) -> list[int]:
            puts = []
            existing = [i for i, e in enumerate(entries) if e.expected_version != 0]
            for entry in entries:
                items = self._profile_items(
                    entry.profile, entry.expected_version, entry.new_aliases, entry.consent_history
                )
                for item in items:
                    if "Update" in item:
                        key = item["Update"]["Key"]
                    else:
                        key = item["Put"]["Item"]
                        if entry.expected_version == 0:  # a creation: every item is a Put
                            puts.append({"PutRequest": {"Item": key}})
                    keys.add((key["pk"]["S"], key["sk"]["S"]))
            batch_write(self.ddb, self.table, puts, what="seeding the sample")
            failed = super().save_profiles([entries[i] for i in existing])
            return [existing[i] for i in failed]

    class NoEvents:
        def publish(self, entries: Any) -> None:
            raise AssertionError("seeding publishes nothing")

    repo = (SeedingRepository if fast else TalentPoolRepository)(table, ddb)
    service = TalentPoolService(
        repo=repo,
        publisher=NoEvents(),  # type: ignore[arg-type]
        now=now,
        screen=AddressScreen(SuppressionRepository(table, ddb)),
    )
    importer = PoolImporter(
        repo=repo, service=service, publisher=None, source="talent.ats", now=now
    )
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    pending: list[ImportRow] = []
    written = unchanged = rejected = 0

    def flush() -> None:
        nonlocal written, unchanged, rejected
        result = importer.apply(pending)
        written += result.written + result.one_by_one
        unchanged += result.unchanged
        rejected += len(result.rejected)
        pending.clear()

    for line, raw in records(path, "jsonl"):
        if isinstance(raw, Rejection):
            rejected += 1
            continue
        rows.append(raw)
        row = parse_row(raw, line=line, now=now(), default_observed_at=None, csv=False)
        if isinstance(row, Rejection):
            rejected += 1
            continue
        pending.append(row)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return Pool(table, rows, written, unchanged, rejected, time.monotonic() - started, keys)


def unseed(ddb: Any, pool: Pool) -> float:
    """Deletes what seeding wrote (so that the session's other tests, and the retention sweep
    a clock move past 03:15 UTC sets off, do not work through 10,000 candidates); seconds."""
    from talentops.adapters.dynamo import batch_write

    started = time.monotonic()
    deletes = [
        {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in pool.keys
    ]
    batch_write(ddb, pool.table, deletes, what="deleting the seeded sample")
    return time.monotonic() - started


@pytest.fixture(scope="module")
def pool(stack: LocalStack) -> Iterator[Pool]:
    """The sample in the stack's talent pool table, for this module's tests (seeded once);
    deleted afterwards."""
    outputs = stack.client("cloudformation").describe_stacks(StackName="local")["Stacks"][0]
    table = next(
        o["OutputValue"] for o in outputs["Outputs"] if o["OutputKey"] == "TalentPoolTableName"
    )
    seeded = seed(stack.client("dynamodb"), table)
    print(
        f"\nseeded {SAMPLE.name}: {seeded.written:,} candidates written, {seeded.unchanged:,} "
        f"rows unchanged, {seeded.rejected:,} rejected, in {seeded.seconds:.1f} s",
        file=sys.stderr,
    )
    assert seeded.written > 9_000
    yield seeded
    seconds = unseed(stack.client("dynamodb"), seeded)
    print(f"\ndeleted the seeded sample ({len(seeded.keys):,} items) in {seconds:.1f} s")


def test_seeding_writes_what_the_importer_writes(
    aws: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The fixture's fast path against the importer's own transactions (in-process moto, the
    sample's first rows, with a candidate repeated with a newer fact and an address on the
    suppression list): the same items, attribute for attribute."""
    import itertools

    from devstack.moto_patches import install
    from talentops.adapters.suppression import SuppressionRepository
    from tests.support.cfn import table_definition

    uninstall = install()  # moto's transactions without a copy of the table per item
    with SAMPLE.open(encoding="utf-8") as handle:
        lines = list(itertools.islice(handle, 80))
    # (the sample's first row has a seniority the contract does not know: rejected)
    first, bounced = json.loads(lines[2]), json.loads(lines[1])["email"]
    repeat = {**first, "city": "Leipzig", "observed_at": "2026-11-01T08:00:00Z"}
    path = tmp_path / "head.jsonl"
    path.write_text("".join(lines) + json.dumps(repeat) + "\n", encoding="utf-8")
    ddb = aws.client("dynamodb")
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    items = {}
    try:
        for fast in (False, True):
            table = f"seed-{'fast' if fast else 'importer'}"
            ddb.create_table(TableName=table, **table_definition())
            SuppressionRepository(table, ddb).suppress(bounced, kind="bounce", at=at, reason="t")
            ids = itertools.count()  # the same candidate ids both ways
            monkeypatch.setattr(
                "talentops.talent_pool.importer.secrets.token_hex",
                lambda n, ids=ids: f"{next(ids):0{2 * n}x}",
            )
            result = seed(ddb, table, path, fast=fast, now=lambda: at, batch=40)
            assert result.written >= 70 and result.rejected >= 1
            scanned = ddb.scan(TableName=table)["Items"]
            items[fast] = sorted(scanned, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    finally:
        uninstall()
    assert len(items[True]) > 150
    profiles = [i for i in items[True] if i["sk"]["S"] == "PROFILE"]
    assert any(p["suppressed"]["BOOL"] for p in profiles)
    assert any(p["fields"]["M"]["city"]["M"]["value"]["S"] == "Leipzig" for p in profiles)
    assert items[True] == items[False]


# -- the admin API, signed ----------------------------------------------------------------


def admin(stack: LocalStack, method: str, path: str, body: Any = None) -> requests.Response:
    url = stack.api_url + path
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
    SIGNER.add_auth(request)
    return requests.request(
        method, url, data=data, headers=dict(request.headers.items()), timeout=LAUNCH_TIMEOUT
    )


def ok(response: requests.Response, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:2000])
    return response.json()


def wait_until_sent(stack: LocalStack, campaign_id: str) -> dict[str, Any]:
    """The status once the launch's queued work is done (fan-out over, every page message
    processed, nobody waiting for a retry)."""

    def done() -> dict[str, Any] | None:
        view = ok(admin(stack, "GET", f"/admin/campaigns/{campaign_id}"), 200)
        progress = view["progress"]
        finished = (
            progress["fanout_done"]
            and progress["messages_done"] >= progress["messages"]
            and view["counts"]["waiting"] == 0
        )
        return view if finished else None

    view = stack.wait_for(done, timeout=LAUNCH_TIMEOUT, interval=1.0)
    assert view is not None and view["status"] == "sent", view
    return view


# -- segments in daylight -----------------------------------------------------------------


def daytime_zones(stack: LocalStack, pool: Pool, ahead: timedelta = AHEAD) -> list[str]:
    """The pool's time zones where it is day (DAY) on the stack's clock now and in ``ahead``
    (at any hour, one at least: Asia/Kolkata from 02:30 UTC, America/Los_Angeles until 04:15
    UTC)."""
    now = datetime.fromisoformat(stack.now())
    zones = sorted({str(r["timezone"]) for r in pool.rows if isinstance(r.get("timezone"), str)})
    out = []
    for name in zones:
        try:
            zone = ZoneInfo(name)
        except (KeyError, ValueError):
            continue
        hours = [(now + delta).astimezone(zone).hour for delta in (timedelta(0), ahead)]
        if all(DAY[0] <= h < DAY[1] for h in hours):
            out.append(name)
    return out


def daylight_segment(stack: LocalStack, pool: Pool) -> tuple[str, list[str]]:
    """A role family and the time zones in daylight: the role family whose rows in those
    zones are closest to SEGMENT_TARGET (a few hundred candidates, whatever the hour)."""
    zones = daytime_zones(stack, pool)
    assert zones, "no time zone of the sample is in daylight now"
    sizes = Counter(
        r["role_family"]
        for r in pool.rows
        if r.get("timezone") in zones and isinstance(r.get("role_family"), str)
    )
    role = min(sorted(sizes), key=lambda name: abs(sizes[name] - SEGMENT_TARGET))
    return role, zones


def segment_addresses(pool: Pool, role_family: str, zones: list[str]) -> set[str]:
    """Addresses of the sample's rows that may be in the segment (an upper bound: the merge
    of a candidate's rows decides the profile)."""
    return {
        address
        for row in pool.rows
        if row.get("role_family") == role_family
        and row.get("timezone") in zones
        and isinstance(row.get("email"), str)
        for address in [row["email"].strip().lower()]
    }


def campaign_mail(mails: list[dict[str, Any]], addresses: set[str]) -> list[dict[str, Any]]:
    """The outbox entries of a spring_hiring campaign to ``addresses``."""
    return [
        m
        for m in mails
        if any(p.match(m["subject"] or "") for p in VARIANT_SUBJECTS.values())
        and {a.lower() for a in m["to"]} & addresses
    ]


def variant_of(mail: dict[str, Any]) -> str:
    found = [name for name, pattern in VARIANT_SUBJECTS.items() if pattern.match(mail["subject"])]
    assert len(found) == 1, mail["subject"]
    return found[0]


# -- /_local/faults -----------------------------------------------------------------------


def test_local_faults_throttle_ses_sends_as_ses_does(stack: LocalStack) -> None:
    faults = stack.get("/_local/faults").json()
    assert faults["ses_throttle"] == 0
    before = faults["injected"]["ses_throttle"]
    for bad in ({}, {"ses_throttle": -1}, {"ses_throttle": "3"}, {"ses_throttle": True}, {"x": 1}):
        response = stack.post("/_local/faults", json=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert stack.post("/_local/faults", data=b"not json").status_code == 400

    sesv2 = stack.client("sesv2")
    domain = sesv2.list_email_identities()["EmailIdentities"][0]["IdentityName"]
    single = boto3.client(  # one attempt a call
        "sesv2",
        endpoint_url=stack.aws_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )

    def send(client: Any, n: int) -> str:
        raw = (
            f"From: faults@{domain}\r\nTo: faults-{n}@example.org\r\nSubject: fault {n}\r\n"
            "\r\nhello\r\n"
        ).encode()
        return str(
            client.send_email(
                FromEmailAddress=f"faults@{domain}",
                Destination={"ToAddresses": [f"faults-{n}@example.org"]},
                Content={"Raw": {"Data": raw}},
            )["MessageId"]
        )

    outbox = len(stack.outbox())
    assert stack.post("/_local/faults", json={"ses_throttle": 2}).json()["ses_throttle"] == 2
    for _ in range(2):
        with pytest.raises(ClientError) as error:
            send(single, 1)
        assert error.value.response["Error"]["Code"] == "Throttling"
        assert error.value.response["Error"]["Message"] == "Maximum sending rate exceeded."
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(stack.outbox()) == outbox  # a throttled send leaves nothing behind
    send(single, 2)
    assert [m["to"] for m in stack.outbox()[outbox:]] == [["faults-2@example.org"]]
    # boto3's standard retries go through a throttle as they would against SES.
    stack.post("/_local/faults", json={"ses_throttle": 2})
    send(sesv2, 3)
    state = stack.get("/_local/faults").json()
    assert (state["ses_throttle"], state["injected"]["ses_throttle"]) == (0, before + 4)
    # 0 clears what remains.
    stack.post("/_local/faults", json={"ses_throttle": 50})
    assert stack.post("/_local/faults", json={"ses_throttle": 0}).json()["ses_throttle"] == 0
    send(single, 4)
    assert len(stack.outbox()) == outbox + 3


# -- a campaign on the sample, through the CLI and the API --------------------------------


def cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """scripts/campaign.py as marketing ops run it (no AWS credentials configured: against
    the local stack it signs with dummy ones)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "TALENTOPS_API_URL": stack.api_url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "campaign.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT + 60,
        check=False,
    )


def test_the_preview_is_what_the_launch_sends_once_each_despite_throttling(
    stack: LocalStack, pool: Pool, tmp_path: Path
) -> None:
    """One campaign (each preview and each fan-out reads the whole pool: on the local stack
    that takes a while): created, previewed and launched with the CLI, SES throttling the
    launch's first sends; launched twice more over the API."""
    role, zones = daylight_segment(stack, pool)
    spec = tmp_path / "spring.yaml"
    spec.write_text(
        f"name: 'Spring hiring: {role}, in daylight'\n"
        "purpose: marketing\n"
        "segment:\n"
        f"  - {{field: role_family, op: eq, value: {role}}}\n"
        f"  - {{field: timezone, op: in, value: [{', '.join(zones)}]}}\n"
        "content:\n"
        "  template: spring_hiring\n",
        encoding="utf-8",
    )
    created = cli(stack, "create", str(spec))
    assert created.returncode == 0, created.stderr
    match = re.search(r"^campaign (cmp_[0-9a-f]{16}) created$", created.stdout, re.M)
    assert match, created.stdout
    cid = match[1]
    assert ["status", "draft"] in [line.split() for line in created.stdout.splitlines()]

    # The preview: the whole addressable pool read, a segment of a few hundred, nothing sent.
    outbox_before = len(stack.outbox())
    started = time.monotonic()
    shown = cli(stack, "preview", cid, "--json")
    preview_seconds = time.monotonic() - started
    assert shown.returncode == 0, shown.stderr
    preview = json.loads(shown.stdout)
    assert preview["scanned"] > 9_000  # every profile with an address
    assert 100 <= preview["in_segment"] <= 2_000, preview["in_segment"]
    assert preview["deferred"] == {}, "the segment keeps to time zones in daylight"
    assert preview["would_send"] == sum(preview["by_variant"].values()) > 0
    assert preview["in_segment"] == preview["would_send"] + sum(preview["suppressed"].values())
    assert len(preview["by_variant"]) >= 2 and preview["suppressed"], preview
    assert len(stack.outbox()) == outbox_before

    # The launch, SES throttling its first sends (the worker's backoff; SES calls make one
    # attempt each).
    # Fewer than the worker's tries of one send (launch.Backoff: 6), so that its backoff
    # absorbs them within the delivery; a send throttled more often releases its page to
    # SQS's redelivery, a visibility timeout (12 minutes) later.
    throttles = 5
    faults = stack.post("/_local/faults", json={"ses_throttle": throttles}).json()
    injected = faults["injected"]["ses_throttle"]
    started = time.monotonic()
    launched = cli(stack, "launch", cid, "--wait", "--interval", "0.5")
    launch_seconds = time.monotonic() - started
    assert launched.returncode == 0, launched.stderr
    assert f"launch of {cid}: started" in launched.stdout
    progress = [line for line in launched.stderr.splitlines() if line.startswith("[")]
    assert progress and "\r" not in launched.stderr  # not a terminal: plain lines
    assert progress[-1].startswith("[##############################]"), progress[-1]
    assert f"sent {preview['would_send']:,}" in progress[-1], progress[-1]
    state = stack.get("/_local/faults").json()
    assert (state["ses_throttle"], state["injected"]["ses_throttle"]) == (0, injected + throttles)
    # Launched again, at once and after the end: nothing new.
    for _ in range(2):
        again = ok(admin(stack, "POST", f"/admin/campaigns/{cid}/launch"), 202)
        assert again["launch"] in ("resumed", "already_launched")
    view = wait_until_sent(stack, cid)
    time.sleep(3)  # pollers run every second: anything queued again would be sent by now

    # What the launch sent is what the preview said, to each recipient once.
    addresses = segment_addresses(pool, role, zones)
    mails = campaign_mail(stack.outbox()[outbox_before:], addresses)
    recipients = Counter(a.lower() for m in mails for a in m["to"])
    assert all(n == 1 for n in recipients.values()), recipients.most_common(3)
    assert set(recipients) <= addresses
    assert len(recipients) == len(mails) == preview["would_send"]
    assert Counter(variant_of(m) for m in mails) == Counter(preview["by_variant"])
    counts = ok(admin(stack, "GET", f"/admin/campaigns/{cid}"), 200)["counts"]
    assert counts == view["counts"]
    assert counts["sent"] == preview["would_send"]
    assert counts["suppressed"] == preview["suppressed"]
    assert counts["queued"] == preview["in_segment"]
    assert (counts["failed"], counts["deferred"], counts["waiting"]) == (0, {}, 0)
    assert (counts["left_segment"], counts["missing"]) == (0, 0)

    # The CLI's status shows the same; an unknown campaign is the API's 404, exit 1.
    status = cli(stack, "status", cid)
    assert status.returncode == 0, status.stderr
    rows = [line.split() for line in status.stdout.splitlines()]
    assert ["status", "sent"] in rows and ["sent", f"{preview['would_send']:,}"] in rows
    for reason, count in preview["suppressed"].items():
        assert [reason, f"{count:,}"] in [r[-2:] for r in rows], status.stdout
    missing = cli(stack, "status", "cmp_ffffffffffffffff")
    assert missing.returncode == 1
    assert "404 unknown_campaign" in missing.stderr
    print(
        f"\ncampaign {cid}: {preview['scanned']:,} scanned, {preview['in_segment']:,} in the "
        f"segment ({role}, {len(zones)} time zones), {preview['would_send']:,} sent "
        f"{dict(preview['by_variant'])}, suppressed {dict(preview['suppressed'])}; preview "
        f"{preview_seconds:.1f} s, launch --wait {launch_seconds:.1f} s",
        file=sys.stderr,
    )
