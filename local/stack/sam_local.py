"""For Docker users: the services `sam local start-api` containers need, and their env-vars file.

`python -m local.stack --services-only` starts the embedded AWS and the PagerDuty stand-in on
fixed ports, bound to every interface so containers reach them, and creates the template's
resources there. `local/sam-local-env.json` (made by `--write-sam-local-env`) points each
function at them. Containers reach the host as `host.docker.internal`; the stand-in is named
`pagerduty.localhost` because the browser must reach the same URL for the authorize page, and
browsers resolve every `*.localhost` name to this machine.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .aws import LocalAws, start_aws
from .intrinsics import Resolver, environment_of
from .pagerduty import PagerDuty, start_pagerduty
from .provision import provision, stable_references
from .runner import CLIENT_SECRET_FIELD, pseudo_parameters
from .template import Template, load_template

AWS_PORT = 5001  # not moto's usual 5000: macOS's AirPlay receiver holds that one
PAGERDUTY_PORT = 8090
API_PORT = 3000  # what `sam local start-api` listens on (its default)
SERVICES_HOST = "0.0.0.0"  # containers come in through the Docker bridge, not loopback
CONTAINER_HOST = "host.docker.internal"
PAGERDUTY_HOST = "pagerduty.localhost"
CLIENT_ID = "sam-local-client"  # fixed, since the env-vars file carries it
REGION = "us-east-1"  # sam local's region when your AWS config names none
ACCOUNT_ID = "123456789012"  # moto's account
ENV_VARS_FILE = Path("local/sam-local-env.json")
REDIRECT_URI = f"http://localhost:{API_PORT}/callback"


def start_api_command(template_path: Path | None = None) -> str:
    template = f" --template {template_path}" if template_path else ""
    return (
        f"sam build{template} && sam local start-api --env-vars {ENV_VARS_FILE} --port {API_PORT} "
        f"--add-host {CONTAINER_HOST}:host-gateway --add-host {PAGERDUTY_HOST}:host-gateway"
    )


def env_vars(template: Template) -> dict[str, dict[str, str]]:
    """The env-vars file: per function, its template environment pointed at the host's services."""
    pagerduty_url = f"http://{PAGERDUTY_HOST}:{PAGERDUTY_PORT}"
    aws = LocalAws(f"http://{CONTAINER_HOST}:{AWS_PORT}", REGION, ACCOUNT_ID, embedded=False)
    resolver = Resolver(template, pseudo_parameters=pseudo_parameters(aws))
    for logical_id, reference in stable_references(template, resolver, REGION, ACCOUNT_ID).items():
        resolver.with_resource(logical_id, reference)
    overrides = {
        "PD_CLIENT_ID": CLIENT_ID,
        "PD_REDIRECT_URI": REDIRECT_URI,
        "PD_IDENTITY_URL": pagerduty_url,
        "PD_API_URL": pagerduty_url,
        "PD_API_URL_EU": f"{pagerduty_url}/eu",
        "AWS_ENDPOINT_URL": aws.endpoint_url,
    }
    routed = dict.fromkeys(route.function_id for route in template.routes)  # template order
    return {fid: environment_of(template.functions[fid], resolver, overrides) for fid in routed}


def render_env_vars(template: Template) -> str:
    return json.dumps(env_vars(template), indent=2) + "\n"


def undeclared_variables(template: Template) -> dict[str, list[str]]:
    """Per function, the file's variables the template does not declare.

    `sam local` hands a container only the variables its template declares (file values
    override those, the rest are dropped), so these reach the function only once declared.
    """
    missing = {}
    for function_id, variables in env_vars(template).items():
        declared = template.functions[function_id].environment
        names = sorted(name for name in variables if name not in declared)
        if names:
            missing[function_id] = names
    return missing


@dataclass
class RunningServices:
    aws: LocalAws
    pagerduty: PagerDuty
    _exit: contextlib.ExitStack

    def stop(self) -> None:
        self._exit.close()


def start_services(template_path: Path, *, env: Mapping[str, str]) -> RunningServices:
    template = load_template(template_path)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or REGION  # match sam local's region
    with contextlib.ExitStack() as exit_stack:
        # Always the embedded AWS and the stand-in: the env-vars file names these fixed ports.
        aws = start_aws({"AWS_REGION": region}, host=SERVICES_HOST, port=AWS_PORT)
        exit_stack.callback(aws.stop)
        pagerduty = start_pagerduty(
            {},
            redirect_uri=REDIRECT_URI,
            host=SERVICES_HOST,
            port=PAGERDUTY_PORT,
            client_id=CLIENT_ID,
            public_host=PAGERDUTY_HOST,
        )
        exit_stack.callback(pagerduty.stop)
        resolver = Resolver(template, pseudo_parameters=pseudo_parameters(aws))
        provision(template, resolver, aws, {CLIENT_SECRET_FIELD: pagerduty.client_secret})
        running = RunningServices(aws, pagerduty, exit_stack.pop_all())
    return running
