"""python -m local.pagerduty_standin --client-id X --client-secret Y --redirect-uri URL [...]"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .clients import RegisteredClient
from .standin import ACCESS_TOKEN_LIFETIME, CODE_LIFETIME, StandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.pagerduty_standin",
        description="Serve a strict local PagerDuty stand-in (OAuth 2.0 and GET /users/me).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090, 0 = any free port)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument(
        "--redirect-uri", action="append", required=True, help="a registered redirect URI (repeatable)"
    )
    parser.add_argument("--app-name", default="Connect PagerDuty (development)")
    parser.add_argument("--code-lifetime", type=float, default=CODE_LIFETIME, help="seconds (default 30)")
    parser.add_argument("--access-token-lifetime", type=float, default=ACCESS_TOKEN_LIFETIME, help="seconds")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        client = RegisteredClient(args.client_id, args.client_secret, tuple(args.redirect_uri), args.app_name)
    except ValueError as exc:
        parser.error(str(exc))
    standin = StandIn(
        [client],
        host=args.host,
        port=args.port,
        code_lifetime=args.code_lifetime,
        access_token_lifetime=args.access_token_lifetime,
    )
    # Both signals only set the event, and are in force before the URL is printed: whoever reads
    # the URL and signals at once gets a clean stop, never a KeyboardInterrupt outside the loop.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: stop.set())
    try:
        base_url = standin.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(base_url, flush=True)
    print(f"  identity: {base_url}/oauth/authorize, {base_url}/oauth/token", file=sys.stderr)
    print(f"  REST API: US {standin.api_url('US')}, EU {standin.api_url('EU')}", file=sys.stderr)
    print("  Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
