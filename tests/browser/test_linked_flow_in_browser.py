"""The linked flow in a real browser: the builder's app sends its signed-in user to connect, the
browser comes back to the app with a signed result, and the app's backend confirms it for the
user signed in to the app. The stack runs as in production: anonymous connects off."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import pytest
from pd_connect.client.confirmations import ConfirmationError, Confirmations
from pd_connect.flow.links import sign_link
from pd_connect.vault.unconfirmed_connections import UnconfirmedConnectionStore

from .conftest import start_local_stack

APP_SESSION = "app_session"  # the builder's app's own sign-in cookie (here: just the user id)


def aws_client(stack, service: str):
    return boto3.client(
        service, endpoint_url=stack.aws_endpoint, region_name="us-east-1",
        aws_access_key_id=stack.aws_access_key_id, aws_secret_access_key=stack.aws_secret_access_key,
    )


def signing_key(stack, secret: str) -> str:
    return json.loads(aws_client(stack, "secretsmanager").get_secret_value(SecretId=secret)["SecretString"])["signing_key"]


class BuildersApp:
    """Stands in for the builder's app: a sign-in cookie, and a return route whose backend
    confirms the result for whoever is signed in (as the README tells builders to)."""

    def __init__(self) -> None:
        self.confirmations: Confirmations | None = None
        self.outcomes: list[str] = []
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                cookies = dict(c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c)
                headers = {}
                if parts.path == "/signin":
                    headers["Set-Cookie"] = f"{APP_SESSION}={query['user'][0]}; Path=/"
                    body = f"<h1 id='app'>Signed in as {query['user'][0]}</h1>"
                elif "pagerduty_result" in query:
                    body = f"<h1 id='app'>{app.confirm(query['pagerduty_result'][0], cookies.get(APP_SESSION, ''))}</h1>"
                else:
                    body = "<h1 id='app'>Back in the app</h1>"
                data = f"<!doctype html><title>App</title>{body}".encode()
                self.send_response(200)
                for name, value in {"Content-Type": "text/html", "Content-Length": str(len(data)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # the result rides in the query string: never log it
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def confirm(self, result: str, signed_in_user: str) -> str:
        if not signed_in_user:
            return "Not connected: sign in first"  # a real app would sign in, then confirm
        try:
            key = self.confirmations.confirm(result, signed_in_user)
        except ConfirmationError as error:
            outcome = f"Not connected: {type(error).__name__}"
        else:
            outcome = f"Connected {key}"
        self.outcomes.append(outcome)
        return outcome


@pytest.fixture(scope="module")
def builders_app():
    app = BuildersApp()
    threading.Thread(target=app.server.serve_forever, daemon=True).start()
    app.origin = f"http://app.localhost:{app.server.server_port}"  # Chromium resolves *.localhost to loopback
    yield app
    app.server.shutdown()


@pytest.fixture(scope="module")
def linked_stack(builders_app):
    overrides = f"AllowAnonymousConnect=false ReturnToOrigin={builders_app.origin}"
    for running in start_local_stack("--parameter-overrides", overrides):
        result_key = signing_key(running, "local-ResultSigningKey")
        store = UnconfirmedConnectionStore(aws_client(running, "dynamodb"), "local-ConnectTable")
        builders_app.confirmations = Confirmations(store, lambda: (result_key,))
        yield running


def new_link(stack, app_user: str, return_to: str | None = None) -> str:
    return f"{stack.url}/authorize?link={quote(sign_link(signing_key(stack, 'local-LinkSigningKey'), app_user, return_to))}"


def stored_connections(stack, app_user_id: str) -> list[dict]:
    return aws_client(stack, "dynamodb").query(
        TableName="local-ConnectTable", IndexName="by_app_user",
        KeyConditionExpression="app_user_id = :u", ExpressionAttributeValues={":u": {"S": app_user_id}},
    )["Items"]


def signed_in_page(new_page, app, user: str):
    page = new_page()
    page.goto(f"{app.origin}/signin?user={user}")
    return page


def test_a_signed_in_app_user_connects_and_the_app_confirms_it(linked_stack, builders_app, new_page, screenshot):
    page = signed_in_page(new_page, builders_app, "app-user-7")
    page.goto(new_link(linked_stack, "app-user-7", "/settings/integrations?tab=pagerduty"))
    page.wait_for_selector("#authorize")
    screenshot(page, "1-pagerduty-authorize")
    with page.expect_navigation(url=re.compile(re.escape(builders_app.origin))):
        page.click("#authorize")
    assert page.url.startswith(f"{builders_app.origin}/settings/integrations?tab=pagerduty&pagerduty=connected&pagerduty_result=")
    assert page.locator("#app").inner_text() == "Connected PACMEUS/PADA001/app-user-7"
    screenshot(page, "2-back-in-the-app-confirmed")
    (item,) = stored_connections(linked_stack, "app-user-7")
    assert item["pk"]["S"] == "connection#PACMEUS#PADA001#app#app-user-7" and item["confirmed_at"]["S"]


def test_eves_link_opened_in_alices_browser_connects_nobody(linked_stack, builders_app, new_page, screenshot):
    eves_link = new_link(linked_stack, "eve-1")  # Eve asked the app for a link in her own session
    alice = signed_in_page(new_page, builders_app, "alice-1")  # another browser context: Alice's
    alice.goto(eves_link)
    alice.wait_for_selector("#authorize")
    with alice.expect_navigation(url=re.compile(re.escape(builders_app.origin))):
        alice.click("#authorize")
    assert alice.locator("#app").inner_text() == "Not connected: AppUserMismatch"
    screenshot(alice, "refused-in-alices-app-session")
    assert stored_connections(linked_stack, "eve-1") == [] and stored_connections(linked_stack, "alice-1") == []


def test_eves_link_opened_by_someone_not_signed_in_connects_nobody(linked_stack, builders_app, new_page):
    stranger = new_page()  # never signed in to the app: the return route has no user to confirm for
    stranger.goto(new_link(linked_stack, "eve-2"))
    stranger.wait_for_selector("#authorize")
    with stranger.expect_navigation(url=re.compile(re.escape(builders_app.origin))):
        stranger.click("#authorize")
    assert stranger.locator("#app").inner_text().startswith("Not connected")
    assert stored_connections(linked_stack, "eve-2") == []


def test_a_replayed_link_is_refused(linked_stack, new_page, screenshot):
    page = new_page()
    link = new_link(linked_stack, "app-user-8")
    page.goto(link)
    page.wait_for_selector("#authorize")
    response = page.goto(link)
    assert response.status == 400
    assert "already used" in page.locator("#message").inner_text()
    screenshot(page, "replayed-link")


def test_a_tampered_link_is_refused(linked_stack, new_page):
    page = new_page()
    link = new_link(linked_stack, "app-user-8")
    response = page.goto(link[:-2] + "xx")
    assert response.status == 400 and page.locator("#reason").inner_text() == "link_invalid"


def test_without_a_link_the_connect_button_explains_it_must_start_from_the_app(linked_stack, new_page, screenshot):
    page = new_page()
    page.goto(linked_stack.url + "/")
    page.click("#connect")
    assert page.locator("#reason").inner_text() == "link_required"
    screenshot(page, "anonymous-refused")
