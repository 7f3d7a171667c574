"""`make check-content` (part of `make lint`): the content marketing ops own, checked before
it ships. Loads the catalogue, the journeys, the metric definitions (every problem at its
file and line) and the policies template.yaml sets; renders every variant of every message
for generated profiles of each kind; and checks that every event a journey enters on, waits
for or exits on is routed to the journeys function by template.yaml. Exit 1 with every
problem.

    python scripts/check_content.py [CONTENT_DIR]   (default: templates/)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "talentops"))
sys.path.insert(0, str(ROOT))

from devstack.template import load_template  # noqa: E402
from talentops.content.catalogue import load_catalogue  # noqa: E402
from talentops.content.check import (  # noqa: E402
    NOW,
    SAMPLE_SUBJECTS,
    ProfileKind,
    css_problems,
    render_all,
    routed_events,
    routing_problems,
)
from talentops.delivery.compose import compose_email  # noqa: E402
from talentops.delivery.context import Brand  # noqa: E402
from talentops.errors import TalentOpsError  # noqa: E402
from talentops.journeys.loader import load_journeys, messages_of  # noqa: E402
from talentops.journeys.source import Problem, SourceError  # noqa: E402
from talentops.metrics.definitions import load_metrics  # noqa: E402
from talentops.models.state import ConsentState, Decision, FieldValue, Profile  # noqa: E402
from talentops.tokens import TokenSigner  # noqa: E402

BRAND = Brand(
    company_name="Example Corp",
    sender_name="Example Careers",
    sender_address="careers@talent.example.com",
    postal_address="1 Example Street, Dublin",
    careers_site_url="https://careers.example.com",
    api_base_url="https://api.example.com",
)
SIGNER = TokenSigner(b"content-check-key-0123456789abcd")


def _profile(kind: ProfileKind) -> Profile:
    profile = Profile(candidate_id="c_check01")
    for name, value in kind.fields.items():
        profile.fields[name] = FieldValue(value=value, source="check", observed_at=NOW)
    for purpose in ("events", "marketing", "job_alerts"):
        profile.consent[purpose] = ConsentState(status="granted", source="check", observed_at=NOW)
    return profile


def policy_problems(template: Mapping[str, Any]) -> list[Problem]:
    """Each policy parameter of template.yaml parses, as its default sets it (an empty value
    is the shipped policy)."""
    from talentops.consent.policy import ConsentPolicy
    from talentops.delivery.budget import ContactPolicy
    from talentops.privacy.retention import RetentionPolicy
    from talentops.talent_pool.policy import POLICY_ENV, load_policy

    parameters = template.get("Parameters") or {}

    def default(name: str) -> str:
        return str((parameters.get(name) or {}).get("Default") or "")

    checks: list[tuple[str, Any]] = [
        ("ConsentPolicy", lambda: ConsentPolicy.from_json(default("ConsentPolicy"))),
        ("ContactPolicy", lambda: ContactPolicy.from_config(default("ContactPolicy"))),
        ("RetentionPolicy", lambda: RetentionPolicy.from_json(default("RetentionPolicy"))),
        ("TalentPoolPolicy", lambda: load_policy({POLICY_ENV: default("TalentPoolPolicy")})),
    ]
    problems = []
    for name, load in checks:
        try:
            load()
        except (TalentOpsError, ValueError) as exc:
            problems.append(Problem("template.yaml", None, f"Parameters.{name}", str(exc)))
    return problems


def check(content: Path, template: Path) -> list[Problem]:
    problems: list[Problem] = policy_problems(load_template(template))
    try:
        catalogue = load_catalogue(str(content))
    except SourceError as exc:
        return list(exc.problems)
    except TalentOpsError as exc:
        return [Problem("catalogue.yaml", None, "", str(exc))]
    journeys = []
    try:
        journeys = load_journeys(content / "journeys", messages_of(catalogue))
    except SourceError as exc:
        problems.extend(exc.problems)
    try:
        load_metrics(content)
    except SourceError as exc:
        problems.extend(exc.problems)
    files = {j.name: f"journeys/{j.name}.yaml" for j in journeys}
    problems.extend(routing_problems(journeys, routed_events(load_template(template)), files))

    def compose(message: str, variant_name: str, kind: ProfileKind) -> Any:
        spec = catalogue.message(message)
        variant = next(v for v in spec.variants if v.name == variant_name)
        decision = Decision(
            decision_id="d_check",
            candidate_id="c_check01",
            trigger={"detail_type": "Check", "event_id": "e"},
            template=message,
            purpose=spec.purpose,
            outcome="send",
            variant=variant.name,
            message_id="m_d_check",
            decided_at=NOW,
        )

        def payload(links: Any) -> Mapping[str, Any]:
            job = {**SAMPLE_SUBJECTS["job"], "link": links.jobs}
            return {**SAMPLE_SUBJECTS, "job": job, "jobs": {"similar": [job]}}

        return compose_email(
            catalogue=catalogue,
            brand=BRAND,
            signer=SIGNER,
            token_ttl=timedelta(days=90),
            decision=decision,
            variant=variant,
            profile=_profile(kind),
            page_url=None,
            payload=payload,
        )

    variants = [(name, v.name) for name, spec in catalogue.messages.items() for v in spec.variants]
    problems.extend(render_all(variants, compose))
    sources = {
        str(path.relative_to(content.parent)): path.read_text(encoding="utf-8")
        for path in sorted((content / "email").rglob("*.html"))
    }
    problems.extend(css_problems(sources))
    return problems


def main(argv: list[str]) -> int:
    content = Path(argv[1]) if len(argv) > 1 else ROOT / "templates"
    problems = check(content, ROOT / "template.yaml")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {content}", file=sys.stderr)
        return 1
    print(f"content ok: {content}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
