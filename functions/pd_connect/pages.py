"""HTML pages: templates a builder can restyle, rendered with every value escaped.

Templates are `string.Template` files in templates/ (`$name` placeholders). Values are escaped
unless wrapped in `Trusted` (used only for markup this module renders itself). The stylesheet is
inlined and allowed by its SHA-256 in the Content-Security-Policy, so pages load nothing else —
apart from the user's avatar, allowed for its one https origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from html import escape
from importlib import resources
from string import Template
from urllib.parse import urlsplit

from .failures import Reason
from .web import Response


class Trusted(str):
    """Markup rendered by this module; inserted without escaping."""


@cache
def _template(name: str) -> Template:
    return Template(resources.files(__package__).joinpath("templates", name).read_text("utf-8"))


def _render(template_name: str, **values: str) -> str:
    safe = {key: value if isinstance(value, Trusted) else escape(value, quote=True) for key, value in values.items()}
    return _template(template_name).substitute(safe)


@cache
def _stylesheet() -> tuple[str, str]:
    css = resources.files(__package__).joinpath("templates", "style.css").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return css, f"'sha256-{digest}'"


def _page(status: int, title: str, body: str, *, img_origin: str = "", cookies: tuple[str, ...] = ()) -> Response:
    css, css_hash = _stylesheet()
    csp = f"default-src 'none'; style-src {css_hash}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    if img_origin:
        csp += f"; img-src {img_origin}"
    html = _render("layout.html", title=title, style=Trusted(css), body=Trusted(body))
    return Response(status=status, body=html, content_security_policy=csp, cookies=cookies)


# An ASCII DNS name (letters, digits, hyphens; dot-separated labels), as CSP's host-source allows.
_HOST = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_AUTHORITY = re.compile(r"(?P<host>[^:/?#]+)(:(?P<port>[0-9]{1,5}))?")


def https_origin(url: str | None) -> str:
    """The origin of an https URL with an ASCII host name and no userinfo, or "" for anything else
    (http:, javascript:, data:, IP literals, junk). The origin goes into the CSP's img-src, so it is
    rebuilt from the parsed host and port, never copied: "https://a.example;report-uri x/" or a
    non-Latin-1 host (which could not be sent as a header) is dropped, not injected."""
    if not url or not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    authority = _AUTHORITY.fullmatch(parts.netloc)
    if parts.scheme != "https" or authority is None or not _HOST.fullmatch(authority["host"]):
        return ""
    port = authority["port"]
    if port is not None and not 0 < int(port) < 65536:
        return ""
    return f"https://{authority['host'].lower()}" + (f":{int(port)}" if port else "")


def landing() -> Response:
    return _page(200, "Connect your PagerDuty account", _render("landing.html"))


def welcome(
    *,
    name: str,
    avatar_url: str | None,
    subdomain: str,
    region: str,
    profile_loaded: bool,
    cookies: tuple[str, ...] = (),
) -> Response:
    origin = https_origin(avatar_url)
    avatar = _render("avatar.html", avatar_url=avatar_url or "", name=name) if origin else ""
    note = "" if profile_loaded else _render("profile_note.html")
    body = _render(
        "welcome.html",
        name=name,
        avatar=Trusted(avatar),
        subdomain=subdomain or "unknown",
        region=region,
        profile_note=Trusted(note),
    )
    return _page(200, "Connected to PagerDuty", body, img_origin=origin, cookies=cookies)


def failure(
    reason: Reason,
    *,
    try_again: str = "/authorize",
    missing_scopes: tuple[str, ...] = (),
    cookies: tuple[str, ...] = (),
) -> Response:
    """`try_again`: where the "Try again" link starts a new flow (the builder's app when only
    linked flows are allowed). `missing_scopes`: named, with what to do, when PagerDuty granted
    fewer scopes than asked."""
    if reason is Reason.ACCESS_DENIED:
        title = "Connection cancelled"
    else:
        title = "Could not connect to PagerDuty"
    details = ""
    if missing_scopes:
        items = "".join(f"<li><code>{escape(scope, quote=True)}</code></li>" for scope in missing_scopes)
        details = _render("scopes_missing.html", items=Trusted(items))
    body = _render(
        "failure.html",
        title=title,
        message=reason.message,
        details=Trusted(details),
        reason=reason.code,
        try_again=try_again,
    )
    return _page(reason.status, title, body, cookies=cookies)
