"""The start function's routes: GET / (landing page), /favicon.ico and /authorize (start the flow).

/authorize: new state + PKCE verifier, stored server-side and bound to this browser by a cookie,
then a 302 to PagerDuty's authorize endpoint. With `?link=<token>` (the builder's signed-in user)
the token is verified and spent first, and its app user and return path ride along server-side.
No KMS and no `requests` here. The only secret it can read is the link signing key, and only
when a link token arrives; the OAuth client secret is out of its reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from pd_connect.flow import browser_binding
from pd_connect.flow.failures import ConnectFailure, Reason, failure_for
from pd_connect.flow.pages import favicon as favicon_page
from pd_connect.flow.pages import load_pages
from pd_connect.flow.pending_authorizations import PendingAuthorizationStore
from pd_connect.oauth import pkce
from pd_connect.oauth.authorization_request import authorize_url, default_redirect_uri
from pd_connect.platform.observability import instrumented, record_authorization_started
from pd_connect.platform.web import App, Request, Response, redirect

if TYPE_CHECKING:  # links (and its json/hmac) load only when a link arrives, as the lazy imports below
    from pd_connect.container import Container
    from pd_connect.flow.links import Link


class StartRoutes:
    """The routes, wired once per container: settings, the pending-authorization store, the pages."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self.settings = container.settings
        self._pending = PendingAuthorizationStore(container.aws.dynamodb, self.settings.table_name)
        self.pages = load_pages(self.settings)  # a supplied template that cannot render fails here, at init

    def landing(self, request: Request) -> Response:
        return self.pages.landing()

    def authorize(self, request: Request) -> Response:
        settings = self.settings
        # Every check of the request comes before the link is spent: a refused request spends nothing.
        if not settings.redirect_uri and not request.domain_name:
            raise ConnectFailure(Reason.BAD_REQUEST, "no PD_REDIRECT_URI and no domain name in the request")
        redirect_uri = settings.redirect_uri or default_redirect_uri(request.domain_name)
        link_token = request.param("link")
        link = self._spend_link(link_token) if link_token is not None else None
        if link is None and not settings.allow_anonymous:
            raise ConnectFailure(Reason.LINK_REQUIRED, "anonymous connections are turned off")
        binding = request.cookies.get(browser_binding.COOKIE_NAME)
        if not browser_binding.is_well_formed(binding):
            binding = browser_binding.new_binding()
        code_verifier = pkce.new_code_verifier()
        state = self._pending.issue(
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            binding=binding,
            app_user_id=link.app_user_id if link else "",
            return_to=(link.return_to or "") if link else "",
            started_on=request.domain_name,
        )
        record_authorization_started()
        location = authorize_url(
            settings.identity_url,
            client_id=settings.client_id,
            redirect_uri=redirect_uri,
            scope=settings.scopes,
            state=state,
            code_challenge=pkce.code_challenge(code_verifier),
        )
        return redirect(location, cookies=(browser_binding.set_cookie(binding),))

    def _spend_link(self, token: str) -> Link:
        """Verify the builder's link token and spend its jti. Imported lazily: the secret and its
        SDK cost cold start that the anonymous flow should not pay."""
        from pd_connect.flow.link_nonces import LinkNonceStore
        from pd_connect.flow.links import verify_link

        settings = self.settings
        if not settings.link_signing_key_id:
            raise ConnectFailure(Reason.LINK_NOT_CONFIGURED, "LINK_SIGNING_KEY_ID is not set for the start function")
        link = verify_link(token, self._container.signing_keys(settings.link_signing_key_id).for_verifying)
        if not settings.return_to_origin:
            # A linked flow always returns to the app, whose backend must confirm it.
            raise ConnectFailure(Reason.LINK_NOT_CONFIGURED, "linked flows need RETURN_TO_ORIGIN")
        LinkNonceStore(self._container.aws.dynamodb, settings.table_name).spend(link)
        return link


def build_app(container: Container) -> App:
    """The start function's app. The template's $default route sends every unknown path and
    method here too: the 404/405 pages."""
    routes = StartRoutes(container)
    app = App(
        render_failure=lambda failure, reference: routes.pages.failure(
            failure.reason, reference=reference, try_again=routes.settings.try_again_url
        ),
        failure_for=failure_for,
        elsewhere=("/callback",),
    )
    app.get("/", head=True)(routes.landing)
    app.get("/favicon.ico", head=True)(lambda request: favicon_page())
    app.get("/authorize")(routes.authorize)
    return app


def lambda_handler(container: Container) -> Callable[[Any, Any], dict[str, Any]]:
    """The start function's Lambda handler, wired once from `container`."""
    app = build_app(container)
    return instrumented(lambda event, context: app.resolve(event))
