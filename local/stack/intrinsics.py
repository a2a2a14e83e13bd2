"""CloudFormation intrinsic functions, resolved to local values.

`Ref` to a parameter gives its local value (an override, else its Default); `Ref`/`Fn::GetAtt`
to a resource give what the embedded AWS created for it; conditions are evaluated. Anything
the local stack cannot give a value for fails loudly, naming what was asked for, rather than
handing a function an empty setting. The template tests evaluate conditions and rules, and
choose Fn::If branches, through the same Resolver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .template import FunctionSpec, Template, TemplateError

NO_VALUE = object()  # what `Ref: AWS::NoValue` resolves to: the key or item is dropped
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


@dataclass(frozen=True)
class PhysicalResource:
    """What `Ref` and `Fn::GetAtt` give for one created resource."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


class Resolver:
    def __init__(
        self,
        template: Template,
        *,
        pseudo_parameters: Mapping[str, str],
        parameter_values: Mapping[str, str] | None = None,
        resources: Mapping[str, PhysicalResource] | None = None,
    ) -> None:
        self._template = template
        self._pseudo = dict(pseudo_parameters)
        self._parameters = dict(parameter_values or {})
        self._resources = dict(resources or {})
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    def with_resource(self, logical_id: str, physical: PhysicalResource) -> None:
        self._resources[logical_id] = physical

    def is_created(self, logical_id: str) -> bool:
        """False for a resource whose Condition is false (CloudFormation skips it)."""
        condition = self._template.resources[logical_id].condition
        return condition is None or self.condition(condition)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self._template.conditions:
                raise TemplateError(f"condition {name} is not defined")
            if name in self._evaluating:
                raise TemplateError(f"condition cycle through {name}")  # CloudFormation refuses these too
            self._evaluating.add(name)
            try:
                self._conditions[name] = bool(self.evaluate(self._template.conditions[name]))
            finally:
                self._evaluating.discard(name)
        return self._conditions[name]

    def chosen_branches(self, value: Any) -> Any:
        """`value` as CloudFormation creates it: every Fn::If replaced by its chosen branch, what
        resolves to AWS::NoValue dropped, every other expression left as written."""
        if isinstance(value, list):
            items = [self.chosen_branches(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if value == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if set(value) == {"Fn::If"}:
            condition, if_true, if_false = value["Fn::If"]
            return self.chosen_branches(if_true if self.condition(condition) else if_false)
        chosen = {key: self.chosen_branches(item) for key, item in value.items()}
        return {key: item for key, item in chosen.items() if item is not NO_VALUE}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            resource, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self._get_att(self.resolve(resource), self.resolve(attribute))
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            delimiter, text = argument
            return str(self.resolve(text)).split(delimiter)
        if name == "Fn::FindInMap":
            mapping, top_key, second_key = (self.resolve(part) for part in argument)
            try:
                return self._template.mappings[mapping][top_key][second_key]
            except (KeyError, TypeError):
                raise TemplateError(f"Fn::FindInMap {mapping}/{top_key}/{second_key} is not in Mappings") from None
        if name in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
            return self.evaluate({name: argument})
        raise TemplateError(f"{name} is not supported by the local stack")

    def evaluate(self, expression: Any) -> Any:
        """A condition or rule expression: Fn::Equals/Not/And/Or, or {"Condition": name}."""
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::Equals":
                left, right = (self.resolve(side) for side in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.evaluate(argument[0])
            if key == "Fn::And":
                return all(self.evaluate(item) for item in argument)
            if key == "Fn::Or":
                return any(self.evaluate(item) for item in argument)
        return self.resolve(expression)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._template.parameters:
            return self._parameter(name)
        return self._resource(name).ref

    def _parameter(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        declaration = self._template.parameters[name]
        if "Default" not in declaration:
            raise TemplateError(f"parameter {name} has no Default and no local value")
        default = declaration["Default"]
        # CloudFormation hands every parameter over as a string (Number 20 -> "20").
        return default if isinstance(default, str) else str(default)

    def _get_att(self, logical_id: str, attribute: str) -> str:
        physical = self._resource(logical_id)
        if attribute not in physical.attributes:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} has no local value")
        return physical.attributes[attribute]

    def _resource(self, logical_id: str) -> PhysicalResource:
        if logical_id not in self._template.resources:
            raise TemplateError(f"Ref {logical_id}: no such parameter or resource")
        if not self.is_created(logical_id):
            raise TemplateError(f"Ref {logical_id}: its Condition is false, so it is not created")
        if logical_id not in self._resources:
            kind = self._template.resources[logical_id].type
            raise TemplateError(f"Ref {logical_id}: {kind} is not emulated by the local stack")
        return self._resources[logical_id]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {name: self.resolve(value) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:  # "${!Name}" is the literal "${Name}"
                return "${" + name + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name not in self._pseudo:
                resource, attribute = name.split(".", 1)
                return str(self._get_att(resource, attribute))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)


def environment_of(function: FunctionSpec, resolver: Resolver, overrides: Mapping[str, str]) -> dict[str, str]:
    """The function's environment from the template, with the local overrides on top.

    Overrides the template does not declare are added too (endpoints of the embedded AWS and
    the PagerDuty stand-in). Declared variables the stack overrides are not resolved at all,
    so a parameter with no Default (the client id) needs no value when the stack supplies it.
    """
    environment = {}
    for name, raw in function.environment.items():
        value = overrides[name] if name in overrides else resolver.resolve(raw)
        if value is NO_VALUE:
            continue
        environment[name] = _as_lambda_string(value, function.logical_id, name)
    return {**environment, **overrides}


def runtime_logging_environment(function: FunctionSpec, resolver: Resolver) -> dict[str, str]:
    """What Lambda itself sets from LoggingConfig (Powertools reads AWS_LAMBDA_LOG_LEVEL)."""
    config = resolver.resolve(dict(function.logging_config))
    if config.get("LogFormat") != "JSON":
        return {}
    return {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": str(config.get("ApplicationLogLevel", "INFO"))}


def _as_lambda_string(value: Any, function_id: str, name: str) -> str:
    # Lambda's environment is a map of strings; CloudFormation writes booleans in lower case.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"{function_id}: environment variable {name} resolves to {type(value).__name__}")
