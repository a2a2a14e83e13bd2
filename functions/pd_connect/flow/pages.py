"""HTML pages: templates a builder can restyle or replace, rendered with every value escaped.

One `Pages` per container (`load_pages`), built from the settings: the templates (page_templates),
the builder's branding and the requested scopes. Values are escaped unless wrapped in `Trusted`
(used only for markup this module renders itself from templates). The stylesheet, with the
accent colour, is inlined and allowed by its SHA-256 in the Content-Security-Policy, so pages load
nothing else — apart from images from the page's own origin (the favicon) and two https
origins: the builder's logo and the user's avatar. The one http origin an avatar may come from is
a loopback PagerDuty stand-in the settings point at (the local stack serves its avatars itself).
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from importlib import resources
from urllib.parse import urlsplit

from pd_connect.flow.failures import Reason
from pd_connect.flow.page_templates import PageTemplates, load_page_templates
from pd_connect.flow.permissions import describe
from pd_connect.platform.config import Branding, Settings, is_loopback
from pd_connect.platform.https_urls import https_origin
from pd_connect.platform.web import Response

DEFAULT_PRODUCT = "this app"
DARK_TEXT = "#1b1f1c"  # the pages' text colour, for buttons on a light accent
DARK_TEXT_RGB = (0x1B, 0x1F, 0x1C)
WHITE = (255, 255, 255)


class Trusted(str):
    """Markup rendered by this module; inserted without escaping."""


_TITLES = {
    Reason.ACCESS_DENIED: "Connection cancelled",
    Reason.NOT_FOUND: "Page not found",
    Reason.METHOD_NOT_ALLOWED: "Not available this way",
}
# Pages that are not a failed connection attempt: their link goes to the start, not a new flow.
_NOT_AN_ATTEMPT = (Reason.NOT_FOUND, Reason.METHOD_NOT_ALLOWED)


class Pages:
    def __init__(
        self, templates: PageTemplates, branding: Branding, requested_scopes: str, *, local_avatar_origin: str = ""
    ) -> None:
        self._templates = templates
        self._local_avatar_origin = local_avatar_origin  # "http://host:port" of a loopback stand-in, or ""
        self._product = branding.product_name or DEFAULT_PRODUCT
        self._heading = (
            f"Connect {branding.product_name} to your PagerDuty account"
            if branding.product_name
            else "Connect your PagerDuty account"
        )
        self._logo_origin = https_origin(branding.logo_url)
        self._logo = Trusted(
            self._render("logo.html", logo_url=branding.logo_url, product=branding.product_name or "Logo")
            if self._logo_origin
            else ""
        )
        self._footer = Trusted(self._footer_markup(branding))
        css = templates.stylesheet + (accent_rule(branding.accent_color) if branding.accent_color else "")
        digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
        self._css = Trusted(css)
        self._csp = f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        self._requested_scopes = requested_scopes

    def landing(self) -> Response:
        permissions = self._permissions(self._requested_scopes)
        body = self._render("landing.html", heading=self._heading, product=self._product, permissions=permissions)
        return self._page(200, self._heading, body)

    def welcome(
        self,
        *,
        name: str,
        avatar_url: str | None,
        subdomain: str,
        region: str,
        profile_loaded: bool,
        granted_scopes: str = "",
        cookies: tuple[str, ...] = (),
    ) -> Response:
        """`granted_scopes`: what PagerDuty granted (the token's `scope`), not what was asked for."""
        avatar_origin = https_origin(avatar_url) or self._local_origin_of(avatar_url)
        avatar = (
            self._render("avatar.html", avatar_url=avatar_url or "", name=name, initials=initials(name))
            if avatar_origin
            else ""
        )
        note = "" if profile_loaded else self._render("profile_note.html", product=self._product)
        granted = self._permissions(granted_scopes) or Trusted(
            self._render("permission.html", scope="", text="PagerDuty did not say which permissions it granted.")
        )
        body = self._render(
            "welcome.html",
            name=name,
            avatar=Trusted(avatar),
            subdomain=subdomain or "unknown",
            region=region,
            profile_note=Trusted(note),
            product=self._product,
            permissions=granted,
        )
        return self._page(200, "Connected to PagerDuty", body, avatar_origin=avatar_origin, cookies=cookies)

    def failure(
        self,
        reason: Reason,
        *,
        reference: str = "",
        try_again: str = "/authorize",
        missing_scopes: tuple[str, ...] = (),
        cookies: tuple[str, ...] = (),
    ) -> Response:
        """`reference`: the id in this failure's log line, for the user to quote. `try_again`: where
        the "Try again" link starts a new flow (the builder's app when only linked flows are
        allowed). `missing_scopes`: named, with what to do, when PagerDuty granted fewer scopes
        than asked."""
        title = _TITLES.get(reason, "Could not connect to PagerDuty")
        again, label = ("/", "Go to the start") if reason in _NOT_AN_ATTEMPT else (try_again, "Try again")
        details = ""
        if missing_scopes:
            items = "".join(f"<li><code>{escape(scope, quote=True)}</code></li>" for scope in missing_scopes)
            details = self._render("scopes_missing.html", items=Trusted(items))
        body = self._render(
            "failure.html",
            title=title,
            message=reason.message,
            details=Trusted(details),
            reason=reason.code,
            reference=reference or "-",
            try_again=again,
            try_again_label=label,
            product=self._product,
        )
        return self._page(reason.status, title, body, cookies=cookies)

    def _page(self, status: int, title: str, body: str, *, avatar_origin: str = "", cookies: tuple[str, ...] = ()) -> Response:
        # 'self': the favicon (/favicon.ico on the page's own origin).
        image_origins = dict.fromkeys(origin for origin in ("'self'", self._logo_origin, avatar_origin) if origin)
        csp = self._csp + f"; img-src {' '.join(image_origins)}"
        html = self._render(
            "layout.html",
            title=title,
            style=self._css,
            body=Trusted(body),
            logo=self._logo,
            footer=self._footer,
            product=self._product,
        )
        return Response(status=status, body=html, content_security_policy=csp, cookies=cookies)

    def _permissions(self, scopes: str) -> Trusted:
        return Trusted(
            "".join(
                self._render("permission.html", scope=" ".join(permission.scopes), text=permission.text)
                for permission in describe(scopes)
            )
        )

    def _footer_markup(self, branding: Branding) -> str:
        links = [
            self._render("footer_link.html", link_id=link_id, url=url, label=label)
            for link_id, url, label in (
                ("support", branding.support_url, "Support"),
                ("privacy-policy", branding.privacy_policy_url, "Privacy policy"),
            )
            if url
        ]
        return self._render("footer.html", links=Trusted(" · ".join(links))) if links else ""

    def _local_origin_of(self, url: str | None) -> str:
        """The configured loopback stand-in's origin when `url` is on it; "" for anything else."""
        if not url or not self._local_avatar_origin:
            return ""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return ""
        if parts.scheme != "http" or parts.username or parts.password:
            return ""
        return self._local_avatar_origin if f"http://{parts.netloc.lower()}" == self._local_avatar_origin else ""

    def _render(self, template_name: str, **values: str) -> str:
        safe = {key: value if isinstance(value, Trusted) else escape(value, quote=True) for key, value in values.items()}
        return self._templates.templates[template_name].substitute(safe)


def accent_rule(color: str) -> str:
    """CSS custom properties the stylesheet's buttons use: the colour, a darker hover, and the
    text colour (white or the pages' dark text, whichever reads better on it)."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    hover = "#" + "".join(f"{round(channel * 0.8):02x}" for channel in (red, green, blue))
    text = "#fff" if contrast(WHITE, (red, green, blue)) >= contrast(DARK_TEXT_RGB, (red, green, blue)) else DARK_TEXT
    return f"\n:root{{--accent:{color};--accent-hover:{hover};--accent-text:{text}}}\n"


def contrast(text: tuple[int, int, int], background: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (1 to 21)."""
    lighter, darker = sorted((_luminance(text), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


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


def local_avatar_origin(settings: Settings) -> str:
    """The PagerDuty API's origin when it is plain http on this machine (the local stand-in)."""
    parts = urlsplit(settings.api_url("US"))
    return f"http://{parts.netloc.lower()}" if parts.scheme == "http" and is_loopback(parts.hostname or "") else ""


def load_pages(settings: Settings) -> Pages:
    """This container's pages; a supplied template that cannot be used raises here, at start."""
    return Pages(
        load_page_templates(settings.page_templates_dir),
        settings.branding,
        settings.scopes,
        local_avatar_origin=local_avatar_origin(settings),
    )


def default_pages() -> Pages:
    """The built-in pages with no branding (tests, and tools that render a page outside a handler)."""
    return Pages(load_page_templates(), Branding(), "read")
