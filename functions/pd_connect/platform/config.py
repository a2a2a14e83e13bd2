"""Configuration, read and validated from the environment (once per container: pd_connect.container).

Values come from template parameters through environment variables. A missing or malformed
setting fails at start with a message naming the setting, never halfway through a user's flow.
"""

import ipaddress
import os
import re
from typing import Mapping
from urllib.parse import urlsplit

from pd_connect.platform.https_urls import https_origin
from pd_connect.platform.records import Record

REAL_IDENTITY_URL = "https://identity.pagerduty.com"
REAL_API_URL = {"US": "https://api.pagerduty.com", "EU": "https://api.eu.pagerduty.com"}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Branding(Record):
    """The builder's product on the pages. Empty values keep the built-in pages as they are."""

    product_name: str = ""
    logo_url: str = ""  # https; its origin (and nothing more) is added to img-src
    accent_color: str = ""  # "#rrggbb"
    support_url: str = ""  # https
    privacy_policy_url: str = ""  # https


class Settings(Record):
    """This container's settings (settings_from)."""

    client_id: str
    scopes: str
    redirect_uri: str  # "" = derive https://<API Gateway domain>/callback per request
    table_name: str
    identity_url: str
    api_urls: Mapping[str, str]  # region ("US"/"EU") -> REST API base
    token_key_id: str  # KMS key for stored tokens (callback and token readers only)
    client_secret_id: str  # Secrets Manager secret: the OAuth client secret (callback, refreshers)
    allow_anonymous: bool = True  # connections without a link token from the builder's app
    return_to_origin: str = ""  # the one origin a linked flow may send the browser back to
    branding: Branding = Branding()
    page_templates_dir: str = ""  # the builder's templates (a Lambda layer's folder); "" = built-in only
    link_signing_key_id: str = ""  # secret with the link signing key (start function verifies)
    result_signing_key_id: str = ""  # secret with the result signing key (callback signs)
    event_bus_name: str = "default"  # EventBridge bus for lifecycle events (the events function)

    def api_url(self, region: str) -> str:
        return self.api_urls[region]

    @property
    def try_again_url(self) -> str:
        """Where a new attempt starts: /authorize, or the builder's app when flows must start there."""
        if self.allow_anonymous:
            return "/authorize"
        return f"{self.return_to_origin}/" if self.return_to_origin else "/"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set: see README, Configuration")
    return value


