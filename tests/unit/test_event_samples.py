"""The samples of events/ (what Lambda receives, for `sam local invoke -e`) stay true.

Every sample is checked against what reads it: a bus event against its JSON Schema in
schemas/ and the contract models, an SES event against models/ses.py, an SQS batch against
the message model its worker parses, a schedule against the template's rule, an HTTP event
against Powertools' payload 2.0 model and the resolver's routes. The completeness checks are
derived from template.yaml, schemas/ and docs/openapi.json, so a new detail-type, route,
queue or schedule without a sample fails here. events/README.md must give the exact
`sam local invoke` command of every sample for every function that takes it.

The last part runs the samples through the real handlers under moto (the `aws` fixture).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    SqsModel,
)

from scripts.export_schemas import slug
from talentops.campaigns.launch import parse_message
from talentops.engagement.service import ENGAGEMENT_FACTS
from talentops.errors import InvalidEventError
from talentops.job_alerts.messages import parse_batch
from talentops.journeys.inbound import CandidateBehaviour, ProfileChange, parse_inbound
from talentops.models.events import INBOUND_EVENTS, OUTBOUND_EVENTS, parse_event
from talentops.models.ses import parse_ses_event
from talentops.privacy.feedback import parse_ses_event as feedback_of
from talentops.tokens import TokenSigner
from tests.conftest import TABLE, TIMER_GROUP, load_handler
from tests.support.cfn import ROOT, template

EVENTS = ROOT / "events"
FOLDERS = ("bus", "ses", "sqs", "schedule", "http")
# Samples that show a refusal (what lands in a dead-letter queue), not a valid input.
INVALID = {"bus/candidate-event-malformed.json"}
# Samples that no trigger delivers: the payload of a manual `sam local invoke`.
MANUAL = {"schedule/retention-sweeper-restart.json": "RetentionSweeperFunction"}
# The HTTP samples' stand-ins, replaced when the samples run through the API below.
TOKEN_PLACEHOLDER = "REPLACE_WITH_THE_TOKEN_OF_AN_EMAIL_LINK"
SAMPLE_CANDIDATE = "c_4f1e2d3c4b5a69788796"
SAMPLE_CAMPAIGN = "cmp_d40b2e2c7909f090"
SAMPLE_SEGMENT = "seg_218d3039be5cc790"  # the segment of events/http/admin-create-segment.json
SAMPLE_DECISION = "9b2f6c1d0e4a7b8c5d3e2f1a0b9c8d7e"  # the SES samples' decision_id tag
# SES record eventType -> the detail-type EventBridge gives it.
SES_DETAIL_TYPES = {
    "Bounce": "Email Bounced",
    "Complaint": "Email Complaint Received",
    "Send": "Email Sent",
    "Delivery": "Email Delivered",
    "Open": "Email Opened",
    "Click": "Email Clicked",
}


# -- the samples and the template ---------------------------------------------------------


def samples(folder: str) -> list[str]:
    """Paths relative to events/, e.g. "bus/job-opened.json"."""
    return sorted(p.relative_to(EVENTS).as_posix() for p in (EVENTS / folder).glob("*.json"))


def load(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / name).read_text())
    assert isinstance(data, dict)
    return data


def functions() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def triggers(kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, event name, event properties) of every template event of type `kind`."""
    for function, props in functions().items():
        for name, event in (props.get("Events") or {}).items():
            if event["Type"] == kind:
                yield function, name, event.get("Properties") or {}


