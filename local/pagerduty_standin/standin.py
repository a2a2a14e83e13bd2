"""StandIn: builds the pieces, serves them on a background thread, stops cleanly."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any, Iterable

from cryptography.hazmat.primitives.asymmetric import rsa

from .accounts import AVATAR_PATH, DEFAULT_USERS, DemoUser, Region, UserDirectory
from .authorize import AuthorizeEndpoint
from .avatars import AvatarEndpoint
from .calls import CallCounter
from .clients import ClientRegistry, RegisteredClient
from .control import ControlEndpoints
from .faults import FaultBoard
from .id_token import DEFAULT_ISSUER, IdTokenSigner
from .rest_api import UsersMeEndpoint
from .scopes import ScopeGrants
from ..http_server import LocalServer
from .server import MAX_BODY_BYTES, Router, framing_error, wsgi_app
from .token_endpoint import TokenEndpoint
from .tokens import TokenSnapshot, TokenStore
from .wire import Request, Response

CODE_LIFETIME = 30  # PagerDuty: an authorization code lives 30 s
ACCESS_TOKEN_LIFETIME = 864000  # the `expires_in` of PagerDuty's documented sample
REFRESH_TOKEN_LIFETIME = 210 * 24 * 3600  # PagerDuty: classic refresh tokens, 210 days
_POLL_SECONDS = 0.01  # how soon stop() is noticed; tests start and stop a stand-in each
_CLIENT_TIMEOUT_S = 10  # how long a silent client may hold a thread
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})  # others: 501


class StandIn:
    """A local PagerDuty: identity (/oauth/*), US REST API (/users/me), EU REST API (/eu/users/me)."""

    def __init__(
        self,
        clients: Iterable[RegisteredClient],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Iterable[DemoUser] = DEFAULT_USERS,
        code_lifetime: float = CODE_LIFETIME,
        access_token_lifetime: float = ACCESS_TOKEN_LIFETIME,
        refresh_token_lifetime: float = REFRESH_TOKEN_LIFETIME,
        issuer: str = DEFAULT_ISSUER,
        signing_key: rsa.RSAPrivateKey | None = None,
        subdomain_in_callback: bool = False,
    ) -> None:
        clients = tuple(clients)
        if not clients:
            raise ValueError("register at least one client")
        self._host = host
        self._port = port
        self._stopping = threading.Event()
        self._users = UserDirectory(users)
        self._calls = CallCounter()
        self.faults = FaultBoard(self._stopping)
        self._tokens = TokenStore(
            code_lifetime=code_lifetime,
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
        )
        self._signer = IdTokenSigner(signing_key, issuer)
        self._clients = registry = ClientRegistry(clients)
        self.scopes = ScopeGrants()  # scopes withheld from every grant: pd.scopes.withhold("write")
        authorize = AuthorizeEndpoint(
            registry, self._users, self._tokens, self._calls, grants=self.scopes, subdomain_in_callback=subdomain_in_callback
        )
        token = TokenEndpoint(registry, self._tokens, self._signer, self.faults, self._calls)
        users_me = UsersMeEndpoint(self._tokens, self.faults, self._calls, lambda: self.base_url)
        control = ControlEndpoints(self.faults, self._calls, self._users, self._tokens, registry, self.scopes)
        self._router = Router(
            {
                ("GET", "/oauth/authorize"): authorize.show,
                ("POST", "/oauth/authorize"): authorize.decide,
                ("POST", "/oauth/token"): token,
                ("GET", "/.well-known/jwks.json"): self._jwks,
                ("GET", "/users/me"): partial(users_me, region=Region.US),
                ("GET", Region.EU.path_prefix + "/users/me"): partial(users_me, region=Region.EU),
                ("GET", "/_standin/health"): lambda request: Response.json(200, {"ok": True}),
                ("GET", "/_standin/faults"): control.list_faults,
                ("POST", "/_standin/faults"): control.set_faults,
                ("DELETE", "/_standin/faults"): control.clear_faults,
                ("GET", "/_standin/calls"): control.calls,
                ("POST", "/_standin/reset"): control.reset,
                ("POST", "/_standin/users"): control.add_user,
                ("POST", "/_standin/revoke"): control.revoke_tokens,
                ("POST", "/_standin/client_secret"): control.rotate_client_secret,
                ("GET", "/_standin/scopes"): control.withheld_scopes,
                ("POST", "/_standin/scopes"): control.withhold_scopes,
                ("DELETE", "/_standin/scopes"): control.grant_all_scopes,
            },
            prefixes={("GET", AVATAR_PATH): AvatarEndpoint(self._users)},
        )
        self._server: LocalServer | None = None

    # Lifecycle

    def start(self) -> str:
        """Bind, serve on a background thread, return the base URL. The socket listens on return."""
        if self._server is not None:
            raise RuntimeError("the stand-in is already running")
        self._stopping.clear()
        self._server = LocalServer(
            wsgi_app(self._router),
            host=self._host,
            port=self._port,
            name="pagerduty-standin",
            server_header="PagerDutyStandIn/1.0",
            framing_error=framing_error,
            methods=_METHODS,
            timeout_s=_CLIENT_TIMEOUT_S,
            max_chunked_bytes=MAX_BODY_BYTES,  # never read: chunked bodies are refused (411)
        )
        self._server.start(poll_interval_s=_POLL_SECONDS)
        return self.base_url

    def stop(self) -> None:
        """Stop serving, free the port, join the serving thread. Safe to call twice."""
        server = self._server
        if server is None:
            return
        self._stopping.set()  # cut injected delays short
        server.stop()
        self._server = None

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # Where things are

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.host, self._server.port
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def identity_url(self) -> str:
        """Stands for https://identity.pagerduty.com."""
        return self.base_url

    def api_url(self, region: str = "US") -> str:
        """Stands for https://api.pagerduty.com ("US") or https://api.eu.pagerduty.com ("EU")."""
        return self.base_url + Region.from_key(region).path_prefix

    # Test controls

    @property
    def calls(self) -> dict[str, int]:
        """A snapshot of the call counters."""
        return self._calls.snapshot()

    def reset(self) -> None:
        """Clear faults, counters and withheld scopes (users and tokens stay)."""
        self.faults.clear()
        self._calls.reset()
        self.scopes.clear()

    def add_user(self, user: DemoUser) -> None:
        self._users.add(user)

    @property
    def users(self) -> tuple[DemoUser, ...]:
        return self._users.all()

    def rotate_client_secret(self, client_id: str, client_secret: str) -> None:
        """The client's secret becomes `client_secret`; the old one gets invalid_client from now on."""
        self._clients.rotate_secret(client_id, client_secret)

    def token_snapshot(self) -> TokenSnapshot:
        """The live tokens, for a local stack that keeps its state across restarts."""
        return self._tokens.snapshot()

    def restore_tokens(self, snapshot: TokenSnapshot) -> None:
        self._tokens.restore(snapshot)

    def revoke_all_tokens(self) -> None:
        """Like "Revoke All Tokens" in PagerDuty's App Registration."""
        self._tokens.revoke_all()

    def jwks(self) -> dict[str, Any]:
        return self._signer.jwks()

    def _jwks(self, request: Request) -> Response:
        return Response.json(200, self._signer.jwks(), (("Cache-Control", "public, max-age=300"),))
