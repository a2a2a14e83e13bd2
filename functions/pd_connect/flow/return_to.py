"""Where the browser goes after connecting: only paths on the one allow-listed origin.

RFC 9700 §4.11: a client MUST NOT expose an open redirector. The return path is checked when the
link is minted, when it is verified, and once more when the final URL is built from the
allow-listed origin; anything that could leave that origin is refused, including encoded forms.
"""

from __future__ import annotations

from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

MAX_LENGTH = 1024


def normalise_return_path(value: str) -> str:
    """A safe absolute path (with optional query) or ValueError. Fragments are dropped.

    Only printable ASCII: anything else must be percent-encoded, so the final URL is always a
    valid Location header (a raw "é" used to pass here and fail after the connection was stored)."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        raise ValueError("return path missing or too long")
    if any(not 0x21 <= ord(c) < 0x7F for c in value) or "\\" in value:
        raise ValueError("return path has control characters, spaces, non-ASCII or backslashes")
    # Look through percent-encoding (repeatedly) for anything a browser might act on.
    decoded = value
    for _ in range(3):
        decoded = unquote(decoded)
    if "\\" in decoded or any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise ValueError("return path hides backslashes or control characters")
    if not value.startswith("/") or value.startswith("//") or decoded.startswith("//"):
        raise ValueError("return path must be a path on this site, starting with a single /")
    # RFC 3986 §5.2.4: a browser removes dot segments, so "/..//evil.example/x" becomes a request
    # for "//evil.example/x" on our origin, which the app may redirect anywhere. Refuse them all.
    for form in (value, decoded):
        path = urlsplit(form).path
        if any(segment in (".", "..") for segment in path.split("/")):
            raise ValueError("return path has dot segments")
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        raise ValueError("return path must not name a scheme or host")
    return urlunsplit(("", "", parts.path, parts.query, ""))


def return_url(origin: str, path: str, **flags: str) -> str:
    """Join a validated path to the allow-listed origin, add flags, and check the result."""
    safe_path = normalise_return_path(path)
    parts = urlsplit(origin + safe_path)
    if f"{parts.scheme}://{parts.netloc}" != origin or parts.username or parts.password:
        raise ValueError("return URL would leave the allowed origin")
    query = "&".join(filter(None, [parts.query, urlencode(flags)]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
