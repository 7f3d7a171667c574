"""The consent policy of CONTRACT.md section 2, as configuration. Pure and fail-closed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..models.state import Profile

EU_MEMBERS = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
EEA_EXTRA = frozenset({"IS", "LI", "NO"})
DEFAULT_OPT_IN_COUNTRIES = EU_MEMBERS | EEA_EXTRA | {"GB", "CH", "CA"}
PURPOSES = ("marketing", "job_alerts", "events")


@dataclass(frozen=True)
class ConsentVerdict:
    allowed: bool
    reason: str | None  # the suppression reason word when not allowed
    explanation: str


@dataclass(frozen=True)
class ConsentPolicy:
    """Which candidates need an explicit grant (opt-in) and which may be mailed unless they
    withdrew (opt-out). A candidate whose country is unknown is treated as opt-in unless the
    configuration says otherwise: when in doubt, do not send."""

    opt_in_countries: frozenset[str] = DEFAULT_OPT_IN_COUNTRIES
    unknown_country_opt_in: bool = True

    @classmethod
    def from_json(cls, text: str) -> ConsentPolicy:
        if not text.strip():
            return cls()
        raw = json.loads(text)
        unknown = set(raw) - {"opt_in_countries", "unknown_country_opt_in"}
        if unknown:
            raise ValueError(f"unknown consent policy keys: {sorted(unknown)}")
        countries = raw.get("opt_in_countries", sorted(DEFAULT_OPT_IN_COUNTRIES))
        if countries == "default":
            countries = sorted(DEFAULT_OPT_IN_COUNTRIES)
        return cls(
            opt_in_countries=frozenset(str(c).upper() for c in countries),
            unknown_country_opt_in=bool(raw.get("unknown_country_opt_in", True)),
        )

    def regime(self, country: str | None) -> str:
        if not country:
            return "opt_in" if self.unknown_country_opt_in else "opt_out"
        return "opt_in" if country.upper() in self.opt_in_countries else "opt_out"

    def evaluate(self, profile: Profile, purpose: str) -> ConsentVerdict:
        if purpose == "transactional":
            return ConsentVerdict(True, None, "transactional message: no marketing consent needed")
        if purpose not in PURPOSES:
            return ConsentVerdict(False, "no_consent", f"unknown purpose {purpose!r}: fail closed")
        country = profile.value("country")
        regime = self.regime(country)
        where = f"country {country}" if country else "country unknown"
        state = profile.consent.get(purpose)
        if state is not None and state.status == "withdrawn":
            return ConsentVerdict(
                False,
                "consent_withdrawn",
                f"{purpose} withdrawn at {state.observed_at.isoformat()} via {state.source}",
            )
        if state is not None and state.status == "granted":
            return ConsentVerdict(
                True,
                None,
                f"{purpose} granted at {state.observed_at.isoformat()} via {state.source}",
            )
        if regime == "opt_in":
            return ConsentVerdict(
                False, "no_consent", f"{where} requires opt-in and no {purpose} grant is recorded"
            )
        return ConsentVerdict(True, None, f"{where} is opt-out and {purpose} was never withdrawn")
