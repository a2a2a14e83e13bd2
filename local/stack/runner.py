"""Start the whole flow in this process: local AWS, PagerDuty, the handlers behind a local API.

Order matters: the API port is bound first (the redirect URI names it), AWS and PagerDuty come
next, the template's resources are created with the client secret in place, and only then are
the handlers imported, with their environment already set, as Lambda would have it at cold start.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import console
from .api_gateway import LocalApiGateway
from .aws import LocalAws, point_process_at, start_aws
from .event_console import EventConsole
from .intrinsics import Resolver, environment_of, runtime_logging_environment
from .lambda_invoke import LocalLambdaInvoke
from .lambda_runtime import load_function
from .local_state import SavedState, StateDirectory, StateUnreadable, embedded_aws_state, restore_embedded_aws
from .pagerduty import PagerDuty, start_pagerduty
from .provision import STACK_NAME, provision
from .routes import RouteTable
from .template import Template, TemplateError, load_template

PAGE_HOST = "localhost"  # the host printed and redirected to: one host, so the cookie comes back
BIND_HOST = "127.0.0.1"
PAGE_TEMPLATES_DIR = "PAGE_TEMPLATES_DIR"  # the builder's page templates, as the functions read them
CLIENT_SECRET_FIELD = "client_secret"  # where the functions read the client secret from the secret's JSON
# What the admin CLI needs to find the running stack: names, endpoints, and this run's key for the
# embedded AWS (it refuses unsigned requests). Never the client secret: the CLI reads it from the
# embedded Secrets Manager, as the functions do.
ADMIN_SETTINGS = (
    "TABLE_NAME",
    "TOKEN_KEY_ID",
    "CLIENT_SECRET_ID",
    "PD_CLIENT_ID",
    "PD_IDENTITY_URL",
    "PD_API_URL",
    "PD_API_URL_EU",
    "PD_SCOPES",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)

LOG = logging.getLogger(__name__)


@dataclass
class RunningStack:
    landing_url: str
    aws: LocalAws
    pagerduty: PagerDuty
    template: Template
    _exit: contextlib.ExitStack
    state_note: str = ""  # what the banner says about kept state ("" when nothing is kept)
    lambda_endpoint: str = ""  # the Invoke API for functions without routes; "" when there are none
    invocable: tuple[str, ...] = ()  # those functions' logical ids

    def stop(self) -> None:
        self._exit.close()


def pseudo_parameters(aws: LocalAws) -> dict[str, str]:
    return {
        "AWS::Region": aws.region,
        "AWS::AccountId": aws.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": STACK_NAME,
        "AWS::StackId": f"arn:aws:cloudformation:{aws.region}:{aws.account_id}:stack/{STACK_NAME}/local",
    }


def start_stack(
    template_path: Path,
    *,
    port: int,
    env: Mapping[str, str],
    parameters: Mapping[str, str] | None = None,
    json_logs: bool = False,
    state_dir: Path | None = None,
    reset: bool = False,
    lambda_port: int = 0,
) -> RunningStack:
    """`parameters`: template parameter values, as `sam deploy --parameter-overrides` would set them.
    `json_logs`: print the functions' JSON log lines too (the console shows one line per request).
    `state_dir`: keep the embedded AWS and the stand-in across runs there (`reset`: start empty).
    `lambda_port`: where the Invoke API serves the functions that have no route (0: any free port)."""
    template = load_template(template_path)
    if not template.routes:
        raise TemplateError(f"{template.path.name} has no HttpApi routes to serve")
    state = StateDirectory(state_dir) if state_dir is not None else None
    saved, state_note = _load_state(state, reset)
    with contextlib.ExitStack() as exit_stack:
        gateway = LocalApiGateway(host=BIND_HOST, port=port)
        exit_stack.callback(gateway.stop)
        routed = {route.function_id for route in template.routes}
        invocable = tuple(sorted(set(template.functions) - routed))
        invoke_api = None
        if invocable:
            invoke_api = LocalLambdaInvoke(host=BIND_HOST, port=lambda_port)
            exit_stack.callback(invoke_api.stop)
        base_url = f"http://{PAGE_HOST}:{gateway.port}"
        redirect_uri = f"{base_url}/callback"

        aws = start_aws(env)
        exit_stack.callback(aws.stop)
        point_process_at(aws)
        if aws.embedded and saved.aws:
            restore_embedded_aws(saved.aws)  # before provisioning, which then finds everything
        pagerduty = start_pagerduty(
            env, redirect_uri=redirect_uri, saved_client=saved.pagerduty_client, saved_tokens=saved.pagerduty_tokens
        )
        exit_stack.callback(pagerduty.stop)

        unknown = set(parameters or {}) - set(template.parameters)
        if unknown:
            raise TemplateError(f"no such template parameter: {', '.join(sorted(unknown))}")
        resolver = Resolver(template, pseudo_parameters=pseudo_parameters(aws), parameter_values=parameters)
        provision(template, resolver, aws, {CLIENT_SECRET_FIELD: pagerduty.client_secret})
        overrides = {
            "PD_CLIENT_ID": pagerduty.client_id,
            "PD_REDIRECT_URI": redirect_uri,
            **pagerduty.function_environment,
            **aws.environment(),
            **page_templates_override(env),
        }
        streamed = {mapping.function_id for mapping in template.stream_mappings}
        loaded = routed | streamed | set(invocable)
        environment = _one_environment(template, resolver, overrides, loaded)
        os.environ.update(environment)
        functions = {
            function_id: load_function(template.functions[function_id], region=aws.region, account_id=aws.account_id)
            for function_id in sorted(loaded)
        }
        # Powertools names its logger after the service.
        console.route_function_logs([environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")], json_lines=json_logs)
        console.drop_metric_lines()
        if template.stream_mappings:
            _start_event_path(template, resolver, aws, functions, exit_stack)
        gateway.start(RouteTable(template.routes), {f: functions[f] for f in routed})
        if invoke_api is not None:
            invoke_api.start(
                {f: functions[f] for f in invocable},
                access_key_id=aws.environment()["AWS_ACCESS_KEY_ID"],
                run_key=aws.run_key,
            )
        if state is not None:
            state.write_settings({name: environment[name] for name in ADMIN_SETTINGS if environment.get(name)})
            exit_stack.callback(_save_state, state, gateway, aws, pagerduty)
        running = RunningStack(
            f"{base_url}/",
            aws,
            pagerduty,
            template,
            exit_stack.pop_all(),
            state_note,
            lambda_endpoint=invoke_api.endpoint_url if invoke_api else "",
            invocable=invocable,
        )
    return running


def page_templates_override(env: Mapping[str, str]) -> dict[str, str]:
    """PAGE_TEMPLATES_DIR=folder stands in for the PageTemplatesLayerArn layer (which Lambda
    mounts at /opt, and which there is no downloading here)."""
    folder = env.get(PAGE_TEMPLATES_DIR, "").strip()
    return {PAGE_TEMPLATES_DIR: str(Path(folder).resolve())} if folder else {}


def _start_event_path(template, resolver, aws: LocalAws, functions, exit_stack: contextlib.ExitStack) -> None:
    """The stream mappings, run as Lambda runs them, and a console line for each event the bus gets."""
    from .streams import StreamMapping, StreamMappingSettings  # imports moto's pattern matcher: only when needed

    bus_name = os.environ.get("EVENT_BUS_NAME", "default")
    if bus_name != "default":  # a named bus is the builder's own; locally it is made here
        events = aws.client("events")
        if bus_name not in {bus["Name"] for bus in events.list_event_buses()["EventBuses"]}:
            events.create_event_bus(Name=bus_name)
    console = EventConsole(aws.client, bus_name)
    console.subscribe()
    console.start()
    exit_stack.callback(console.stop)
    for spec in template.stream_mappings:
        function = functions[spec.function_id]
        settings = StreamMappingSettings.from_properties(
            resolver.resolve({k: v for k, v in spec.properties.items() if k != "FunctionName"}),
            function_name=spec.function_id,
            function_arn=f"arn:aws:lambda:{aws.region}:{aws.account_id}:function:{spec.function_id}",
        )
        mapping = StreamMapping(settings, function.invoke, aws.client)
        mapping.start()
        exit_stack.callback(mapping.stop)


def _load_state(state: StateDirectory | None, reset: bool) -> tuple[SavedState, str]:
    if state is None:
        return SavedState(), ""
    state.prepare(reset=reset)
    how_to_reset = "make run ARGS=--reset starts empty"
    try:
        saved = state.load()
    except StateUnreadable as unreadable:
        return SavedState(), f"{state.path}: started empty, {unreadable}"
    kept = "restored from" if saved.aws or saved.pagerduty_client else "kept in"
    return saved, f"{kept} {state.path} ({how_to_reset})"


def _save_state(state: StateDirectory, gateway: LocalApiGateway, aws: LocalAws, pagerduty: PagerDuty) -> None:
    """At stop, with no request in flight (the gateway stops first)."""
    gateway.stop()
    state.remove_settings()
    client = (pagerduty.client_id, pagerduty.client_secret) if pagerduty.token_snapshot else None
    try:
        state.save(
            SavedState(
                aws=embedded_aws_state() if aws.embedded else {},
                pagerduty_client=client,
                pagerduty_tokens=pagerduty.token_snapshot() if pagerduty.token_snapshot else None,
            )
        )
    except Exception as exc:  # noqa: BLE001 - a state that cannot be saved must not hide the stop
        LOG.error("local state not saved: %s: %s", type(exc).__name__, exc)


def _one_environment(
    template: Template, resolver: Resolver, overrides: Mapping[str, str], function_ids: set[str]
) -> dict[str, str]:
    """All functions share this process, so their environments must agree where they overlap."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function_id in sorted(function_ids):
        function = template.functions[function_id]
        environment = {
            **runtime_logging_environment(function, resolver),
            **environment_of(function, resolver, overrides),
        }
        for name, value in environment.items():
            if name in merged and merged[name] != value:
                raise TemplateError(
                    f"{name} differs between {owner[name]} and {function_id}; one process cannot hold both"
                )
            merged[name], owner[name] = value, function_id
    return merged
