"""Lambda handler for GET /callback: finish the OAuth flow and store the connection.

Order matters (RFC 9700, and what Authlib gets wrong): PagerDuty's `error` first; then the state,
consumed exactly once and only by the browser that started the flow; only then the code exchange,
the profile, the encrypted store, and the welcome page. Failures raise; web.App renders them.
"""

import re

import requests

from pd_connect import aws_clients, browser_binding
from pd_connect.client_secret import client_secret
from pd_connect.config import load_settings
from pd_connect.connections import Connection, ConnectionKey, ConnectionStore
from pd_connect.failures import ConnectFailure, Reason
from pd_connect.identity import Identity, identity_from_id_token
from pd_connect.observability import instrumented, logger, record_connection
from pd_connect.pagerduty_api import PagerDutyApiError, PagerDutyUser, fetch_current_user
from pd_connect.pages import load_pages
from pd_connect.pending_authorizations import PendingAuthorization, PendingAuthorizationStore
from pd_connect.return_to import return_url
from pd_connect.token_cipher import StoredTokens, TokenCipher
from pd_connect.token_endpoint import InvalidClient, TokenSet, exchange_code
from pd_connect.web import App, Request, Response, redirect

settings = load_settings(needs_secrets=True)
pending = PendingAuthorizationStore(aws_clients.dynamodb(), settings.table_name)
connections = ConnectionStore(
    aws_clients.dynamodb(), settings.table_name, TokenCipher(aws_clients.kms(), settings.token_key_id)
)
pages = load_pages(settings)  # a supplied template that cannot render fails here, at init
http = requests.Session()  # connection reuse across warm invocations; holds no per-request data
CLEAR_BINDING = (browser_binding.clear_cookie(),)
# A 4xx ends this attempt: clear the binding. A 5xx may have left the state unconsumed (a
# dependency was down), so the cookie stays and reloading the callback can still finish.
app = App(
    render_failure=lambda reason: pages.failure(
        reason, try_again=settings.try_again_url, cookies=CLEAR_BINDING if reason.status < 500 else ()
    )
)
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


@app.get("/callback")
def callback(request: Request) -> Response:
    error = request.param("error")
    if error is not None:
        reason = Reason.ACCESS_DENIED if error == "access_denied" else Reason.PROVIDER_ERROR
        raise ConnectFailure(reason, f"pagerduty error={error if _ERROR_CODE.match(error) else 'unrecognised'}")
    state = request.param("state")
    if not state:
        raise ConnectFailure(Reason.STATE_MISSING)
    if len(state) > 256:
        raise ConnectFailure(Reason.BAD_REQUEST, "state too long")
    code = request.param("code")
    if not code:
        raise ConnectFailure(Reason.CODE_MISSING)

    authorization = pending.consume(state, request.cookies.get(browser_binding.COOKIE_NAME))
    tokens = _exchange(code, authorization)
    identity = identity_from_id_token(tokens.id_token)
    user, api_base = _current_user(tokens.access_token, identity)
    connection = _connection(identity, user, api_base, tokens, authorization.app_user_id)
    connections.save(connection, StoredTokens(tokens.access_token, tokens.refresh_token))
    record_connection(connection.region)
    logger.info(
        "connection stored",
        extra={"account_id": connection.key.account_id, "user_id": connection.key.user_id, "region": connection.region},
    )
    if authorization.return_to and settings.return_to_origin:
        # Back into the builder's app: only its allow-listed origin, a flag, never a token or code.
        location = return_url(settings.return_to_origin, authorization.return_to, pagerduty="connected")
        return redirect(location, status=303, cookies=CLEAR_BINDING)
    return pages.welcome(
        name=connection.user_name,
        avatar_url=user.avatar_url if user else None,
        subdomain=connection.subdomain,
        region=connection.region,
        profile_loaded=user is not None,
        granted_scopes=connection.scopes,
        cookies=CLEAR_BINDING,
    )


def _exchange(code: str, authorization: PendingAuthorization) -> TokenSet:
    """One exchange; a second only if PagerDuty says invalid_client and the secret has since
    been rotated (a rejected client never consumed the code)."""

    def attempt(secret: str) -> TokenSet:
        return exchange_code(
            http,
            settings.identity_url,
            client_id=settings.client_id,
            client_secret=secret,
            code=code,
            redirect_uri=authorization.redirect_uri,
            code_verifier=authorization.code_verifier,
        )

    secret = client_secret(settings.client_secret_id)
    try:
        return attempt(secret)
    except InvalidClient:
        fresh = client_secret(settings.client_secret_id, force_fetch=True)
        if fresh == secret:
            raise
        logger.info("client secret was rotated; retrying the exchange once with the new one")
        return attempt(fresh)


def _current_user(access_token: str, identity: Identity) -> tuple[PagerDutyUser | None, str]:
    """The profile from /users/me on the region's API host. When the id_token named no region,
    try US then EU (the wrong region answers 401). A failure here keeps the tokens: the
    connection is stored with what the id_token says."""
    regions = [identity.region] if identity.region_known else ["US", "EU"]
    status = 0
    for region in regions:
        api_base = settings.api_url(region)
        try:
            return fetch_current_user(http, api_base, access_token), api_base
        except PagerDutyApiError as error:
            status = error.status
            if error.status != 401:
                break
    logger.warning("profile not loaded; storing tokens with id_token claims", extra={"reason": "users_me_failed", "status": status})
    return None, settings.api_url(identity.region)


def _connection(
    identity: Identity, user: PagerDutyUser | None, api_base: str, tokens: TokenSet, app_user_id: str
) -> Connection:
    subdomain = identity.subdomain or _subdomain_from(user.html_url if user else "")
    account_id = identity.account_id or subdomain
    user_id = identity.user_id or (user.id if user else "")
    if not account_id or not user_id:
        raise ConnectFailure(Reason.PAGERDUTY_BAD_RESPONSE, "neither id_token nor /users/me identified the user")
    region = next((r for r, base in settings.api_urls.items() if base == api_base), identity.region)
    return Connection(
        key=ConnectionKey(account_id, user_id, app_user_id),
        user_name=(user.name if user and user.name else "PagerDuty user"),
        user_email=user.email if user else "",
        subdomain=subdomain,
        region=region,
        api_base=api_base,
        scopes=tokens.scope,
        access_token_expires_at=tokens.expires_at,
        profile_loaded=user is not None,
    )


def _subdomain_from(html_url: str) -> str:
    match = re.match(r"^https://([a-z0-9-]+)\.(?:eu\.)?pagerduty\.com/", html_url or "")
    return match.group(1) if match else ""


@instrumented
def handler(event, context):
    return app.resolve(event)
