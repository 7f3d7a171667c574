"""2. CPU per personalized message, against a bare Jinja2 render in the same process.

Three ratios, each against the bare render of the same messages in the same interleaved
group (so that a slow phase of the machine touches both alike):

- product: what the delivery service does for one message before it builds the MIME
  message: decide (consent, budget, variant rules, the decision record), the signed links,
  the render context, and the render of subject, HTML and text in the sandboxed environment
  (goal <= 1.5x);
- message: the whole message as a sender makes it: decide, then ``compose_email`` (links,
  context, render, the link gate, the raw MIME) (goal <= 2.5x);
- whole handler: the journeys handler from the EventBridge event to its last AWS call, with
  every AWS client answered in memory (bench/fakes.py) (goal <= 5x).

Baseline: a plain ``jinja2.Environment`` with the same loader (the product's own loader
object) and the same output options (autoescape, trim_blocks, lstrip_blocks), rendering the
same subject, HTML and text templates with the same context. The outputs are compared: the
baseline is only a baseline if it produces the same bytes.

Also measured: building the MIME message, reading the profile item (DynamoDB types to the
Profile model), and the whole journeys handler (an outcome no journey follows, so the
catalogue's follow-up) from the EventBridge event to the last (in-memory) AWS call, which
gives messages per second per core.

Clock: time.process_time_ns (CPU of this process); medians over repeats; the cases run
interleaved within each repeat.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from .common import (
    TEMPLATES,
    TOKEN_KEY,
    apply_function_env,
    calibrate,
    median,
    silence_logs,
    spread,
    time_interleaved,
    use_repository,
)
from .fixtures import BEHAVIOURS, NOW, PERSONAS, FakeContext, behaviour_event, profile_data

GOAL_RATIO = 1.5
GOAL_MESSAGE_RATIO = 2.5
GOAL_HANDLER_RATIO = 5.0
TOKEN_TTL = timedelta(days=90)


@dataclass
class Message:
    """Everything one personalized message needs, prepared once."""

    persona: str
    template: str
    fact: Any
    profile: Any
    spec: Any
    item: dict[str, Any]
    context: dict[str, Any]
    variant: Any


@dataclass
class Setup:
    catalogue: Any
    policy: Any
    brand: Any
    signer: Any
    caps: Any
    messages: list[Message]
    bare_env: Any
    bare_subjects: dict[str, Any]


def _setup(
    templates: Path = TEMPLATES,
    personas: tuple[Any, ...] = PERSONAS,
    *,
    recent_sends: int = 3,
    caps: dict[str, Any] | None = None,
    catalogue: Any = None,
) -> Setup:
    """The messages of the catalogue's triggers for the personas, decided and rendered once
    (so that every measured step has its inputs ready). `caps` defaults to the product's."""
    from talentops import wiring
    from talentops.consent.policy import ConsentPolicy
    from talentops.content.catalogue import Catalogue
    from talentops.content.render import environment
    from talentops.delivery.context import build_links, render_context
    from talentops.delivery.decide import FrequencyCap, TriggerFact, candidate_view, decide
    from talentops.models.events import parse_event
    from talentops.models.state import Profile
    from talentops.settings import Settings
    from talentops.tokens import TokenSigner

    from .fixtures import profile_item

    if catalogue is None:
        catalogue = Catalogue.load(templates)
    settings = Settings.from_env()
    policy = ConsentPolicy.from_json(settings.consent_policy)
    brand = wiring.brand(settings)
    signer = TokenSigner(TOKEN_KEY.encode())
    if caps is None:
        caps = {"job_alerts": FrequencyCap(settings.job_alert_weekly_cap, timedelta(days=7))}
    messages = []
    for i, persona in enumerate(personas):
        data = profile_data(
            persona, f"c_bench{i:06d}", f"{persona.key}@example.org", recent_sends=recent_sends
        )
        profile = Profile.model_validate(data)
        for detail_type, template in BEHAVIOURS.items():
            if template not in catalogue.messages:
                continue
            assert profile.email is not None
            envelope, detail = parse_event(behaviour_event(detail_type, {"email": profile.email}))
            fact = TriggerFact.from_event(envelope.id, envelope.detail_type, detail)
            spec = catalogue.message(template)
            outcome = decide(
                fact=fact,
                profile=profile,
                template=template,
                spec=spec,
                policy=policy,
                now=NOW,
                caps=caps,
            )
            if outcome.variant is None:
                continue  # a suppressed decision renders nothing: not a personalized message
            d = outcome.decision
            assert d.candidate_id is not None and d.message_id is not None
            links = build_links(
                brand=brand,
                signer=signer,
                candidate_id=d.candidate_id,
                purpose=d.purpose,
                message_id=d.message_id,
                now=NOW,
                ttl=TOKEN_TTL,
                event_url=fact.payload["event"].get("url"),
            )
            context = render_context(
                candidate=candidate_view(profile),
                payload=fact.payload,
                links=links,
                brand=brand,
                purpose=d.purpose,
                template=d.template,
                variant=outcome.variant.name,
            )
            messages.append(
                Message(
                    persona.key,
                    template,
                    fact,
                    profile,
                    spec,
                    profile_item(data),
                    context,
                    outcome.variant,
                )
            )
    product_env = environment(str(catalogue.root))
    import jinja2

    bare_env = jinja2.Environment(
        loader=product_env.loader,
        autoescape=product_env.autoescape,
        trim_blocks=product_env.trim_blocks,
        lstrip_blocks=product_env.lstrip_blocks,
        auto_reload=False,
        cache_size=2000,
    )
    bare_subjects = {m.variant.subject: bare_env.from_string(m.variant.subject) for m in messages}
    return Setup(catalogue, policy, brand, signer, caps, messages, bare_env, bare_subjects)


