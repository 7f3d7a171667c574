"""A content directory loaded as the functions that decide would load it: the catalogue, the
journeys, the policies, and their versions (delivery/inputs.py). Not cached: a simulation
loads the current content and the changed one side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..consent.policy import ConsentPolicy
from ..content.catalogue import Catalogue
from ..content.versions import journeys_version, policy_version
from ..delivery.budget import ContactPolicy
from ..delivery.decide import FrequencyCap
from ..delivery.inputs import ContentVersions
from ..journeys.loader import load_journeys, messages_of
from ..journeys.model import Journey
from ..talent_pool.policy import POLICY_ENV, load_policy

POLICY_FILE = "policy.yaml"
JOB_TEMPLATE = "job_alert"


@dataclass(frozen=True)
class Content:
    root: Path
    catalogue: Catalogue
    journeys: Sequence[Journey]
    consent: ConsentPolicy
    contact: ContactPolicy
    freshness: Mapping[str, timedelta]
    job_cap: FrequencyCap
    versions: ContentVersions

    def caps(self, template: str) -> dict[str, FrequencyCap]:
        """The frequency caps a message's decision reads: a job alert's weekly cap (the
        delivery's and the alert worker's); none for the rest."""
        if template == JOB_TEMPLATE:
            return {"job_alerts": self.job_cap}
        return {}


def load_content(
    root: str | Path,
    *,
    consent_policy: str = "",
    contact_policy: str = "",
    talent_pool_policy: str = "",
) -> Content:
    """The content of ``root`` (catalogue.yaml, journeys/*.yaml, and ``policy.yaml`` when it
    has one: a talent pool policy laid over the shipped one, as TALENT_POOL_POLICY is).
    Errors are the loaders' (CatalogueError, SourceError, PolicyError, ValueError)."""
    root = Path(root)
    catalogue = Catalogue.load(root)
    journeys = load_journeys(root / "journeys", messages_of(catalogue))
    override = talent_pool_policy
    if (root / POLICY_FILE).is_file():
        override = str(root / POLICY_FILE)
    policy = load_policy({POLICY_ENV: override} if override else {})
    alerts = policy.job_alerts
    return Content(
        root=root,
        catalogue=catalogue,
        journeys=journeys,
        consent=ConsentPolicy.from_json(consent_policy),
        contact=ContactPolicy.from_config(contact_policy),
        freshness=policy.freshness,
        job_cap=FrequencyCap(alerts.cap_limit, timedelta(days=alerts.cap_window_days)),
        versions=ContentVersions(
            catalogue=catalogue.version,
            journeys=journeys_version(root / "journeys"),
            policy=policy_version(consent_policy, contact_policy, policy),
        ),
    )
