"""The pure decision: consent, address, caps, variant, and the dedupe identity of a fact."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from talentops.consent.policy import ConsentPolicy
from talentops.content.catalogue import load_catalogue
from talentops.delivery.decide import FrequencyCap, TriggerFact, decide, decision_id
from talentops.models.state import ConsentState, FieldValue, Profile, SentRecord

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
T0 = datetime(2026, 11, 1, tzinfo=UTC)
CATALOGUE = load_catalogue(str(ROOT / "templates"))
EVENT = {
    "id": "e1",
    "name": "Summit",
    "starts_at": datetime(2026, 12, 3, 18, tzinfo=UTC),
    "city": None,
    "url": None,
}


def _fact(**kw):
    args = dict(
        detail_type="Candidate Event Attended",
        event_id="ev-1",
        candidate_key="email:a@x.org",
        observed_at=datetime(2026, 12, 3, 20, tzinfo=UTC),
        subject_id="e1",
        payload={"event": EVENT},
    )
    args.update(kw)
    return TriggerFact(**args)


def _profile(country="DE", consent="granted", **fields):
    p = Profile(candidate_id="c_abc123")
    values = {"email": "a@x.org", "country": country, **fields}
    for k, v in values.items():
        if v is not None:
            p.fields[k] = FieldValue(value=v, source="talent.ats", observed_at=T0)
    if consent:
        p.consent["events"] = ConsentState(status=consent, source="talent.crm", observed_at=T0)
    return p


def _decide(profile, fact=None, template="event_attended_followup", caps=None):
    return decide(
        fact=fact or _fact(),
        profile=profile,
        template=template,
        spec=CATALOGUE.message(template),
        policy=ConsentPolicy(),
        now=NOW,
        caps=caps,
    )


def test_send_with_variant_and_reasons():
    out = _decide(_profile(seniority="principal"))
    d = out.decision
    assert d.outcome == "send" and d.variant == "senior" and out.variant.name == "senior"
    assert any(r.startswith("consent: events granted") for r in d.reasons)
    assert d.message_id == f"m_{d.decision_id}"


def test_reasons_for_each_suppression():
    assert _decide(None).decision.reason == "unknown_candidate"
    assert _decide(_profile(consent=None)).decision.reason == "no_consent"
    assert _decide(_profile(consent="withdrawn")).decision.reason == "consent_withdrawn"
    assert _decide(_no_email()).decision.reason == "no_address"
    suppressed = _profile()
    suppressed.suppressed = True
    assert _decide(suppressed).decision.reason == "suppressed_address"


def _no_email():
    p = _profile()
    del p.fields["email"]
    return p


def test_frequency_cap_counts_only_its_purpose_in_its_window():
    p = _profile()
    for i in range(3):
        p.recent[f"d{i}"] = SentRecord(
            at=NOW - timedelta(days=i + 1), purpose="events", template="t"
        )
    p.recent["old"] = SentRecord(at=NOW - timedelta(days=9), purpose="events", template="t")
    p.recent["other"] = SentRecord(at=NOW - timedelta(days=1), purpose="marketing", template="t")
    caps = {"events": FrequencyCap(3, timedelta(days=7))}
    assert _decide(p, caps=caps).decision.reason == "frequency_cap"
    assert (
        _decide(p, caps={"events": FrequencyCap(4, timedelta(days=7))}).decision.outcome == "send"
    )


def test_fact_identity_ignores_the_envelope_id():
    a = _fact(event_id="ev-1")
    b = _fact(event_id="ev-2")
    assert decision_id(a, "t", "c_1") == decision_id(b, "t", "c_1")
    assert decision_id(a, "t", "c_1") != decision_id(_fact(subject_id="e2"), "t", "c_1")
    later = _fact(observed_at=datetime(2026, 12, 3, 21, tzinfo=UTC))
    assert decision_id(a, "t", "c_1") != decision_id(later, "t", "c_1")


def test_decide_is_pure():
    p = _profile()
    before = p.model_dump()
    first = _decide(p).decision
    assert _decide(p).decision == first
    assert p.model_dump() == before


def test_email_rules_see_behaviours_with_the_decision_time(tmp_path):
    """A variant for candidates who missed an event recently: the same `behaviours` and
    `within_days` rules as careers-site slots, evaluated at the decision's `now`."""
    from talentops.content.catalogue import Catalogue

    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "catalogue.yaml").write_text(
        """
version: 1
messages:
  m:
    purpose: events
    variants:
      - name: missed
        rules: [{field: behaviours.event_no_show.at, op: within_days, value: 30}]
        subject: s
        html: a.txt
        text: a.txt
      - name: default
        subject: s
        html: a.txt
        text: a.txt
"""
    )
    spec = Catalogue.load(tmp_path).message("m")
    p = _profile()
    p.behaviours["event_no_show"] = {"at": (NOW - timedelta(days=3)).isoformat()}
    chosen = decide(
        fact=_fact(), profile=p, template="m", spec=spec, policy=ConsentPolicy(), now=NOW
    )
    assert chosen.decision.variant == "missed"
    p.behaviours["event_no_show"] = {"at": (NOW - timedelta(days=40)).isoformat()}
    later = decide(
        fact=_fact(), profile=p, template="m", spec=spec, policy=ConsentPolicy(), now=NOW
    )
    assert later.decision.variant == "default"
