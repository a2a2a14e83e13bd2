"""The functions' AWS clients against an endpoint that accepts requests and never answers: the
configured read timeout ends each attempt, the configured retries make exactly three, and the
product sees one typed failure. Real sockets, no mock in between (nothing here asserts a time)."""

from __future__ import annotations

import socket
import threading

import pytest
from pd_connect.flow.failures import Reason, failure_for
from pd_connect.platform.aws_clients import AwsClients
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.errors import StoreUnavailable

from .support import ATTEMPTS


class SilentEndpoint:
    """Accepts connections and reads requests, never answers one; keeps each request's target."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.targets: list[str] = []
        self._open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self._open.append(connection)
            threading.Thread(target=self._swallow, args=(connection,), daemon=True).start()

    def _swallow(self, connection: socket.socket) -> None:
        try:
            while data := connection.recv(65536):
                self.targets += [line.split(b":", 1)[1].strip().decode() for line in data.split(b"\r\n") if line.lower().startswith(b"x-amz-target:")]
        except OSError:
            pass

    def close(self) -> None:
        self._server.close()
        for connection in self._open:
            connection.close()


@pytest.fixture
def silent_endpoint(monkeypatch):
    endpoint = SilentEndpoint()
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)  # how the local stack points the clients too
    yield endpoint
    endpoint.close()


def test_an_endpoint_that_never_answers_gets_three_attempts_then_a_dependency_down(silent_endpoint):
    client = AwsClients().dynamodb  # a new client, configured as in every function
    store = ConnectionStore(client, "connections", cipher=None)

    with pytest.raises(StoreUnavailable) as failure:
        store.find(ConnectionKey("PACMEUS", "PADA001"))

    assert (failure_for(failure.value).reason, failure.value.detail) == (Reason.DEPENDENCY_DOWN, "dynamodb get_item: ReadTimeoutError")
    assert silent_endpoint.targets == ["DynamoDB_20120810.GetItem"] * ATTEMPTS


def test_the_functions_clients_are_configured_for_a_waiting_user():
    # What the test above exercises, as configured: short timeouts, standard retries, 3 attempts.
    config = AwsClients().dynamodb.meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries) == (
        2,
        3,
        {"mode": "standard", "total_max_attempts": ATTEMPTS},
    )
