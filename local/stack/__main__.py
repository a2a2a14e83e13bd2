"""python -m local.stack [--services-only | --write-sam-local-env] [--template PATH]"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from . import sam_local
from .aws import AwsUnavailable
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
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--services-only",
        action="store_true",
        help=f"start only AWS (port {sam_local.AWS_PORT}) and the PagerDuty stand-in (port "
        f"{sam_local.PAGERDUTY_PORT}) for `sam local start-api`",
    )
    mode.add_argument("--write-sam-local-env", action="store_true", help=f"write {sam_local.ENV_VARS_FILE}")
    args = parser.parse_args(argv)
    # Our request lines at INFO; libraries (botocore, werkzeug) only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger(__package__).setLevel(logging.INFO)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if args.write_sam_local_env:
            return _write_env_vars(args.template)
        if args.services_only:
            return _serve(lambda: _start_services(args.template), stop)
        parameters = _parameter_overrides(args.parameter_overrides)
        return _serve(lambda: _start_everything(args.template, parameters), stop)
    except (TemplateError, AwsUnavailable, PagerDutyUnavailable, ImportError, OSError, ValueError) as exc:
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


def _parameter_overrides(text: str) -> dict[str, str]:
    pairs = [item.partition("=") for item in text.split()]
    if any(not sep or not key for key, sep, _ in pairs):
        raise ValueError(f"--parameter-overrides takes 'Key=Value Key2=Value2', got {text!r}")
    return {key: value for key, _, value in pairs}


def _port(name: str, default: int) -> int:
    setting = os.environ.get(name, str(default))
    if not setting.isdigit() or not 0 <= int(setting) <= 65535:
        raise ValueError(f"{name} must be a port number, got {setting!r}")
    return int(setting)


def _start_everything(template: Path, parameters: dict[str, str]) -> RunningStack:
    port, lambda_port = _port("PORT", DEFAULT_PORT), _port("LAMBDA_PORT", DEFAULT_LAMBDA_PORT)
    try:
        running = start_stack(template, port=port, env=dict(os.environ), parameters=parameters, lambda_port=lambda_port)
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
    print(f"\n  Open {running.landing_url}", flush=True)
    return running


def _start_services(template: Path) -> sam_local.RunningServices:
    running = sam_local.start_services(template, env=dict(os.environ))
    print("Services for `sam local start-api`", flush=True)
    print(
        f"  AWS        embedded moto on port {sam_local.AWS_PORT} "
        f"(containers: http://{sam_local.CONTAINER_HOST}:{sam_local.AWS_PORT}, {running.aws.region})"
    )
    print(f"  PagerDuty  {running.pagerduty.description}")
    print(
        f"  Exposed    both listen on every interface (containers come in through the Docker bridge), so "
        f"anyone on your network can reach them: the embedded AWS (the table, the key, the secrets) accepts "
        f"any credentials there but refuses browser requests; the stand-in's control endpoints refuse browsers. "
        f"Use it only with the stand-in and never with real PagerDuty secrets."
    )
    _warn_about_env_vars(template)
    print(f"\n  In another terminal:\n    {sam_local.start_api_command()}")
    print(f"  then open http://localhost:{sam_local.API_PORT}/", flush=True)
    return running


def _write_env_vars(template_path: Path) -> int:
    template = load_template(template_path)
    target = template.path.parent / sam_local.ENV_VARS_FILE
    target.write_text(sam_local.render_env_vars(template), encoding="utf-8")
    print(f"wrote {sam_local.ENV_VARS_FILE}")
    _warn_about_env_vars(template_path)
    return 0


def _warn_about_env_vars(template_path: Path) -> None:
    template = load_template(template_path)
    committed = template.path.parent / sam_local.ENV_VARS_FILE
    if not committed.exists() or committed.read_text(encoding="utf-8") != sam_local.render_env_vars(template):
        print(f"  Note: {sam_local.ENV_VARS_FILE} is out of date: python -m local.stack --write-sam-local-env")
    for function_id, names in sam_local.undeclared_variables(template).items():
        print(f"  Note: sam local drops {', '.join(names)} for {function_id}: template.yaml does not declare them")


if __name__ == "__main__":
    sys.exit(main())
