"""The explanation service of the API function, built once per process from its settings
(the same catalogue, policies, journeys and caps as the functions that send), and again
after the shared services are reset (talentops.wiring.reset: a new pool repository)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from .service import ExplainService

_built: list[ExplainService] = []


def explain_service() -> ExplainService:
    from ..wiring import repository

    if not _built or _built[0].pool is not repository():
        _built[:] = [_build()]
    return _built[0]


def _build() -> ExplainService:
    from ..adapters.journeys import JourneyRepository
    from ..campaigns.wiring import campaign_repository
    from ..clock import now
    from ..consent.policy import ConsentPolicy
    from ..content.catalogue import load_catalogue
    from ..delivery.decide import FrequencyCap
    from ..job_alerts.wiring import job_alert_cap
    from ..journeys.loader import load_journeys, messages_of
    from ..settings import get_settings
    from ..talent_pool.policy import default_policy
    from ..wiring import contact_policy, content_versions, listings, repository

    settings = get_settings()
    catalogue = load_catalogue(settings.templates_dir)
    policy = default_policy()
    return ExplainService(
        pool=repository(),
        journeys=JourneyRepository(settings.table_name),
        listings=listings(),
        campaigns=campaign_repository(),
        catalogue=catalogue,
        consent=ConsentPolicy.from_json(settings.consent_policy),
        contact=contact_policy(),
        journey_list=load_journeys(
            Path(settings.templates_dir) / "journeys", messages_of(catalogue)
        ),
        now=now,
        # The delivery service's caps (wiring.delivery_service), for catalogue messages and
        # journey sends; a job alert's weekly cap is the alert worker's.
        caps={"job_alerts": FrequencyCap(settings.job_alert_weekly_cap, timedelta(days=7))},
        job_cap=job_alert_cap(),
        job_band=policy.job_alerts.seniority_band,
        freshness=policy.freshness,
        versions=content_versions(),
    )


def reset() -> None:
    """Forget the cached service (tests that change the environment)."""
    from .. import wiring

    _built.clear()
    wiring.reset()