def _matches(pattern: Any, value: Any) -> bool:
    """EventBridge pattern matching, as far as template.yaml's patterns go: a list of
    values (or `anything-but` of one), nested objects; an intrinsic (`!Ref`) matches any
    value that is present."""
    if isinstance(pattern, dict) and (
        "Ref" in pattern or any(k.startswith("Fn::") for k in pattern)
    ):
        return value is not None
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            _matches(p, value.get(k)) for k, p in pattern.items()
        )
    assert isinstance(pattern, list), pattern
    values = value if isinstance(value, list) else [value]
    for option in pattern:
        if isinstance(option, dict) and "anything-but" in option:
            excluded = option["anything-but"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            if value is not None and all(v not in excluded for v in values):
                return True
        elif any(_matches(option, v) if isinstance(option, dict) else option == v for v in values):
            return True
    return False


def rule_targets(event: dict[str, Any]) -> set[str]:
    """The functions whose EventBridgeRule in template.yaml takes this bus event."""
    return {
        function
        for function, _, props in triggers("EventBridgeRule")
        if all(_matches(p, event.get(k)) for k, p in props["Pattern"].items())
    }


def queue_of(props: dict[str, Any]) -> str:
    return str(props["Queue"]["Fn::GetAtt"][0])


def sqs_events(batch: dict[str, Any]) -> set[tuple[str, str]]:
    """(function, event) of the SQS event sources that read the queue the records came from
    (a stack's queue is named <stack>-<LogicalId>-<suffix>)."""
    names = {r["eventSourceARN"].rsplit(":", 1)[1] for r in batch["Records"]}
    return {
        (function, name)
        for function, name, props in triggers("SQS")
        if names and all(f"-{queue_of(props)}-" in queue for queue in names)
    }


def schedule_events(event: dict[str, Any]) -> set[tuple[str, str]]:
    """(function, event) of the Schedule event that made this rule (SAM names the rule
    <stack>-<Function><Event>-<suffix>)."""
    rules = [arn.rsplit("/", 1)[1] for arn in event.get("resources", [])]
    return {
        (function, name)
        for function, name, _ in triggers("Schedule")
        if rules and all(f"-{function}{name}-" in rule for rule in rules)
    }


def http_routes() -> dict[str, tuple[str, dict[str, Any]]]:
    """routeKey -> (function, event properties) of every HttpApi event."""
    return {
        f"{props['Method'].upper()} {props['Path']}": (function, props)
        for function, _, props in triggers("HttpApi")
    }


def targets(name: str) -> set[str]:
    """The functions of template.yaml that receive the sample `name`."""
    if name in MANUAL:
        return {MANUAL[name]}
    event = load(name)
    folder = name.split("/", 1)[0]
    if folder in ("bus", "ses"):
        return rule_targets(event)
    if folder == "sqs":
        return {function for function, _ in sqs_events(event)}
    if folder == "schedule":
        return {function for function, _ in schedule_events(event)}
    route = http_routes().get(str(event.get("routeKey")))
    return {route[0]} if route else set()


def shape(path: str) -> str:
    """A route's path with its parameters unnamed: /a/{id} and /a/<campaign_id> -> /a/{}."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path)


# -- layout ---------------------------------------------------------------------------------


def test_every_sample_is_json_in_a_known_folder():
    loose = [
        p.relative_to(EVENTS).as_posix()
        for p in EVENTS.rglob("*")
        if p.is_file()
        and p.name != "README.md"
        and not (p.suffix == ".json" and p.parent.name in FOLDERS and p.parent.parent == EVENTS)
    ]
    assert not loose, f"put samples in events/{{{','.join(FOLDERS)}}}/*.json: {loose}"
    for folder in FOLDERS:
        for name in samples(folder):
            assert load(name), name


def test_every_valid_sample_reaches_a_function_of_the_template():
    for folder in FOLDERS:
        for name in samples(folder):
            if name in INVALID:
                continue
            assert targets(name), f"{name}: no function of template.yaml receives it"


# -- bus events: JSON Schema and the contract models ----------------------------------------


def schema_of(detail_type: str) -> dict[str, Any]:
    path = ROOT / "schemas" / f"{slug(detail_type)}.json"
    assert path.exists(), f"no schema for {detail_type!r}: run `make schemas`"
    schema = json.loads(path.read_text())
    assert isinstance(schema, dict)
    return schema


def schema_errors(detail_type: str, detail: Any) -> list[str]:
    schema = schema_of(detail_type)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(detail)]


@pytest.mark.parametrize("name", [n for n in samples("bus") if n not in INVALID])
def test_bus_sample_fits_its_schema_and_the_models(name):
    event = load(name)
    EventBridgeModel.model_validate(event)
    detail_type = event["detail-type"]
    assert detail_type in INBOUND_EVENTS or detail_type in OUTBOUND_EVENTS, detail_type
    assert not schema_errors(detail_type, event["detail"])
    receivers = targets(name)
    if detail_type in INBOUND_EVENTS:
        envelope, detail = parse_event(event)
        assert isinstance(detail, INBOUND_EVENTS[detail_type])
        assert envelope.id == event["id"]
    if "JourneysFunction" in receivers:
        inbound = parse_inbound(event)
        expected = (
            ProfileChange if detail_type == "Candidate Profile Changed" else CandidateBehaviour
        )
        assert isinstance(inbound, expected)


def test_the_malformed_sample_is_refused_with_its_reasons():
    [name] = [n for n in INVALID if n.startswith("bus/")]
    event = load(name)
    assert schema_errors(event["detail-type"], event["detail"])
    with pytest.raises(InvalidEventError) as refused:
        parse_event(event)
    reason = refused.value.reason
    assert "candidate" in reason and "observed_at" in reason
    # record_event dead-letters it; the journeys function drops it instead of failing twice.
    assert {"RecordEventFunction", "JourneysFunction"} <= rule_targets(event)
    assert parse_inbound(event) is None


# -- SES events (configuration set -> default bus) ------------------------------------------


@pytest.mark.parametrize("name", samples("ses"))
def test_ses_sample_parses_as_ses_feedback_reads_it(name):
    event = load(name)
    EventBridgeModel.model_validate(event)
    parsed = parse_ses_event(event)
    assert parsed.source == "aws.ses"
    kind = parsed.detail.kind
    assert SES_DETAIL_TYPES[kind] == parsed.detail_type
    assert targets(name) == {"SesFeedbackFunction"}
    assert parsed.detail.mail is not None and parsed.detail.mail.tag("decision_id")
    if kind == "Send" or kind in ENGAGEMENT_FACTS:
        # tied to its send by the tags (the lease; the engagement fact's decision)
        assert parsed.detail.mail.tag("candidate_id")
        if kind in ENGAGEMENT_FACTS:
            assert getattr(parsed.detail, kind.lower()) is not None, "the record's own part"
        if kind == "Click":
            assert parsed.detail.click is not None and parsed.detail.click.link
        return
    feedback = feedback_of(parsed.detail)
    if "transient" in name:
        assert feedback.kind == "ignore"
    else:
        assert feedback.kind == kind.lower() and feedback.addresses


def test_the_ses_samples_cover_every_kind_the_rule_takes():
    taken = set().union(
        *(
            props["Pattern"]["detail-type"]
            for _, _, props in triggers("EventBridgeRule")
            if props["Pattern"].get("source") == ["aws.ses"]
        )
    )
    assert taken == set(SES_DETAIL_TYPES.values())
    assert {load(n)["detail-type"] for n in samples("ses")} == taken
    bounces = {load(n)["detail"]["bounce"]["bounceType"] for n in samples("ses") if "bounce" in n}
    assert bounces == {"Permanent", "Transient"}  # suppressed, and ignored


# -- SQS batches: the message model of each worker --------------------------------------------


@cache
def journey_timer() -> ModuleType:
    return load_handler("journey_timer")


def sqs_parser(function: str) -> Any:
    code = functions()[function]["CodeUri"].strip("/").rsplit("/", 1)[-1]
    parsers = {
        "job_alert_worker": parse_batch,
        "campaign_worker": parse_message,
        "journey_timer": journey_timer().TimerMessage.model_validate_json,
    }
    assert code in parsers, f"{function} reads SQS: add its message parser here"
    return parsers[code]


@pytest.mark.parametrize("name", samples("sqs"))
def test_sqs_sample_is_a_batch_its_worker_parses(name):
    batch = load(name)
    SqsModel.model_validate(batch)
    [function] = targets(name)
    parse = sqs_parser(function)
    for record in batch["Records"]:
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        message = parse(record["body"])
        assert message is not None


def test_the_campaign_samples_show_each_kind_of_message():
    kinds = {
        (m.kind, getattr(m, "first_tried_at", None) is not None)
        for n in samples("sqs")
        if targets(n) == {"CampaignWorkerFunction"}
        for m in (parse_message(r["body"]) for r in load(n)["Records"])
    }
    # the launch's fan-out, a page of the fan-out, a deferred recipient's timer, a segment of
    # a preview (its own queue)
    assert kinds == {("fanout", False), ("page", False), ("page", True), ("preview", False)}
    # the campaign of the create sample (events/http/admin-create-campaign.json)
    ids = {
        parse_message(r["body"]).campaign_id
        for n in samples("sqs")
        if targets(n) == {"CampaignWorkerFunction"}
        for r in load(n)["Records"]
    }
    assert ids == {SAMPLE_CAMPAIGN}


# -- schedules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in samples("schedule") if n not in MANUAL])
def test_schedule_sample_is_what_its_rule_delivers(name):
    event = load(name)
    EventBridgeModel.model_validate(event)
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
    [(function, rule)] = schedule_events(event)
    [props] = [p for f, n, p in triggers("Schedule") if (f, n) == (function, rule)]
    if "Input" in props:  # a rule with an Input delivers it instead of the envelope
        assert event == json.loads(props["Input"])


@pytest.mark.parametrize(
    ("name", "restart"),
    [("schedule/retention-sweeper.json", False), ("schedule/retention-sweeper-restart.json", True)],
)
def test_the_retention_sweeper_reads_its_samples(name, restart, monkeypatch, context):
    handler = load_handler("retention_sweeper")
    seen: list[bool] = []

    class Sweeper:
        def sweep(self, remaining: Any, *, restart: bool) -> Any:
            seen.append(restart)
            return type("Report", (), {"summary": lambda self: {}})()

    monkeypatch.setattr(handler, "retention_sweeper", Sweeper)
    handler.handler(load(name), context)
    assert seen == [restart]


# -- HTTP API (payload 2.0) -----------------------------------------------------------------


@cache
def resolver_routes() -> list[tuple[str, str, re.Pattern[str]]]:
    """(method, path, compiled rule) of every route of the resolver."""
    from talentops.api.app import build_app

    app = build_app()
    app.document()  # the /docs routes are added when first asked for (cold start)
    routes = [*app._static_routes, *app._dynamic_routes]
    assert routes, "Powertools keeps its routes elsewhere now: update this test"
    return [(str(r.method).upper(), str(r.path), r.rule) for r in routes]


@pytest.mark.parametrize("name", samples("http"))
def test_http_sample_is_a_payload_v2_event_of_a_route(name):
    event = load(name)
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    method, route = parsed.routeKey.split(" ", 1)
    assert parsed.requestContext.routeKey == parsed.routeKey
    assert parsed.requestContext.http.method == method
    assert parsed.requestContext.http.path == parsed.rawPath
    assert parsed.rawQueryString == urlencode(parsed.queryStringParameters or {})
    # The path is the route's with its parameters filled in.
    path = route
    for key, value in (parsed.pathParameters or {}).items():
        path = path.replace("{" + key + "}", value)
    assert path == parsed.rawPath, "pathParameters do not fill the route"
    function, props = http_routes()[parsed.routeKey]
    assert function == "ApiFunction"
    needs_iam = (props.get("Auth") or {}).get("Authorizer") == "AWS_IAM"
    iam = parsed.requestContext.authorizer.iam if parsed.requestContext.authorizer else None
    assert (iam is not None and iam.userArn is not None) == needs_iam
    # The resolver has a route for it.
    assert any(m == method and rule.match(parsed.rawPath) for m, _, rule in resolver_routes()), (
        f"no route of build_app() takes {method} {parsed.rawPath}"
    )
    if parsed.body is not None:
        raw = base64.b64decode(parsed.body) if parsed.isBase64Encoded else str(parsed.body).encode()
        assert parsed.headers["content-length"] == str(len(raw))


# -- completeness, derived from the code ------------------------------------------------------


def all_valid_samples() -> list[str]:
    return [n for f in FOLDERS for n in samples(f) if n not in INVALID]


def test_every_detail_type_a_rule_routes_has_a_sample_for_each_function():
    missing = []
    for function, name, props in triggers("EventBridgeRule"):
        for detail_type in props["Pattern"]["detail-type"]:
            if not any(
                load(n).get("detail-type") == detail_type and function in targets(n)
                for n in samples("bus") + samples("ses")
                if n not in INVALID
            ):
                missing.append(f"{function}.{name}: {detail_type}")
    assert not missing, f"add events/bus (or ses) samples for: {missing}"


def test_every_inbound_schema_has_a_sample():
    covered = {slug(load(n)["detail-type"]) for n in samples("bus") if n not in INVALID}
    inbound = {slug(t) for t in INBOUND_EVENTS}
    assert inbound <= {p.stem for p in (ROOT / "schemas").glob("*.json")}
    assert not inbound - covered, f"schemas without a sample: {sorted(inbound - covered)}"


def test_every_route_has_a_sample():
    sampled = {
        (load(n)["routeKey"].split(" ")[0], shape(load(n)["routeKey"].split(" ", 1)[1]))
        for n in samples("http")
    }
    openapi = json.loads((ROOT / "docs" / "openapi.json").read_text())
    documented = {
        (method.upper(), shape(path))
        for path, item in openapi["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    declared = {(k.split(" ")[0], shape(k.split(" ", 1)[1])) for k in http_routes()}
    served = {(m, shape(path)) for m, path, _ in resolver_routes()}
    assert documented <= declared, "docs/openapi.json has routes template.yaml does not declare"
    assert served == declared, "the resolver and template.yaml disagree about the routes"
    assert not declared - sampled, f"routes without an events/http sample: {declared - sampled}"
    assert not sampled - declared, f"samples of routes that do not exist: {sampled - declared}"


def test_every_queue_and_schedule_trigger_has_a_sample():
    for kind, folder, of in (("SQS", "sqs", sqs_events), ("Schedule", "schedule", schedule_events)):
        wanted = {(function, name) for function, name, _ in triggers(kind)}
        have = set().union(*(of(load(n)) for n in samples(folder) if n not in MANUAL))
        assert wanted <= have, f"{kind} events without a sample: {sorted(wanted - have)}"


def test_every_triggered_function_has_a_sample():
    kinds = {"EventBridgeRule", "SQS", "Schedule", "HttpApi"}
    unknown = {
        (f, n, e["Type"])
        for f, p in functions().items()
        for n, e in (p.get("Events") or {}).items()
        if e["Type"] not in kinds
    }
    assert not unknown, f"a trigger type without samples (add a folder and checks): {unknown}"
    triggered = {f for f, p in functions().items() if p.get("Events")}
    have = set().union(*(targets(n) for n in all_valid_samples()))
    assert triggered <= have, f"functions without a sample: {triggered - have}"


# -- events/README.md ---------------------------------------------------------------------------

COMMAND = re.compile(r"sam local invoke (\w+) -e events/(\S+\.json)")


def test_the_readme_gives_the_command_of_every_sample():
    readme = (EVENTS / "README.md").read_text()
    commands = set(COMMAND.findall(readme))
    wanted = {
        (function, name)
        for name in [*all_valid_samples(), *sorted(INVALID)]
        for function in targets(name)
    }
    assert not wanted - commands, f"events/README.md lacks: {sorted(wanted - commands)}"
    stale = {(f, n) for f, n in commands if not (EVENTS / n).exists() or (f, n) not in wanted}
    assert not stale, f"events/README.md names samples or functions that do not fit: {stale}"


# -- through the real handlers under moto --------------------------------------------------------

KEY = b"0123456789abcdef0123456789abcdef"  # the `aws` fixture's SSM token key
# The samples' own time (their envelopes say 2026-12-04T10:00Z): the handlers run at it, so
# that what they do with a sample does not depend on the day the tests run.
SAMPLE_NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="module")
def _fast_transactions():
    """moto copies the whole table per transaction item; see devstack/moto_patches.py."""
    from devstack.moto_patches import install

    uninstall = install()
    yield
    uninstall()


@pytest.fixture
def wired(aws, monkeypatch, tmp_path):
    """The `aws` account plus the job-alert and campaign queues and an empty event lake,
    every wiring fresh, the clock at the samples' time."""
    from talentops import wiring
    from talentops.campaigns import wiring as campaigns
    from talentops.clock import SYSTEM_CLOCK
    from talentops.job_alerts import wiring as job_alerts

    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", SAMPLE_NOW)
    monkeypatch.setattr(SYSTEM_CLOCK, "offset", timedelta(0))
    sqs = aws.client("sqs")
    for queue, variable in (
        ("jobs", "JOB_ALERT_QUEUE_URL"),
        ("campaigns", "CAMPAIGN_QUEUE_URL"),
        ("campaign-previews", "CAMPAIGN_PREVIEW_QUEUE_URL"),
    ):
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        monkeypatch.setenv(variable, url)
        if queue == "campaigns":
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            monkeypatch.setenv("CAMPAIGN_QUEUE_ARN", arn["Attributes"]["QueueArn"])
    monkeypatch.setenv("CAMPAIGN_SCHEDULE_GROUP", TIMER_GROUP)
    monkeypatch.setenv("CAMPAIGN_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/scheduler")
    monkeypatch.setenv("LAKE_DIR", str(tmp_path / "lake"))
    # The test send sample's address (events/http/admin-test-message.json).
    monkeypatch.setenv("TEST_SEED_LIST", "qa@talent.example.com")
    for module in (wiring, campaigns, job_alerts):
        module.reset()
    yield aws
    for module in (campaigns, job_alerts):
        module.reset()


@cache
def handler_of(function: str) -> ModuleType:
    code = functions()[function]["CodeUri"].strip("/").rsplit("/", 1)[-1]
    return load_handler(code)


def seed_candidate(context: Any) -> str:
    """The samples' candidate, from the samples: the profile and an events grant."""
    ingest = handler_of("IngestProfileFunction")
    result = ingest.handler(load("bus/candidate-profile-updated.json"), context)
    ingest.handler(load("bus/candidate-consent-granted.json"), context)
    return str(result["candidate_id"])


def filled(name: str, candidate_id: str) -> dict[str, Any]:
    """The sample with its stand-ins replaced: the token (scope unsub, as the preference and
    unsubscribe links carry) and the candidate id become the seeded candidate's."""
    text = (EVENTS / name).read_text()
    token = TokenSigner(KEY).issue(
        candidate_id=candidate_id,
        purpose="events",
        message_id="m_sample",
        scope="unsub",
        now=SAMPLE_NOW,
        ttl=timedelta(days=1),
    )
    text = text.replace(TOKEN_PLACEHOLDER, token).replace(SAMPLE_CANDIDATE, candidate_id)
    data = json.loads(text)
    for record in data.get("Records", []):  # the body changed: so does its digest
        record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()
    return data  # type: ignore[no-any-return]


def create_sample_campaign(context: Any) -> None:
    created = handler_of("ApiFunction").handler(load("http/admin-create-campaign.json"), context)
    assert created["statusCode"] == 201, created
    assert json.loads(created["body"])["campaign_id"] == SAMPLE_CAMPAIGN


def create_sample_segment(context: Any) -> None:
    created = handler_of("ApiFunction").handler(load("http/admin-create-segment.json"), context)
    assert created["statusCode"] == 201, created
    assert json.loads(created["body"])["segment_id"] == SAMPLE_SEGMENT


def outline(result: dict[str, Any], candidate_id: str) -> dict[str, Any]:
    """What a bus handler's result says, in short; the seeded candidate's id as SEEDED."""
    out: dict[str, Any] = {
        k: "SEEDED" if result[k] == candidate_id else result[k]
        for k in ("candidate_id", "erased", "stored", "job_id", "status", "enqueued")
        if k in result
    }
    if "decisions" in result:
        out["decisions"] = [(d["template"], d["outcome"]) for d in result["decisions"]]
    if "journeys" in result:
        out["journeys"] = [(j["journey"], j["status"]) for j in result["journeys"]]
    return out


# Samples that need another first: the application ends the nurture the job view started.
PRELUDE = {"bus/candidate-application-submitted.json": ["bus/candidate-job-viewed.json"]}
# HTTP samples that need others first: a campaign is paused once launched, resumed once paused.
HTTP_PRELUDE = {
    "http/admin-pause-campaign.json": ["http/admin-launch-campaign.json"],
    "http/admin-resume-campaign.json": [
        "http/admin-launch-campaign.json",
        "http/admin-pause-campaign.json",
    ],
}
# What each function makes of each bus sample, for the seeded candidate (profile and events
# grant; the `ref` and the address of the samples are the seeded candidate's).
BUS_OUTCOMES: dict[tuple[str, str], dict[str, Any]] = {
    ("bus/candidate-profile-updated.json", "IngestProfileFunction"): {"candidate_id": "SEEDED"},
    ("bus/candidate-consent-granted.json", "IngestProfileFunction"): {"candidate_id": "SEEDED"},
    ("bus/candidate-consent-withdrawn.json", "IngestProfileFunction"): {"candidate_id": "SEEDED"},
    ("bus/candidate-event-registered.json", "JourneysFunction"): {
        "decisions": [("event_registration_confirmation", "send")],
        "journeys": [("event", "active")],
    },
    ("bus/candidate-event-attended.json", "JourneysFunction"): {
        "decisions": [("event_attended_followup", "send")],
        "journeys": [],
    },
    ("bus/candidate-event-no-show.json", "JourneysFunction"): {
        "decisions": [("event_no_show_followup", "send")],
        "journeys": [],
    },
    ("bus/candidate-job-viewed.json", "JourneysFunction"): {
        "decisions": [],
        "journeys": [("job_nurture", "active")],
    },
    ("bus/candidate-application-submitted.json", "JourneysFunction"): {
        "decisions": [],
        "journeys": [("job_nurture", "exited")],
    },
    ("bus/candidate-profile-changed.json", "JourneysFunction"): {"decisions": [], "journeys": []},
    ("bus/job-opened.json", "JobFanoutFunction"): {
        "job_id": "job-4711",
        "status": "done",
        "enqueued": 1,  # the seeded candidate fits the job
    },
    ("bus/candidate-erasure-requested.json", "CandidateErasureFunction"): {
        "candidate_id": "SEEDED",
        "erased": True,
    },
    **{
        (f"bus/candidate-event-{kind}.json", "RecordEventFunction"): {"stored": True}
        for kind in ("registered", "attended", "no-show")
    },
}


@pytest.mark.parametrize("name", [n for n in samples("bus") if n not in INVALID])
def test_bus_sample_runs_through_each_function_that_takes_it(name, wired, context):
    candidate_id = seed_candidate(context)
    for before in PRELUDE.get(name, []):
        for function in sorted(targets(before)):
            handler_of(function).handler(filled(before, candidate_id), context)
    for function in sorted(targets(name)):
        assert (name, function) in BUS_OUTCOMES, f"say what {function} makes of {name}"
        result = handler_of(function).handler(filled(name, candidate_id), context)
        assert outline(result, candidate_id) == BUS_OUTCOMES[(name, function)], result


# What SesFeedbackFunction makes of each SES sample about a message it sent.
SES_OUTCOMES = {
    "ses/email-bounced.json": ("bounce", None),
    "ses/email-bounced-transient.json": ("ignore", None),
    "ses/email-complaint-received.json": ("complaint", None),
    "ses/email-sent.json": ("send", None),
    "ses/email-delivered.json": ("delivery", "Message Delivered"),
    "ses/email-opened.json": ("open", "Message Opened"),
    "ses/email-clicked.json": ("click", "Message Clicked"),
}


@pytest.mark.parametrize("name", samples("ses"))
def test_ses_sample_runs_through_ses_feedback(name, wired, context):
    """About a message the system sent (the attended sample's follow-up): its tags name that
    send's decision, as SES repeats the send's tags."""
    from talentops import wiring

    assert name in SES_OUTCOMES, f"say what SesFeedbackFunction makes of {name}"
    candidate_id = seed_candidate(context)
    handler_of("JourneysFunction").handler(load("bus/candidate-event-attended.json"), context)
    [sent] = [d for d in wiring.repository().decisions(candidate_id) if d.outcome == "send"]
    wired.drain()
    event = json.loads(
        json.dumps(filled(name, candidate_id)).replace(SAMPLE_DECISION, sent.decision_id)
    )
    result = handler_of("SesFeedbackFunction").handler(event, context)
    kind, fact = SES_OUTCOMES[name]
    assert result["kind"] == kind, result
    if kind in ("bounce", "complaint"):
        assert result["profiles"] == 1, result
    published = [e for e in wired.drain() if e["detail-type"] in ENGAGEMENT_FACTS.values()]
    if fact is None:
        assert not published
    else:
        [engaged] = published
        assert engaged["detail-type"] == fact
        assert engaged["detail"]["decision_id"] == sent.decision_id
        assert "t=" not in json.dumps(engaged["detail"])  # the link token stays in the email


def test_the_malformed_sample_fails_where_it_is_dead_lettered(wired, context):
    event = load("bus/candidate-event-malformed.json")
    with pytest.raises(InvalidEventError):
        handler_of("RecordEventFunction").handler(event, context)
    assert handler_of("JourneysFunction").handler(event, context) == {"dropped": "malformed"}


def grant(context: Any, *purposes: str) -> None:
    """More grants for the seeded candidate (the consent sample with another purpose)."""
    for purpose in purposes:
        event = load("bus/candidate-consent-granted.json")
        event["id"] += f"-{purpose}"
        event["detail"]["purpose"] = purpose
        handler_of("IngestProfileFunction").handler(event, context)


def due_timer(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The input of the one journey timer scheduled, as Scheduler delivers it; the clock
    moves on to the time it fires."""
    from talentops.clock import SYSTEM_CLOCK

    scheduler = aws.client("scheduler")
    [entry] = scheduler.list_schedules(GroupName=TIMER_GROUP)["Schedules"]
    schedule = scheduler.get_schedule(GroupName=TIMER_GROUP, Name=entry["Name"])
    at = re.fullmatch(r"at\((.+)\)", schedule["ScheduleExpression"])
    assert at, schedule["ScheduleExpression"]
    monkeypatch.setattr(SYSTEM_CLOCK, "fixed", datetime.fromisoformat(at[1]).replace(tzinfo=UTC))
    return str(schedule["Target"]["Input"])


# What the seeded candidate (with marketing and job-alert grants) gets from each batch.
SENDS = {
    "sqs/job-alert-batch.json": 1,  # the first message names the candidate, the second not
    "sqs/campaign-fanout.json": 0,  # the fan-out queues pages, it sends nothing
    "sqs/campaign-page.json": 1,
    "sqs/campaign-deferred.json": 1,
    "sqs/campaign-preview.json": 0,  # a preview sends nothing
    "sqs/journey-timer.json": 1,  # the nurture's wait ends: its nudge
}


@pytest.mark.parametrize("name", samples("sqs"))
def test_sqs_sample_is_processed_by_its_worker(name, wired, context, monkeypatch):
    """The worker takes every record (no partial batch failure) and acts on it: the ids of
    the sample are the seeded candidate's, the campaign is the create sample's (launched),
    the timer is the one the job-viewed sample started (the clock at its time)."""
    assert name in SENDS, f"say what {name} does to the seeded candidate"
    candidate_id = seed_candidate(context)
    grant(context, "marketing", "job_alerts")
    [function] = targets(name)
    batch = filled(name, candidate_id)
    if function == "CampaignWorkerFunction":
        create_sample_campaign(context)
        launched = handler_of("ApiFunction").handler(
            load("http/admin-launch-campaign.json"), context
        )
        assert launched["statusCode"] == 202, launched
    if name == "sqs/campaign-preview.json":
        # The sample's run is the campaign's preview, of one segment (POST would pick a new
        # run id and 16 segments).
        from talentops.adapters.campaigns import CampaignRepository

        message = json.loads(batch["Records"][0]["body"])
        assert CampaignRepository(TABLE).start_preview(
            SAMPLE_CAMPAIGN,
            run=message["run"],
            replaces=None,
            started_at=SAMPLE_NOW,
            at=SAMPLE_NOW,
            segments=message["segments"],
        )
    if function == "JourneyTimerFunction":
        # The job is known (its Job Opened), the candidate viewed it: the nurture waits.
        handler_of("JobFanoutFunction").handler(load("bus/job-opened.json"), context)
        handler_of("JourneysFunction").handler(
            filled("bus/candidate-job-viewed.json", candidate_id), context
        )
        timer_input = due_timer(wired, monkeypatch)
        timer = json.loads(timer_input)
        assert timer["candidate_id"] == candidate_id
        # The sample's body is what Scheduler delivers: the same keys, written the same way.
        [record] = batch["Records"]
        sample = json.loads(record["body"])
        assert set(sample) == set(timer)
        assert record["body"] == json.dumps(sample, separators=(",", ":"), sort_keys=True)
        record["body"] = timer_input
        record["md5OfBody"] = hashlib.md5(timer_input.encode()).hexdigest()
    worker = handler_of(function)
    assert worker.handler(batch, context) == {"batchItemFailures": []}
    assert len(wired.sent_emails()) == SENDS[name]
    if function == "CampaignWorkerFunction":
        status = handler_of("ApiFunction").handler(load("http/admin-campaign-status.json"), context)
        shown = json.loads(status["body"])
        assert shown["counts"]["sent"] == SENDS[name], shown["counts"]
        if name == "sqs/campaign-fanout.json":  # the pool read, its page queued
            assert shown["progress"]["fanout_done"] and shown["progress"]["messages"] == 1
        if name == "sqs/campaign-preview.json":  # the pool read, the preview done
            answer = handler_of("ApiFunction").handler(
                load("http/admin-campaign-preview.json"), context
            )
            assert answer["statusCode"] == 200, answer
            preview = json.loads(answer["body"])
            assert (preview["preview"], preview["scanned"], preview["would_send"]) == (
                "done",
                1,
                1,
            )
    if function == "JourneyTimerFunction":
        from talentops.adapters.journeys import JourneyRepository

        [instance] = [
            i.data
            for i in JourneyRepository(TABLE).instances(candidate_id)
            if i.data["instance_id"] == timer["instance_id"]
        ]
        assert (instance["status"], instance["step"]) == ("completed", "nudge"), instance


@pytest.mark.parametrize("name", samples("schedule"))
def test_schedule_sample_runs_its_function(name, wired, context):
    [function] = targets(name)
    result = handler_of(function).handler(load(name), context)
    assert isinstance(result, dict) and result, result


@pytest.mark.parametrize("name", samples("http"))
def test_http_sample_is_answered_by_the_api(name, wired, context):
    """The route answers the sample with success: its token and candidate id are the seeded
    candidate's; the campaign routes find the campaign of the create sample."""
    candidate_id = seed_candidate(context)
    if "campaign" in name and name != "http/admin-create-campaign.json":
        create_sample_campaign(context)
    if name == "http/admin-get-segment.json":
        create_sample_segment(context)
    if name == "http/admin-campaign-preview.json":  # a preview to follow: POST starts it
        started = handler_of("ApiFunction").handler(
            load("http/admin-preview-campaign.json"), context
        )
        assert started["statusCode"] == 202, started
    for before in HTTP_PRELUDE.get(name, []):
        answer = handler_of("ApiFunction").handler(load(before), context)
        assert 200 <= answer["statusCode"] < 300, (before, answer.get("body"))
    response = handler_of("ApiFunction").handler(filled(name, candidate_id), context)
    assert 200 <= response["statusCode"] < 300, (response["statusCode"], response.get("body"))


def test_the_detail_type_names_are_the_models_maps():
    """models/detail_types.py lists the names without the models (for the lake transform);
    each list is exactly the keys of the map of its direction."""
    from talentops.models import detail_types
    from talentops.models.careers import CAREERS_SITE_EVENTS

    assert set(INBOUND_EVENTS) == detail_types.INBOUND
    assert set(OUTBOUND_EVENTS) == detail_types.OUTBOUND
    assert set(CAREERS_SITE_EVENTS) == detail_types.CAREERS_SITE
