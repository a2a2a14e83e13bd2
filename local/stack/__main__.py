"""python -m local.stack [--services-only | --write-sam-local-env] [--template PATH]"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from . import sam_local
from .aws import AwsUnavailable
from .lambda_runtime import FunctionInitError
from .pagerduty import PagerDutyUnavailable
from .runner import RunningStack, start_stack
from .template import TemplateError, load_template

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_PORT = 3000
DEFAULT_LAMBDA_PORT = 3001  # `sam local start-lambda`'s default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__)
    parser.add_argument("--template", type=Path, default=REPOSITORY / "template.yaml", help="SAM template to run")
    parser.add_argument(
        "--parameter-overrides",
        default="",
        metavar="'Key=Value ...'",
        help="template parameters, as for sam: e.g. 'AllowAnonymousConnect=false ReturnToOrigin=http://app.localhost:8000'",
    )
    parser.add_argument(
        "--json-logs", action="store_true", help="also print the functions' JSON log lines (as Lambda writes them)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="keep the connections, key, secret and stand-in tokens here across runs (make run: .local-state)",
    )
    parser.add_argument("--reset", action="store_true", help="with --state-dir: delete the kept state first")
    parser.add_argument(
        "--port",
        type=_port_option,
        help="where the API listens: the local API (default $PORT or 3000), or with --services-only and "
        "--write-sam-local-env the port you give `sam local start-api --port` (default 3000)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--services-only",
        action="store_true",
        help=f"start only AWS (port {sam_local.Ports.aws}) and the PagerDuty stand-in (port "
        f"{sam_local.Ports.pagerduty}) for `sam local start-api`",
    )
    mode.add_argument(
        "--write-sam-local-env",
        nargs="?",
        const=sam_local.ENV_VARS_FILE,
        type=Path,
        metavar="PATH",
        help=f"write the env-vars file for `sam local start-api` (default {sam_local.ENV_VARS_FILE})",
    )
    sam = parser.add_argument_group("for sam local (--services-only, --write-sam-local-env)")
    sam.add_argument(
        "--region",
        help="the region `sam local start-api --region` runs the functions in (default: your AWS config's, "
        "as SAM resolves it, else us-east-1)",
    )
    sam.add_argument("--aws-port", type=_port_option, default=sam_local.Ports.aws, help="embedded AWS port")
    sam.add_argument("--pagerduty-port", type=_port_option, default=sam_local.Ports.pagerduty, help="stand-in port")
    args = parser.parse_args(argv)
    # Our request lines at INFO; libraries (botocore, werkzeug) only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger(__package__).setLevel(logging.INFO)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if args.write_sam_local_env or args.services_only:
            ports = sam_local.Ports(api=args.port or sam_local.Ports.api, aws=args.aws_port, pagerduty=args.pagerduty_port)
            if args.write_sam_local_env:
                return _write_env_vars(args.template, ports, args.write_sam_local_env)
            region = sam_local.sam_region(args.region)
            return _serve(lambda: _start_services(args.template, ports, region), stop)
        parameters = _parameter_overrides(args.parameter_overrides)
        return _serve(
            lambda: _start_everything(
                args.template,
                parameters,
                args.port,
                json_logs=args.json_logs,
                state_dir=args.state_dir,
                reset=args.reset,
            ),
            stop,
        )
    except (TemplateError, AwsUnavailable, PagerDutyUnavailable, FunctionInitError, ImportError, OSError, ValueError) as exc:
        print(f"local stack: {exc}", file=sys.stderr)
        return 1


def _serve(start, stop: threading.Event) -> int:
    running = start()
    try:
        print("\nCtrl-C to stop.", flush=True)
        while not stop.wait(1):
            pass
    finally:
        running.stop()
    print("Stopped.", flush=True)
    return 0


def _port_option(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return int(text)


def _parameter_overrides(text: str) -> dict[str, str]:
    """As sam reads them: shell-style words, so a value with spaces is quoted (ProductName='Acme Status')."""
    pairs = [item.partition("=") for item in shlex.split(text)]
    if any(not sep or not key for key, sep, _ in pairs):
        raise ValueError(f"--parameter-overrides takes 'Key=Value Key2=\"Value with spaces\"', got {text!r}")
    return {key: value for key, _, value in pairs}


def _with_client_secret(env: dict[str, str]) -> dict[str, str]:
    """Your own PagerDuty app's secret, never on a command line: PD_CLIENT_SECRET_FILE names a
    file holding it, or (in a terminal) a prompt reads it without echo."""
    real = all(env.get(name, "").strip() for name in ("PD_IDENTITY_URL", "PD_API_URL", "PD_CLIENT_ID"))
    if not real or env.get("PD_CLIENT_SECRET", "").strip():
        return env
    if env.get("PD_CLIENT_SECRET_FILE", "").strip():
        secret = Path(env["PD_CLIENT_SECRET_FILE"].strip()).expanduser().read_text("utf-8").strip()
    elif sys.stdin.isatty():
        secret = getpass.getpass(f"Client secret of PagerDuty app {env['PD_CLIENT_ID'].strip()} (not shown): ").strip()
    else:
        return env  # start_pagerduty names what is missing
    return {**env, "PD_CLIENT_SECRET": secret}


def _port(name: str, default: int) -> int:
    setting = os.environ.get(name, str(default))
    if not setting.isdigit() or not 0 <= int(setting) <= 65535:
        raise ValueError(f"{name} must be a port number, got {setting!r}")
    return int(setting)


def _start_everything(
    template: Path,
    parameters: dict[str, str],
    api_port: int | None,
    *,
    json_logs: bool = False,
    state_dir: Path | None = None,
    reset: bool = False,
) -> RunningStack:
    port, lambda_port = api_port or _port("PORT", DEFAULT_PORT), _port("LAMBDA_PORT", DEFAULT_LAMBDA_PORT)
    try:
        running = start_stack(
            template,
            port=port,
            env=_with_client_secret(dict(os.environ)),
            parameters=parameters,
            json_logs=json_logs,
            state_dir=state_dir,
            reset=reset,
            lambda_port=lambda_port,
        )
    except OSError as exc:
        raise OSError(
            f"cannot start (is port {port} or {lambda_port} taken? set PORT or LAMBDA_PORT): {exc.strerror or exc}"
        ) from exc
    aws = running.aws
    where = "embedded moto" if aws.embedded else "AWS_ENDPOINT_URL"
    print("PagerDuty Connect, running locally", flush=True)
    print(f"  AWS        {where} at {aws.endpoint_url} ({aws.region})")
    if aws.run_key is not None:
        # Refuses browsers and any other key: this is how `make admin` or a script gets in.
        key = aws.credentials
        print(f"  AWS key    AWS_ACCESS_KEY_ID={key['AWS_ACCESS_KEY_ID']} AWS_SECRET_ACCESS_KEY={key['AWS_SECRET_ACCESS_KEY']} (this run only)")
    print(f"  PagerDuty  {running.pagerduty.description}")
    for route in running.template.routes:
        print(f"  Route      {route.route_key} -> {route.function_id}")
    if running.lambda_endpoint:
        print(f"  Lambda     {running.lambda_endpoint} (Invoke API) -> {', '.join(running.invocable)}")
        example = "TokenFunction" if "TokenFunction" in running.invocable else running.invocable[0]
        print(
            f"             AWS_ACCESS_KEY_ID={aws.environment()['AWS_ACCESS_KEY_ID']} "
            f"AWS_SECRET_ACCESS_KEY={aws.environment()['AWS_SECRET_ACCESS_KEY']} AWS_REGION={aws.region} \\\n"
            f"             aws lambda invoke --endpoint-url {running.lambda_endpoint} --function-name {example} "
            "--cli-binary-format raw-in-base64-out --payload '{\"action\":\"status\",\"app_user_id\":\"user-42\"}' /dev/stdout"
        )
    for user in running.pagerduty.demo_users:
        print(f"  Demo user  {user}")
    if running.state_note:
        print(f"  State      {running.state_note}")
        print("  Admin      make admin ARGS=list   (finds this stack by itself)")
    print(f"\n  Open {running.landing_url}", flush=True)
    return running


def _start_services(template: Path, ports: sam_local.Ports, region: str) -> sam_local.RunningServices:
    running = sam_local.start_services(template, region=region, ports=ports)
    print("Services for `sam local start-api`", flush=True)
    print(
        f"  AWS        embedded moto on port {ports.aws} "
        f"(containers: http://{sam_local.CONTAINER_HOST}:{ports.aws}, region {region})"
    )
    print(f"  PagerDuty  {running.pagerduty.description}, accepts {ports.redirect_uri}")
    print(
        f"  Exposed    both listen on every interface (containers come in through the Docker bridge), so "
        f"anyone on your network can reach them: the embedded AWS (the table, the key, the secrets) accepts "
        f"only requests signed with this run's key, in {ports.credentials_file} "
        f"(mode 0600, removed at stop), and no browser request; the stand-in (fake users, fake secrets) "
        f"answers anyone, its control endpoints no browser."
    )
    _warn_about_env_vars(template, ports)
    print(f"\n  In another terminal:\n    {sam_local.start_api_command(ports, region)}")
    print(f"  then open http://localhost:{ports.api}/", flush=True)
    return running


def _write_env_vars(template_path: Path, ports: sam_local.Ports, target: Path) -> int:
    template = load_template(template_path)
    if target is sam_local.ENV_VARS_FILE:  # the default lives next to the template; a given path is as given
        target = template.path.parent / target
    target.write_text(sam_local.render_env_vars(template, ports), encoding="utf-8")
    print(f"wrote {target} for `sam local start-api --port {ports.api}`")
    _note_undeclared_variables(template)
    return 0


def _warn_about_env_vars(template_path: Path, ports: sam_local.Ports) -> None:
    template = load_template(template_path)
    committed = template.path.parent / sam_local.ENV_VARS_FILE
    if not committed.exists() or committed.read_text(encoding="utf-8") != sam_local.render_env_vars(template, ports):
        print(
            f"  Note: {sam_local.ENV_VARS_FILE} does not match these ports or the template: "
            f"python -m local.stack --write-sam-local-env{ports.options()}"
        )
    _note_undeclared_variables(template)


def _note_undeclared_variables(template) -> None:
    for function_id, names in sam_local.undeclared_variables(template).items():
        print(f"  Note: sam local drops {', '.join(names)} for {function_id}: template.yaml does not declare them")


if __name__ == "__main__":
    sys.exit(main())
