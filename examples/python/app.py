"""A builder's backend in Python that lets its signed-in users connect PagerDuty and then uses the
connection: mint a link, confirm the return, get a token, call PagerDuty, and ask the user to
reconnect when PagerDuty no longer accepts the connection. Standard library, boto3 and PyJWT.

    PD_CONNECT_URL=<LandingUrl> PD_CONNECT_TOKEN_FUNCTION=<TokenFunctionArn> \\
    LINK_SIGNING_KEY_ID=<LinkSigningKeyArn> PORT=8000 python app.py

Its AWS role needs lambda:InvokeFunction on the token function (TokenFunctionInvokePolicy) and
secretsmanager:GetSecretValue on the link signing key; nothing on the table, the token key or
the OAuth client secret. "Signing in" here is a stand-in for your own session handling.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import jwt
import requests
from token_function import TokenFunction, TokenFunctionError

PAGERDUTY_ACCEPT = "application/vnd.pagerduty+json;version=2"
KEY_CACHE_SECONDS = 300  # a rotated signing key is picked up within 5 minutes
APP_USER_ID = re.compile(r"[A-Za-z0-9._:@+=|-]{1,128}")

CONNECT_URL = os.environ["PD_CONNECT_URL"].rstrip("/") + "/"
tokens = TokenFunction(os.environ["PD_CONNECT_TOKEN_FUNCTION"])
LINK_SIGNING_KEY_ID = os.environ["LINK_SIGNING_KEY_ID"]
secretsmanager = boto3.client("secretsmanager")
sessions: dict[str, str] = {}  # session id -> your app's user id
_key_cache = {"value": "", "until": 0.0}
_key_lock = threading.Lock()


def link_signing_key() -> str:
    with _key_lock:
        if time.time() > _key_cache["until"]:
            secret = secretsmanager.get_secret_value(SecretId=LINK_SIGNING_KEY_ID)
            _key_cache.update(value=json.loads(secret["SecretString"])["signing_key"], until=time.time() + KEY_CACHE_SECONDS)
        return _key_cache["value"]


def link_for(app_user_id: str, return_path: str) -> str:
    """A link token (JWS, HS256) for the signed-in user: where the browser starts connecting."""
    now = int(time.time())
    claims = {"sub": app_user_id, "iat": now, "exp": now + 120, "jti": secrets.token_urlsafe(16), "ret": return_path}
    return jwt.encode(claims, link_signing_key(), algorithm="HS256", headers={"typ": "pd-connect-link+jwt"})


def call_pagerduty(app_user_id: str, path: str) -> requests.Response:
    """GET {api_base}{path} as the user; on 401 ask for a token past the refused one, once."""
    token = tokens.get_token(app_user_id)
    for attempt in range(2):
        headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": PAGERDUTY_ACCEPT}
        response = requests.get(token["api_base"] + path, headers=headers, timeout=10)
        if response.status_code != 401 or attempt:
            return response
        token = tokens.get_token(app_user_id, reject_version=token["token_version"])
    return response


class App(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        handler = ROUTES.get((method, url.path))
        if handler is None:
            return self._respond(404, {"error": "not_found"})
        user = sessions.get(SimpleCookie(self.headers.get("Cookie", "")).get("session", _NO_COOKIE).value)
        if user is None and url.path != "/login":
            return self._respond(401, {"error": "sign_in_first"})
        try:
            handler(self, query, user)
        except TokenFunctionError as error:
            if error.code in ("needs_reauthorization", "connection_not_found"):
                return self._respond(409, {"error": error.code, "reconnect": "/connect"})  # "Reconnect PagerDuty"
            self._respond(503 if error.retryable else 400, {"error": error.code, "message": str(error)})
        except Exception as error:  # noqa: BLE001 - one line, never the token
            self.log_message("%s %s failed: %s", method, url.path, type(error).__name__)
            self._respond(500, {"error": "internal_error"})

    def login(self, query: dict, user: str | None) -> None:
        if not APP_USER_ID.fullmatch(query.get("user", "")):
            return self._respond(400, {"error": "user?"})
        session = secrets.token_urlsafe(24)
        sessions[session] = query["user"]
        self._respond(200, {"signed_in": query["user"]}, {"Set-Cookie": f"session={session}; HttpOnly; SameSite=Lax; Path=/"})

    def connect(self, query: dict, user: str) -> None:
        link = link_for(user, "/pagerduty/return")
        self._respond(302, None, {"Location": f"{CONNECT_URL}authorize?link={quote(link)}"})

    def pagerduty_return(self, query: dict, user: str) -> None:
        """The browser comes back here; confirm inside *this* user's request, or it is discarded."""
        result = query.get("pagerduty_result")
        if not result:
            return self._respond(400, {"error": "no_result", "reconnect": "/connect"})
        try:
            connection = tokens.confirm(result, user)
        except TokenFunctionError as error:
            return self._respond(400, {"error": error.code, "message": str(error), "reconnect": "/connect"})
        self._respond(200, {"connected": connection["connection"], "user_name": connection["user_name"]})

    def pagerduty_me(self, query: dict, user: str) -> None:
        response = call_pagerduty(user, "/users/me")
        body = response.json()
        self._respond(response.status_code, {"name": body["user"]["name"], "email": body["user"]["email"]} if response.ok else body)

    def pagerduty_status(self, query: dict, user: str) -> None:
        self._respond(200, tokens.status(user))

    def pagerduty_disconnect(self, query: dict, user: str) -> None:
        answer = tokens.disconnect(user)
        self._respond(200, {"deleted": answer["deleted"], "revoke_in_pagerduty": answer["revoke_in_pagerduty"]})

    def _respond(self, status: int, body, headers: dict | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        # The path only: the return URL's query carries the signed result.
        print(format % tuple(str(a).split("?", 1)[0] for a in args), flush=True)


class _NoCookie:
    value = ""


_NO_COOKIE = _NoCookie()
ROUTES = {
    ("GET", "/login"): App.login,
    ("GET", "/connect"): App.connect,
    ("GET", "/pagerduty/return"): App.pagerduty_return,
    ("GET", "/pagerduty/me"): App.pagerduty_me,
    ("GET", "/pagerduty/status"): App.pagerduty_status,
    ("POST", "/pagerduty/disconnect"): App.pagerduty_disconnect,
}

if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), App)
    print(f"example app on http://localhost:{server.server_address[1]}", flush=True)
    server.serve_forever()
