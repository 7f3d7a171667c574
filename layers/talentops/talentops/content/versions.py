"""The versions of the content a process decides with, computed once per load (never per
message) and recorded on every decision (delivery/inputs.py):

- ``catalogue``: catalogue.yaml as loaded (``Catalogue.version``); template files are not
  part of it (they shape the email, not the decision);
- ``journeys``: every ``journeys/*.yaml`` of the content directory, by name and bytes;
- ``policy``: the consent policy, the contact policy (quiet hours, budget) and the talent
  pool policy (freshness windows, job alerts) as the process reads them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..delivery.inputs import ContentVersions, content_hash


def journeys_version(directory: str | Path) -> str:
    """The version of a journeys directory: its ``*.yaml`` files, by name and content."""
    parts: list[bytes | str] = []
    for path in sorted(Path(directory).glob("*.yaml")):
        parts += [path.name, path.read_bytes()]
    return content_hash(*parts)


def policy_version(consent_policy: str, contact_policy: str, talent_pool: object) -> str:
    """The version of the policies: the consent and contact configuration as given, and the
    talent pool policy as loaded (its repr: frozen data, the same policy the same text)."""
    return content_hash(consent_policy.strip(), contact_policy.strip(), repr(talent_pool))


@lru_cache(maxsize=4)
def load_versions(
    templates_dir: str, catalogue_version: str, consent_policy: str, contact_policy: str
) -> ContentVersions:
    """Once per process and content: what wiring passes to the services that decide."""
    from ..talent_pool.policy import default_policy

    return ContentVersions(
        catalogue=catalogue_version,
        journeys=journeys_version(Path(templates_dir) / "journeys"),
        policy=policy_version(consent_policy, contact_policy, default_policy()),
    )
