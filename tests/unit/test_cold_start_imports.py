"""What a function imports before its first event is done is its cold start (bench/coldstart.py
measures it). These functions need a few keys of the talent pool table, not the repository
that joins every store, and the send reconciler needs the campaign adapter only when it
resolves a campaign's claim. Each check runs in a fresh interpreter: this test session has
imported everything already."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support.fresh import fresh_python


def _loaded_after(code: str) -> set[str]:
    """The talentops and pydantic modules a fresh interpreter holds after running ``code``."""
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import sys
        print("\\n".join(m for m in sys.modules if m.startswith(("talentops", "pydantic"))))
        """
    )
    env = {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "TABLE_NAME": "talent-pool",
        "EVENT_BUS_NAME": "talent",
        "SENDER_ADDRESS": "careers@example.com",
    }
    return set(fresh_python(script, env).split())


@pytest.mark.parametrize(
    "code",
    [
        "from talentops.privacy.wiring import feedback_service; feedback_service()",
        "from talentops.metrics.wiring import lake_transform; lake_transform()",
        "import talentops.adapters.content_decisions",
    ],
    ids=["ses_feedback", "lake_transform", "content_decisions"],
)
def test_a_function_that_needs_the_tables_keys_does_not_import_every_store(code: str) -> None:
    loaded = _loaded_after(code)
    assert "talentops.adapters.pool.base" in loaded  # the keys came from their own module
    assert "talentops.adapters.talent_pool" not in loaded
    assert "talentops.adapters.pool.claims" not in loaded


def test_the_reconciler_imports_the_campaign_adapter_only_for_a_campaigns_claim() -> None:
    built = _loaded_after("from talentops.wiring import lease_resolver; lease_resolver()")
    assert "talentops.delivery.leases" in built
    assert "talentops.adapters.campaigns" not in built

    observed = _loaded_after(
        """
        from datetime import UTC, datetime
        from talentops.campaigns import counting
        from talentops.models.state import Decision

        added = []

        class Campaigns:
            def add_counts(self, campaign_id, counts):
                added.append((campaign_id, counts.sent, dict(counts.suppressed)))

        made = []
        observe = counting.count_resolved(lambda: made.append(1) or Campaigns())

        def decision(detail_type, status, reason=None):
            return Decision(
                decision_id="d-" + status,
                candidate_id="c-1",
                trigger={"detail_type": detail_type, "event_id": "camp-1"},
                template="campaign_news",
                purpose="marketing",
                decided_at=datetime(2026, 12, 1, tzinfo=UTC),
                outcome="send" if status == "sent" else "suppress",
                reason=reason,
                status=status,
            )

        observe(decision("Candidate Event Attended", "sent"))
        assert made == [] and added == [], (made, added)
        observe(decision(counting.CAMPAIGN_TRIGGER, "sent"))
        observe(decision(counting.CAMPAIGN_TRIGGER, "suppressed", "no_consent"))
        assert made == [1], made  # made once, when first needed
        assert added == [("camp-1", 1, {}), ("camp-1", 0, {"no_consent": 1})], added
        """
    )
    assert "talentops.adapters.campaigns" in observed


def test_the_lake_transform_imports_no_model() -> None:
    """It keeps facts by their detail-type and reads the fields it needs from the JSON: its
    cold start builds no pydantic model and imports no pydantic."""
    loaded = _loaded_after(
        """
        from talentops.metrics.wiring import lake_transform
        from talentops.metrics.lake import KNOWN_FACTS
        lake_transform()
        assert "Message Sent" in KNOWN_FACTS
        """
    )
    assert "talentops.metrics.transform" in loaded
    assert not {m for m in loaded if m.startswith("pydantic")}
    assert "talentops.models.events" not in loaded


def test_the_reconcilers_usual_run_reads_the_lease_index_and_imports_no_model() -> None:
    """Every five minutes it finds, as a rule, no lease run out: that run builds no resolver,
    imports no store of the talent pool and no pydantic; a lease run out builds it once."""
    quiet = _loaded_after(
        """
        from talentops.wiring import reconciler

        asked = []
        run = reconciler()
        run.expired = lambda now, limit: asked.append(limit) or []
        assert run.sweep() == {
            "found": 0, "sent": 0, "accepted": 0, "other": 0, "unreadable": 0, "errors": 0
        }
        assert asked == [500], asked
        """
    )
    assert "talentops.delivery.reconcile" in quiet
    assert "talentops.adapters.pool.lease_index" in quiet
    assert not {m for m in quiet if m.startswith("pydantic")}
    assert "talentops.delivery.leases" not in quiet
    assert "talentops.adapters.talent_pool" not in quiet

    busy = _loaded_after(
        """
        from talentops.wiring import reconciler

        run = reconciler()
        run.expired = lambda now, limit: [("c-1", "d-1")]
        built = []

        class Repo:
            def open_claim(self, candidate_id, decision_id):
                return None  # resolved since the index was read

        class Resolver:
            repo = Repo()

        run.resolver = lambda: built.append(1) or Resolver()
        assert run.sweep()["found"] == 0
        assert built == [1], built
        """
    )
    assert "talentops.delivery.reconcile" in busy


FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
PARSER_MODELS = "aws_lambda_powertools.utilities.parser.models"


def _modules_after_importing(app: Path, *, first: str = "") -> set[str]:
    script = f"""
        import importlib.util, sys
        {first}
        spec = importlib.util.spec_from_file_location("app", {str(app)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print("\\n".join(sys.modules))
        """
    env = {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "TABLE_NAME": "talent-pool",
        "EVENT_BUS_NAME": "talent",
        "SENDER_ADDRESS": "careers@example.com",
        "POWERTOOLS_SERVICE_NAME": "talentops",
    }
    return set(fresh_python(textwrap.dedent(script), env).split())


@pytest.mark.parametrize(
    "function", sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py")), ids=str
)
def test_a_function_does_not_build_powertools_parser_models_it_never_uses(function: str) -> None:
    """Powertools' batch utility imports every parser model (SQS, Kinesis, DynamoDB streams,
    Kafka: tens of pydantic models built) when pydantic was imported before it; imported
    first, it imports none. No function parses with them: their imports keep that order."""
    assert PARSER_MODELS not in _modules_after_importing(FUNCTIONS / function / "app.py")


def test_the_parser_models_probe_sees_the_trap_it_guards() -> None:
    """The check above can fail: a function that uses the batch utility, with pydantic
    imported before its module runs, builds the parser models."""
    app = FUNCTIONS / "journey_timer" / "app.py"
    assert "aws_lambda_powertools.utilities.batch" in _modules_after_importing(app)
    assert PARSER_MODELS in _modules_after_importing(app, first="import pydantic")