def steps(s: Setup, messages: list[Message] | None = None) -> dict[str, Callable[[], object]]:
    """One callable per measured step; each call handles the next message of the cycle."""
    from talentops.adapters.talent_pool import profile_from_item
    from talentops.content.render import render_variant
    from talentops.delivery.compose import compose_email
    from talentops.delivery.context import build_links, render_context
    from talentops.delivery.decide import candidate_view, decide
    from talentops.delivery.mime import OutgoingEmail, build_mime

    messages = messages or s.messages

    def cycle() -> Iterator[Message]:
        return itertools.cycle(messages)

    c_decide, c_links, c_context, c_render, c_bare, c_product, c_mime, c_item, c_message = (
        cycle() for _ in range(9)
    )  # one cycle per case: each case goes through the messages in the same order

    def do_decide(m: Message) -> Any:
        return decide(
            fact=m.fact,
            profile=m.profile,
            template=m.template,
            spec=m.spec,
            policy=s.policy,
            now=NOW,
            caps=s.caps,
        )

    def do_links(m: Message, decision: Any) -> Any:
        return build_links(
            brand=s.brand,
            signer=s.signer,
            candidate_id=decision.candidate_id,
            purpose=decision.purpose,
            message_id=decision.message_id,
            now=NOW,
            ttl=TOKEN_TTL,
            event_url=m.fact.payload["event"].get("url"),
        )

    def do_context(m: Message, decision: Any, links: Any, variant: str) -> dict[str, Any]:
        return render_context(
            candidate=candidate_view(m.profile),
            payload=m.fact.payload,
            links=links,
            brand=s.brand,
            purpose=decision.purpose,
            template=decision.template,
            variant=variant,
        )

    decisions = {id(m): do_decide(m) for m in messages}
    links_of = {id(m): do_links(m, decisions[id(m)].decision) for m in messages}
    contexts = {
        id(m): do_context(m, decisions[id(m)].decision, links_of[id(m)], m.variant.name)
        for m in messages
    }
    rendered = {id(m): render_variant(s.catalogue, m.variant, m.context) for m in messages}

    def product(
        c: Iterator[Message], *, decide_: bool = True, links_: bool = True, context_: bool = True
    ) -> Callable[[], object]:
        """The product's steps for the next message; a step turned off uses its result
        computed beforehand, so that (all on) - (one off) is that step's cost in the mix."""

        def call() -> object:
            m = next(c)
            outcome = do_decide(m) if decide_ else decisions[id(m)]
            d = outcome.decision
            links = do_links(m, d) if links_ else links_of[id(m)]
            name = outcome.variant.name
            ctx = do_context(m, d, links, name) if context_ else contexts[id(m)]
            return render_variant(s.catalogue, outcome.variant, ctx)

        return call

    def mime() -> object:
        m = next(c_mime)
        r = rendered[id(m)]
        d = decisions[id(m)].decision
        return build_mime(
            OutgoingEmail(
                message_id=f"{d.message_id}@talent.example.com",
                sender_name=s.brand.sender_name,
                sender_address=s.brand.sender_address,
                to=m.profile.email,
                subject=r.subject,
                html=r.html,
                text=r.text,
                sent_at=NOW,
                unsubscribe_url=links_of[id(m)].unsubscribe,
                unsubscribe_mailto=s.brand.unsubscribe_mailto,
            )
        )

    def message() -> object:
        """The whole message as a sender makes it: decide, then compose_email (links,
        context, render, the link gate, the raw MIME)."""
        m = next(c_message)
        outcome = do_decide(m)
        event = m.fact.payload["event"]
        return compose_email(
            catalogue=s.catalogue,
            brand=s.brand,
            signer=s.signer,
            token_ttl=TOKEN_TTL,
            decision=outcome.decision,
            variant=outcome.variant,
            profile=m.profile,
            page_url=event.get("url"),
            payload=lambda links: m.fact.payload,
        )

    return {
        "product": product(c_product),
        "bare": bare_render(s, c_bare),
        "without_decide": product(c_decide, decide_=False),
        "without_links": product(c_links, links_=False),
        "without_context": product(c_context, context_=False),
        "render": product(c_render, decide_=False, links_=False, context_=False),
        "message": message,
        "mime": mime,
        "profile_item": lambda: profile_from_item(next(c_item).item),
    }


