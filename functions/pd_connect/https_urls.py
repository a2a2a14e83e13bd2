"""https URLs a page may link to or load from, and their origins for the Content-Security-Policy.

An origin goes into a CSP header, so its host must be a plain DNS name: anything else (`;`,
quotes, spaces) could add directives to the policy, and a user name or a backslash (which browsers
read as `/`) could make the browser load from another host than the one allowed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LENGTH = 2048
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A pattern string, compiled on first use (re caches it): a compile at import is cold start for
# every container, and most never see a URL to check.
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"


def https_origin(url: str | None) -> str:
    """`https://host[:port]` of an https URL with a plain host, or "" for anything else
    (http:, javascript:, data:, user names, odd characters, junk)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_LENGTH:
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a malformed IPv6 literal
        return ""
    host = parts.hostname or ""
    if parts.scheme != "https" or "@" in parts.netloc or not re.fullmatch(_HOST, host):
        return ""
    # Only the host reaches the header (the rest of the URL is escaped where it is shown), so only
    # the host is held to this: "host:" with an empty port, a backslash, spaces all fail here.
    if parts.netloc.lower() not in (host, f"{host}:{port}"):
        return ""
    return f"https://{host}" if port in (None, 443) else f"https://{host}:{port}"
