"""What stands between the embedded AWS (moto's server) and anything else on this machine.

moto accepts any credentials and answers CORS for any Origin, so a web page open in the
developer's browser could read the client secret and signing keys and decrypt stored tokens
with fetch(). This WSGI middleware, in front of moto, refuses:

- every browser request: anything carrying Origin or Sec-Fetch-* (browsers add them to every
  fetch, form post and navigation; boto3, the AWS CLI and curl never send them), and every
  CORS preflight;
- every request not signed (AWS Signature V4, checked with botocore's own signer) with this run's
  random access key. On the container path (`--services-only`) the containers sign with the
  credentials of the shell that runs `sam local start-api`, so sam_local writes the key to a file
  that command reads (never to its command line).
"""

from __future__ import annotations

import hmac
import io
import json
import re
import secrets
import string
from dataclasses import dataclass

_BROWSER_HEADERS = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE", "HTTP_SEC_FETCH_DEST")
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>[0-9]{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?Signature=(?P<signature>[0-9a-f]{64})"
)
_MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class RunKey:
    """This run's credentials for the embedded AWS: random, and written to disk only for the
    container path (a 0600 file under .local-state/, removed when the run stops)."""

    access_key_id: str
    secret_access_key: str

    @classmethod
    def new(cls) -> "RunKey":
        alphabet = string.ascii_uppercase + string.digits
        return cls("LOCAL" + "".join(secrets.choice(alphabet) for _ in range(15)), secrets.token_urlsafe(30))

    def __repr__(self) -> str:
        return f"RunKey({self.access_key_id}, <secret>)"


class AwsGuard:
    def __init__(self, app, run_key: RunKey | None) -> None:
        self._app = app
        self._run_key = run_key

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "OPTIONS" or any(h in environ for h in _BROWSER_HEADERS):
            return _refuse(start_response, "browser requests are refused by the local embedded AWS")
        if self._run_key is not None:
            body = _read_body(environ)
            if body is None or not _signed_with(environ, body, self._run_key):
                return _refuse(start_response, "only requests signed with this run's access key are accepted")
            environ["wsgi.input"] = io.BytesIO(body)
        return self._app(environ, start_response)


def _refuse(start_response, message: str):
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    start_response("403 Forbidden", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 <= length <= _MAX_BODY:
        return None
    return environ["wsgi.input"].read(length) if length else b""


def _signed_with(environ, body: bytes, key: RunKey) -> bool:
    """Recompute the request's SigV4 signature with the run's secret (botocore's signer)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    match = _AUTHORIZATION.fullmatch(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None or not hmac.compare_digest(match["key"], key.access_key_id):
        return False
    headers = {}
    for name in match["headers"].split(";"):
        cgi_name = name.upper().replace("-", "_")
        value = environ.get(cgi_name if cgi_name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{cgi_name}")
        if value is None:
            return False
        headers[name] = value
    timestamp = headers.get("x-amz-date", "")
    if not timestamp.startswith(match["date"]):
        return False
    query = environ.get("QUERY_STRING", "")
    path = (environ.get("RAW_URI") or environ.get("PATH_INFO") or "/").split("?", 1)[0]  # as sent, not decoded
    url = f"http://{headers.get('host', 'localhost')}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=url, data=body, headers=headers)
    request.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), match["service"], match["region"])
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return hmac.compare_digest(expected, match["signature"])
