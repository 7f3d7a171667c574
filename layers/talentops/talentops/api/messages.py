"""Message routes (`/admin/messages/{name}/...`, docs/contract.md): a catalogue message
rendered for a candidate, and sent as a test to the deployment's seed addresses. IAM (SigV4)
only, like every operations route (admin.require_iam). Nothing is decided or recorded:
delivery/proofs.py says what each route does and leaves alone.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..delivery.compose import TEST_SUBJECT_PREFIX
from ..delivery.proofs import (
    MAX_TEST_RECIPIENTS,
    NotASeedAddressError,
    UnknownMessageError,
    UnknownVariantError,
)
from ..errors import DeliveryError, RenderError
from ..observability import logger
from .admin import require_iam
from .errors import ApiError, error_docs

router = APIGatewayHttpRouter()

TAG = "messages"
_FORBIDDEN = "Not an IAM (SigV4) signed request"
_UNKNOWN = "No such message, or no such candidate"

Address = Annotated[str, StringConstraints(min_length=3, max_length=254)]


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    variant: str | None = Field(
        default=None,
        max_length=64,
        description="A variant of the message; omitted: the one its rules choose for the "
        "candidate (or the sample profile).",
    )
    candidate_id: str | None = Field(
        default=None,
        max_length=64,
        description="A candidate of the pool; omitted: a sample profile.",
    )


class SendTestRequest(RenderRequest):
    to: list[Address] = Field(
        min_length=1,
        max_length=MAX_TEST_RECIPIENTS,
        description="Addresses of the deployment's test seed list (TEST_SEED_LIST) only.",
    )


class TriggerView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    detail_type: str = Field(description="What the sample subject stands for")
    sent_by: str = Field(description="catalogue, journey <name>, job alerts or campaign")


class RenderedView(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    message: str
    variant: str
    candidate_id: str | None = Field(description="null: the sample profile")
    trigger: TriggerView
    subject: str
    text: str
    html: str


class Recipient(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    to: str
    ses_message_id: str | None = None
    refused: str | None = Field(default=None, description="SES's code when it refused it")


class SentTest(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    message: str
    variant: str
    candidate_id: str | None
    subject: str = Field(description="As sent: after [TEST] ")
    sent: list[Recipient]


def _ok(model: type[BaseModel], description: str) -> dict[int, Any]:
    return {
        200: {
            "description": description,
            "content": {content_types.APPLICATION_JSON: {"model": model}},
        }
    }


def _json(status: int, data: Any) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(data, default=str),
        headers={"Cache-Control": "no-store"},
    )


def _proofs() -> Any:
    from ..wiring import message_proofs

    return message_proofs()


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, UnknownMessageError):
        return ApiError(404, exc.code, str(exc))
    if isinstance(exc, UnknownVariantError | NotASeedAddressError):
        return ApiError(422, exc.code, str(exc))
    assert isinstance(exc, RenderError)
    # A template problem or a link outside the allowed origins (never a candidate's value).
    return ApiError(422, "render_error", str(exc))


_REFUSALS = (UnknownMessageError, UnknownVariantError, NotASeedAddressError, RenderError)


@router.post(
    "/admin/messages/<name>/render",
    summary="Render a message",
    description="The message as the candidate (or, without candidate_id, a sample profile) "
    "would get it: subject, text and HTML, with a sample of what the message's trigger "
    "carries (an event, a job). Sends nothing and records nothing; its links carry no "
    "token. Without variant, the variant the rules choose for the candidate.",
    tags=[TAG],
    operation_id="renderMessage",
    responses={
        **_ok(RenderedView, "The rendered message"),
        **error_docs(
            {
                400: "Not the JSON body",
                403: _FORBIDDEN,
                404: _UNKNOWN,
                422: "Not a variant of the message, or the message does not render",
            }
        ),
    },
)
def render_message(
    name: str, body: Annotated[RenderRequest | None, Body()] = None
) -> Response[str]:
    require_iam(router.current_event)
    request = body or RenderRequest()
    try:
        proof = _proofs().render(name, variant=request.variant, candidate_id=request.candidate_id)
    except _REFUSALS as exc:
        raise _refused(exc) from exc
    logger.info("message rendered", template=proof.message, variant=proof.variant)
    return _json(200, proof.as_dict())


@router.post(
    "/admin/messages/<name>/test",
    summary="Send a test of a message",
    description="Renders the message as /render does and sends it through SES to each "
    "address of `to`, every one of which must be on the deployment's test seed list: the "
    "subject after `[TEST] `, no tracking (no token in any link, no open or click "
    f"tracking), no contact budget, no decision recorded. At most {MAX_TEST_RECIPIENTS} "
    "addresses.",
    tags=[TAG],
    operation_id="testMessage",
    responses={
        **_ok(SentTest, "Sent to each address (or refused by SES for it)"),
        **error_docs(
            {
                400: "Not the JSON body",
                403: _FORBIDDEN,
                404: _UNKNOWN,
                422: "An address not on the seed list (named), not a variant of the "
                "message, or the message does not render",
                502: "SES could not be reached, or refused the account's send",
            }
        ),
    },
)
def send_test_message(name: str, body: Annotated[SendTestRequest, Body()]) -> Response[str]:
    require_iam(router.current_event)
    try:
        proof, sent = _proofs().send_test(
            name, to=body.to, variant=body.variant, candidate_id=body.candidate_id
        )
    except _REFUSALS as exc:
        raise _refused(exc) from exc
    except DeliveryError as exc:
        raise ApiError(502, "send_failed", "SES did not take the test email; try again") from exc
    logger.info(
        "test message sent",
        template=proof.message,
        variant=proof.variant,
        recipients=len(sent),
        refused=sum(1 for s in sent if "refused" in s),
    )
    return _json(
        200,
        {
            "message": proof.message,
            "variant": proof.variant,
            "candidate_id": proof.candidate_id,
            "subject": TEST_SUBJECT_PREFIX + proof.rendered.subject,
            "sent": sent,
        },
    )