def is_loopback(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost") or host == "::1":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_transport(env: Mapping[str, str], name: str, value: str) -> None:
    """A deployed stack sends the client secret and tokens to these endpoints: plain http only to
    this machine (the local stack), or inside `sam local` (AWS_SAM_LOCAL, containers reach the
    host as host.docker.internal). A misconfigured override cannot send them in clear."""
    parts = urlsplit(value)
    if parts.scheme == "http" and not is_loopback(parts.hostname or "") and env.get("AWS_SAM_LOCAL") != "true":
        raise ConfigError(f"{name} must be https (plain http only for loopback hosts), got {value!r}")


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an http(s) base URL without query, got {value!r}")
    _check_transport(env, name, value)
    return value.rstrip("/")


def _check_aws_endpoints(env: Mapping[str, str]) -> None:
    """boto3 reads AWS_ENDPOINT_URL (and per-service AWS_ENDPOINT_URL_*) itself; check them here."""
    for name in sorted(n for n in env if n == "AWS_ENDPOINT_URL" or n.startswith("AWS_ENDPOINT_URL_")):
        value = env[name].strip()
        if not value:
            continue
        if urlsplit(value).scheme not in ("https", "http"):
            raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
        _check_transport(env, name, value)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def _origin(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip().rstrip("/")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path or parts.query or parts.username:
        raise ConfigError(f"{name} must be an origin like https://app.example.com, got {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


MAX_PRODUCT_NAME = 80
_HEX_COLOR = r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})"  # compiled on first use (see https_urls)


def _product_name(env: Mapping[str, str]) -> str:
    value = " ".join(env.get("PRODUCT_NAME", "").split())
    if len(value) > MAX_PRODUCT_NAME or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise ConfigError(f"PRODUCT_NAME must be at most {MAX_PRODUCT_NAME} printable characters, got {value!r}")
    return value


def _https_url(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if value and (not https_origin(value) or "\\" in value or any(c.isspace() or c < " " for c in value)):
        raise ConfigError(
            f"{name} must be an https URL with a plain host name (no user name, spaces or backslashes), got {value!r}"
        )
    return value


def _hex_color(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        return ""
    match = re.fullmatch(_HEX_COLOR, value)
    if not match:
        raise ConfigError(f"{name} must be a hex colour such as #5b3cc4 or #53c, got {value!r}")
    digits = match.group(1).lower()
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))


def _directory(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if value and not os.path.isdir(value):
        raise ConfigError(f"{name} must be a folder of page templates, and {value!r} is not a folder")
    return value


def branding_from(env: Mapping[str, str]) -> Branding:
    return Branding(
        product_name=_product_name(env),
        logo_url=_https_url(env, "LOGO_URL"),
        accent_color=_hex_color(env, "ACCENT_COLOR"),
        support_url=_https_url(env, "SUPPORT_URL"),
        privacy_policy_url=_https_url(env, "PRIVACY_POLICY_URL"),
    )


_BUS_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")


def _bus_name(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip() or "default"
    if not _BUS_NAME.match(value):
        raise ConfigError(f"{name} must be an EventBridge bus name in this account, got {value!r}")
    return value


def settings_from(env: Mapping[str, str], *, handles_tokens: bool) -> Settings:
    """Build Settings from an environment mapping; `handles_tokens` for the token-handling side."""
    redirect_uri = env.get("PD_REDIRECT_URI", "").strip()
    if redirect_uri:
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise ConfigError(f"PD_REDIRECT_URI must be an absolute http(s) URL, got {redirect_uri!r}")
    scopes = " ".join(env.get("PD_SCOPES", "").split()) or "read"
    _check_aws_endpoints(env)
    return Settings(
        client_id=_required(env, "PD_CLIENT_ID"),
        scopes=scopes,
        redirect_uri=redirect_uri,
        table_name=_required(env, "TABLE_NAME"),
        identity_url=_base_url(env, "PD_IDENTITY_URL", REAL_IDENTITY_URL),
        api_urls={
            "US": _base_url(env, "PD_API_URL", REAL_API_URL["US"]),
            "EU": _base_url(env, "PD_API_URL_EU", REAL_API_URL["EU"]),
        },
        token_key_id=_required(env, "TOKEN_KEY_ID") if handles_tokens else env.get("TOKEN_KEY_ID", ""),
        client_secret_id=(
            _required(env, "CLIENT_SECRET_ID") if handles_tokens else env.get("CLIENT_SECRET_ID", "").strip()
        ),
        allow_anonymous=_flag(env, "ALLOW_ANONYMOUS_CONNECT", True),
        return_to_origin=_origin(env, "RETURN_TO_ORIGIN"),
        branding=branding_from(env),
        page_templates_dir=_directory(env, "PAGE_TEMPLATES_DIR"),
        link_signing_key_id=env.get("LINK_SIGNING_KEY_ID", "").strip(),
        result_signing_key_id=env.get("RESULT_SIGNING_KEY_ID", "").strip(),
        event_bus_name=_bus_name(env, "EVENT_BUS_NAME"),
    )


# A function name, or a full/partial ARN (with an optional version or alias), as Lambda's Invoke
# takes it. Compiled on first use (see https_urls): the start and callback functions never need it.
_TOKEN_FUNCTION = (
    r"(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)


def token_function_name(env: Mapping[str, str]) -> str:
    """PD_CONNECT_TOKEN_FUNCTION: the token function the library invokes instead of reading the
    table itself (README: "Use connections from any backend"); "" = read the table directly."""
    value = env.get("PD_CONNECT_TOKEN_FUNCTION", "").strip()
    if value and not re.fullmatch(_TOKEN_FUNCTION, value):
        raise ConfigError(f"PD_CONNECT_TOKEN_FUNCTION must be a Lambda function name or ARN, got {value!r}")
    return value
