"""The SAM template, read and translated offline, for tests that state what it must deploy.

`translated()` runs the same SAM transform CloudFormation runs, with no AWS call: the translator's
managed-policy lookup (an IAM ListPolicies call) is replaced by an empty map, and the region comes
from a local boto3 session. Expressions stay unresolved, in CloudFormation's long form, so a test
compares a resource reference such as `{"Fn::GetAtt": ["ConnectTable", "Arn"]}` exactly.

`deployed(DomainName=...)` goes one step further, as CloudFormation does at deploy time: it evaluates
the conditions for the given parameter values (and region: `deployed(region="eu-west-1", ...)`, for
`Ref: AWS::Region`) and keeps only what they create.

Reading the YAML and evaluating conditions, rules and Fn::If go through the local stack's reader
(local/stack/template.py, intrinsics.py): one CloudFormation reader for the repository.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import boto3
from samtranslator.public.parser import Parser
from samtranslator.public.translator import ManagedPolicyLoader, Translator

from local.stack.intrinsics import Resolver
from local.stack.template import cloudformation_template, read_document

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"
WEB_ACL_TEMPLATE_PATH = TEMPLATE_PATH.parent / "waf" / "web-acl.yaml"

# Where `sam package` would have uploaded the local CodeUri; the transform accepts only S3 code.
PACKAGED_CODE_URI = "s3://packaged-code/functions.zip"
REGION = "us-east-1"  # the transform's, and AWS::Region's when a condition asks


class OfflineManagedPolicyLoader(ManagedPolicyLoader):
    """Knows no managed policy by name, so the transform never asks IAM for the list."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)

    def load(self) -> dict[str, str]:
        return {}


@functools.cache
def _sam() -> dict[str, Any]:
    return read_document(TEMPLATE_PATH)


@functools.cache
def _translated() -> dict[str, Any]:
    template = copy.deepcopy(_sam())
    template.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = PACKAGED_CODE_URI
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name=REGION),
    )
    return translator.translate(
        template,
        parameter_values={},
        get_managed_policy_map=OfflineManagedPolicyLoader().load,
    )


def sam() -> dict[str, Any]:
    """The template as written (SAM resources, Globals), as a fresh copy."""
    return copy.deepcopy(_sam())


def translated() -> dict[str, Any]:
    """The CloudFormation template SAM's transform produces, as a fresh copy."""
    return copy.deepcopy(_translated())


def resource(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]


def resources_of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {rid: r for rid, r in template["Resources"].items() if r["Type"] == type_name}


def function_role_id(template: dict[str, Any], function_id: str) -> str:
    role = resource(template, function_id)["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"} and role["Fn::GetAtt"][1] == "Arn", role
    return role["Fn::GetAtt"][0]


def _refers_to_role(roles: list[Any], role_id: str) -> bool:
    return {"Ref": role_id} in roles


def policy_documents(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every policy document that applies to the role: inline ones and standalone policy resources."""
    documents = [p["PolicyDocument"] for p in resource(template, role_id)["Properties"].get("Policies", [])]
    for standalone in template["Resources"].values():
        if standalone["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            properties = standalone["Properties"]
            if _refers_to_role(properties.get("Roles", []), role_id) or properties.get("RoleName") == {"Ref": role_id}:
                documents.append(properties["PolicyDocument"])
    return documents


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    found = []
    for document in policy_documents(template, role_id):
        body = document["Statement"]
        found.extend(body if isinstance(body, list) else [body])
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants(template: dict[str, Any], role_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the role's Allow statements grant; resource as canonical JSON."""
    return {
        (action, json.dumps(target, sort_keys=True))
        for statement in statements(template, role_id)
        if statement.get("Effect") == "Allow"
        for action in _as_list(statement.get("Action", []))
        for target in _as_list(statement.get("Resource", []))
    }


def cfn(expression: Any) -> str:
    """A CloudFormation expression (or literal) in the canonical form `grants` uses."""
    return json.dumps(expression, sort_keys=True)


def managed_policy_arns(template: dict[str, Any], role_id: str) -> list[Any]:
    arns = list(resource(template, role_id)["Properties"].get("ManagedPolicyArns", []))
    for managed_id, managed in resources_of_type(template, "AWS::IAM::ManagedPolicy").items():
        if _refers_to_role(managed["Properties"].get("Roles", []), role_id):
            arns.append({"Ref": managed_id})
    return arns


def environment(template: dict[str, Any], function_id: str) -> dict[str, Any]:
    return resource(template, function_id)["Properties"].get("Environment", {}).get("Variables", {})


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    path: str
    function_id: str | None
    payload_format_version: str | None


def http_api_routes(template: dict[str, Any]) -> list[Route]:
    """The routes API Gateway gets from the HttpApi's OpenAPI body, with the function each invokes."""
    body = resource(template, "HttpApi")["Properties"]["Body"]
    routes = []
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]
            target = re.search(r"/functions/\$\{(\w+)\.Arn\}/invocations$", integration["uri"].get("Fn::Sub", ""))
            routes.append(
                Route(
                    method=method.upper(),
                    path=path,
                    function_id=target.group(1) if target else None,
                    payload_format_version=integration.get("payloadFormatVersion"),
                )
            )
    return routes


def _resolver(template: dict[str, Any], overrides: dict[str, str], region: str, path: Path = TEMPLATE_PATH) -> Resolver:
    """Evaluates the template's conditions and rules for these parameter values (the rest at their
    defaults) in this region, as CloudFormation does at deploy time."""
    unknown = overrides.keys() - template["Parameters"].keys()
    assert not unknown, f"no such parameters: {sorted(unknown)}"
    return Resolver(
        cloudformation_template(template, path),
        pseudo_parameters={"AWS::Region": region},
        parameter_values=overrides,
    )


def deployed(*, region: str = "us-east-1", **parameters: str) -> dict[str, Any]:
    """The translated template as CloudFormation would create it with these parameter values (the
    rest at their defaults) in this region: conditions evaluated, resources and outputs whose
    condition is false left out, every Fn::If replaced by its chosen branch. Other expressions
    stay unresolved."""
    return _as_created(translated(), parameters, region, TEMPLATE_PATH)


def deployed_web_acl(**parameters: str) -> dict[str, Any]:
    """waf/web-acl.yaml (plain CloudFormation: template.yaml nests it in us-east-1, and builders in
    other regions deploy it there alone) as created with these parameter values."""
    return _as_created(read_document(WEB_ACL_TEMPLATE_PATH), parameters, "us-east-1", WEB_ACL_TEMPLATE_PATH)


def _as_created(template: dict[str, Any], parameters: dict[str, str], region: str, path: Path) -> dict[str, Any]:
    resolver = _resolver(template, parameters, region, path)
    conditions = {name: resolver.condition(name) for name in template.get("Conditions", {})}  # every one, used or not
    for section in ("Resources", "Outputs"):
        template[section] = {
            logical_id: resolver.chosen_branches(body)
            for logical_id, body in template.get(section, {}).items()
            if "Condition" not in body or conditions[body["Condition"]]
        }
    return template


def broken_rules(*, region: str = "us-east-1", **parameters: str) -> set[str]:
    """The template's Rules whose assertions fail for these parameter values in this region:
    CloudFormation refuses to create or update the stack with them."""
    template = translated()
    resolver = _resolver(template, parameters, region)
    return {
        name
        for name, rule in template.get("Rules", {}).items()
        if resolver.evaluate(rule.get("RuleCondition", True))
        and not all(resolver.evaluate(item["Assert"]) for item in rule["Assertions"])
    }