def bare_render(s: Setup, messages: Iterator[Message]) -> Callable[[], object]:
    """The baseline: the bare Jinja2 render of the next message's subject, HTML and text."""

    def bare() -> object:
        m = next(messages)
        ctx = m.context
        return (
            s.bare_subjects[m.variant.subject].render(ctx),
            s.bare_env.get_template(m.variant.html).render(ctx),
            s.bare_env.get_template(m.variant.text).render(ctx),
        )

    return bare


def same_output(s: Setup) -> bool:
    """The bare render produces what the product renders (subject up to whitespace)."""
    from talentops.content.render import render_variant, single_line

    for m in s.messages:
        product = render_variant(s.catalogue, m.variant, m.context)
        subject = single_line(s.bare_subjects[m.variant.subject].render(m.context))
        html = s.bare_env.get_template(m.variant.html).render(m.context)
        text = s.bare_env.get_template(m.variant.text).render(m.context)
        if (product.subject, product.html, product.text) != (subject, html, text):
            return False
    return True


# The handler's messages: an outcome that no journey follows, so the catalogue's follow-up
# (a registration's confirmation depends on the event still being ahead of the clock the
# handler reads, which a bench with a fixed event cannot hold).
HANDLER_TRIGGERS = ("Candidate Event Attended", "Candidate Event No-Show")


def handler_messages(s: Setup) -> list[Message]:
    return [m for m in s.messages if m.fact.detail_type in HANDLER_TRIGGERS]


def whole_handler(s: Setup) -> tuple[Callable[[], object], dict[str, float]]:
    """the journeys handler from the EventBridge event to its last AWS call, with every
    AWS client answered in memory (no botocore), for the messages of handler_messages.
    Returns the callable and the AWS calls it makes per message (to show that the fakes
    answered what the product asked); the callable's ``fake`` is the fakes themselves."""
    from talentops import wiring

    from .account import load_handler
    from .fakes import FakeAws, fake_clients

    aws = FakeAws([m.item for m in s.messages])
    stack = contextlib.ExitStack()
    stack.enter_context(fake_clients(aws))
    # Opened once: opening /dev/null for every call (about 12 us) was the bench's cost, not
    # the handler's, and counted in its ratio.
    devnull = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115 (closed by the stack)
    module = load_handler("journeys")
    wiring.journey_runtime()  # built once, as a warm Lambda holds it
    context = FakeContext()
    # A fresh envelope per call (new id and time), so that nothing is cached between calls.
    minutes = itertools.count()
    persons = itertools.cycle(handler_messages(s))

    def call() -> object:
        m = next(persons)
        n = next(minutes)
        event = behaviour_event(
            m.fact.detail_type,
            {"email": m.profile.email},
            observed_at=f"2026-12-03T{(n // 60) % 24:02d}:{n % 60:02d}:00Z",
        )
        with contextlib.redirect_stdout(devnull):
            result = module.handler(event, context)
        decisions = result.get("decisions") or [{}]
        if decisions[0].get("outcome") != "send":
            raise AssertionError(f"whole handler: expected a send, got {result}")
        return result

    silence_logs()
    aws.calls.clear()
    probe = 20
    for _ in range(probe):
        call()
    per_message = {k: v / probe for k, v in sorted(aws.calls.items())}
    call.close = stack.close  # type: ignore[attr-defined]
    call.fake = aws  # type: ignore[attr-defined]
    return call, per_message


