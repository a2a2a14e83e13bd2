"""Lambda handler for GET / (landing page) and GET /authorize (start the OAuth flow).

/authorize: new state + PKCE verifier, stored server-side and bound to this browser by a cookie,
then a 302 to PagerDuty's authorize endpoint. No secret, no KMS, no `requests` here.
"""

from pd_connect import aws_clients, browser_binding, pages, pkce
from pd_connect.authorization_request import authorize_url, default_redirect_uri
from pd_connect.config import load_settings
from pd_connect.observability import instrumented, record_authorization_started
from pd_connect.pending_authorizations import PendingAuthorizationStore
from pd_connect.web import App, Request, Response, redirect

settings = load_settings(needs_secrets=False)
pending = PendingAuthorizationStore(aws_clients.dynamodb(), settings.table_name)
app = App(render_failure=pages.failure)


@app.get("/")
def landing(request: Request) -> Response:
    return pages.landing()


@app.get("/authorize")
def authorize(request: Request) -> Response:
    binding = request.cookies.get(browser_binding.COOKIE_NAME)
    if not browser_binding.is_well_formed(binding):
        binding = browser_binding.new_binding()
    code_verifier = pkce.new_code_verifier()
    redirect_uri = settings.redirect_uri or default_redirect_uri(request.domain_name)
    state = pending.issue(code_verifier=code_verifier, redirect_uri=redirect_uri, binding=binding)
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


@instrumented
def handler(event, context):
    return app.resolve(event)
