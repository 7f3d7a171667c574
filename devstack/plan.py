"""From the translated template: what moto's CloudFormation creates, and what the local stack
wires itself (functions, mirrored rules, queue sources, routes, resources moto cannot build).

Pure: no AWS calls, so it is unit-tested on its own.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.parsing import get_model_map

from .intrinsics import references, replace_references

FUNCTION_TYPE = "AWS::Lambda::Function"
ALIAS_TYPE = "AWS::Lambda::Alias"
BUS_TYPE = "AWS::Events::EventBus"
RULE_TYPE = "AWS::Events::Rule"
QUEUE_TYPE = "AWS::SQS::Queue"
INVOKE_CONFIG_TYPE = "AWS::Lambda::EventInvokeConfig"
MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
HTTP_API_TYPE = "AWS::ApiGatewayV2::Api"
LAYER_TYPE = "AWS::Lambda::LayerVersion"
ROLE_TYPE = "AWS::IAM::Role"
STREAM_TYPE = "AWS::KinesisFirehose::DeliveryStream"
# The event lake's analytics on AWS (the Glue catalogue, Athena): locally the lake is a folder
# that the API reads with DuckDB, so these are left out and references to them are empty.
LAKE_ANALYTICS_PREFIXES = ("AWS::Glue::", "AWS::Athena::")

# Resources that only make sense to the Lambda / API Gateway machinery the stack replaces,
# and the operations around it that mean nothing locally (no CloudWatch metrics, no
# CodeDeploy): alarms, their notification plumbing and traffic shifting, left out quietly.
_DROPPED_PREFIXES = (
    "AWS::Lambda::",
    "AWS::ApiGatewayV2::",
    "AWS::ApiGateway::",
    "AWS::CloudWatch::Alarm",
    "AWS::CodeDeploy::",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::S3::BucketPolicy",  # moto does not enforce bucket policies
    *LAKE_ANALYTICS_PREFIXES,
)
_SERVICE_ROLE_PRINCIPALS = {
    "lambda.amazonaws.com",
    "scheduler.amazonaws.com",
    "apigateway.amazonaws.com",
    "events.amazonaws.com",
    "codedeploy.amazonaws.com",  # AutoPublishAlias + DeploymentPreference: traffic shifting
    "firehose.amazonaws.com",  # the delivery streams are emulated (devstack/firehose.py)
}
# Types moto's CloudFormation lacks but that the stack creates with plain API calls.
DIRECT_TYPES = (
    "AWS::Logs::LogStream",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::EmailIdentity",
    "AWS::Scheduler::ScheduleGroup",
    "AWS::Scheduler::Schedule",
)
_MIRROR_VISIBILITY_SECONDS = 900
_ANY_METHOD = "x-amazon-apigateway-any-method"
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
_FUNCTION_IN_URI = re.compile(r"\$\{(\w+)\.Arn\}")


@dataclass(frozen=True)
class MirrorTarget:
    """A rule target that was a function. On a pattern rule it becomes an SQS queue the stack
    polls (`queue_id`); a scheduled rule loses it in moto and the schedule engine invokes the
    function itself (`queue_id` empty)."""

    rule_id: str
    target_id: str
    function_id: str
    queue_id: str
    scheduled: bool
    input: Any = None
    input_path: Any = None
    input_transformer: Any = None

    def target_fields(self) -> dict[str, Any]:
        """The target's input settings, in the shape of an EventBridge target."""
        fields = {
            "Input": self.input,
            "InputPath": self.input_path,
            "InputTransformer": self.input_transformer,
        }
        return {key: value for key, value in fields.items() if value is not None}


@dataclass(frozen=True)
class StreamPlan:
    """A Firehose delivery stream, emulated by the stack (devstack/firehose.py): its
    destination's properties and the function of its Lambda processor, if any."""

    stream_id: str
    destination: dict[str, Any]  # ExtendedS3DestinationConfiguration (unresolved)
    processor_id: str | None


