"""Local evaluation of CloudFormation intrinsic functions (Ref, Fn::GetAtt, Fn::Sub, Fn::If ...).

Resource references are answered by a lookup function, so the same resolver serves before
the stack exists (parameters only) and after it (physical names read back from moto).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

PSEUDO_NO_VALUE = "AWS::NoValue"
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class UnresolvableError(Exception):
    """A reference that cannot be answered (yet)."""


class _NoValue:
    pass


NO_VALUE = _NoValue()

# (logical_id, attribute or None for Ref) -> value
Lookup = Callable[[str, str | None], Any]


class Resolver:
    def __init__(
        self,
        parameters: dict[str, Any],
        lookup: Lookup,
        conditions: dict[str, Any] | None = None,
        mappings: dict[str, Any] | None = None,
    ):
        self.parameters = parameters
        self.lookup = lookup
        self.conditions = conditions or {}
        self.mappings = mappings or {}
        self._condition_values: dict[str, bool] = {}

    def resolve(self, node: Any) -> Any:
        value = self._resolve(node)
        return None if value is NO_VALUE else value

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise UnresolvableError(f"unknown condition {name}")
            self._condition_values[name] = bool(self._resolve(self.conditions[name]))
        return self._condition_values[name]

    def _resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self._resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            handler = _FUNCTIONS.get(key)
            if handler is not None:
                return handler(self, arg)
        resolved = {key: self._resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == PSEUDO_NO_VALUE:
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self.lookup(name, None)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self.lookup(logical_id, attribute)

    def sub(self, template: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, template)


def _fn_ref(resolver: Resolver, arg: Any) -> Any:
    return resolver.ref(str(resolver._resolve(arg)))


def _fn_get_att(resolver: Resolver, arg: Any) -> Any:
    if isinstance(arg, str):
        logical_id, attribute = arg.split(".", 1)
    else:
        logical_id, attribute = arg[0], resolver._resolve(arg[1])
    return resolver.get_att(logical_id, str(attribute))


def _fn_sub(resolver: Resolver, arg: Any) -> Any:
    if isinstance(arg, str):
        return resolver.sub(arg, {})
    template, variables = arg
    return resolver.sub(template, {k: resolver._resolve(v) for k, v in variables.items()})


def _fn_if(resolver: Resolver, arg: Any) -> Any:
    name, when_true, when_false = arg
    return resolver._resolve(when_true if resolver.condition(name) else when_false)


def _fn_join(resolver: Resolver, arg: Any) -> Any:
    delimiter, items = arg
    return str(delimiter).join(str(item) for item in resolver._resolve(items))


def _fn_split(resolver: Resolver, arg: Any) -> Any:
    delimiter, source = arg
    return str(resolver._resolve(source)).split(delimiter)


def _fn_select(resolver: Resolver, arg: Any) -> Any:
    index, items = arg
    return resolver._resolve(items)[int(resolver._resolve(index))]


def _fn_find_in_map(resolver: Resolver, arg: Any) -> Any:
    name, first, second = (resolver._resolve(part) for part in arg[:3])
    return resolver.mappings[name][first][second]


def _fn_equals(resolver: Resolver, arg: Any) -> Any:
    left, right = (resolver._resolve(part) for part in arg)
    return str(left) == str(right)


def _fn_not(resolver: Resolver, arg: Any) -> Any:
    return not resolver._resolve(arg[0])


def _fn_and(resolver: Resolver, arg: Any) -> Any:
    return all(resolver._resolve(part) for part in arg)


def _fn_or(resolver: Resolver, arg: Any) -> Any:
    return any(resolver._resolve(part) for part in arg)


def _fn_condition(resolver: Resolver, arg: Any) -> Any:
    return resolver.condition(str(arg))


def _fn_base64(resolver: Resolver, arg: Any) -> Any:
    return base64.b64encode(str(resolver._resolve(arg)).encode()).decode()


def _fn_to_json_string(resolver: Resolver, arg: Any) -> Any:
    return json.dumps(resolver._resolve(arg), separators=(",", ":"))


def _fn_length(resolver: Resolver, arg: Any) -> Any:
    return len(resolver._resolve(arg))


def _fn_unsupported(name: str) -> Callable[[Resolver, Any], Any]:
    def handler(resolver: Resolver, arg: Any) -> Any:
        raise UnresolvableError(f"{name} is not supported locally")

    return handler


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": _fn_ref,
    "Fn::GetAtt": _fn_get_att,
    "Fn::Sub": _fn_sub,
    "Fn::If": _fn_if,
    "Fn::Join": _fn_join,
    "Fn::Split": _fn_split,
    "Fn::Select": _fn_select,
    "Fn::FindInMap": _fn_find_in_map,
    "Fn::Equals": _fn_equals,
    "Fn::Not": _fn_not,
    "Fn::And": _fn_and,
    "Fn::Or": _fn_or,
    "Condition": _fn_condition,
    "Fn::Base64": _fn_base64,
    "Fn::ToJsonString": _fn_to_json_string,
    "Fn::Length": _fn_length,
    "Fn::ImportValue": _fn_unsupported("Fn::ImportValue"),
    "Fn::GetAZs": _fn_unsupported("Fn::GetAZs"),
}


def references(node: Any) -> Iterator[tuple[str, str | None]]:
    """Every (logical_id, attribute-or-None) that a node refers to (Ref, GetAtt, Sub)."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
        return
    if not isinstance(node, dict):
        return
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and isinstance(arg, str):
            yield arg, None
            return
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts[0], str) and isinstance(parts[1], str):
                yield parts[0], parts[1]
            return
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else arg
            yield from _sub_references(template, set(variables))
            yield from references(variables)
            return
    for value in node.values():
        yield from references(value)


def _sub_references(template: str, local_names: set[str]) -> Iterator[tuple[str, str | None]]:
    for name in _SUB_VARIABLE.findall(template):
        if name.startswith("!") or name in local_names or name.startswith("AWS::"):
            continue
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            yield logical_id, attribute
        else:
            yield name, None


def replace_references(node: Any, replace: Callable[[str, str | None], Any | None]) -> Any:
    """Rewrite a template node: each reference for which `replace` returns a value other than
    None becomes that value (literal or another intrinsic). Used to edit the template given to
    moto, never to evaluate it."""
    if isinstance(node, list):
        return [replace_references(item, replace) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and isinstance(arg, str):
            value = replace(arg, None)
            return node if value is None else value
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts[0], str) and isinstance(parts[1], str):
                value = replace(parts[0], parts[1])
                return node if value is None else value
            return node
        if key == "Fn::Sub":
            return {"Fn::Sub": _replace_in_sub(arg, replace)}
    return {key: replace_references(value, replace) for key, value in node.items()}


def _replace_in_sub(arg: Any, replace: Callable[[str, str | None], Any | None]) -> Any:
    template, variables = (arg, {}) if isinstance(arg, str) else arg

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!") or name in variables or name.startswith("AWS::"):
            return match.group(0)
        logical_id, _, attribute = name.partition(".")
        value = replace(logical_id, attribute or None)
        if value is None:
            return match.group(0)
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            target, attr = value["Fn::GetAtt"]
            return "${" + f"{target}.{attr}" + "}"
        if isinstance(value, dict):
            return match.group(0)
        return str(value)

    new_template = _SUB_VARIABLE.sub(substitute, template)
    if isinstance(arg, str):
        return new_template
    return [new_template, replace_references(variables, replace)]
