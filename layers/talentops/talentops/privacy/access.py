"""Access requests: everything the system holds on a candidate, and the decisions taken.

The export is built from one read of the candidate's partition (and one of the suppression
list), so it shows what is stored, not a curated subset: items that no section below knows
are listed under ``other_records`` rather than left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..adapters.privacy import PrivacyRepository
from ..adapters.suppression import SuppressionRepository
from ..adapters.talent_pool import PROFILE_SK, TalentPoolRepository
from ..consent.policy import PURPOSES, ConsentPolicy
from ..errors import UnknownCandidateError
from ..models.events import CandidateRef
from ..models.state import ConsentState, Decision, Profile


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk")}


def decision_view(decision: Decision) -> dict[str, Any]:
    return {
        "decision_id": decision.decision_id,
        "decided_at": decision.decided_at.isoformat(),
        "kind": getattr(decision, "kind", "message"),
        "template": decision.template,
        "purpose": decision.purpose,
        "trigger": decision.trigger,
        "outcome": decision.outcome,
        "variant": decision.variant,
        "reason": decision.reason,
        "why": decision.reasons,
        "status": decision.status,
        "message_id": decision.message_id,
        # What the decision read (docs/contract.md, section 4): null on older records.
        "inputs": decision.inputs.model_dump(mode="json") if decision.inputs else None,
    }


@dataclass
class AccessService:
    repo: TalentPoolRepository
    privacy: PrivacyRepository
    suppression: SuppressionRepository
    policy: ConsentPolicy
    now: Callable[[], datetime]

    def find_by_email(self, email: str) -> str:
        profile = self.repo.resolve(CandidateRef(email=email))
        if profile is None:
            raise UnknownCandidateError("no candidate has this address")
        return profile.candidate_id

    def current_id(self, candidate_id: str) -> str:
        """The id itself, or the candidate it was merged into."""
        return self.repo.resolve_id(CandidateRef(id=candidate_id)) or candidate_id

    def _partition(self, candidate_id: str) -> tuple[Profile, list[dict[str, Any]]]:
        items = self.privacy.partition(self.current_id(candidate_id))
        profile_item = next((i for i in items if i.get("sk") == PROFILE_SK), None)
        if profile_item is None:
            raise UnknownCandidateError("no candidate has this id")
        return Profile.model_validate(_strip(profile_item)), items

    def decisions(self, candidate_id: str) -> list[dict[str, Any]]:
        _, items = self._partition(candidate_id)
        found = [
            Decision.model_validate(_strip(i))
            for i in items
            if str(i.get("sk", "")).startswith("DECISION#")
        ]
        return [decision_view(d) for d in sorted(found, key=lambda d: d.decided_at)]

    def export(self, candidate_id: str) -> dict[str, Any]:
        from ..adapters.journeys import in_full  # journeys' models: only when exporting

        profile, items = self._partition(candidate_id)
        items = in_full(items)  # an ended journey once, in full (not its summary)
        now = self.now()
        history: list[dict[str, Any]] = []
        decisions: list[Decision] = []
        other: list[dict[str, Any]] = []
        for item in items:
            sk = str(item.get("sk", ""))
            if sk == PROFILE_SK:
                continue
            if sk.startswith("CONSENT#"):
                history.append(_strip(item))
            elif sk.startswith("DECISION#"):
                decisions.append(Decision.model_validate(_strip(item)))
            else:
                other.append({"record": sk.split("#", 1)[0].lower(), **_strip(item)})
        history.sort(key=lambda h: (str(h.get("observed_at")), str(h.get("purpose"))))
        decisions.sort(key=lambda d: d.decided_at)
        entry = self.suppression.get(profile.email) if profile.email else None
        return {
            "candidate_id": profile.candidate_id,
            "exported_at": now.isoformat(),
            "profile": {
                "fields": {
                    name: {
                        "value": fv.value,
                        "source": fv.source,
                        "observed_at": fv.observed_at.isoformat(),
                    }
                    for name, fv in sorted(profile.fields.items())
                },
                "created_at": profile.created_at.isoformat() if profile.created_at else None,
                "aliases": profile.aliases,
                "suppressed": profile.suppressed,
                "version": profile.version,
            },
            "consent": {
                purpose: self._consent_view(profile, purpose, profile.consent.get(purpose), now)
                for purpose in PURPOSES
            },
            "consent_history": history,
            "messages": [
                {
                    "message_id": d.message_id,
                    "sent_at": d.decided_at.isoformat(),
                    "template": d.template,
                    "variant": d.variant,
                    "purpose": d.purpose,
                    "status": d.status,
                    "trigger": d.trigger,
                }
                for d in decisions
                if d.outcome == "send"
            ],
            "events": [
                {"kind": kind, **detail} for kind, detail in sorted(profile.behaviours.items())
            ],
            "recent_sends": {k: v.model_dump(mode="json") for k, v in profile.recent.items()},
            "decisions": [decision_view(d) for d in decisions],
            "suppression": None
            if entry is None
            else {
                "kind": entry.kind,
                "since": entry.at.isoformat(),
                "erased_at": entry.erased_at.isoformat() if entry.erased_at else None,
                "reasons": list(entry.reasons),
            },
            "other_records": other,
        }

    def _consent_view(
        self, profile: Profile, purpose: str, state: ConsentState | None, now: datetime
    ) -> dict[str, Any]:
        verdict = self.policy.evaluate(profile, purpose, now)
        view: dict[str, Any] = {
            "status": state.status if state else None,
            "lawful_basis": state.lawful_basis if state else None,
            "source": state.source if state else None,
            "observed_at": state.observed_at.isoformat() if state else None,
            "evidence": state.evidence if state else None,
            "regime": self.policy.regime(profile.value("country")),
            "mailable": verdict.allowed and not profile.suppressed,
            "why": verdict.explanation,
        }
        lapses = self.policy.lapses_at(state) if state else None
        view["lapses_at"] = lapses.isoformat() if lapses else None
        return view
