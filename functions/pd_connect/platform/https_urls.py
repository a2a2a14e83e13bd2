"""https URLs a page may link to or load from, and their origins for the Content-Security-Policy.

An origin goes into a CSP header, so it is rebuilt from the parsed host and port, never copied:
"https://a.example;report-uri x/", a user name, a backslash (which browsers read as `/`), an IP
literal or a non-Latin-1 host (which could not be sent as a header) gives no origin at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# An ASCII DNS name (letters, digits, hyphens; dot-separated labels), as CSP's host-source allows.
# Pattern strings, compiled on first use (re caches them): a compile at import is cold start for
# every container, and most never see a URL to check.
_HOST = r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_AUTHORITY = r"(?P<host>[^:/?#]+)(:(?P<port>[0-9]{1,5}))?"


def https_origin(url: str | None) -> str:
    """The origin of an https URL with an ASCII host name and no userinfo, or "" for anything else
    (http:, javascript:, data:, IP literals, junk)."""
    if not url or not isinstance(url, str):
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    authority = re.fullmatch(_AUTHORITY, parts.netloc)
    if parts.scheme != "https" or authority is None or not re.fullmatch(_HOST, authority["host"]):
        return ""
    port = authority["port"]
    if port is not None and not 0 < int(port) < 65536:
        return ""
    return f"https://{authority['host'].lower()}" + (f":{int(port)}" if port else "")
