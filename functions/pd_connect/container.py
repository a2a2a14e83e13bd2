"""The composition root: what one process (a Lambda container, a builder's backend) wires once.

    settings -> AWS clients -> secrets -> cipher and stores -> the builder's API

Each part is built on first use and then kept on its Container, never in a module global: a
handler builds its app from one Container at import (cold start, so a bad setting fails there,
by name); the builder's functions (get_access_token, confirm_connection, ...) use the process's
Container, read from os.environ; a test builds its own Container from its own environment and
hands it over, to a handler's `lambda_handler(container)` or with `use(container)`.

Parts import their modules when first built: a function pays only for what it uses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pd_connect.platform.aws_clients import AwsClients
from pd_connect.platform.config import Settings, settings_from, token_function_name

if TYPE_CHECKING:
    import requests

    from pd_connect.client.access_tokens import AccessTokens
    from pd_connect.client.confirmations import Confirmations
    from pd_connect.platform.client_secret import Secrets
    from pd_connect.platform.signing_keys import SigningKeys
    from pd_connect.token_function.client import TokenFunctionClient
    from pd_connect.vault.connections import ConnectionStore
    from pd_connect.vault.token_cipher import TokenCipher
    from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore

T = TypeVar("T")


class Container:
    """One process's settings, clients and stores. Thread-safe: each part is built once.

    `environ`: where settings come from (default os.environ; the environment does not change
    under a running Lambda). `aws`: the boto3 clients (default: created on first use)."""

    def __init__(self, environ: Mapping[str, str] | None = None, *, aws: AwsClients | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.aws = AwsClients() if aws is None else aws
        self._parts: dict[str, Any] = {}
        self._lock = threading.RLock()  # re-entrant: building a part builds the parts it needs

    def _part(self, name: str, build: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is None:
            with self._lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return part

    # --- settings --------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """What every function needs (the start and events functions: no token key, no secret)."""
        return self._part("settings", lambda: settings_from(self.environ, handles_tokens=False))

    @property
    def token_settings(self) -> Settings:
        """The token-handling side's settings: TOKEN_KEY_ID and CLIENT_SECRET_ID are required."""
        return self._part("token_settings", lambda: settings_from(self.environ, handles_tokens=True))

    # --- secrets, HTTP and encryption ------------------------------------------------------------

    @property
    def secrets(self) -> Secrets:
        """Secrets Manager through one cache (POWERTOOLS_PARAMETERS_MAX_AGE) for the whole process."""

        def build() -> Secrets:
            from pd_connect.platform.client_secret import Secrets

            return Secrets(self.aws.secretsmanager)

        return self._part("secrets", build)

    def client_secret(self, *, force_fetch: bool = False) -> str:
        """The OAuth client secret (CLIENT_SECRET_ID), through the process's secret cache."""
        return self.secrets.client_secret(self.token_settings.client_secret_id, force_fetch=force_fetch)

    def signing_keys(self, secret_id: str) -> SigningKeys:
        """The link or result signing keys in `secret_id`, through the same cache."""
        from pd_connect.platform.signing_keys import load_signing_keys

        return load_signing_keys(self.secrets, secret_id)

    @property
    def http(self) -> requests.Session:
        """One HTTP session to PagerDuty (connection reuse across warm invocations; no per-request data)."""

        def build() -> requests.Session:
            import requests

            return requests.Session()

        return self._part("http", build)

    @property
    def cipher(self) -> TokenCipher:
        def build() -> TokenCipher:
            from pd_connect.vault.token_cipher import TokenCipher

            return TokenCipher(self.aws.kms, self.token_settings.token_key_id)

        return self._part("cipher", build)

    # --- stores ----------------------------------------------------------------------------------

    @property
    def connections(self) -> ConnectionStore:
        def build() -> ConnectionStore:
            from pd_connect.vault.connections import ConnectionStore

            return ConnectionStore(self.aws.dynamodb, self.token_settings.table_name, self.cipher)

        return self._part("connections", build)

    @property
    def unconfirmed_connections(self) -> UnconfirmedConnectionStore:
        """Linked flows' connections until the app confirms them (the callback writes them encrypted)."""

        def build() -> UnconfirmedConnectionStore:
            from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore

            return UnconfirmedConnectionStore(self.aws.dynamodb, self.token_settings.table_name, self.cipher)

        return self._part("unconfirmed_connections", build)

    # --- the builder's API -----------------------------------------------------------------------

    @property
    def access_tokens(self) -> AccessTokens:
        """Valid access tokens from the table: reads, decrypts and refreshes (its token cache is per process)."""

        def build() -> AccessTokens:
            from pd_connect.client.access_tokens import AccessTokens

            return AccessTokens(self.token_settings, self.connections, self.cipher, self.secrets, session=self.http)

        return self._part("access_tokens", build)

    @property
    def token_function_name(self) -> str:
        """PD_CONNECT_TOKEN_FUNCTION, or "" when this process reads the table itself."""
        return self._part("token_function_name", lambda: token_function_name(self.environ))

    def token_function(self, function_name: str = "") -> TokenFunctionClient:
        """The client of a token function (default PD_CONNECT_TOKEN_FUNCTION), one per name."""
        name = function_name or self.token_function_name
        if not name:
            raise RuntimeError("PD_CONNECT_TOKEN_FUNCTION is not set: the stack's TokenFunctionName output names it")

        def build() -> TokenFunctionClient:
            from pd_connect.token_function.client import TokenFunctionClient

            return TokenFunctionClient(self.aws.lambda_, name)

        return self._part(f"token_function:{name}", build)

    @property
    def token_source(self) -> AccessTokens | TokenFunctionClient:
        """Where the builder's functions get tokens: the token function when
        PD_CONNECT_TOKEN_FUNCTION names one (no table, key or secret grants needed), else the table."""
        return self.token_function() if self.token_function_name else self.access_tokens

    @property
    def confirmations(self) -> Confirmations:
        """confirm_connection's wiring: TABLE_NAME and RESULT_SIGNING_KEY_ID only (a builder's
        backend that confirms needs no PagerDuty settings)."""

        def build() -> Confirmations:
            from pd_connect.client.confirmations import Confirmations
            from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore

            table = self.environ.get("TABLE_NAME", "").strip()
            secret_id = self.environ.get("RESULT_SIGNING_KEY_ID", "").strip()
            if not table or not secret_id:
                raise RuntimeError("confirm_connection needs TABLE_NAME and RESULT_SIGNING_KEY_ID (README: Security)")
            store = UnconfirmedConnectionStore(self.aws.dynamodb, table)
            return Confirmations(store, lambda: self.signing_keys(secret_id).for_verifying)

        return self._part("confirmations", build)


_process: Container | None = None
_process_lock = threading.Lock()


def process_container() -> Container:
    """This process's Container, from os.environ: built on first use, then the same one."""
    global _process  # the process's one composition root; tests hand theirs over with use()
    if _process is None:
        with _process_lock:
            if _process is None:
                _process = Container()
    return _process


@contextmanager
def use(container: Container) -> Iterator[Container]:
    """Make `container` the process's Container inside the block (tests; a builder's tests too),
    then put back the one before it."""
    global _process
    with _process_lock:
        previous, _process = _process, container
    try:
        yield container
    finally:
        with _process_lock:
            _process = previous
