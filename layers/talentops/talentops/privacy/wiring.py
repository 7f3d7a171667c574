"""Builds the privacy and preference services from the settings (nothing at import time).

The services are cheap objects around the shared, cached clients and repositories of
talentops.wiring, so they are built per call: wiring.reset() (tests) then resets them too.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import wiring
from ..settings import get_settings

if TYPE_CHECKING:
    from ..adapters.privacy import PrivacyRepository
    from ..adapters.suppression import SuppressionRepository
    from ..consent.policy import ConsentPolicy
    from ..consent.preferences import PreferenceService
    from .access import AccessService
    from .erasure import ErasureService
    from .feedback import FeedbackService
    from .retention import RetentionPolicy, RetentionSweeper

# Each service's modules are imported where the service is built (as in talentops.wiring):
# the bounce handler does not load the retention sweep, nor the sweep the bounce handling.


def consent_policy() -> ConsentPolicy:
    from ..consent.policy import ConsentPolicy

    return ConsentPolicy.from_json(get_settings().consent_policy)


def retention_policy() -> RetentionPolicy:
    from .retention import RetentionPolicy

    # RETENTION_POLICY: JSON, see docs/privacy.md (empty: DE 6 months, FR 24, others 24).
    return RetentionPolicy.from_json(os.environ.get("RETENTION_POLICY", ""))


def suppression_repository() -> SuppressionRepository:
    from ..adapters.suppression import SuppressionRepository

    return SuppressionRepository(get_settings().table_name)


def privacy_repository() -> PrivacyRepository:
    from ..adapters.privacy import PrivacyRepository

    return PrivacyRepository(get_settings().table_name)


def preference_service() -> PreferenceService:
    from ..adapters.facts import FactPublisher
    from ..clock import now
    from ..consent.preferences import PreferenceService

    return PreferenceService(
        repo=wiring.repository(),
        talent_pool=wiring.talent_pool_service(),
        facts=FactPublisher(get_settings().event_bus_name),
        policy=consent_policy(),
        signer=wiring.signer,
        now=now,
    )


def erasure_service() -> ErasureService:
    from ..clock import now
    from .erasure import ErasureService

    timers = wiring.timer_scheduler()
    # Campaign deferrals live in the campaign's schedule group: the timers' group in
    # template.yaml (TimersScheduleGroup); CAMPAIGN_SCHEDULE_GROUP where a function has it.
    campaign_timers = replace(
        timers, group=os.environ.get("CAMPAIGN_SCHEDULE_GROUP") or timers.group
    )
    return ErasureService(
        repo=wiring.repository(),
        privacy=privacy_repository(),
        suppression=suppression_repository(),
        publisher=wiring.publisher(),
        now=now,
        cancel_timer=timers.cancel,
        cancel_timers_prefixed=campaign_timers.cancel_prefixed,
    )


def access_service() -> AccessService:
    from ..clock import now
    from .access import AccessService

    return AccessService(
        repo=wiring.repository(),
        privacy=privacy_repository(),
        suppression=suppression_repository(),
        policy=consent_policy(),
        now=now,
    )


def feedback_service() -> FeedbackService:
    from ..clock import now
    from .feedback import FeedbackService

    return FeedbackService(
        suppression=suppression_repository(), privacy=privacy_repository(), now=now
    )


def retention_sweeper() -> RetentionSweeper:
    from ..clock import now
    from .retention import RetentionSweeper, repermission_asker

    return RetentionSweeper(
        repo=wiring.repository(),
        privacy=privacy_repository(),
        erasure=erasure_service(),
        retention=retention_policy(),
        consent=consent_policy(),
        # The delivery service (catalogue, templates) is built when a grant first needs
        # asking again: most runs ask nobody.
        ask=repermission_asker(wiring.delivery_service),
        now=now,
    )
