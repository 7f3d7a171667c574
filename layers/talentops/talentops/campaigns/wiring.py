"""The campaign services of a function, built once per process from its environment.

Beside the shared settings (talentops.settings): ``CAMPAIGN_QUEUE_URL`` and
``CAMPAIGN_QUEUE_ARN`` (the campaign queue: fan-out, pages, and the target of launch and
deferral timers), ``CAMPAIGN_SCHEDULE_GROUP`` (the EventBridge Scheduler group of the timers)
and ``CAMPAIGN_SCHEDULER_ROLE_ARN`` (the role Scheduler assumes to send to the queue);
``CAMPAIGN_PREVIEW_QUEUE_URL`` (the preview queue: one message per segment of a preview's
parallel Scan) and optionally ``CAMPAIGN_PREVIEW_SEGMENTS`` (how many; default 16).
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ..settings import get_settings

if TYPE_CHECKING:
    from ..adapters.campaigns import CampaignRepository
    from ..adapters.queue import QueueSender
    from ..adapters.scheduler import TimerScheduler
    from .launch import CampaignWorker
    from .preview_job import PreviewWorker
    from .segments import SegmentService
    from .service import CampaignService

# Each service's modules are imported where it is built (as in talentops.wiring): the worker
# does not load the API's campaign service nor the segments' store.


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set")
    return value


@lru_cache(maxsize=1)
def campaign_repository() -> CampaignRepository:
    from ..adapters.campaigns import CampaignRepository

    return CampaignRepository(get_settings().table_name)


@lru_cache(maxsize=1)
def segment_service() -> SegmentService:
    from ..adapters.segments import SegmentRepository
    from ..clock import now
    from .segments import SegmentService

    return SegmentService(segments=SegmentRepository(get_settings().table_name), now=now)


@lru_cache(maxsize=1)
def campaign_queue() -> QueueSender:
    from ..adapters.queue import QueueSender

    return QueueSender(_env("CAMPAIGN_QUEUE_URL"))


@lru_cache(maxsize=1)
def preview_queue() -> QueueSender:
    from ..adapters.queue import QueueSender

    return QueueSender(_env("CAMPAIGN_PREVIEW_QUEUE_URL"))


def preview_segments() -> int:
    from .preview_job import PREVIEW_SEGMENTS

    value = os.environ.get("CAMPAIGN_PREVIEW_SEGMENTS", "")
    return max(1, min(1000, int(value))) if value else PREVIEW_SEGMENTS


@lru_cache(maxsize=1)
def campaign_timers() -> TimerScheduler:
    from ..adapters.scheduler import TimerScheduler

    return TimerScheduler(
        group=_env("CAMPAIGN_SCHEDULE_GROUP"),
        target_arn=_env("CAMPAIGN_QUEUE_ARN"),
        role_arn=_env("CAMPAIGN_SCHEDULER_ROLE_ARN"),
    )


@lru_cache(maxsize=1)
def campaign_service() -> CampaignService:
    from ..clock import now
    from ..consent.policy import ConsentPolicy
    from ..content.catalogue import load_catalogue
    from ..talent_pool.policy import default_policy
    from ..wiring import brand, contact_policy
    from .service import CampaignService

    settings = get_settings()
    return CampaignService(
        campaigns=campaign_repository(),
        catalogue=load_catalogue(settings.templates_dir),
        consent=ConsentPolicy.from_json(settings.consent_policy),
        contact=contact_policy(),
        brand=brand(settings),
        now=now,
        queue=campaign_queue,
        timers=campaign_timers,
        preview_queue=preview_queue,
        preview_segments=preview_segments(),
        freshness=default_policy().freshness,
        token_ttl=timedelta(days=settings.token_ttl_days),
        segments=segment_service().resolve,
    )


@lru_cache(maxsize=1)
def preview_worker() -> PreviewWorker:
    from ..clock import now
    from ..consent.policy import ConsentPolicy
    from ..content.catalogue import load_catalogue
    from ..talent_pool.policy import default_policy
    from ..wiring import brand, contact_policy, repository
    from .preview_job import PreviewWorker

    settings = get_settings()
    return PreviewWorker(
        campaigns=campaign_repository(),
        catalogue=load_catalogue(settings.templates_dir),
        consent=ConsentPolicy.from_json(settings.consent_policy),
        contact=contact_policy(),
        brand=brand(settings),
        now=now,
        queue=preview_queue,
        freshness=default_policy().freshness,
        token_ttl=timedelta(days=settings.token_ttl_days),
        decisions=repository().get_decisions,
    )


@lru_cache(maxsize=1)
def campaign_worker() -> CampaignWorker:
    from ..adapters.ses import SesSender
    from ..clock import now
    from ..consent.policy import ConsentPolicy
    from ..content.catalogue import load_catalogue
    from ..job_alerts.wiring import CachedSigner
    from ..talent_pool.policy import default_policy
    from ..wiring import brand, contact_policy, content_versions, publisher, repository
    from .launch import CampaignWorker

    settings = get_settings()
    return CampaignWorker(
        campaigns=campaign_repository(),
        pool=repository(),
        queue=campaign_queue(),
        timers=campaign_timers,
        sender=SesSender(settings.ses_configuration_set),
        publisher=publisher(),
        catalogue=load_catalogue(settings.templates_dir),
        consent=ConsentPolicy.from_json(settings.consent_policy),
        contact=contact_policy(),
        brand=brand(settings),
        signer=CachedSigner(),
        now=now,
        freshness=default_policy().freshness,
        token_ttl=timedelta(days=settings.token_ttl_days),
        versions=content_versions(),
    )


def reset() -> None:
    """Forget the cached services (tests that change the environment)."""
    from .. import wiring
    from ..talent_pool.policy import default_policy

    for cached in (
        campaign_repository,
        campaign_queue,
        campaign_timers,
        campaign_service,
        segment_service,
        campaign_worker,
        preview_queue,
        preview_worker,
        default_policy,
    ):
        cached.cache_clear()
    wiring.reset()
