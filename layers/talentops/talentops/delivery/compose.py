"""One email from one decision: links with signed tokens, render context, render, MIME.

Shared by triggered messages (DeliveryService), journeys, batched ones (the job-alert
worker) and campaigns: the one place an email is made, so the one place its links are held
to the allowed origins (delivery/links.py). A message with a link outside them is not sent:
RenderError, which its caller records as suppressed ``render_error``.

Renders and test sends of a message (delivery/proofs.py) go through the same
``render_email``, with links that carry no token (context.untracked_links), and
``build_test_mime``: the subject marked ``[TEST] ``, no List-Unsubscribe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ..content.catalogue import Catalogue, Variant
from ..content.render import RenderedMessage, render_variant
from ..models.state import Decision, Profile
from ..tokens import TokenSigner
from .context import Brand, Links, build_links, render_context
from .decide import candidate_view
from .mime import OutgoingEmail, build_mime

TEST_SUBJECT_PREFIX = "[TEST] "


def render_email(
    *,
    catalogue: Catalogue,
    brand: Brand,
    links: Links,
    variant: Variant,
    profile: Profile,
    purpose: str,
    template: str,
    payload: Mapping[str, Any],
) -> RenderedMessage:
    """Render ``variant`` for ``profile`` with ``links`` and the subject's ``payload``, held
    to the allowed origins. RenderError when the template fails or the message would link
    outside them."""
    context = render_context(
        candidate=candidate_view(profile),
        payload=payload,
        links=links,
        brand=brand,
        purpose=purpose,
        template=template,
        variant=variant.name,
    )
    rendered = render_variant(catalogue, variant, context)
    brand.link_rule.check(rendered.html, rendered.text, rendered.subject)
    return rendered


def compose_email(
    *,
    catalogue: Catalogue,
    brand: Brand,
    signer: TokenSigner,
    token_ttl: timedelta,
    decision: Decision,
    variant: Variant,
    profile: Profile,
    page_url: str | None,
    payload: Callable[[Links], Mapping[str, Any]],
) -> bytes:
    """Render ``variant`` for ``profile`` and build the raw MIME. ``page_url`` is the subject's
    own page (event or job; dropped when not on an allowed origin); ``payload`` gives the
    subject's context from the links. RenderError when the template fails or the message
    would link outside the allowed origins."""
    assert decision.message_id and decision.candidate_id and profile.email
    now = decision.decided_at
    links = build_links(
        brand=brand,
        signer=signer,
        candidate_id=decision.candidate_id,
        purpose=decision.purpose,
        message_id=decision.message_id,
        now=now,
        ttl=token_ttl,
        event_url=page_url,
    )
    rendered = render_email(
        catalogue=catalogue,
        brand=brand,
        links=links,
        variant=variant,
        profile=profile,
        purpose=decision.purpose,
        template=decision.template,
        payload=payload(links),
    )
    domain = brand.sender_address.rpartition("@")[2]
    return build_mime(
        OutgoingEmail(
            message_id=f"{decision.message_id}@{domain}",
            sender_name=brand.sender_name,
            sender_address=brand.sender_address,
            to=profile.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            sent_at=now,
            unsubscribe_url=links.unsubscribe,
            unsubscribe_mailto=brand.unsubscribe_mailto,
        )
    )


def build_test_mime(
    *, brand: Brand, rendered: RenderedMessage, to: str, message_id: str, sent_at: datetime
) -> bytes:
    """The raw MIME of a test send of ``rendered``: its subject after ``[TEST] ``, no
    List-Unsubscribe (a test recipient has nothing to unsubscribe from); ``message_id``
    without the domain, which is the sender's."""
    domain = brand.sender_address.rpartition("@")[2]
    return build_mime(
        OutgoingEmail(
            message_id=f"{message_id}@{domain}",
            sender_name=brand.sender_name,
            sender_address=brand.sender_address,
            to=to,
            subject=TEST_SUBJECT_PREFIX + rendered.subject,
            html=rendered.html,
            text=rendered.text,
            sent_at=sent_at,
        )
    )
