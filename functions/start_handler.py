"""Lambda handler for GET / (landing page) and GET /authorize (start the OAuth flow).

/authorize: new state + PKCE verifier, stored server-side and bound to this browser by a cookie,
then a 302 to PagerDuty's authorize endpoint. With `?link=<token>` (the builder's signed-in user)
the token is verified and spent first, and its app user and return path ride along server-side.
No KMS and no `requests` here. The only secret it can read is the link signing key, and only
when a link token arrives; the OAuth client secret is out of its reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pd_connect.flow import browser_binding
from pd_connect.flow.failures import ConnectFailure, Reason, failure_for
from pd_connect.flow.pages import favicon as favicon_page
from pd_connect.flow.pages import load_pages
from pd_connect.flow.pending_authorizations import PendingAuthorizationStore
from pd_connect.oauth import pkce
from pd_connect.oauth.authorization_request import authorize_url, default_redirect_uri
from pd_connect.platform import aws_clients
from pd_connect.platform.config import load_settings
from pd_connect.platform.observability import instrumented, record_authorization_started
from pd_connect.platform.web import App, Request, Response, redirect

if TYPE_CHECKING:  # links (and its json/hmac) load only when a link arrives, as the lazy imports below
    from pd_connect.flow.links import Link

settings = load_settings(handles_tokens=False)
pending = PendingAuthorizationStore(aws_clients.dynamodb(), settings.table_name)
pages = load_pages(settings)  # a supplied template that cannot render fails here, at init
# The template's $default route sends every unknown path and method here: the 404/405 pages.
app = App(
    render_failure=lambda failure, reference: pages.failure(
        failure.reason, reference=reference, try_again=settings.try_again_url
    ),
    failure_for=failure_for,
    elsewhere=("/callback",),
)


@app.get("/", head=True)
def landing(request: Request) -> Response:
    return pages.landing()


@app.get("/favicon.ico", head=True)
def favicon(request: Request) -> Response:
    return favicon_page()


@app.get("/authorize")
def authorize(request: Request) -> Response:
    # Every check of the request comes before the link is spent: a refused request spends nothing.
    if not settings.redirect_uri and not request.domain_name:
        raise ConnectFailure(Reason.BAD_REQUEST, "no PD_REDIRECT_URI and no domain name in the request")
    redirect_uri = settings.redirect_uri or default_redirect_uri(request.domain_name)
    link_token = request.param("link")
    link = _spend_link(link_token) if link_token is not None else None
    if link is None and not settings.allow_anonymous:
        raise ConnectFailure(Reason.LINK_REQUIRED, "anonymous connections are turned off")
    binding = request.cookies.get(browser_binding.COOKIE_NAME)
    if not browser_binding.is_well_formed(binding):
        binding = browser_binding.new_binding()
    code_verifier = pkce.new_code_verifier()
    state = pending.issue(
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


def _spend_link(token: str) -> Link:
    """Verify the builder's link token and spend its jti. Imported lazily: the secret and its
    SDK cost cold start that the anonymous flow should not pay."""
    from pd_connect.flow.link_nonces import LinkNonceStore
    from pd_connect.flow.links import verify_link
    from pd_connect.platform.signing_keys import load_signing_keys

    if not settings.link_signing_key_id:
        raise ConnectFailure(Reason.LINK_NOT_CONFIGURED, "LINK_SIGNING_KEY_ID is not set for the start function")
    link = verify_link(token, load_signing_keys(settings.link_signing_key_id).for_verifying)
    if not settings.return_to_origin:
        # A linked flow always returns to the app, whose backend must confirm it.
        raise ConnectFailure(Reason.LINK_NOT_CONFIGURED, "linked flows need RETURN_TO_ORIGIN")
    LinkNonceStore(aws_clients.dynamodb(), settings.table_name).spend(link)
    return link


@instrumented
def handler(event, context):
    return app.resolve(event)
