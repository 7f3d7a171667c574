"""The consent policy (docs/privacy.md), as configuration. Pure and fail-closed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models.countries import country_code
from ..models.state import ConsentState, Profile, shift

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
# A grant older than this counts as lapsed where a grant is needed (see ConsentPolicy).
DEFAULT_MAX_AGE_DAYS = 730
DEFAULT_REPERMISSION_DAYS = 30


@dataclass(frozen=True)
class ConsentVerdict:
    allowed: bool
    reason: str | None  # the suppression reason word when not allowed
    explanation: str


@dataclass(frozen=True)
class ConsentPolicy:
    """Which candidates need an explicit grant (opt-in) and which may be mailed unless they
    withdrew (opt-out). A candidate whose country is unknown is always treated as opt-in
    (no configuration can turn that off): when in doubt, do not send. A stored country that
    is not an ISO 3166-1 alpha-2 code counts as unknown.

    A grant lapses ``max_age_days`` after it was observed (None: never). Where a grant is
    needed (opt-in), a lapsed grant counts as no grant (reason ``consent_expired``); where it
    is not (opt-out), it does not matter. ``repermission_days`` before it lapses, the
    retention sweeper asks the candidate to renew it (the ``repermission`` message).
    """

    opt_in_countries: frozenset[str] = DEFAULT_OPT_IN_COUNTRIES
    max_age_days: int | None = DEFAULT_MAX_AGE_DAYS
    repermission_days: int = DEFAULT_REPERMISSION_DAYS

    @classmethod
    def from_json(cls, text: str) -> ConsentPolicy:
        if not text.strip():
            return cls()
        raw = json.loads(text)
        unknown = set(raw) - {
            "opt_in_countries",
            "unknown_country_opt_in",
            "max_age_days",
            "repermission_days",
        }
        if unknown:
            raise ValueError(f"unknown consent policy keys: {sorted(unknown)}")
        if raw.get("unknown_country_opt_in", True) is not True:
            raise ValueError(
                "unknown_country_opt_in must be true: a candidate of unknown country needs a grant"
            )
        countries = raw.get("opt_in_countries", sorted(DEFAULT_OPT_IN_COUNTRIES))
        if countries == "default":
            countries = sorted(DEFAULT_OPT_IN_COUNTRIES)
        max_age = raw.get("max_age_days", DEFAULT_MAX_AGE_DAYS)
        repermission = int(raw.get("repermission_days", DEFAULT_REPERMISSION_DAYS))
        if max_age is not None and int(max_age) <= 0:
            raise ValueError("max_age_days must be positive (or null: grants never lapse)")
        if repermission < 0 or (max_age is not None and repermission >= int(max_age)):
            raise ValueError("repermission_days must be between 0 and max_age_days")
        codes = {str(c): country_code(c) for c in countries}
        invalid = sorted(c for c, code in codes.items() if code is None)
        if invalid:
            raise ValueError(f"opt_in_countries: not ISO 3166-1 alpha-2 codes: {invalid}")
        return cls(
            opt_in_countries=frozenset(code for code in codes.values() if code),
            max_age_days=None if max_age is None else int(max_age),
            repermission_days=repermission,
        )

    def lapses_at(self, state: ConsentState) -> datetime | None:
        """When a grant stops counting (None: it never does, or it is not a grant). A grant
        stored with an extreme date (9999-12-31) lapses at the end of the calendar."""
        if state.status != "granted" or self.max_age_days is None:
            return None
        return shift(state.observed_at, timedelta(days=self.max_age_days))

    def is_lapsed(self, state: ConsentState, now: datetime | None) -> bool:
        lapses = self.lapses_at(state)
        return lapses is not None and now is not None and now >= lapses

    def needs_repermission(self, state: ConsentState, now: datetime) -> bool:
        """A grant within ``repermission_days`` of lapsing (and not lapsed yet)."""
        lapses = self.lapses_at(state)
        if lapses is None:
            return False
        return shift(lapses, -timedelta(days=self.repermission_days)) <= now < lapses

    def regime(self, country: object) -> str:
        """opt_in or opt_out for a stored country. A value that is not an ISO 3166-1 alpha-2
        code (stored before ingest checked codes: "EU", "ZZ") is an unknown country; the
        aliases UK and EL are GB and GR."""
        code = country_code(country)
        if code is None:
            return "opt_in"  # unknown fails closed, whatever the configuration
        return "opt_in" if code in self.opt_in_countries else "opt_out"

    def evaluate(
        self, profile: Profile, purpose: str, now: datetime | None = None
    ) -> ConsentVerdict:
        """May ``purpose`` be sent to ``profile`` now? ``now`` is needed for grants to lapse;
        without it (legacy callers) a grant never lapses."""
        if purpose == "transactional":
            return ConsentVerdict(True, None, "transactional message: no marketing consent needed")
        if purpose not in PURPOSES:
            return ConsentVerdict(False, "no_consent", f"unknown purpose {purpose!r}: fail closed")
        country = country_code(profile.value("country"))
        regime = self.regime(country)
        where = f"country {country}" if country else "country unknown"
        state = profile.consent.get(purpose)
        if state is not None and state.status == "withdrawn":
            return ConsentVerdict(
                False,
                "consent_withdrawn",
                f"{purpose} withdrawn at {state.observed_at.isoformat()} via {state.source}",
            )
        if state is not None and state.status == "granted" and self.is_lapsed(state, now):
            lapsed = f"{purpose} granted at {state.observed_at.isoformat()} lapsed after "
            lapsed += f"{self.max_age_days} days"
            if regime == "opt_in":
                return ConsentVerdict(
                    False, "consent_expired", f"{where} requires opt-in; {lapsed}"
                )
            return ConsentVerdict(True, None, f"{where} is opt-out; {lapsed} (not needed)")
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
