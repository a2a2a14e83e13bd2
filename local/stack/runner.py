"""Start the whole flow in this process: local AWS, PagerDuty, the handlers behind a local API.

Order matters: the API port is bound first (the redirect URI names it), AWS and PagerDuty come
next, the template's resources are created with the client secret in place, and only then are
the handlers imported, with their environment already set, as Lambda would have it at cold start.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .api_gateway import LocalApiGateway
from .aws import LocalAws, point_process_at, start_aws
from .event_console import EventConsole
from .intrinsics import Resolver, environment_of, runtime_logging_environment
from .lambda_invoke import LocalLambdaInvoke
from .lambda_runtime import load_function
from .pagerduty import PagerDuty, start_pagerduty
from .provision import STACK_NAME, provision
from .routes import RouteTable
from .template import Template, TemplateError, load_template

PAGE_HOST = "localhost"  # the host printed and redirected to: one host, so the cookie comes back
BIND_HOST = "127.0.0.1"
CLIENT_SECRET_FIELD = "client_secret"  # where the functions read the client secret from the secret's JSON


@dataclass
class RunningStack:
    landing_url: str
    aws: LocalAws
    pagerduty: PagerDuty
    template: Template
    _exit: contextlib.ExitStack
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
    lambda_port: int = 0,
) -> RunningStack:
    """`parameters`: template parameter values, as `sam deploy --parameter-overrides` would set them.
    `lambda_port`: where the Invoke API serves the functions that have no route (0: any free port)."""
    template = load_template(template_path)
    if not template.routes:
        raise TemplateError(f"{template.path.name} has no HttpApi routes to serve")
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
        pagerduty = start_pagerduty(env, redirect_uri=redirect_uri)
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
        }
        streamed = {mapping.function_id for mapping in template.stream_mappings}
        loaded = routed | streamed | set(invocable)
        os.environ.update(_one_environment(template, resolver, overrides, loaded))
        functions = {
            function_id: load_function(template.functions[function_id], region=aws.region, account_id=aws.account_id)
            for function_id in sorted(loaded)
        }
        if template.stream_mappings:
            _start_event_path(template, resolver, aws, functions, exit_stack)
        gateway.start(RouteTable(template.routes), {f: functions[f] for f in routed})
        if invoke_api is not None:
            invoke_api.start(
                {f: functions[f] for f in invocable},
                access_key_id=aws.environment()["AWS_ACCESS_KEY_ID"],
                run_key=aws.run_key,
            )
        running = RunningStack(
            f"{base_url}/",
            aws,
            pagerduty,
            template,
            exit_stack.pop_all(),
            lambda_endpoint=invoke_api.endpoint_url if invoke_api else "",
            invocable=invocable,
        )
    return running


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
