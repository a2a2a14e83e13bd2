"""The AWS the local stack talks to: moto's server in this process, or one you already run.

With `AWS_ENDPOINT_URL` set, that endpoint is used as it is (a moto or LocalStack you started);
otherwise moto's server starts on a loopback port behind aws_guard: no browser request gets in,
and only requests signed with this run's random access key do. Either way this process gets
those credentials, a region and `AWS_ENDPOINT_URL`, so the handlers' boto3 clients reach it and
never a real account.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .aws_guard import AwsGuard, RunKey

DEFAULT_REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Settings that would send boto3 somewhere else than the endpoint chosen here.
_SHADOWING = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class AwsUnavailable(RuntimeError):
    """The embedded AWS could not start, or the configured endpoint does not answer."""


@dataclass
class LocalAws:
    endpoint_url: str  # as this process reaches it
    region: str
    account_id: str
    embedded: bool  # False: AWS_ENDPOINT_URL named an endpoint someone else runs
    _server: object | None = None
    run_key: RunKey | None = None  # the embedded AWS accepts only this key (None: AWS_ENDPOINT_URL's, not ours)

    @property
    def credentials(self) -> dict[str, str]:
        if self.run_key is None:
            return dict(FAKE_CREDENTIALS)
        return {"AWS_ACCESS_KEY_ID": self.run_key.access_key_id, "AWS_SECRET_ACCESS_KEY": self.run_key.secret_access_key}

    def environment(self) -> dict[str, str]:
        """Variables that point boto3 (ours and the handlers') at this AWS."""
        return {
            **self.credentials,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",  # no credential probes of a metadata service
        }

    def client(self, service: str):
        return _session().client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2}),
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # shuts the werkzeug server down and closes its socket
            self._server = None


@functools.cache
def _session() -> boto3.session.Session:
    """One session per process: its loader caches the service models, so later clients are cheap."""
    return boto3.session.Session()


def start_aws(env: Mapping[str, str], *, host: str = "127.0.0.1", port: int = 0) -> LocalAws:
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    external = env.get("AWS_ENDPOINT_URL", "").strip()
    if external:
        aws = LocalAws(endpoint_url=external.rstrip("/"), region=region, account_id="", embedded=False)
    else:
        aws = _start_moto(region, host, port)
    try:
        aws.account_id = aws.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        aws.stop()
        raise AwsUnavailable(f"AWS endpoint {aws.endpoint_url} does not answer: {exc}") from exc
    return aws


def point_process_at(aws: LocalAws) -> None:
    """Make every boto3 client created in this process from now on use `aws`."""
    for name in [*_SHADOWING, *(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_"))]:
        os.environ.pop(name, None)
    os.environ.update(aws.environment())


def _start_moto(region: str, host: str, port: int) -> LocalAws:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer  # heavy import: only when moto is really wanted
    from werkzeug.serving import make_server

    from .atomic_dynamodb import make_moto_item_writes_atomic

    class GuardedMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:  # as moto's, with the guard in front of its app
            app = AwsGuard(DomainDispatcherApplication(create_backend_app), run_key)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    make_moto_item_writes_atomic()
    if port:
        _check_port_free(host, port)  # moto's start() would hang if its thread fails to bind
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per boto3 call
    # Every client must sign with this run's key: ours and the developer's on loopback, and on the
    # container path the containers, which sign with the credentials of the shell running
    # `sam local start-api` (sam_local writes the key to a file that shell reads).
    run_key = RunKey.new()
    server = GuardedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    _, bound_port = server.get_host_and_port()
    reach_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return LocalAws(
        endpoint_url=f"http://{reach_host}:{bound_port}",
        region=region,
        account_id="",
        embedded=True,
        _server=server,
        run_key=run_key,
    )


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise AwsUnavailable(f"port {port} on {host} is taken ({exc.strerror})") from exc
