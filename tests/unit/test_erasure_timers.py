"""Campaign deferral timers and erasure, without AWS: the timer names erasure looks up, and
the erasure's calls (the Scheduler round trip itself is in
tests/integration/test_privacy_functions.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from talentops.adapters.scheduler import (
    TimerScheduler,
    campaign_timer_name,
    campaign_timers_prefix,
)
from talentops.models.events import CandidateRef
from talentops.privacy.erasure import ErasureService

AT = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
DECISION = "0123456789abcdef0123456789abcdef"
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z_.-]{1,64}$")  # EventBridge Scheduler's rule


def test_a_campaign_timer_name_fits_scheduler_and_starts_with_its_candidates_prefix():
    name = campaign_timer_name("c_1234567890abcdef", DECISION, AT)
    assert SCHEDULE_NAME.match(name) and len(name) <= 64
    assert name.startswith(campaign_timers_prefix("c_1234567890abcdef"))
    assert name.endswith(f"-{int(AT.timestamp())}")
    # The same decision and time: the same name (a redelivered page creates no second timer).
    assert name == campaign_timer_name("c_1234567890abcdef", DECISION, AT)
    # Another candidate's prefix never matches: erasing one leaves the other's timers.
    other = campaign_timers_prefix("c_1234567890abcdeg")
    assert not name.startswith(other) and "c_1234567890abcdef" not in name


def test_cancel_prefixed_pages_through_the_listing_and_refuses_an_empty_prefix():
    class FakeScheduler:
        def __init__(self) -> None:
            self.names = [f"cmp-aaaa-{i}" for i in range(3)] + ["cmp-bbbb-0", "jt-x-1"]
            self.deleted: list[str] = []

        def list_schedules(self, **kw: Any) -> dict[str, Any]:
            matching = [n for n in self.names if n.startswith(kw["NamePrefix"])]
            start = int(kw.get("NextToken", 0))
            page = matching[start : start + 2]
            more = start + 2 < len(matching)
            return {"Schedules": [{"Name": n} for n in page], "NextToken": str(start + 2) * more}

        def delete_schedule(self, Name: str, GroupName: str) -> None:
            assert GroupName == "g"
            self.deleted.append(Name)

    fake = FakeScheduler()
    timers = TimerScheduler(group="g", target_arn="arn", role_arn="role", scheduler_client=fake)
    assert timers.cancel_prefixed("cmp-aaaa-") == 3
    assert fake.deleted == ["cmp-aaaa-0", "cmp-aaaa-1", "cmp-aaaa-2"]
    with pytest.raises(ValueError):
        timers.cancel_prefixed("")


class _Recorder:
    """Stands in for the repositories and the publisher; records what erasure asked."""

    def __init__(self, partition: list[dict[str, Any]]) -> None:
        self.items = partition
        self.calls: list[tuple[str, Any]] = []

    # PrivacyRepository
    def partition(self, candidate_id: str) -> list[dict[str, Any]]:
        items, self.items = self.items, []
        return items

    def delete_profile(self, candidate_id: str) -> None:
        self.calls.append(("delete_profile", candidate_id))

    def delete_alias(self, kind: str, value: str, candidate_id: str) -> None:
        pass

    def delete_keys(self, keys: Any) -> int:
        return len(list(keys))

    # SuppressionRepository
    def suppress(self, address: str, **kw: Any) -> None:
        self.calls.append(("suppress", address))

    # EventPublisher
    def publish(self, entries: Any) -> None:
        self.calls.append(("publish", [name for name, _ in entries]))

    # TalentPoolRepository
    def resolve_id(self, ref: CandidateRef) -> str | None:
        return None


def _service(recorder: _Recorder, prefixes: list[str]) -> ErasureService:
    def cancel_prefixed(prefix: str) -> int:
        prefixes.append(prefix)
        return 1

    return ErasureService(
        repo=recorder,  # type: ignore[arg-type]
        privacy=recorder,  # type: ignore[arg-type]
        suppression=recorder,  # type: ignore[arg-type]
        publisher=recorder,  # type: ignore[arg-type]
        now=lambda: AT,
        cancel_timer=lambda name: None,
        cancel_timers_prefixed=cancel_prefixed,
    )


def test_erasure_deletes_the_campaign_timers_before_announcing_and_again_on_a_rerun():
    profile = {"pk": "CAND#c_000001", "sk": "PROFILE", "email_norm": "a@example.org"}
    recorder, prefixes = _Recorder([profile]), []
    service = _service(recorder, prefixes)
    assert service.erase("c_000001") is not None
    assert prefixes == [campaign_timers_prefix("c_000001")]
    assert recorder.calls[-1] == ("publish", ["Candidate Erased"])
    # A retry after a run that stopped half-way: nothing left in the table, the timers are
    # looked for again and the erasure re-announced.
    prefixes.clear()
    assert service.handle_request(CandidateRef(id="c_000001")) == "c_000001"
    assert prefixes == [campaign_timers_prefix("c_000001")]
    assert recorder.calls[-1] == ("publish", ["Candidate Erased"])
