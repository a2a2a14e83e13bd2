"""The callback function's route: GET /callback, finish the OAuth flow and store the connection.

Order matters (RFC 9700, and what Authlib gets wrong): PagerDuty's `error` first; then the state,
consumed exactly once and only by the browser that started the flow; only then the code exchange,
the profile, the encrypted store, and the welcome page. Failures raise; web.App renders them.

A linked flow (started with the builder's link token) never makes a usable connection here: it
is stored unconfirmed and the browser goes back to the app with a signed result, which the
app's backend confirms for its own signed-in user (pd_connect.client.confirmations).
"""

from __future__ import annotations

import re
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from pd_connect.flow import browser_binding
from pd_connect.flow.failures import ConnectFailure, Reason, failure_for
from pd_connect.flow.pages import load_pages
from pd_connect.flow.pending_authorizations import PendingAuthorization, PendingAuthorizationStore
from pd_connect.oauth.current_user import PagerDutyApiError, PagerDutyUser, fetch_current_user
from pd_connect.oauth.granted_scopes import missing_scopes
from pd_connect.oauth.identity import Identity, identity_from_id_token
from pd_connect.oauth.token_endpoint import TokenEndpoint, TokenSet
from pd_connect.platform.observability import instrumented, logger, record_connection
from pd_connect.platform.web import App, Request, Response, redirect
from pd_connect.vault.connections import Connection, ConnectionKey
from pd_connect.vault.token_cipher import StoredTokens

if TYPE_CHECKING:
    from pd_connect.container import Container

CLEAR_BINDING = (browser_binding.clear_cookie(),)
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


