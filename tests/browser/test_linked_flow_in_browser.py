"""The linked flow in a real browser: the builder's app sends its signed-in user to connect, and
the browser comes back to the app. The stack runs as in production: anonymous connects off."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import boto3
import pytest

from pd_connect.links import sign_link

from .conftest import start_local_stack

class _App(BaseHTTPRequestHandler):
    """Stands in for the builder's app, which the browser returns to."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = b"<!doctype html><title>App</title><h1 id='app'>Back in the app</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def app_origin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://app.localhost:{server.server_port}"  # Chromium resolves *.localhost to loopback
    server.shutdown()


@pytest.fixture(scope="module")
def linked_stack(app_origin):
    overrides = f"AllowAnonymousConnect=false ReturnToOrigin={app_origin}"
    for running in start_local_stack("--parameter-overrides", overrides):
        yield running


def signing_key(stack) -> str:
    secrets = boto3.client("secretsmanager", endpoint_url=stack.aws_endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    return json.loads(secrets.get_secret_value(SecretId="local-ClientSecret")["SecretString"])["link_signing_key"]


def stored_connections(stack, app_user_id: str) -> list[dict]:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    return dynamodb.query(
        TableName="local-ConnectTable", IndexName="by_app_user",
        KeyConditionExpression="app_user_id = :u", ExpressionAttributeValues={":u": {"S": app_user_id}},
    )["Items"]


def test_a_signed_in_app_user_connects_and_comes_back_to_the_app(linked_stack, app_origin, new_page, screenshot):
    page = new_page()
    token = sign_link(signing_key(linked_stack), "app-user-7", "/settings/integrations?tab=pagerduty")
    page.goto(f"{linked_stack.url}/authorize?link={quote(token)}")
    page.wait_for_selector("#authorize")
    screenshot(page, "1-pagerduty-authorize")
    with page.expect_navigation(url=re.compile(re.escape(app_origin))):
        page.click("#authorize")
    assert page.url == f"{app_origin}/settings/integrations?tab=pagerduty&pagerduty=connected"
    assert page.locator("#app").inner_text() == "Back in the app"
    screenshot(page, "2-back-in-the-app")
    (item,) = stored_connections(linked_stack, "app-user-7")
    assert item["pk"]["S"] == "connection#PACMEUS#PADA001#app#app-user-7"


def test_a_replayed_link_is_refused(linked_stack, new_page, screenshot):
    page = new_page()
    token = sign_link(signing_key(linked_stack), "app-user-8")
    page.goto(f"{linked_stack.url}/authorize?link={quote(token)}")
    page.wait_for_selector("#authorize")
    response = page.goto(f"{linked_stack.url}/authorize?link={quote(token)}")
    assert response.status == 400
    assert "already used" in page.locator("#message").inner_text()
    screenshot(page, "replayed-link")


def test_a_tampered_link_is_refused(linked_stack, new_page):
    page = new_page()
    token = sign_link(signing_key(linked_stack), "app-user-8")
    response = page.goto(f"{linked_stack.url}/authorize?link={quote(token[:-2] + 'xx')}")
    assert response.status == 400 and page.locator("#reason").inner_text() == "link_invalid"


def test_without_a_link_the_connect_button_explains_it_must_start_from_the_app(linked_stack, new_page, screenshot):
    page = new_page()
    page.goto(linked_stack.url + "/")
    page.click("#connect")
    assert page.locator("#reason").inner_text() == "link_required"
    screenshot(page, "anonymous-refused")
