"""The job-alert services of a function, built once per process from its environment.

Beside the shared settings (talentops.settings): ``JOB_ALERT_QUEUE_URL`` (the fan-out's
queue to the send worker) and the talent pool policy (policy.yaml, ``TALENT_POOL_POLICY``).
``JOB_ALERT_WEEKLY_CAP``, when set, overrides the policy's cap limit.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ..settings import get_settings
from ..wiring import signer

if TYPE_CHECKING:
    from ..delivery.decide import FrequencyCap
    from ..tokens import TokenSigner
    from .fanout import JobFanoutService
    from .worker import JobAlertWorker

# Each service's modules are imported where it is built: the fan-out reads the pool and
# queues pages, and never loads the catalogue, the templates or Jinja2.


class CachedSigner:
    """The token signer, kept for ``ttl_seconds`` (the key's cache in adapters/secrets.py
    lives in a provider built per call, so each call would read SSM again)."""

    def __init__(self, ttl_seconds: float = 300.0):
        self.ttl = ttl_seconds
        self._signer: TokenSigner | None = None
        self._at = 0.0

    def __call__(self) -> TokenSigner:
        if self._signer is None or time.monotonic() - self._at > self.ttl:
            self._signer, self._at = signer(), time.monotonic()
        return self._signer


def job_alert_cap() -> FrequencyCap:
    from ..delivery.decide import FrequencyCap
    from ..talent_pool.policy import default_policy

    alerts = default_policy().job_alerts
    limit = alerts.cap_limit
    if os.environ.get("JOB_ALERT_WEEKLY_CAP", "").strip():
        limit = get_settings().job_alert_weekly_cap
    return FrequencyCap(limit, timedelta(days=alerts.cap_window_days))


@lru_cache(maxsize=1)
def fanout_service() -> JobFanoutService:
    from ..adapters.job_store import JobRepository
    from ..adapters.queue import QueueSender
    from ..clock import now
    from ..talent_pool.policy import default_policy
    from ..wiring import listings, repository
    from .fanout import JobFanoutService

    settings = get_settings()
    queue_url = os.environ.get("JOB_ALERT_QUEUE_URL", "")
    if not queue_url:
        raise RuntimeError("JOB_ALERT_QUEUE_URL is not set")
    return JobFanoutService(
        jobs=JobRepository(settings.table_name),
        listings=listings(),
        pool=repository(),
        queue=QueueSender(queue_url),
        policy=default_policy().job_alerts,
        now=now,
    )


@lru_cache(maxsize=1)
def alert_worker() -> JobAlertWorker:
    from ..adapters.ses import SesSender
    from ..clock import now
    from ..consent.policy import ConsentPolicy
    from ..content.catalogue import load_catalogue
    from ..talent_pool.policy import default_policy
    from ..wiring import brand, contact_policy, content_versions, publisher, repository
    from .worker import JobAlertWorker

    settings = get_settings()
    policy = default_policy()
    return JobAlertWorker(
        repo=repository(),
        sender=SesSender(settings.ses_configuration_set),
        publisher=publisher(),
        catalogue=load_catalogue(settings.templates_dir),
        policy=ConsentPolicy.from_json(settings.consent_policy),
        brand=brand(settings),
        signer=CachedSigner(),
        now=now,
        alerts=policy.job_alerts,
        freshness=policy.freshness,
        cap=job_alert_cap(),
        token_ttl=timedelta(days=settings.token_ttl_days),
        # The budget only: a job alert is news of an opening and does not wait for morning.
        contact=replace(contact_policy(), quiet_hours=None),
        versions=content_versions(),
    )


def reset() -> None:
    """Forget the cached services and policy (tests that change the environment)."""
    from .. import wiring
    from ..talent_pool.policy import default_policy

    for cached in (fanout_service, alert_worker, default_policy):
        cached.cache_clear()
    wiring.reset()
