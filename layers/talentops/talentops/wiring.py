"""Builds the services of a function from its settings, once per process (lazily: nothing
here runs at import time)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from .settings import Settings, get_settings

if TYPE_CHECKING:
    from .adapters.bus import EventPublisher
    from .adapters.campaigns import CampaignRepository
    from .adapters.listings import ListingsRepository
    from .adapters.scheduler import TimerScheduler
    from .adapters.talent_pool import TalentPoolRepository
    from .content.slots import ContentService
    from .delivery.budget import ContactPolicy
    from .delivery.context import Brand
    from .delivery.leases import LeaseResolver
    from .delivery.proofs import MessageProofs
    from .delivery.reconcile import Reconciler
    from .delivery.service import DeliveryService
    from .engagement.service import EngagementService
    from .journeys.model import Journey
    from .journeys.runtime import JourneyRuntime
    from .listings.service import ListingsService
    from .talent_pool.service import TalentPoolService
    from .tokens import TokenSigner
    from .tracking.service import TrackingService

# Every service's modules are imported where the service is built, not here: a function
# imports what it uses (the ingest function never loads the catalogue, Jinja2 or the
# journeys), which is most of a cold start beyond boto3's own.


@lru_cache(maxsize=1)
def repository() -> TalentPoolRepository:
    from .adapters.talent_pool import TalentPoolRepository

    return TalentPoolRepository(get_settings().table_name)


@lru_cache(maxsize=1)
def publisher() -> EventPublisher:
    from .adapters.bus import EventPublisher

    return EventPublisher(get_settings().event_bus_name)


def signer() -> TokenSigner:
    # The key set is cached by Powertools Parameters (5 minutes), so rotation takes effect.
    from .adapters.secrets import token_keys
    from .tokens import TokenSigner

    return TokenSigner(token_keys(get_settings().token_key_parameter))


def read_at_init() -> None:
    """What a sending function reads once per execution environment, read in Lambda's init
    phase (the function module's top level) so that no message pays for it: the token key
    set (Powertools keeps it five minutes; past that, the next message reads it again). Only
    inside Lambda (``AWS_EXECUTION_ENV``): the tests and the local stack import functions
    outside any account. A failure here is left to the first message, which reads the key
    itself and fails or retries as it would have."""
    import os

    if not os.environ.get("AWS_EXECUTION_ENV"):
        return
    try:
        signer()
    except Exception as exc:  # the first message reads it again
        from .observability import logger

        logger.warning("token key not read at init", error=type(exc).__name__)


def content_versions() -> dict[str, str]:
    """The versions of the content and policies this process decides with (catalogue,
    journeys, policy: content/versions.py), computed once per load; every decision records
    them."""
    from .content.catalogue import load_catalogue
    from .content.versions import load_versions

    settings = get_settings()
    catalogue = load_catalogue(settings.templates_dir)
    return load_versions(
        settings.templates_dir, catalogue.version, settings.consent_policy, settings.contact_policy
    ).as_dict()


def brand(settings: Settings) -> Brand:
    from .delivery.context import Brand
    from .delivery.links import parse_origins

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
    from .clock import now
    from .privacy.screening import AddressScreen
    from .talent_pool.service import TalentPoolService

    return TalentPoolService(
        repo=repository(),
        publisher=publisher(),
        now=now,
        # Issue #4: the suppression list decides whether a newly set address may be mailed.
        screen=AddressScreen(SuppressionRepository(get_settings().table_name)),
    )


@lru_cache(maxsize=1)
def delivery_service() -> DeliveryService:
    from datetime import timedelta

    from .adapters.ses import SesSender
    from .clock import now
    from .consent.policy import ConsentPolicy
    from .content.catalogue import load_catalogue
    from .delivery.decide import FrequencyCap
    from .delivery.service import DeliveryService

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
        versions=content_versions(),
    )


def reconciler() -> Reconciler:
    """The send reconciler's run: the by_lease index read with the table's client alone, the
    resolver built only when a lease ran out (the usual run imports no store and no model)."""
    from .adapters.aws import client
    from .adapters.pool.lease_index import expired_leases
    from .clock import now
    from .delivery.reconcile import Reconciler

    table = get_settings().table_name

    def expired(moment: datetime, limit: int) -> list[tuple[str, str]]:
        return expired_leases(client("dynamodb"), table, moment, limit)

    return Reconciler(expired=expired, resolver=lease_resolver, now=now)


def lease_resolver() -> LeaseResolver:
    """The send reconciler's resolver, with a campaign's counts taking what it resolves:
    built from the clients alone (no catalogue, no templates: it sends stored messages)."""
    from .adapters.ses import SesSender
    from .campaigns.counting import count_resolved
    from .clock import now
    from .consent.policy import ConsentPolicy
    from .delivery.leases import LeaseResolver

    settings = get_settings()
    return LeaseResolver(
        repo=repository(),
        sender=SesSender(settings.ses_configuration_set),
        publisher=publisher(),
        policy=ConsentPolicy.from_json(settings.consent_policy),
        sender_address=settings.sender_address,
        now=now,
        observers=[count_resolved(lambda: _campaign_repository(settings.table_name))],
    )


def _campaign_repository(table_name: str) -> CampaignRepository:
    from .adapters.campaigns import CampaignRepository

    return CampaignRepository(table_name)


@lru_cache(maxsize=1)
def contact_policy() -> ContactPolicy:
    """Quiet hours and the contact budget shared by journeys and campaigns."""
    from .delivery.budget import ContactPolicy

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
    from pathlib import Path

    from .adapters.journeys import JourneyRepository
    from .clock import now
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
    from .adapters.listings import ListingsRepository

    return ListingsRepository(get_settings().table_name)


@lru_cache(maxsize=1)
def listings_service() -> ListingsService:
    from .listings.service import ListingsService

    return ListingsService(repo=listings())


@lru_cache(maxsize=1)
def content_service() -> ContentService:
    from .adapters.content_decisions import ContentDecisionRepository
    from .clock import now
    from .content.catalogue import load_catalogue
    from .content.slots import ContentService

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
    from .adapters.site_events import SiteEventPublisher
    from .clock import now
    from .tracking.service import TrackingService

    return TrackingService(
        repo=repository(),
        publisher=SiteEventPublisher(get_settings().event_bus_name),
        signer=signer,
        now=now,
    )


@lru_cache(maxsize=1)
def message_proofs() -> MessageProofs:
    """Renders and test sends of catalogue messages (the API's /admin/messages routes)."""
    from pathlib import Path

    from .adapters.ses import SesSender
    from .clock import now
    from .content.catalogue import load_catalogue
    from .delivery.proofs import MessageProofs, parse_seed_list
    from .journeys.loader import load_journeys, messages_of
    from .models.events import CandidateRef
    from .talent_pool.policy import default_policy

    settings = get_settings()
    catalogue = load_catalogue(settings.templates_dir)
    pool = repository()
    journeys: list[Journey] = []

    def loaded_journeys() -> list[Journey]:
        if not journeys:
            journeys.extend(
                load_journeys(Path(settings.templates_dir) / "journeys", messages_of(catalogue))
            )
        return journeys

    return MessageProofs(
        catalogue=catalogue,
        brand=brand(settings),
        profile=lambda candidate_id: pool.resolve(CandidateRef(id=candidate_id)),
        # No configuration set: SES adds no open pixel or click tracking to a test email
        # and publishes no event of it (delivery/proofs.py).
        sender=lambda: SesSender(None),
        journeys=loaded_journeys,
        now=now,
        seeds=parse_seed_list(settings.test_seed_list),
        freshness=default_policy().freshness,
    )


@lru_cache(maxsize=1)
def engagement_service() -> EngagementService:
    from .clock import now
    from .engagement.service import EngagementService

    return EngagementService(
        get_decision=repository().get_decision, publish=publisher().publish, now=now
    )


def reset() -> None:
    """Forget every cached service (tests that change the environment)."""
    from .adapters.aws import reset_clients
    from .metrics.wiring import lake_transform
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
        message_proofs,
        lake_transform,
        _gs,
    ):
        cached.cache_clear()
    reset_clients()
    from .adapters import secrets

    secrets.reset()
