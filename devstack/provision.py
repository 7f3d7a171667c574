"""Creates the template's resources in moto: the stack through moto's CloudFormation, the
types it lacks through plain API calls, and answers every reference (Ref / GetAtt) to them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .aws import AwsClients, StartupError
from .config import LocalConfig
from .intrinsics import Resolver, UnresolvableError, references, replace_references
from .log import get_logger
from .plan import (
    BUS_TYPE,
    FUNCTION_TYPE,
    HTTP_API_TYPE,
    LAKE_ANALYTICS_PREFIXES,
    QUEUE_TYPE,
    RULE_TYPE,
    STREAM_TYPE,
    StackPlan,
    api_id_for,
)

log = get_logger("provision")
_OUTPUT_PREFIX = "DevstackRef"


class PendingStackError(UnresolvableError):
    """A reference to a stack resource asked before the stack exists."""


def pseudo_parameters(config: LocalConfig) -> dict[str, Any]:
    return {
        "AWS::Region": config.region,
        "AWS::AccountId": config.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": config.stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{config.region}:{config.account_id}:"
        f"stack/{config.stack_name}/local",
        "AWS::NotificationARNs": [],
    }


class Provisioner:
    """Owns every physical value: stack resources, direct resources, virtual (dropped) ones."""

    def __init__(
        self,
        config: LocalConfig,
        plan: StackPlan,
        template_parameters: dict[str, Any],
        translated: dict[str, Any],
        clients: AwsClients,
    ):
        self.config = config
        self.plan = plan
        self.clients = clients
        self.template_parameters = template_parameters
        self.resolver = Resolver(
            parameters={**template_parameters, **pseudo_parameters(config)},
            lookup=self.lookup,
            conditions=translated.get("Conditions") or {},
            mappings=translated.get("Mappings") or {},
        )
        self._stack_created = False
        self._stack_values: dict[tuple[str, str | None], Any] = {}
        self._direct_values: dict[str, dict[str | None, Any]] = {}
        self._virtual_names: dict[str, str] = {}
        self._ref_outputs: dict[str, tuple[str, str | None]] = {}

    # -- references ---------------------------------------------------------------------------

    def lookup(self, logical_id: str, attribute: str | None) -> Any:
        if logical_id in self._direct_values:
            return self._direct_value(logical_id, attribute)
        if logical_id in self.plan.stack_ids:
            return self._stack_value(logical_id, attribute)
        if logical_id in self.plan.direct:
            raise PendingStackError(f"{logical_id} is not created yet")
        if logical_id in self.plan.resource_types and logical_id not in self.plan.skipped:
            return self._virtual_value(logical_id, attribute)
        if logical_id in self.plan.skipped:
            raise UnresolvableError(
                f"{logical_id} ({self.plan.skipped[logical_id]}) is not emulated locally"
            )
        raise UnresolvableError(f"unknown reference {logical_id}")

    def _direct_value(self, logical_id: str, attribute: str | None) -> Any:
        values = self._direct_values[logical_id]
        if attribute not in values:
            raise UnresolvableError(f"{logical_id}.{attribute} is not known locally")
        return values[attribute]

    def _stack_value(self, logical_id: str, attribute: str | None) -> Any:
        if not self._stack_created:
            raise PendingStackError(f"{logical_id} is a stack resource")
        key = (logical_id, attribute)
        if key not in self._stack_values:
            raise UnresolvableError(f"{logical_id}.{attribute or 'Ref'} was not read back")
        value = self._stack_values[key]
        if attribute is None and self.plan.resource_types.get(logical_id) == QUEUE_TYPE:
            return self.clients.queue_url(str(value))
        return value

    def function_name(self, logical_id: str) -> str:
        if logical_id not in self._virtual_names:
            properties = self.plan.functions.get(logical_id, {})
            explicit = properties.get("FunctionName")
            self._virtual_names[logical_id] = (
                str(self.resolver.resolve(explicit))
                if explicit
                else f"{self.config.stack_name}-{logical_id}"
            )
        return self._virtual_names[logical_id]

    def function_arn(self, logical_id: str) -> str:
        return (
            f"arn:aws:lambda:{self.config.region}:{self.config.account_id}:"
            f"function:{self.function_name(logical_id)}"
        )

    def _virtual_value(self, logical_id: str, attribute: str | None) -> Any:
        """Values of resources the stack replaces (functions, APIs, roles, layers...)."""
        resource_type = self.plan.resource_types[logical_id]
        region, account = self.config.region, self.config.account_id
        if resource_type == FUNCTION_TYPE:
            return (
                self.function_name(logical_id)
                if attribute is None
                else self.function_arn(logical_id)
            )
        if resource_type == HTTP_API_TYPE:
            if attribute == "ApiEndpoint":
                return self.config.api_url
            return api_id_for(logical_id)
        name = f"{self.config.stack_name}-{logical_id}"
        if resource_type == STREAM_TYPE:
            arn = f"arn:aws:firehose:{region}:{account}:deliverystream/{name}"
            return name if attribute is None else arn
        if resource_type.startswith(LAKE_ANALYTICS_PREFIXES):
            # The Glue catalogue and Athena are not emulated: the local lake is a folder
            # (LAKE_DIR), so their names are empty and the application reads the folder.
            return ""
        if resource_type == "AWS::IAM::Role":
            return name if attribute is None else f"arn:aws:iam::{account}:role/{name}"
        if resource_type == "AWS::Lambda::LayerVersion":
            return f"arn:aws:lambda:{region}:{account}:layer:{name}:1"
        service = resource_type.split("::")[1].lower() if "::" in resource_type else "local"
        return name if attribute is None else f"arn:aws:{service}:{region}:{account}:{name}"

    # -- creation -----------------------------------------------------------------------------

    def provision(self) -> None:
        deferred = self._create_direct(list(self.plan.direct), allow_pending=True)
        self._create_stack()
        if deferred:
            self._create_direct(deferred, allow_pending=False)
        self._enable_table_ttl()

    def _create_direct(self, logical_ids: list[str], allow_pending: bool) -> list[str]:
        """Creates resources in dependency order; returns those that wait for the stack."""
        pending = list(logical_ids)
        while pending:
            deferred, progressed = [], False
            for logical_id in pending:
                try:
                    properties = self.resolver.resolve(
                        self.plan.direct[logical_id].get("Properties") or {}
                    )
                except PendingStackError:
                    deferred.append(logical_id)
                    continue
                self._direct_values[logical_id] = create_direct_resource(
                    self.plan.resource_types[logical_id], logical_id, properties, self
                )
                log.info(
                    "resource created",
                    logical_id=logical_id,
                    type=self.plan.resource_types[logical_id],
                )
                progressed = True
            if not progressed:
                if allow_pending:
                    return deferred
                raise StartupError(f"cannot resolve the properties of {', '.join(deferred)}")
            pending = deferred
        return []

    def _create_stack(self) -> None:
        template = self._stack_template()
        cloudformation = self.clients.client("cloudformation")
        parameters = [
            {
                "ParameterKey": name,
                "ParameterValue": ",".join(value) if isinstance(value, list) else str(value),
            }
            for name, value in self.template_parameters.items()
        ]
        cloudformation.create_stack(
            StackName=self.config.stack_name,
            TemplateBody=json.dumps(template),
            Parameters=parameters,
        )
        stack = cloudformation.describe_stacks(StackName=self.config.stack_name)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise StartupError(
                f"moto could not create the stack: {stack['StackStatus']} "
                f"{stack.get('StackStatusReason', '')}"
            )
        outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
        for key, (logical_id, attribute) in self._ref_outputs.items():
            if outputs.get(key) not in (None, "None"):
                self._stack_values[(logical_id, attribute)] = outputs[key]
        for resource in cloudformation.describe_stack_resources(StackName=self.config.stack_name)[
            "StackResources"
        ]:
            if resource.get("PhysicalResourceId"):
                self._stack_values.setdefault(
                    (resource["LogicalResourceId"], None), resource["PhysicalResourceId"]
                )
        self._stack_created = True
        log.info(
            "stack created", stack=self.config.stack_name, resources=len(template["Resources"])
        )

    def _stack_template(self) -> dict[str, Any]:
        """The plan's template with references to non-stack resources made literal, plus one
        output per reference the stack has to answer."""
        template = dict(self.plan.cfn_template)
        stack_ids = self.plan.stack_ids
        literal = self._literal_for(stack_ids)
        template["Resources"] = {
            lid: replace_references(resource, literal)
            for lid, resource in template["Resources"].items()
        }
        outputs = {
            name: replace_references(output, literal)
            for name, output in (template.get("Outputs") or {}).items()
        }
        outputs = {
            name: output
            for name, output in outputs.items()
            if all(ref in stack_ids or ref.startswith("AWS::") for ref, _ in references(output))
        }
        self._ref_outputs = self._needed_references(stack_ids)
        for key, (logical_id, attribute) in self._ref_outputs.items():
            outputs[key] = {
                "Value": _reference_node(logical_id, attribute, self.plan.resource_types)
            }
        template["Outputs"] = outputs
        return template

    def _literal_for(self, stack_ids: set[str]) -> Callable[[str, str | None], Any]:
        def literal(logical_id: str, attribute: str | None) -> Any:
            if logical_id in stack_ids or logical_id not in self.plan.resource_types:
                return None
            try:
                return self.lookup(logical_id, attribute)
            except UnresolvableError:
                return None

        return literal

    def _needed_references(self, stack_ids: set[str]) -> dict[str, tuple[str, str | None]]:
        nodes: list[Any] = [
            self.plan.functions,
            self.plan.invoke_configs,
            [source.properties for source in self.plan.queue_sources],
            [resource for resource in self.plan.direct.values()],
            [stream.destination for stream in self.plan.streams.values()],
        ]
        needed = {ref for ref in references(nodes) if ref[0] in stack_ids}
        needed |= {(lid, None) for lid in stack_ids}
        with_arn = (QUEUE_TYPE, BUS_TYPE, RULE_TYPE)
        needed |= {(lid, "Arn") for lid in stack_ids if self.plan.resource_types[lid] in with_arn}
        return {
            f"{_OUTPUT_PREFIX}{index}": ref
            for index, ref in enumerate(sorted(needed, key=lambda r: (r[0], r[1] or "")))
        }

    def _enable_table_ttl(self) -> None:
        """moto's CloudFormation ignores TimeToLiveSpecification (TTL is not enforced anyway)."""
        dynamodb = None
        for logical_id, resource in self.plan.cfn_template["Resources"].items():
            spec = (resource.get("Properties") or {}).get("TimeToLiveSpecification")
            if resource.get("Type") != "AWS::DynamoDB::Table" or not spec:
                continue
            spec = self.resolver.resolve(spec)
            if str(spec.get("Enabled")).lower() == "true":
                dynamodb = dynamodb or self.clients.client("dynamodb")
                dynamodb.update_time_to_live(
                    TableName=self.lookup(logical_id, None),
                    TimeToLiveSpecification={
                        "Enabled": True,
                        "AttributeName": spec["AttributeName"],
                    },
                )


