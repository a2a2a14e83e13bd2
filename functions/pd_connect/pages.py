"""HTML pages: templates a builder can restyle, rendered with every value escaped.

Templates are `string.Template` files in templates/ (`$name` placeholders). Values are escaped
unless wrapped in `Trusted` (used only for markup this module renders itself). The stylesheet is
inlined and allowed by its SHA-256 in the Content-Security-Policy, so pages load nothing else —
apart from the user's avatar, allowed for its one https origin (or a loopback http origin: a
PagerDuty stand-in on the developer's machine).
"""

from __future__ import annotations

import base64
import hashlib
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
    # img-src 'self': the favicon; the avatar's origin on the welcome page.
    images = f"'self' {img_origin}" if img_origin else "'self'"
    csp = (
        f"default-src 'none'; style-src {css_hash}; img-src {images}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    html = _render("layout.html", title=title, style=Trusted(css), body=Trusted(body))
    return Response(status=status, body=html, content_security_policy=csp, cookies=cookies)


def https_origin(url: str | None) -> str:
    """The origin of an https URL, or "" for anything else (http:, javascript:, data:, junk)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            return ""
        return f"https://{parts.netloc}"
    except ValueError:
        return ""


def _loopback_http_origin(url: str) -> str:
    """http://localhost:PORT, http://*.localhost, http://127.0.0.1, http://[::1]: this machine,
    which browsers treat as secure. Never an http origin elsewhere."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        if parts.scheme != "http" or parts.username or parts.password:
            return ""
        if host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost"):
            return f"http://{parts.netloc}"
    except ValueError:
        pass
    return ""


def image_origin(url: str | None) -> str:
    """Where an avatar may load from: its https origin, or a loopback http origin."""
    return https_origin(url) or (_loopback_http_origin(url) if url else "")


def initials(name: str) -> str:
    """Shown in the avatar's circle until (or instead of, if it fails) the picture loads."""
    return "".join([word[0] for word in name.split() if word[0].isalnum()][:2]).upper()


def favicon() -> Response:
    """The tab icon (SVG, which browsers take at /favicon.ico too); cached for a day."""
    svg = resources.files(__package__).joinpath("templates", "favicon.svg").read_text("utf-8")
    return Response(
        status=200,
        body=svg,
        content_security_policy="default-src 'none'; frame-ancestors 'none'",
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


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
    origin = image_origin(avatar_url)
    avatar = _render("avatar.html", avatar_url=avatar_url or "", initials=initials(name)) if origin else ""
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


_TITLES = {
    Reason.ACCESS_DENIED: "Connection cancelled",
    Reason.NOT_FOUND: "Page not found",
    Reason.METHOD_NOT_ALLOWED: "Not available this way",
}
# Pages that are not a failed connection attempt: their link goes to the start, not a new flow.
_NOT_AN_ATTEMPT = (Reason.NOT_FOUND, Reason.METHOD_NOT_ALLOWED)


def failure(
    reason: Reason,
    *,
    reference: str = "",
    try_again: str = "/authorize",
    missing_scopes: tuple[str, ...] = (),
    cookies: tuple[str, ...] = (),
) -> Response:
    """`reference`: the id in this failure's log line, for the user to quote. `try_again`: where
    the "Try again" link starts a new flow (the builder's app when only linked flows are allowed).
    `missing_scopes`: named, with what to do, when PagerDuty granted fewer scopes than asked."""
    title = _TITLES.get(reason, "Could not connect to PagerDuty")
    again, label = (("/", "Go to the start") if reason in _NOT_AN_ATTEMPT else (try_again, "Try again"))
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
        reference=reference or "-",
        try_again=again,
        try_again_label=label,
    )
    return _page(reason.status, title, body, cookies=cookies)