@dataclass(frozen=True)
class StreamTarget:
    """A rule target that was a delivery stream: an SQS queue the stack polls and hands, in
    batches, to the stream's emulation."""

    rule_id: str
    target_id: str
    stream_id: str
    queue_id: str


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping (`Type: SQS` event)."""

    mapping_id: str
    function_id: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class RoutePlan:
    api_id: str
    method: str  # upper case, or ANY
    path: str  # OpenAPI path, e.g. /content/{slot}; "$default" for the catch-all
    function_id: str
    iam: bool
    payload_version: str
    unsupported_auth: str | None = None


@dataclass
class StackPlan:
    cfn_template: dict[str, Any]
    resource_types: dict[str, str]  # every logical id of the translated template -> type
    functions: dict[str, dict[str, Any]]  # function id -> translated Properties
    invoke_configs: dict[str, dict[str, Any]]  # function id -> EventInvokeConfig Properties
    mirrors: list[MirrorTarget]
    queue_sources: list[QueueSource]
    routes: list[RoutePlan]
    direct: dict[str, dict[str, Any]]  # logical id -> resource (types in DIRECT_TYPES)
    layers: dict[str, dict[str, Any]]  # layer id -> translated Properties
    dropped: set[str]
    cors: dict[str, Any] = field(default_factory=dict)  # HTTP API id -> x-amazon-apigateway-cors
    skipped: dict[str, str] = field(default_factory=dict)  # unsupported by moto: id -> type
    streams: dict[str, StreamPlan] = field(default_factory=dict)  # emulated Firehose streams
    stream_targets: list[StreamTarget] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def stack_ids(self) -> set[str]:
        return set(self.cfn_template["Resources"])


def api_id_for(logical_id: str) -> str:
    """A stable, API-Gateway-shaped id for a local HTTP API."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


def build_plan(translated: dict[str, Any]) -> StackPlan:
    resources: dict[str, dict[str, Any]] = copy.deepcopy(translated["Resources"])
    types = {logical_id: str(r.get("Type", "")) for logical_id, r in resources.items()}
    resources = _aliases_to_functions(resources, types)
    functions = {
        lid: r.get("Properties", {}) for lid, r in resources.items() if types[lid] == FUNCTION_TYPE
    }
    warnings: list[str] = []
    plan = StackPlan(
        cfn_template={},
        resource_types=types,
        functions=functions,
        invoke_configs=_invoke_configs(resources, types),
        mirrors=[],
        queue_sources=_queue_sources(resources, types, warnings),
        routes=_routes(resources, types, warnings),
        direct={lid: r for lid, r in resources.items() if types[lid] in DIRECT_TYPES},
        layers={
            lid: r.get("Properties", {}) for lid, r in resources.items() if types[lid] == LAYER_TYPE
        },
        dropped={lid for lid, r in resources.items() if _is_dropped(types[lid], r)},
        warnings=warnings,
        cors=_cors(resources, types),
        streams=_streams(resources, types, warnings),
    )
    plan.dropped |= set(plan.streams)
    kept = {
        lid: r for lid, r in resources.items() if lid not in plan.dropped and lid not in plan.direct
    }
    for rule_id in [lid for lid in kept if types[lid] == RULE_TYPE]:
        _mirror_rule(rule_id, kept, types, plan)
    _drop_dependent_iam(kept, types, plan)
    for logical_id in list(kept):
        if types[logical_id] not in get_model_map():
            plan.skipped[logical_id] = types[logical_id]
            del kept[logical_id]
    kept = {lid: _bus_refs_by_name(r, types) for lid, r in kept.items()}
    plan.cfn_template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": translated.get("Parameters", {}),
        "Conditions": translated.get("Conditions", {}),
        "Mappings": translated.get("Mappings", {}),
        "Resources": kept,
        "Outputs": _kept_outputs(translated.get("Outputs", {}), set(kept), types),
    }
    return plan