def _reference_node(logical_id: str, attribute: str | None, types: dict[str, str]) -> Any:
    if attribute is None and types.get(logical_id) == BUS_TYPE:
        return {"Fn::GetAtt": [logical_id, "Name"]}
    return {"Ref": logical_id} if attribute is None else {"Fn::GetAtt": [logical_id, attribute]}


# -- resources moto's CloudFormation lacks -------------------------------------------------------


def create_direct_resource(
    resource_type: str, logical_id: str, properties: dict[str, Any], provisioner: Provisioner
) -> dict[str | None, Any]:
    creator = _DIRECT_CREATORS[resource_type]
    return creator(logical_id, properties, provisioner)


def _generated_name(logical_id: str, provisioner: Provisioner) -> str:
    return f"{provisioner.config.stack_name}-{logical_id}"


def _ses_configuration_set(
    logical_id: str, properties: dict[str, Any], provisioner: Provisioner
) -> dict[str | None, Any]:
    name = properties.get("Name") or _generated_name(logical_id, provisioner)
    provisioner.clients.client("sesv2").create_configuration_set(ConfigurationSetName=name)
    return {None: name}


def _ses_email_identity(
    logical_id: str, properties: dict[str, Any], provisioner: Provisioner
) -> dict[str | None, Any]:
    identity = properties["EmailIdentity"]
    provisioner.clients.client("sesv2").create_email_identity(EmailIdentity=identity)
    return {None: identity}


