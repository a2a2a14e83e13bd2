"""The PagerDuty the local flow talks to: the stand-in by default, or a real account's app.

Set all of PD_IDENTITY_URL, PD_API_URL, PD_CLIENT_ID and PD_CLIENT_SECRET (PD_API_URL_EU and
PD_SCOPES optional) to use your own PagerDuty app; register the printed redirect URI in it.
Otherwise the stand-in starts with a freshly generated client whose only redirect URI is the
local callback.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

REAL_PAGERDUTY_SETTINGS = ("PD_IDENTITY_URL", "PD_API_URL", "PD_CLIENT_ID", "PD_CLIENT_SECRET")


class PagerDutyUnavailable(RuntimeError):
    """The PagerDuty settings are incomplete or the stand-in cannot start; the message says which."""


@dataclass(frozen=True)
class PagerDuty:
    description: str  # what the stack prints: "PagerDuty stand-in at http://..."
    client_id: str
    client_secret: str
    function_environment: Mapping[str, str]  # PD_* variables the handlers read
    stop: Callable[[], None]
    demo_users: tuple[str, ...] = ()  # "Ada Lovelace: PACMEUS/PADA001 (US)", one per stand-in user
    token_snapshot: Callable[[], Any] | None = None  # the stand-in's live tokens, to keep them


def start_pagerduty(
    env: Mapping[str, str],
    *,
    redirect_uri: str,
    host: str = "127.0.0.1",
    port: int = 0,
    client_id: str | None = None,
    public_host: str | None = None,
    saved_client: tuple[str, str] | None = None,
    saved_tokens: Any = None,
) -> PagerDuty:
    """`public_host` replaces the stand-in's host in the URLs handed out (e.g. to containers).
    `saved_client` (client id, secret) and `saved_tokens`: the stand-in's state from a previous run."""
    configured = [name for name in REAL_PAGERDUTY_SETTINGS if env.get(name, "").strip()]
    if len(configured) == len(REAL_PAGERDUTY_SETTINGS):
        return _real_pagerduty(env)
    if configured:
        missing = ", ".join(n for n in REAL_PAGERDUTY_SETTINGS if n not in configured)
        raise PagerDutyUnavailable(
            f"{', '.join(configured)} set but {missing} not: set all four to use your PagerDuty app, "
            "or none to use the stand-in"
        )
    return _standin(redirect_uri, host, port, client_id, public_host, saved_client, saved_tokens)


def _real_pagerduty(env: Mapping[str, str]) -> PagerDuty:
    settings = {"PD_IDENTITY_URL": env["PD_IDENTITY_URL"].strip(), "PD_API_URL": env["PD_API_URL"].strip()}
    for optional in ("PD_API_URL_EU", "PD_SCOPES"):  # your app may use the EU service or scoped OAuth
        if env.get(optional, "").strip():
            settings[optional] = env[optional].strip()
    return PagerDuty(
        description=f"PagerDuty at {settings['PD_IDENTITY_URL']} (client id {env['PD_CLIENT_ID'].strip()})",
        client_id=env["PD_CLIENT_ID"].strip(),
        client_secret=env["PD_CLIENT_SECRET"].strip(),
        function_environment=settings,
        stop=lambda: None,
    )


def _standin(
    redirect_uri: str,
    host: str,
    port: int,
    client_id: str | None,
    public_host: str | None,
    saved_client: tuple[str, str] | None,
    saved_tokens: Any,
) -> PagerDuty:
    try:
        from local.pagerduty_standin import RegisteredClient, StandIn
    except ImportError as exc:
        raise PagerDutyUnavailable(
            f"the PagerDuty stand-in cannot be imported ({exc}); set "
            f"{', '.join(REAL_PAGERDUTY_SETTINGS)} to use your own PagerDuty app"
        ) from exc
    saved_id, saved_secret = saved_client or (None, None)
    client = RegisteredClient(
        client_id=client_id or saved_id or f"local-{secrets.token_hex(8)}",
        client_secret=saved_secret or secrets.token_urlsafe(32),
        redirect_uris=(redirect_uri,),
    )
    standin = StandIn(clients=[client], host=host, port=port)
    if saved_tokens is not None:
        standin.restore_tokens(saved_tokens)
    try:
        base_url = standin.start()
    except OSError as exc:
        raise PagerDutyUnavailable(f"the stand-in cannot listen on {host}:{port} ({exc.strerror or exc})") from exc
    public_url = base_url if public_host is None else f"http://{public_host}:{base_url.rsplit(':', 1)[1]}"
    eu_path = standin.api_url("EU")[len(base_url) :]
    return PagerDuty(
        description=f"PagerDuty stand-in at {public_url} (client id {client.client_id})",
        client_id=client.client_id,
        client_secret=client.client_secret,
        function_environment={
            "PD_IDENTITY_URL": public_url,
            "PD_API_URL": public_url,
            "PD_API_URL_EU": public_url + eu_path,
        },
        stop=standin.stop,
        demo_users=tuple(
            f"{user.name}: {user.account.account_id}/{user.id} ({user.account.region.name})" for user in standin.users
        ),
        token_snapshot=standin.token_snapshot,
    )
