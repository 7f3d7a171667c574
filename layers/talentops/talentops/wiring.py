"""Builds the services of a function from its settings, once per process (lazily: nothing
here runs at import time)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .adapters.bus import EventPublisher
from .adapters.content_decisions import ContentDecisionRepository
from .adapters.listings import ListingsRepository
from .adapters.secrets import token_keys
from .adapters.ses import SesSender
from .adapters.site_events import SiteEventPublisher
from .adapters.talent_pool import TalentPoolRepository
from .clock import now
from .consent.policy import ConsentPolicy
from .content.catalogue import load_catalogue
from .content.slots import ContentService
from .delivery.budget import ContactPolicy
from .delivery.context import Brand
from .delivery.decide import FrequencyCap
from .delivery.links import parse_origins
from .delivery.service import DeliveryService
from .engagement.service import EngagementService
from .listings.service import ListingsService
from .settings import Settings, get_settings
from .talent_pool.service import TalentPoolService
from .tokens import TokenSigner
from .tracking.service import TrackingService

if TYPE_CHECKING:
    from .adapters.scheduler import TimerScheduler
    from .journeys.runtime import JourneyRuntime


@lru_cache(maxsize=1)
def repository() -> TalentPoolRepository:
    return TalentPoolRepository(get_settings().table_name)


@lru_cache(maxsize=1)
def publisher() -> EventPublisher:
    return EventPublisher(get_settings().event_bus_name)


def signer() -> TokenSigner:
    # The key set is cached by Powertools Parameters (5 minutes), so rotation takes effect.
    return TokenSigner(token_keys(get_settings().token_key_parameter))


def brand(settings: Settings) -> Brand:
    return Brand(
        company_name=settings.company_name,
        sender_name=settings.sender_name,
        sender_address=settings.sender_address,
        postal_address=settings.postal_address,
        careers_site_url=settings.careers_site_url,
        api_base_url=settings.api_base_url,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        link_origins=parse_origins(settings.link_origins),
    )


@lru_cache(maxsize=1)
def talent_pool_service() -> TalentPoolService:
    from .adapters.suppression import SuppressionRepository
    from .privacy.screening import AddressScreen

    return TalentPoolService(
        repo=repository(),
        publisher=publisher(),
        now=now,
        # Issue #4: the suppression list decides whether a newly set address may be mailed.
        screen=AddressScreen(SuppressionRepository(get_settings().table_name)),
    )


@lru_cache(maxsize=1)
def delivery_service() -> DeliveryService:
    settings = get_settings()
    return DeliveryService(
        repo=repository(),
        sender=SesSender(settings.ses_configuration_set),
        publisher=publisher(),
        catalogue=load_catalogue(settings.templates_dir),
        policy=ConsentPolicy.from_json(settings.consent_policy),
        brand=brand(settings),
        signer=signer,
        now=now,
        token_ttl=timedelta(days=settings.token_ttl_days),
        caps={"job_alerts": FrequencyCap(settings.job_alert_weekly_cap, timedelta(days=7))},
    )


@lru_cache(maxsize=1)
def contact_policy() -> ContactPolicy:
    """Quiet hours and the contact budget shared by journeys and campaigns."""
    return ContactPolicy.from_config(get_settings().contact_policy)


def timer_scheduler() -> TimerScheduler:
    """Journey timers: one-time schedules in TIMER_GROUP delivering to TIMER_QUEUE_ARN."""
    from .adapters.scheduler import TimerScheduler

    settings = get_settings()
    return TimerScheduler(
        group=settings.timer_group,
        target_arn=settings.timer_queue_arn,
        role_arn=settings.scheduler_role_arn,
    )


@lru_cache(maxsize=1)
def journey_runtime() -> JourneyRuntime:
    """The journeys of templates/journeys, validated against the catalogue at load: a
    journey file with a problem stops the function from starting, saying where."""
    from .adapters.journeys import JourneyRepository
    from .journeys.loader import JourneyRegistry, load_journeys, messages_of
    from .journeys.runtime import JourneyRuntime
    from .talent_pool.policy import default_policy

    settings = get_settings()
    delivery = delivery_service()
    journeys = load_journeys(
        Path(settings.templates_dir) / "journeys", messages_of(delivery.catalogue)
    )
    return JourneyRuntime(
        pool=repository(),
        store=JourneyRepository(settings.table_name),
        registry=JourneyRegistry(journeys),
        timers=timer_scheduler(),
        delivery=delivery,
        contact=contact_policy(),
        listings=listings(),
        now=now,
        job_band=default_policy().job_alerts.seniority_band,
    )


@lru_cache(maxsize=1)
def listings() -> ListingsRepository:
    return ListingsRepository(get_settings().table_name)


@lru_cache(maxsize=1)
def listings_service() -> ListingsService:
    return ListingsService(repo=listings())


@lru_cache(maxsize=1)
def content_service() -> ContentService:
    settings = get_settings()
    return ContentService(
        repo=repository(),
        listings=listings(),
        decisions=ContentDecisionRepository(settings.table_name),
        catalogue=load_catalogue(settings.templates_dir),
        signer=signer,
        now=now,
        brand={
            "company_name": settings.company_name,
            "careers_site_url": settings.careers_site_url,
        },
        listing_ttl=settings.listing_cache_seconds,
    )


@lru_cache(maxsize=1)
def tracking_service() -> TrackingService:
    return TrackingService(
        repo=repository(),
        publisher=SiteEventPublisher(get_settings().event_bus_name),
        signer=signer,
        now=now,
    )


@lru_cache(maxsize=1)
def engagement_service() -> EngagementService:
    return EngagementService(
        get_decision=repository().get_decision, publish=publisher().publish, now=now
    )


def reset() -> None:
    """Forget every cached service (tests that change the environment)."""
    from .adapters.aws import reset_clients
    from .settings import get_settings as _gs

    for cached in (
        repository,
        publisher,
        talent_pool_service,
        delivery_service,
        contact_policy,
        journey_runtime,
        listings,
        listings_service,
        content_service,
        tracking_service,
        engagement_service,
        _gs,
    ):
        cached.cache_clear()
    reset_clients()
    from .adapters import secrets

    secrets.reset()