def _schedule_group(
    logical_id: str, properties: dict[str, Any], provisioner: Provisioner
) -> dict[str | None, Any]:
    name = properties.get("Name") or _generated_name(logical_id, provisioner)
    response = provisioner.clients.client("scheduler").create_schedule_group(Name=name)
    return {None: name, "Arn": response["ScheduleGroupArn"]}


_SCHEDULE_FIELDS = (
    "GroupName",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "FlexibleTimeWindow",
    "Target",
    "State",
    "Description",
    "KmsKeyArn",
    "ActionAfterCompletion",
)


def _schedule(
    logical_id: str, properties: dict[str, Any], provisioner: Provisioner
) -> dict[str | None, Any]:
    name = properties.get("Name") or _generated_name(logical_id, provisioner)
    arguments = {key: properties[key] for key in _SCHEDULE_FIELDS if key in properties}
    for key in ("StartDate", "EndDate"):
        if key in properties:
            arguments[key] = datetime.fromisoformat(str(properties[key]).replace("Z", "+00:00"))
    arguments.setdefault("FlexibleTimeWindow", {"Mode": "OFF"})
    response = provisioner.clients.client("scheduler").create_schedule(Name=name, **arguments)
    return {None: name, "Arn": response["ScheduleArn"]}


def _log_stream(
    logical_id: str, properties: dict[str, Any], provisioner: Provisioner
) -> dict[str | None, Any]:
    name = properties.get("LogStreamName") or _generated_name(logical_id, provisioner)
    provisioner.clients.client("logs").create_log_stream(
        logGroupName=properties["LogGroupName"], logStreamName=name
    )
    return {None: name}


_DIRECT_CREATORS: dict[str, Callable[[str, dict[str, Any], Provisioner], dict[str | None, Any]]] = {
    "AWS::Logs::LogStream": _log_stream,
    "AWS::SES::ConfigurationSet": _ses_configuration_set,
    "AWS::SES::EmailIdentity": _ses_email_identity,
    "AWS::Scheduler::ScheduleGroup": _schedule_group,
    "AWS::Scheduler::Schedule": _schedule,
}
