"""Event behaviour (Registered, Attended, No-Show) into the registration confirmation and the
attended / no-show follow-ups (purpose events)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.delivery.decide import TriggerFact
from talentops.models.events import parse_event
from talentops.observability import logger, metrics
from talentops.wiring import delivery_service


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    envelope, detail = parse_event(event)
    fact = TriggerFact.from_event(envelope.id, envelope.detail_type, detail)
    decisions = delivery_service().handle_trigger(fact, detail.candidate)  # type: ignore[attr-defined]
    return {
        "decisions": [
            {"outcome": d.outcome, "reason": d.reason, "variant": d.variant} for d in decisions
        ]
    }