class CallbackRoute:
    """The route, wired once per container: settings, the stores, the pages, the token endpoint."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self.settings = settings = container.token_settings
        self._pending = PendingAuthorizationStore(container.aws.dynamodb, settings.table_name)
        self._connections = container.connections
        self.pages = load_pages(settings)  # a supplied template that cannot render fails here, at init
        client_secret = partial(container.secrets.client_secret, settings.client_secret_id)
        self._token_endpoint = TokenEndpoint(container.http, settings.identity_url, settings.client_id, client_secret)

    def callback(self, request: Request) -> Response:
        error = request.param("error")
        if error is not None:
            reason = Reason.ACCESS_DENIED if error == "access_denied" else Reason.PROVIDER_ERROR
            raise ConnectFailure(reason, f"pagerduty error={error if _ERROR_CODE.fullmatch(error) else 'unrecognised'}")
        state = request.param("state")
        if not state:
            raise ConnectFailure(Reason.STATE_MISSING)
        if len(state) > 256:
            raise ConnectFailure(Reason.BAD_REQUEST, "state too long")
        code = request.param("code")
        if not code:
            raise ConnectFailure(Reason.CODE_MISSING)

        authorization = self._pending.consume(state, request.cookies.get(browser_binding.COOKIE_NAME), host=request.domain_name)
        try:
            return self._finish(code, authorization)
        except Exception as error:  # noqa: BLE001 - every error becomes its failure page (App.resolve)
            failure = failure_for(error)
            # This request consumed the pending authorization bound to the cookie: a 4xx ends the
            # attempt, so the binding goes. Before that point (PagerDuty's error, an unknown state,
            # another browser's cookie) it stays, so a forged /callback link cannot break a genuine
            # flow in progress; after a 5xx it stays too, as a retry may find a dependency back.
            if failure.reason.status < 500:
                failure.cookies = CLEAR_BINDING
            raise failure from None

    def _finish(self, code: str, authorization: PendingAuthorization) -> Response:
        tokens = self._exchange(code, authorization)
        self._check_granted_scopes(tokens)
        identity = identity_from_id_token(tokens.id_token)
        user, api_base = self._current_user(tokens.access_token, identity)
        connection = self._connection(identity, user, api_base, tokens, authorization.app_user_id)
        stored = StoredTokens(tokens.access_token, tokens.refresh_token)
        if authorization.app_user_id:
            response = self._return_unconfirmed(connection, stored, authorization.return_to)
        else:
            # Built before storing: a page that cannot be rendered must not follow a stored connection.
            response = self.pages.welcome(
                name=connection.user_name,
                avatar_url=user.avatar_url if user else None,
                subdomain=connection.subdomain,
                region=connection.region,
                profile_loaded=user is not None,
                granted_scopes=connection.scopes,
                cookies=CLEAR_BINDING,
            )
            self._connections.save(connection, stored)
        record_connection(connection.region)
        logger.info(
            "connection stored" if not authorization.app_user_id else "linked connection stored unconfirmed",
            extra={"account_id": connection.key.account_id, "user_id": connection.key.user_id, "region": connection.region},
        )
        return response

    def _return_unconfirmed(self, connection: Connection, tokens: StoredTokens, return_to: str) -> Response:
        """A linked flow: store the connection unconfirmed and send the browser back to the app with
        the signed result its backend confirms. Always back to the app, never a welcome page."""
        # Imported on the first linked flow, not at init: an anonymous callback's cold start never
        # pays for them (make bench, "as Lambda runs it").
        from pd_connect.flow.link_results import LIFETIME_SECONDS as RESULT_LIFETIME_SECONDS
        from pd_connect.flow.link_results import QUERY_PARAMETER as RESULT_PARAMETER
        from pd_connect.flow.link_results import new_result_id, sign_result
        from pd_connect.flow.return_to import return_url

        if not self.settings.return_to_origin:
            raise ConnectFailure(Reason.LINK_NOT_CONFIGURED, "linked flows need RETURN_TO_ORIGIN")
        result_id = new_result_id()
        now = int(time.time())
        keys = self._container.signing_keys(self.settings.result_signing_key_id)
        result = sign_result(keys.current, connection.key, jti=result_id, now=now)
        flags = {"pagerduty": "connected", RESULT_PARAMETER: result}
        try:
            location = return_url(self.settings.return_to_origin, return_to or "/", **flags)
        except ValueError:
            raise ConnectFailure(Reason.LINK_INVALID, "return path refused when building the return URL") from None
        unconfirmed = self._container.unconfirmed_connections  # built on the first linked flow
        unconfirmed.save(connection, tokens, result_id=result_id, expires_at=now + RESULT_LIFETIME_SECONDS)
        # Only the allow-listed origin, a flag and the result: never a PagerDuty token or code.
        return redirect(location, status=303, cookies=CLEAR_BINDING)

    def _exchange(self, code: str, authorization: PendingAuthorization) -> TokenSet:
        return self._token_endpoint.exchange_code(
            code=code, redirect_uri=authorization.redirect_uri, code_verifier=authorization.code_verifier
        )

    def _check_granted_scopes(self, tokens: TokenSet) -> None:
        """Fewer scopes than asked: store nothing (the tokens are dropped here) and say what is missing."""
        missing = missing_scopes(self.settings.scopes, tokens.scope)
        if missing:
            raise ConnectFailure(
                Reason.SCOPES_NOT_GRANTED,
                f"requested {self.settings.scopes!r}, granted {tokens.scope!r}",
                missing_scopes=missing,
            )

    def _current_user(self, access_token: str, identity: Identity) -> tuple[PagerDutyUser | None, str]:
        """The profile from /users/me on the region's API host. When the id_token named no region,
        try US then EU (the wrong region answers 401). A failure here keeps the tokens: the
        connection is stored with what the id_token says."""
        regions = [identity.region] if identity.region_known else ["US", "EU"]
        status = 0
        for region in regions:
            api_base = self.settings.api_url(region)
            try:
                return fetch_current_user(self._container.http, api_base, access_token), api_base
            except PagerDutyApiError as error:
                status = error.status
                if error.status != 401:
                    break
        logger.warning("profile not loaded; storing tokens with id_token claims", extra={"reason": "users_me_failed", "status": status})
        return None, self.settings.api_url(identity.region)

    def _connection(
        self, identity: Identity, user: PagerDutyUser | None, api_base: str, tokens: TokenSet, app_user_id: str
    ) -> Connection:
        subdomain = identity.subdomain or _subdomain_from(user.html_url if user else "")
        account_id = identity.account_id or subdomain
        user_id = identity.user_id or (user.id if user else "")
        if not account_id or not user_id:
            raise ConnectFailure(Reason.PAGERDUTY_BAD_RESPONSE, "neither id_token nor /users/me identified the user")
        region = next((r for r, base in self.settings.api_urls.items() if base == api_base), identity.region)
        try:
            # Checked before any key is built: ids come from PagerDuty's answers (a hostile one could
            # otherwise name another record, e.g. a user id "PADA001#app#victim").
            key = ConnectionKey(account_id, user_id, app_user_id)
        except ValueError:
            raise ConnectFailure(Reason.PAGERDUTY_BAD_RESPONSE, "account or user id is not a PagerDuty id") from None
        return Connection(
            key=key,
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
    match = re.match(r"https://([a-z0-9-]+)\.(?:eu\.)?pagerduty\.com/", html_url or "")
    return match.group(1) if match else ""


def build_app(container: Container) -> App:
    """The callback function's app."""
    route = CallbackRoute(container)
    app = App(
        render_failure=lambda failure, reference: route.pages.failure(
            failure.reason,
            reference=reference,
            try_again=route.settings.try_again_url,
            missing_scopes=failure.missing_scopes,
        ),
        failure_for=failure_for,
    )
    app.get("/callback")(route.callback)
    return app


def lambda_handler(container: Container) -> Callable[[Any, Any], dict[str, Any]]:
    """The callback function's Lambda handler, wired once from `container`."""
    app = build_app(container)
    return instrumented(lambda event, context: app.resolve(event))
