"""What template.yaml declares, read the way `sam local` reads it: routes, functions, resources.

The one CloudFormation reader of the repository: the local stack, the admin doctor and the
template tests (tests/template, which read SAM's translation of it too) all read through it.
Only the parts the local stack runs are modelled: `AWS::Serverless::Function` resources with
`HttpApi` events (payload format 2.0), their environment, and the other resources they refer
to. Values are kept raw (intrinsics unresolved); `intrinsics.Resolver` turns them into local
values once the embedded AWS has created the resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

FUNCTION_TYPE = "AWS::Serverless::Function"
EVENT_SOURCE_MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
DEFAULT_TIMEOUT_S = 3  # Lambda's default when a function sets no Timeout
DEFAULT_MEMORY_MB = 128


class TemplateError(ValueError):
    """The template has something the local stack cannot run; the message names it."""


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that understands CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...)."""


def _short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # "!GetAtt Res.Attr" is the short form of ["Res", "Attr"]; attributes may contain dots.
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_tag)


@dataclass(frozen=True)
class Route:
    """One HttpApi route: `GET /authorize` served by a function. Method "ANY" matches every method."""

    method: str
    path: str  # "$default" for the catch-all route
    function_id: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    handler: str  # "module.attribute"
    code_uri: Path
    timeout_s: int
    memory_mb: int
    environment: Mapping[str, Any]  # raw: Globals merged with the function's own
    logging_config: Mapping[str, Any] = field(default_factory=dict)  # raw LoggingConfig


@dataclass(frozen=True)
class StreamMappingSpec:
    """An `AWS::Lambda::EventSourceMapping` from a stream to one of the template's functions.
    Properties stay raw (the source ARN is an intrinsic) except the function it invokes."""

    logical_id: str
    function_id: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class ResourceSpec:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    condition: str | None = None


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: Mapping[str, Mapping[str, Any]]
    mappings: Mapping[str, Any]
    conditions: Mapping[str, Any]
    resources: Mapping[str, ResourceSpec]
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)
    routes: tuple[Route, ...] = field(default=())
    stream_mappings: tuple[StreamMappingSpec, ...] = field(default=())
    outputs: Mapping[str, Any] = field(default_factory=dict)  # raw, as written

    def resources_of_type(self, *types: str) -> list[ResourceSpec]:
        return [r for r in self.resources.values() if r.type in types]


def read_document(path: Path) -> dict[str, Any]:
    """The template as written, its short tags (!Ref, !GetAtt A.B, ...) in their long forms."""
    path = Path(path)
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CloudFormationLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read {path.name}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path.name} has no Resources section")
    return document


def cloudformation_template(document: Mapping[str, Any], path: Path) -> Template:
    """A template's CloudFormation sections (SAM's translation of it too), without the functions,
    routes and stream mappings the local stack runs (`load_template` adds those)."""
    resources = {
        logical_id: ResourceSpec(
            logical_id=logical_id,
            type=body.get("Type", ""),
            properties=body.get("Properties") or {},
            condition=body.get("Condition"),
        )
        for logical_id, body in document["Resources"].items()
    }
    return Template(
        path=Path(path),
        parameters=document.get("Parameters") or {},
        mappings=document.get("Mappings") or {},
        conditions=document.get("Conditions") or {},
        resources=resources,
        outputs=document.get("Outputs") or {},
    )


def load_template(path: Path) -> Template:
    path = Path(path).resolve()
    document = read_document(path)
    template = cloudformation_template(document, path)
    globals_function = (document.get("Globals") or {}).get("Function") or {}
    functions = {
        logical_id: _function(resource, globals_function, path.parent)
        for logical_id, resource in template.resources.items()
        if resource.type == FUNCTION_TYPE
    }
    routes = [route for resource in template.resources_of_type(FUNCTION_TYPE) for route in _http_api_routes(resource)]
    return replace(
        template,
        functions=functions,
        routes=tuple(routes),
        stream_mappings=tuple(_stream_mappings(template.resources, functions)),
    )


def _stream_mappings(resources: Mapping[str, ResourceSpec], functions: Mapping[str, FunctionSpec]) -> list[StreamMappingSpec]:
    mappings = []
    for resource in resources.values():
        if resource.type != EVENT_SOURCE_MAPPING_TYPE:
            continue
        target = resource.properties.get("FunctionName")
        function_id = target.get("Ref") if isinstance(target, dict) else None
        if function_id not in functions:
            raise TemplateError(f"{resource.logical_id}: FunctionName must be !Ref to a function of this template")
        mappings.append(StreamMappingSpec(resource.logical_id, function_id, resource.properties))
    return mappings


def _function(resource: ResourceSpec, globals_function: Mapping[str, Any], base: Path) -> FunctionSpec:
    props = resource.properties

    def setting(name: str, default: Any = None) -> Any:
        return props.get(name, globals_function.get(name, default))

    handler = setting("Handler")
    code_uri = setting("CodeUri")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{resource.logical_id}: Handler must be 'module.function', got {handler!r}")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{resource.logical_id}: CodeUri must be a local folder, got {code_uri!r}")
    # SAM merges Globals' variables with the function's own, the function's winning.
    environment = {
        **((globals_function.get("Environment") or {}).get("Variables") or {}),
        **((props.get("Environment") or {}).get("Variables") or {}),
    }
    return FunctionSpec(
        logical_id=resource.logical_id,
        handler=handler,
        code_uri=(base / code_uri).resolve(),
        timeout_s=int(setting("Timeout", DEFAULT_TIMEOUT_S)),
        memory_mb=int(setting("MemorySize", DEFAULT_MEMORY_MB)),
        environment=environment,
        logging_config=setting("LoggingConfig", {}) or {},
    )


def _http_api_routes(resource: ResourceSpec) -> list[Route]:
    routes = []
    for event in (resource.properties.get("Events") or {}).values():
        if event.get("Type") != "HttpApi":
            continue  # REST `Api` events use payload 1.0: not what these handlers take
        props = event.get("Properties") or {}
        # SAM: an HttpApi event without Path and Method is the API's $default route.
        path = props.get("Path", "$default")
        method = str(props.get("Method", "ANY")).upper()
        routes.append(Route(method=method, path=path, function_id=resource.logical_id))
    return routes
