"""pdconnect admin: list, show, refresh and delete stored connections. Never prints a token.

Configuration is, in this order: `--stack NAME` (read from a deployed CloudFormation stack); the
functions' own environment (TABLE_NAME, TOKEN_KEY_ID, CLIENT_SECRET_ID, PD_CLIENT_ID, ...); or
the running `make run` stack, found through the settings it writes to its state directory
(`--local-state DIR`, which `make admin` passes). The same commands work locally and against AWS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

from botocore.exceptions import EndpointConnectionError
from pd_connect.client.access_tokens import NeedsReauthorization, TokenRefreshFailed
from pd_connect.client.disconnect import REVOKE_IN_PAGERDUTY, disconnect
from pd_connect.container import Container
from pd_connect.platform.config import ConfigError
from pd_connect.platform.errors import LayerError
from pd_connect.vault.connections import ConnectionKey, ConnectionStore, StoredConnection

REPOSITORY = Path(__file__).resolve().parents[1]

# CloudFormation outputs/parameters -> the environment variables the library reads.
STACK_SETTINGS = {
    "ConnectTableName": "TABLE_NAME",
    "TokenKeyArn": "TOKEN_KEY_ID",
    "ClientSecretArn": "CLIENT_SECRET_ID",
    "PagerDutyClientId": "PD_CLIENT_ID",
    "EventsDeadLetterQueueUrl": "EVENTS_DEAD_LETTER_QUEUE_URL",
    "EventBus": "EVENT_BUS_NAME",
}


def _load_stack(name: str) -> None:
    import boto3  # only for --stack

    (stack,) = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    values = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    values.update({p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])})
    for source, variable in STACK_SETTINGS.items():
        if values.get(source):
            os.environ.setdefault(variable, values[source])


class NoLocalStack(RuntimeError):
    """--local-state names a directory no running local stack writes to."""


def _load_local_stack(directory: str) -> None:
    """Point this process at the running local stack: its endpoints, names and fake credentials."""
    from local.stack.aws import FAKE_CREDENTIALS
    from local.stack.local_state import StateDirectory

    settings = StateDirectory(directory).read_settings()
    if settings is None:
        raise NoLocalStack(
            f"no local stack is running with {directory} (start one with `make run`), and no settings in "
            "the environment or --stack NAME"
        )
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):  # they would shadow the fake ones
        os.environ.pop(name, None)
    os.environ.update({**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": settings.get("AWS_REGION", "us-east-1"), **settings})


def printable(value: object) -> str:
    """Text safe for an operator's terminal. Names and e-mails come from PagerDuty profiles: an
    ANSI/OSC escape or a carriage return there could recolour, retitle or forge rows. Control,
    format (bidi overrides) and line/paragraph separator characters are shown escaped."""
    text = str(value)
    return "".join(
        c if c == " " or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
        else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in text
    )


def _emit_json(value, out) -> None:
    json.dump(value, out, indent=2)
    out.write("\n")


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds") if epoch else "-"


def _print_table(rows: list[StoredConnection]) -> None:
    header = f"{'KEY':<28} {'NAME':<24} {'SUBDOMAIN':<18} {'REGION':<6} {'TOKEN EXPIRES':<25} STATUS"
    print(header)
    for row in rows:
        c = row.connection
        status = "needs reauthorization" if row.needs_reauthorization else "ok"
        name, subdomain, region = printable(c.user_name)[:24], printable(c.subdomain)[:18], printable(c.region)
        print(f"{str(c.key):<28} {name:<24} {subdomain:<18} {region:<6} {_when(c.access_token_expires_at):<25} {status}")


def cmd_list(args, out) -> int:
    store = args.container.connections
    if args.app_user:
        rows = store.find_by_app_user(args.app_user)  # one Query on the by_app_user index
        return _output_rows(rows, args, out)
    rows, cursor = [], None
    while True:
        page, cursor = store.list_page(limit=args.page_size, after=cursor)
        rows.extend(page)
        if not cursor or (args.limit and len(rows) >= args.limit):
            break
    rows = rows[: args.limit] if args.limit else rows
    return _output_rows(rows, args, out)


def _output_rows(rows: list[StoredConnection], args, out) -> int:
    if args.json:
        _emit_json([r.summary() for r in rows], out)
    else:
        _print_table(rows)
        print(f"{len(rows)} connection(s)")
    return 0


def _find(store: ConnectionStore, key: ConnectionKey) -> StoredConnection | None:
    record = store.find(key)
    if record is None:
        print(f"no connection {key}", file=sys.stderr)
    return record


def cmd_show(args, out) -> int:
    store = args.container.connections
    record = _find(store, args.key)
    if record is None:
        return 1
    summary = record.summary()
    if args.json:
        _emit_json(summary, out)
    else:
        for name, value in summary.items():
            print(f"{name:<24} {printable(value)}")
    return 0


def cmd_refresh(args, out) -> int:
    store = args.container.connections
    record = _find(store, args.key)
    if record is None:
        return 1
    tokens = args.container.access_tokens
    try:
        token = tokens.get(args.key, reject_version=record.token_version)
    except NeedsReauthorization as error:
        print(f"needs reauthorization: {error}", file=sys.stderr)
        return 3
    except TokenRefreshFailed as error:
        print(f"refresh failed: {error}", file=sys.stderr)
        return 4
    result = {"key": str(args.key), "token_version": token.version, "access_token_expires_at": _when(token.expires_at)}
    if args.json:
        _emit_json(result, out)
    else:
        print(f"refreshed {args.key}: token version {result['token_version']}, expires {result['access_token_expires_at']}")
    return 0


def cmd_delete(args, out) -> int:
    store = args.container.connections
    if not args.yes:
        print(f"refusing to delete {args.key} without --yes", file=sys.stderr)
        return 2
    deleted = disconnect(args.key, store)
    if args.json:
        _emit_json({"key": str(args.key), "deleted": deleted, "revoke": REVOKE_IN_PAGERDUTY}, out)
    elif deleted:
        print(f"deleted {args.key}\n{REVOKE_IN_PAGERDUTY}")
    else:
        print(f"no connection {args.key}", file=sys.stderr)
    return 0 if deleted else 1


def cmd_replay_events(args, out) -> int:
    import boto3  # only for this command: the stream and queue clients
    from pd_connect.events.event_bus import EventBus

    from .replay import replay_dead_letters

    queue_url = args.queue_url or os.environ.get("EVENTS_DEAD_LETTER_QUEUE_URL", "")
    if not queue_url:
        print("replay-events needs --queue-url (the EventsDeadLetterQueueUrl output) or --stack", file=sys.stderr)
        return 2
    bus = EventBus(args.container.aws.events, args.container.settings.event_bus_name)
    report = replay_dead_letters(boto3.client("sqs"), boto3.client("dynamodbstreams"), bus, queue_url)
    result = {"replayed_batches": report.replayed_batches, "records": report.records, "kept": report.kept}
    if args.json:
        _emit_json(result, out)
    else:
        print(f"replayed {report.replayed_batches} batch(es), {report.records} stream record(s) to bus {bus.name}")
        for problem in report.kept:
            print(f"kept in the queue: {problem}")
    return 1 if report.kept else 0


def _key(text: str) -> ConnectionKey:
    try:
        return ConnectionKey.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m admin", description="Operate stored PagerDuty connections (tokens are never shown).")
    p.add_argument("--stack", help="read settings from this deployed CloudFormation stack")
    p.add_argument(
        "--local-state",
        metavar="DIR",
        help="without --stack or TABLE_NAME: use the local stack running with this state directory",
    )
    commands = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    listing = commands.add_parser("list", parents=[common], help="list connections")
    listing.add_argument("--limit", type=int, default=0, help="stop after this many")
    listing.add_argument("--page-size", type=int, default=100)
    listing.add_argument("--app-user", default="", help="only this app user's connections (linked flows)")
    listing.set_defaults(run=cmd_list)
    for name, run, text in (("show", cmd_show, "show one connection"), ("refresh", cmd_refresh, "refresh one connection's tokens now"), ("delete", cmd_delete, "delete one connection")):
        command = commands.add_parser(name, parents=[common], help=text)
        command.add_argument("key", type=_key, help="ACCOUNT_ID/USER_ID[/APP_USER_ID] as `list` prints it")
        if name == "delete":
            command.add_argument("--yes", action="store_true", help="really delete")
        command.set_defaults(run=run)
    replay = commands.add_parser(
        "replay-events", parents=[common], help="put lifecycle events the stream could not deliver on the bus again"
    )
    replay.add_argument("--queue-url", default="", help="the events dead-letter queue (EventsDeadLetterQueueUrl output)")
    replay.set_defaults(run=cmd_replay_events)
    doctor = commands.add_parser("doctor", help="check a deployed stack: settings, secret, endpoint, alarms (one line per check)")
    doctor.add_argument("--stack", dest="doctor_stack", help="the stack to check (or the global --stack)")
    doctor.add_argument("--region", help="the stack's region (default: your AWS config's)")
    doctor.add_argument("--identity-url", default=None, help="PagerDuty's identity host to expect (default https://identity.pagerduty.com)")
    doctor.add_argument("--template", type=Path, default=REPOSITORY / "template.yaml", help="the template the stack was deployed from")
    doctor.set_defaults(run=cmd_doctor)
    return p


def cmd_doctor(args, out) -> int:
    import boto3  # only for the AWS-facing commands
    from botocore.exceptions import BotoCoreError

    from local.stack.template import TemplateError, load_template

    from . import doctor

    name = args.doctor_stack or args.stack
    if not name:
        print("doctor needs --stack NAME (make doctor STACK=NAME)", file=sys.stderr)
        return 2
    try:
        template = load_template(args.template)
    except TemplateError as error:
        print(f"doctor: {error}", file=sys.stderr)
        return 2
    session = boto3.session.Session(region_name=args.region)
    try:
        checks = doctor.run(
            name,
            aws=session.client,
            template=template,
            identity_url=args.identity_url or doctor.PAGERDUTY_IDENTITY_URL,
        )
    except doctor.StackNotFound as error:
        print(doctor.Check("stack", doctor.FAIL, str(error)).line(), file=out)
        return 1
    except BotoCoreError as error:  # no credentials, no region, endpoint unreachable
        print(doctor.Check("aws", doctor.FAIL, type(error).__name__, "configure AWS credentials and a region (--region)").line(), file=out)
        return 1
    print(f"{name} ({session.region_name})", file=out)
    for check in checks:
        print(check.line(), file=out)
    failed = [check for check in checks if check.status == doctor.FAIL]
    print(f"{len(failed)} problem(s)" if failed else "all checks passed", file=out)
    return 1 if failed else 0


def main(argv: list[str] | None = None, out=sys.stdout, container: Container | None = None) -> int:
    """Run one command. `container`: the wiring to use (default: one built from the environment,
    after --stack or the local stack's state has filled it in)."""
    args = parser().parse_args(argv)
    try:
        if args.stack and args.run is not cmd_doctor:
            _load_stack(args.stack)
        elif args.local_state and not os.environ.get("TABLE_NAME"):
            _load_local_stack(args.local_state)
        args.container = container or Container()
        return args.run(args, out)
    except NoLocalStack as error:
        print(error, file=sys.stderr)
        return 2
    except EndpointConnectionError as error:
        print(f"cannot reach {error.kwargs.get('endpoint_url', 'AWS')}: is the stack still running?", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"configuration: {error}", file=sys.stderr)
        return 2
    except LayerError as error:
        print(f"failed: {error.described}", file=sys.stderr)
        return 5
