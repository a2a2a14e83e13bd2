"""For Docker users: the services `sam local start-api` containers need, and their env-vars file.

`python -m local.stack --services-only` starts the embedded AWS and the PagerDuty stand-in on
fixed ports, bound to every interface so containers reach them, and creates the template's
resources there. `local/sam-local-env.json` (made by `--write-sam-local-env`) points each
function at them. Containers reach the host as `host.docker.internal`; the stand-in is named
`pagerduty.localhost` because the browser must reach the same URL for the authorize page, and
browsers resolve every `*.localhost` name to this machine (RFC 6761) while a container, or Python
on a plain Linux host, resolves it only through the `--add-host` mapping the command passes.

The embedded AWS accepts only requests signed with this run's random key, as on loopback. SAM CLI
hands the containers the credentials of the shell that runs `sam local start-api` (the
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables first, before any profile; its env-vars file
cannot set them, as it only overrides variables the template declares and Lambda reserves these).
So the key goes to a 0600 file under .local-state/ (git ignores it) and the printed command reads
it with `env $(cat FILE) sam local start-api ...`: never on a command line or in shell history.

Two settings must agree between the services and `sam local start-api`:
- the region: SAM gives the functions the region of `--region`, else the AWS config's (profile or
  AWS_DEFAULT_REGION; SAM ignores AWS_REGION), else us-east-1. The services resolve it the same
  way and the printed command pins it with `--region`; the env-vars file names no region.
- the API port: the stand-in accepts exactly one callback URL, http://localhost:<port>/callback,
  and the env-vars file carries it, so both take the same `--port`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .aws import LocalAws, start_aws
from .intrinsics import Resolver, environment_of
from .pagerduty import PagerDuty, start_pagerduty
from .provision import provision, stable_references
from .runner import CLIENT_SECRET_FIELD, pseudo_parameters
from .template import Template, load_template

SERVICES_HOST = "0.0.0.0"  # containers come in through the Docker bridge, not loopback
CONTAINER_HOST = "host.docker.internal"
PAGERDUTY_HOST = "pagerduty.localhost"
CLIENT_ID = "sam-local-client"  # fixed, since the env-vars file carries it
DEFAULT_REGION = "us-east-1"  # sam local's region when your AWS config names none
ACCOUNT_ID = "123456789012"  # moto's account
ENV_VARS_FILE = Path("local/sam-local-env.json")
STATE_DIR = Path(".local-state")  # ignored by git


@dataclass(frozen=True)
class Ports:
    """Where everything listens; the env-vars file and the services must use the same ones."""

    api: int = 3000  # `sam local start-api --port` (its default)
    aws: int = 5001  # not moto's usual 5000: macOS's AirPlay receiver holds that one
    pagerduty: int = 8090

    @property
    def redirect_uri(self) -> str:
        return f"http://localhost:{self.api}/callback"

    def options(self) -> str:
        """The local.stack options that select these ports (empty for the defaults)."""
        default = Ports()
        chosen = (("--port", self.api, default.api), ("--aws-port", self.aws, default.aws))
        chosen += (("--pagerduty-port", self.pagerduty, default.pagerduty),)
        return "".join(f" {option} {value}" for option, value, usual in chosen if value != usual)

    @property
    def credentials_file(self) -> Path:
        """Where the embedded AWS on these ports leaves its key (one file per AWS port, so two runs
        on different ports, or a test run beside yours, never overwrite each other's)."""
        return STATE_DIR / f"sam-local-credentials-{self.aws}.env"


def sam_region(explicit: str | None = None) -> str:
    """The region `sam local start-api [--region R]` hands its functions, resolved as SAM does."""
    if explicit:
        return explicit
    import boto3  # reads AWS_DEFAULT_REGION, AWS_PROFILE and ~/.aws/config like SAM's own session

    try:
        return boto3.session.Session().region_name or DEFAULT_REGION
    except Exception as exc:  # noqa: BLE001 - botocore's profile errors have no common base
        raise ValueError(f"cannot read the AWS config for its region ({exc}); pass --region") from exc


def start_api_command(ports: Ports, region: str, env_vars_file: Path = ENV_VARS_FILE) -> str:
    """The command to run from the repository: the key comes from its file, never the command line."""
    return (
        f"sam build && env $(cat {ports.credentials_file}) sam local start-api --env-vars {env_vars_file} "
        f"--port {ports.api} --region {region} "
        f"--add-host {CONTAINER_HOST}:host-gateway --add-host {PAGERDUTY_HOST}:host-gateway"
    )


def credentials_lines(aws: LocalAws) -> str:
    """`NAME=value` lines for `env $(cat FILE)`: no comment (env would run it), no quoting needed
    (the key is letters, digits, `-` and `_`). AWS_SESSION_TOKEN is emptied so that a session token
    in the developer's shell never travels with this key."""
    credentials = aws.credentials
    return (
        f"AWS_ACCESS_KEY_ID={credentials['AWS_ACCESS_KEY_ID']}\n"
        f"AWS_SECRET_ACCESS_KEY={credentials['AWS_SECRET_ACCESS_KEY']}\n"
        "AWS_SESSION_TOKEN=\n"
    )


def write_credentials(path: Path, text: str) -> None:
    """Readable by the developer only (0600, whatever the umask or an older file's mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)
    os.replace(partial, path)


def env_vars(template: Template, ports: Ports = Ports()) -> dict[str, dict[str, str]]:
    """The env-vars file: per function, its template environment pointed at the host's services.

    Region-free (the key is named by its alias, not an ARN), so it works in whatever region SAM
    runs the functions."""
    pagerduty_url = f"http://{PAGERDUTY_HOST}:{ports.pagerduty}"
    aws = LocalAws(f"http://{CONTAINER_HOST}:{ports.aws}", DEFAULT_REGION, ACCOUNT_ID, embedded=False)
    resolver = Resolver(template, pseudo_parameters=pseudo_parameters(aws))
    for logical_id, reference in stable_references(template, resolver, None, ACCOUNT_ID).items():
        resolver.with_resource(logical_id, reference)
    overrides = {
        "PD_CLIENT_ID": CLIENT_ID,
        "PD_REDIRECT_URI": ports.redirect_uri,
        "PD_IDENTITY_URL": pagerduty_url,
        "PD_API_URL": pagerduty_url,
        "PD_API_URL_EU": f"{pagerduty_url}/eu",
        "AWS_ENDPOINT_URL": aws.endpoint_url,
    }
    routed = dict.fromkeys(route.function_id for route in template.routes)  # template order
    return {fid: environment_of(template.functions[fid], resolver, overrides) for fid in routed}


def render_env_vars(template: Template, ports: Ports = Ports()) -> str:
    return json.dumps(env_vars(template, ports), indent=2) + "\n"


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
    ports: Ports
    credentials_file: Path  # the embedded AWS's key, for `sam local start-api`; removed at stop
    _exit: contextlib.ExitStack

    def stop(self) -> None:
        self._exit.close()


def start_services(
    template_path: Path, *, region: str, ports: Ports = Ports(), host: str = SERVICES_HOST
) -> RunningServices:
    template = load_template(template_path)
    with contextlib.ExitStack() as exit_stack:
        # Always the embedded AWS and the stand-in: the env-vars file names these ports.
        aws = start_aws({"AWS_REGION": region}, host=host, port=ports.aws)
        exit_stack.callback(aws.stop)
        pagerduty = start_pagerduty(
            {},
            redirect_uri=ports.redirect_uri,
            host=host,
            port=ports.pagerduty,
            client_id=CLIENT_ID,
            public_host=PAGERDUTY_HOST,
        )
        exit_stack.callback(pagerduty.stop)
        resolver = Resolver(template, pseudo_parameters=pseudo_parameters(aws))
        provision(template, resolver, aws, {CLIENT_SECRET_FIELD: pagerduty.client_secret})
        credentials_file = template.path.parent / ports.credentials_file
        write_credentials(credentials_file, credentials_lines(aws))
        exit_stack.callback(credentials_file.unlink, missing_ok=True)  # the key dies with the run
        running = RunningServices(aws, pagerduty, ports, credentials_file, exit_stack.pop_all())
    return running
