"""Typed settings, parsed once per function from the environment that template.yaml sets.

A frozen dataclass, not a pydantic model, so that a function that validates nothing else
(the lake transform) imports no pydantic at its cold start. The environment's values are
strings; a number that does not parse or is out of its bounds is refused with the variable
named (never its value).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any


def _default_templates_dir() -> str:
    # In Lambda the content layer is extracted to /opt; in the repository it sits at the top.
    repo = Path(__file__).resolve().parents[3] / "templates"
    return str(repo) if repo.is_dir() else "/opt"


@dataclass(frozen=True)
class Settings:
    table_name: str = "talent-pool"
    event_bus_name: str = "talent-events"
    sender_address: str = "careers@talent.example.com"
    sender_name: str = "Example Careers"
    company_name: str = "Example Corp"
    postal_address: str = "1 Example Street, Dublin, Ireland"
    careers_site_url: str = "https://careers.example.com"
    api_base_url: str = "http://127.0.0.1:3000"
    # Origins besides the careers site's and the API's that emails may link to, comma
    # separated (docs/contract.md, "Emails"); empty: those two only.
    link_origins: str = ""
    unsubscribe_mailto: str | None = None
    ses_configuration_set: str | None = None
    # Addresses that test sends of a message may go to (POST /admin/messages/{name}/test),
    # comma separated; empty: no test sends (docs/operations.md, "Test sends").
    test_seed_list: str = ""
    templates_dir: str = ""
    token_key_parameter: str = "/talentops/token-key"  # noqa: S105 (a parameter name)
    token_ttl_days: int = 90
    consent_policy: str = ""  # JSON; empty means the default policy (docs/privacy.md)
    job_alert_weekly_cap: int = 3
    contact_policy: str = ""  # JSON: quiet hours and the contact budget; empty = defaults
    # How long the send ledger on the profile keeps traces beyond the windows that count
    # them (delivery.ledger): the longest a campaign may exclude a purpose's recipients for
    # (docs/campaigns.md, "Exclusions"); 0: only the budget's and the caps' windows.
    ledger_window_days: int = field(default=0, metadata={"ge": 0, "le": 365})
    # Journey timers: EventBridge Scheduler group, the queue they deliver to, the role used.
    timer_group: str = "default"
    timer_queue_arn: str = ""
    scheduler_role_arn: str = ""
    # Careers-site blocks: how long a process reuses the jobs / events listing it read.
    listing_cache_seconds: float = 30.0
    # How far ahead of the receiving clock a fact's observed_at may be (producers' clock
    # skew); later ones are refused at the edge (docs/contract.md, "Dates").
    fact_max_ahead_seconds: int = field(default=300, metadata={"ge": 0, "le": 86400})
    # The event lake that reports read (docs/metrics.md): on AWS an Athena workgroup and the
    # Glue database of the facts table; on the local stack a folder of JSON Lines (DuckDB).
    lake_workgroup: str = ""
    lake_database: str = ""
    lake_dir: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``env`` (the process's environment): each field from its name
        in upper case; an unset or empty variable keeps the default."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(spec.name.upper())
            if raw not in (None, ""):
                values[spec.name] = _parsed(spec, raw)
        settings = cls(**values)
        if not settings.templates_dir:
            settings = replace(settings, templates_dir=_default_templates_dir())
        return settings


_NUMBERS: dict[str, type[int] | type[float]] = {"int": int, "float": float}


def _parsed(spec: Field[Any], raw: str) -> Any:
    number = _NUMBERS.get(str(spec.type))
    if number is None:
        return raw  # a text setting (str, or str | None)
    name = spec.name.upper()
    try:
        value = number(raw.strip())
    except ValueError:
        raise ValueError(f"setting {name}: not a valid {number.__name__}") from None
    low, high = spec.metadata.get("ge"), spec.metadata.get("le")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"setting {name}: must be between {low} and {high}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