def _aliases_to_functions(
    resources: dict[str, dict[str, Any]], types: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """With AutoPublishAlias, event sources (rule targets, queue mappings, API integrations)
    invoke a function's alias; locally each function has one version, so a reference to an
    alias becomes one to its function."""
    function_of_alias: dict[str, str] = {}
    for lid, resource in resources.items():
        if types[lid] == ALIAS_TYPE:
            refs = list(references((resource.get("Properties") or {}).get("FunctionName")))
            if len(refs) == 1 and types.get(refs[0][0]) == FUNCTION_TYPE:
                function_of_alias[lid] = refs[0][0]
    if not function_of_alias:
        return resources

    def replace(logical_id: str, attribute: str | None) -> Any:
        if logical_id in function_of_alias and attribute is None:
            return {"Fn::GetAtt": [function_of_alias[logical_id], "Arn"]}
        return None

    return {lid: replace_references(r, replace) for lid, r in resources.items()}


def _streams(
    resources: dict[str, Any], types: dict[str, str], warnings: list[str]
) -> dict[str, StreamPlan]:
    streams = {}
    for lid, resource in resources.items():
        if types[lid] != STREAM_TYPE:
            continue
        properties = resource.get("Properties") or {}
        destination = properties.get("ExtendedS3DestinationConfiguration")
        if not isinstance(destination, dict):
            warnings.append(f"delivery stream {lid} has no ExtendedS3 destination; not emulated")
            continue
        processors = (destination.get("ProcessingConfiguration") or {}).get("Processors") or []
        processor_id = None
        for processor in processors:
            parameters = {
                p.get("ParameterName"): p.get("ParameterValue")
                for p in processor.get("Parameters") or []
            }
            if processor.get("Type") == "Lambda":
                processor_id = _function_of(parameters.get("LambdaArn"), types)
                if processor_id is None:
                    warnings.append(
                        f"delivery stream {lid} processes with a function outside the "
                        "template; its records are written untransformed"
                    )
        streams[lid] = StreamPlan(lid, destination, processor_id)
    return streams


def _is_dropped(resource_type: str, resource: dict[str, Any]) -> bool:
    if resource_type.startswith(_DROPPED_PREFIXES):
        return True
    if resource_type == ROLE_TYPE:
        document = (resource.get("Properties") or {}).get("AssumeRolePolicyDocument") or {}
        return bool(_principal_services(document) & _SERVICE_ROLE_PRINCIPALS)
    return False


def _principal_services(document: dict[str, Any]) -> set[str]:
    services: set[str] = set()
    for statement in document.get("Statement") or []:
        service = (statement.get("Principal") or {}).get("Service") or []
        services.update([service] if isinstance(service, str) else service)
    return services


def _function_of(node: Any, types: dict[str, str]) -> str | None:
    """The function logical id that an ARN node (GetAtt F.Arn / Ref F) designates."""
    if isinstance(node, dict) and len(node) == 1:
        refs = list(references(node))
        if len(refs) == 1 and types.get(refs[0][0]) == FUNCTION_TYPE:
            return refs[0][0]
    return None


def _invoke_configs(resources: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    configs = {}
    for lid, resource in resources.items():
        if types[lid] == INVOKE_CONFIG_TYPE:
            properties = resource.get("Properties", {})
            function_id = _function_of(properties.get("FunctionName"), types)
            if function_id:
                configs[function_id] = properties
    return configs


def _queue_sources(
    resources: dict[str, Any], types: dict[str, str], warnings: list[str]
) -> list[QueueSource]:
    sources = []
    for lid, resource in resources.items():
        if types[lid] != MAPPING_TYPE:
            continue
        properties = resource.get("Properties", {})
        function_id = _function_of(properties.get("FunctionName"), types)
        source_refs = list(references(properties.get("EventSourceArn")))
        if function_id and source_refs and types.get(source_refs[0][0]) == QUEUE_TYPE:
            sources.append(QueueSource(lid, function_id, properties))
        else:
            warnings.append(
                f"event source mapping {lid} is not an SQS queue of the template; "
                "it is not emulated"
            )
    return sources


def _mirror_rule(
    rule_id: str, kept: dict[str, Any], types: dict[str, str], plan: StackPlan
) -> None:
    properties = kept[rule_id].setdefault("Properties", {})
    scheduled = "ScheduleExpression" in properties
    new_targets = []
    for index, target in enumerate(properties.get("Targets") or []):
        stream_id = _stream_of(target.get("Arn"), plan)
        if stream_id is not None:
            queue_id = f"{rule_id}Mirror{index}"
            kept[queue_id] = {
                "Type": QUEUE_TYPE,
                "Properties": {"VisibilityTimeout": _MIRROR_VISIBILITY_SECONDS},
            }
            types[queue_id] = QUEUE_TYPE
            mirrored = {
                k: v
                for k, v in target.items()
                if k not in ("Arn", "RoleArn", "RetryPolicy", "DeadLetterConfig")
            }
            mirrored["Arn"] = {"Fn::GetAtt": [queue_id, "Arn"]}
            new_targets.append(mirrored)
            plan.stream_targets.append(
                StreamTarget(rule_id, str(target.get("Id", index)), stream_id, queue_id)
            )
            continue
        function_id = _function_of(target.get("Arn"), types)
        if function_id is None:
            if ":lambda:" in str(target.get("Arn")):
                plan.warnings.append(
                    f"rule {rule_id} targets a function outside the template; "
                    "that target is left out"
                )
            else:
                new_targets.append(target)
            continue
        target_id = str(target.get("Id", index))
        if scheduled:
            plan.mirrors.append(
                MirrorTarget(
                    rule_id=rule_id,
                    target_id=target_id,
                    function_id=function_id,
                    queue_id="",
                    scheduled=True,
                    input=target.get("Input"),
                    input_path=target.get("InputPath"),
                    input_transformer=target.get("InputTransformer"),
                )
            )
            continue
        queue_id = f"{rule_id}Mirror{index}"
        kept[queue_id] = {
            "Type": QUEUE_TYPE,
            "Properties": {"VisibilityTimeout": _MIRROR_VISIBILITY_SECONDS},
        }
        types[queue_id] = QUEUE_TYPE
        mirrored = {
            k: v
            for k, v in target.items()
            if k not in ("Arn", "Input", "InputPath", "RetryPolicy", "DeadLetterConfig")
        }
        mirrored["Arn"] = {"Fn::GetAtt": [queue_id, "Arn"]}
        new_targets.append(mirrored)
        plan.mirrors.append(
            MirrorTarget(
                rule_id=rule_id,
                target_id=target_id,
                function_id=function_id,
                queue_id=queue_id,
                scheduled=False,
                input=target.get("Input"),
                input_path=target.get("InputPath"),
            )
        )
    properties["Targets"] = new_targets


def _stream_of(node: Any, plan: StackPlan) -> str | None:
    """The emulated delivery stream that an ARN node (GetAtt S.Arn) designates."""
    refs = list(references(node)) if isinstance(node, dict) else []
    return refs[0][0] if len(refs) == 1 and refs[0][0] in plan.streams else None


def _drop_dependent_iam(kept: dict[str, Any], types: dict[str, str], plan: StackPlan) -> None:
    """IAM resources attached to dropped roles go too (moto would fail to attach them)."""
    changed = True
    while changed:
        changed = False
        for lid in list(kept):
            if types[lid].startswith("AWS::IAM::") and any(
                ref in plan.dropped for ref, _ in references(kept[lid])
            ):
                plan.dropped.add(lid)
                del kept[lid]
                changed = True


def _bus_refs_by_name(resource: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    """moto answers `Ref` of an event bus with an object, not its name: use GetAtt Name."""

    def replace(logical_id: str, attribute: str | None) -> Any:
        if attribute is None and types.get(logical_id) == BUS_TYPE:
            return {"Fn::GetAtt": [logical_id, "Name"]}
        return None

    rewritten: dict[str, Any] = replace_references(resource, replace)
    return rewritten


def _kept_outputs(outputs: dict[str, Any], kept: set[str], types: dict[str, str]) -> dict[str, Any]:
    result = {}
    for name, output in outputs.items():
        if all(ref in kept or ref.startswith("AWS::") for ref, _ in references(output)):
            result[name] = _bus_refs_by_name(output, types)
    return result


def _cors(resources: dict[str, Any], types: dict[str, str]) -> dict[str, Any]:
    found = {}
    for lid, resource in resources.items():
        body = (resource.get("Properties") or {}).get("Body")
        if (
            types[lid] == HTTP_API_TYPE
            and isinstance(body, dict)
            and body.get("x-amazon-apigateway-cors")
        ):
            found[lid] = body["x-amazon-apigateway-cors"]
    return found


def _routes(
    resources: dict[str, Any], types: dict[str, str], warnings: list[str]
) -> list[RoutePlan]:
    routes: list[RoutePlan] = []
    for lid, resource in resources.items():
        if types[lid] != HTTP_API_TYPE:
            continue
        body = (resource.get("Properties") or {}).get("Body")
        if not isinstance(body, dict):
            warnings.append(f"HTTP API {lid} has no inline OpenAPI body; its routes are not served")
            continue
        routes.extend(_routes_of_body(lid, body, types, warnings))
    return routes


def _routes_of_body(
    api_id: str, body: dict[str, Any], types: dict[str, str], warnings: list[str]
) -> list[RoutePlan]:
    schemes = ((body.get("components") or {}).get("securitySchemes")) or {}
    default_security = body.get("security")
    routes = []
    for path, item in (body.get("paths") or {}).items():
        for key, operation in (item or {}).items():
            method = "ANY" if key == _ANY_METHOD else key.upper() if key in _HTTP_METHODS else None
            if method is None or not isinstance(operation, dict):
                continue
            integration = operation.get("x-amazon-apigateway-integration") or {}
            function_id = _function_in_uri(integration.get("uri"), types)
            if function_id is None:
                warnings.append(f"route {method} {path} has no function integration; not served")
                continue
            iam, unsupported = _route_auth(operation.get("security", default_security), schemes)
            routes.append(
                RoutePlan(
                    api_id=api_id,
                    method=method,
                    path="$default" if path.strip("/") == "$default" else path,
                    function_id=function_id,
                    iam=iam,
                    payload_version=str(integration.get("payloadFormatVersion", "2.0")),
                    unsupported_auth=unsupported,
                )
            )
    return routes


def _function_in_uri(uri: Any, types: dict[str, str]) -> str | None:
    for logical_id, attribute in references(uri):
        if types.get(logical_id) == FUNCTION_TYPE and attribute in ("Arn", None):
            return logical_id
    text = uri if isinstance(uri, str) else ""
    match = _FUNCTION_IN_URI.search(text)
    return match.group(1) if match and types.get(match.group(1)) == FUNCTION_TYPE else None


def _route_auth(security: Any, schemes: dict[str, Any]) -> tuple[bool, str | None]:
    names = [name for requirement in security or [] for name in (requirement or {})]
    iam = False
    unsupported = None
    for name in names:
        scheme = schemes.get(name) or {}
        if name == "AWS_IAM" or scheme.get("x-amazon-apigateway-authtype") == "awsSigv4":
            iam = True
        elif name != "NONE":
            unsupported = name
    return iam, unsupported