def run(*, repeats: int = 9) -> dict[str, Any]:
    use_repository()
    apply_function_env()
    s = _setup()
    if not s.messages:
        raise RuntimeError("no personalized message to measure (catalogue or personas changed)")
    on_handler = handler_messages(s)
    if not on_handler:
        raise RuntimeError("no follow-up message for the whole handler (catalogue changed)")
    cases = steps(s)
    whole, whole_calls = whole_handler(s)
    cases["whole_handler"] = whole
    # The handler's own baseline: the bare render of the same messages, in its group.
    cases["bare_handler_messages"] = bare_render(s, itertools.cycle(on_handler))
    try:
        iterations = {name: calibrate(fn) for name, fn in cases.items()}
        # The ratios and the breakdown in one interleaved group, one batch size (a whole
        # number of rounds through the messages), so that every case sees the same messages.
        group = (
            "product",
            "bare",
            "message",
            "without_decide",
            "without_links",
            "without_context",
            "render",
        )
        n = max(iterations[name] for name in group)
        n = max(n - n % len(s.messages), len(s.messages))
        timings = time_interleaved({k: cases[k] for k in group}, iterations=n, repeats=repeats)
        for name in ("mime", "profile_item"):
            timings |= time_interleaved(
                {name: cases[name]}, iterations=iterations[name], repeats=repeats
            )
        handler_group = ("whole_handler", "bare_handler_messages")
        n = iterations["whole_handler"]
        n = max(n - n % len(on_handler), len(on_handler))
        timings |= time_interleaved(
            {k: cases[k] for k in handler_group}, iterations=n, repeats=repeats
        )
    finally:
        whole.close()  # type: ignore[attr-defined]
    us = {name: [v / 1000 for v in values] for name, values in timings.items()}
    med = {name: median(values) for name, values in us.items()}

    def ratios_of(case: str, baseline: str = "bare") -> list[float]:
        return [p / b for p, b in zip(us[case], us[baseline], strict=True)]

    ratios = ratios_of("product")
    ratio = median(ratios)
    message_ratios = ratios_of("message")
    handler_ratios = ratios_of("whole_handler", "bare_handler_messages")

    # Each step's cost in the mix: the product minus the product without it, per repeat.
    def marginal(without: str) -> float:
        return median([p - w for p, w in zip(us["product"], us[without], strict=True)])

    breakdown = {
        "decide": marginal("without_decide"),
        "links": marginal("without_links"),
        "context": marginal("without_context"),
        "sandboxed_render": med["render"],
        "bare_render": med["bare"],
        "sandbox_over_bare": median([r - b for r, b in zip(us["render"], us["bare"], strict=True)]),
        "gate_and_mime": median([m - p for m, p in zip(us["message"], us["product"], strict=True)]),
    }
    return {
        "messages": [f"{m.template}/{m.variant.name} ({m.persona})" for m in s.messages],
        "handler_messages": [f"{m.template}/{m.variant.name} ({m.persona})" for m in on_handler],
        "same_output": same_output(s),
        "bare_environment": {
            "class": type(s.bare_env).__name__,
            "autoescape": "same select_autoescape as the product",
            "trim_blocks": s.bare_env.trim_blocks,
            "lstrip_blocks": s.bare_env.lstrip_blocks,
        },
        "us": {name: spread(values) for name, values in us.items()},
        "breakdown_us": breakdown,
        "ratio_product_to_bare": ratio,
        "ratio_spread": spread(ratios),
        "goal_ratio": GOAL_RATIO,
        "met": ratio <= GOAL_RATIO,
        "ratio_message_to_bare": median(message_ratios),
        "message_ratio_spread": spread(message_ratios),
        "goal_message_ratio": GOAL_MESSAGE_RATIO,
        "message_met": median(message_ratios) <= GOAL_MESSAGE_RATIO,
        "ratio_handler_to_bare": median(handler_ratios),
        "handler_ratio_spread": spread(handler_ratios),
        "goal_handler_ratio": GOAL_HANDLER_RATIO,
        "handler_met": median(handler_ratios) <= GOAL_HANDLER_RATIO,
        "decide_render_mime_us": med["message"],
        "messages_per_second_per_core": {
            "decide_render_mime": 1e6 / med["message"],
            "whole_handler": 1e6 / med["whole_handler"],
        },
        "whole_handler_aws_calls_per_message": whole_calls,
        "repeats": repeats,
        "clock": "time.process_time_ns",
    }
