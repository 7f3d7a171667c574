"""Daily: erase candidates past their country's retention limit, and ask candidates whose
grant is about to lapse to renew it (the re-permission message)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talentops.observability import logger, metrics
from talentops.privacy.wiring import retention_sweeper


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = retention_sweeper().sweep()
    return {
        "scanned": report.scanned,
        "erased": len(report.erased),
        "repermission_asked": len(report.repermission_asked),
    }
