"""The stand-in's own HTML: the consent page and the error page shown instead of redirecting.

Templates live in templates/ so they can be restyled; every value is HTML-escaped unless it is
`Safe` (fragments this module built from escaped values).
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template
from typing import Iterable, Mapping

from .accounts import DemoUser

_TEMPLATES = Path(__file__).parent / "templates"


class Safe(str):
    """Markup that is already escaped."""


def render(template: str, **values: str) -> str:
    escaped = {name: v if isinstance(v, Safe) else html.escape(str(v), quote=True) for name, v in values.items()}
    return _template(template).substitute(escaped)


@cache
def _template(name: str) -> Template:
    return Template((_TEMPLATES / name).read_text(encoding="utf-8"))


def _join(fragments: Iterable[str]) -> Safe:
    return Safe("\n".join(fragments))


def _element(template: str, **values: str) -> str:
    return Template(template).substitute({k: html.escape(v, quote=True) for k, v in values.items()})


def authorize_page(app_name: str, requested_scope: str, params: Mapping[str, str], users: Iterable[DemoUser]) -> str:
    scope_items = _join(_element("<li><code>$scope</code></li>", scope=s) for s in requested_scope.split(" ") if s)
    hidden_fields = _join(
        _element('<input type="hidden" name="$name" value="$value">', name=name, value=value)
        for name, value in params.items()
    )
    user_options = _join(
        _element(
            '<option value="$id">$name ($email), account $subdomain ($region)</option>',
            id=user.id,
            name=user.name,
            email=user.email,
            subdomain=user.account.subdomain,
            region=user.account.region.name,
        )
        for user in users
    )
    return render(
        "authorize.html",
        app_name=app_name,
        scope_items=scope_items,
        hidden_fields=hidden_fields,
        user_options=user_options,
    )


def error_page(description: str) -> str:
    return render("error.html", description=description)


# The consent page is PagerDuty's, not the app's: no framing, no caching, nothing external.
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
)
