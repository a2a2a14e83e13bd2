"""Registered OAuth clients (PagerDuty's "App Registration") and client authentication."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass, replace
from typing import Iterable, Mapping
from urllib.parse import unquote_plus, urlsplit

from .errors import InvalidClient, OAuthError


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str = "Connect PagerDuty (development)"

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("a RegisteredClient needs a client_id and a client_secret")
        if isinstance(self.redirect_uris, str) or not self.redirect_uris:
            raise ValueError("redirect_uris must be a non-empty tuple of URLs")
        object.__setattr__(self, "redirect_uris", tuple(self.redirect_uris))
        for uri in self.redirect_uris:
            parts = urlsplit(uri)
            # RFC 6749 §3.1.2: absolute URI, no fragment.
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise ValueError(f"redirect URI must be an absolute http(s) URL without fragment: {uri!r}")

    def allows_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string match (RFC 9700 §4.1.3); PagerDuty's own rule is unconfirmed, strict is safe.
        return redirect_uri in self.redirect_uris


class ClientRegistry:
    def __init__(self, clients: Iterable[RegisteredClient]) -> None:
        self._lock = threading.Lock()
        self._clients = {client.client_id: client for client in clients}

    def find(self, client_id: str | None) -> RegisteredClient | None:
        with self._lock:
            return self._clients.get(client_id) if client_id else None

    def rotate_secret(self, client_id: str, client_secret: str) -> None:
        """Like generating a new client secret in App Registration: the old one stops working."""
        with self._lock:
            client = self._clients.get(client_id)
            if client is None:
                raise ValueError(f"no registered client {client_id!r}")
            self._clients[client_id] = replace(client, client_secret=client_secret)

    def authenticate(self, params: Mapping[str, str], authorization: str | None) -> RegisteredClient:
        """The client that authenticated with client_secret_post or client_secret_basic.

        RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request.
        """
        basic = _basic_credentials(authorization)
        if basic is not None:
            if "client_secret" in params:
                raise OAuthError("invalid_request", "Use one client authentication method, not two")
            client_id, client_secret = basic
            if params.get("client_id", client_id) != client_id:
                raise InvalidClient("client_id in the body differs from the authenticated client")
        else:
            client_id = params.get("client_id", "")
            client_secret = params.get("client_secret", "")
        client = self.find(client_id)
        if client is None or not client_secret:
            raise InvalidClient()
        if not hmac.compare_digest(client.client_secret.encode(), client_secret.encode()):
            raise InvalidClient()
        return client


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an HTTP Basic header, form-decoded per RFC 6749 §2.3.1."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient("Unsupported Authorization scheme on the token endpoint")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient("Malformed Basic credentials") from exc
    client_id, sep, client_secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("Malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(client_secret)
