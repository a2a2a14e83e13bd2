"""Branding and the builder's templates through both handlers, as a container starts them."""

import re

import pytest
from pd_connect.flow import callback_app, start_app
from pd_connect.flow.page_templates import PageTemplateError
from pd_connect.platform.config import ConfigError

from tests.flow_driver import FlowDriver, LambdaContext, http_event

from .conftest import SITE, new_container, start_container

BRANDING = {
    "PRODUCT_NAME": "Acme Status",
    "LOGO_URL": "https://cdn.acme.example/logo.svg",
    "ACCENT_COLOR": "#5b3cc4",
    "SUPPORT_URL": "https://acme.example/support",
    "PRIVACY_POLICY_URL": "https://acme.example/privacy",
    "PD_SCOPES": "incidents.read incidents.write users.read",
}


@pytest.fixture
def branded(handlers, monkeypatch):
    return start_container(monkeypatch, BRANDING)


def test_the_landing_page_names_the_product_and_what_connecting_allows(branded):
    start, _ = branded
    result = start(http_event(f"{SITE}/"), LambdaContext())
    body = result["body"]
    assert "<h1>Connect Acme Status to your PagerDuty account</h1>" in body
    assert "See, create and change incidents" in body and "See users" in body
    assert result["headers"]["Content-Security-Policy"].endswith("; img-src 'self' https://cdn.acme.example")


def test_the_welcome_page_says_what_pagerduty_granted(branded):
    result = FlowDriver(*branded, site=SITE).connect(login="PADA001")
    assert result["statusCode"] == 200, result["body"]
    assert "Your PagerDuty account is connected to Acme Status." in result["body"]
    # The stand-in grants openid plus the requested scopes it knows.
    assert '<li data-scope="openid">' in result["body"]
    assert '<li data-scope="incidents.read incidents.write">See, create and change incidents</li>' in result["body"]
    # The logo's origin, and the avatar's: the local stand-in's, which serves its avatars itself.
    assert re.search(r"; img-src 'self' https://cdn\.acme\.example http://127\.0\.0\.1:\d+$", result["headers"]["Content-Security-Policy"])


def test_failure_pages_carry_the_brand_too(branded):
    _, callback = branded
    result = callback(http_event(f"{SITE}/callback?error=access_denied"), LambdaContext())
    assert result["statusCode"] == 400
    assert 'id="logo"' in result["body"] and 'id="privacy-policy"' in result["body"]


def test_supplied_templates_are_used_by_both_functions(handlers, monkeypatch, tmp_path):
    (tmp_path / "layout.html").write_text('<!doctype html><title>$title</title><style>$style</style><div id="acme">$body</div>', "utf-8")
    start, callback = start_container(monkeypatch, {"PAGE_TEMPLATES_DIR": str(tmp_path)})
    assert '<div id="acme">' in start(http_event(f"{SITE}/"), LambdaContext())["body"]
    assert '<div id="acme">' in callback(http_event(f"{SITE}/callback?error=access_denied"), LambdaContext())["body"]


@pytest.mark.parametrize("app", [start_app, callback_app], ids=["start", "callback"])
def test_a_supplied_template_that_cannot_render_fails_the_container_at_init(handlers, monkeypatch, tmp_path, app):
    (tmp_path / "failure.html").write_text("<h1>$title</h1><p>$detail</p>", "utf-8")
    container = new_container(monkeypatch, {"PAGE_TEMPLATES_DIR": str(tmp_path)})
    with pytest.raises(PageTemplateError, match=r"failure\.html: \$detail is not a placeholder"):
        app.lambda_handler(container)


@pytest.mark.parametrize("name,value", [("LOGO_URL", "http://cdn.acme.example/logo.svg"), ("ACCENT_COLOR", "purple")])
def test_a_malformed_branding_setting_fails_the_container_at_init_naming_it(handlers, monkeypatch, name, value):
    container = new_container(monkeypatch, {name: value})
    with pytest.raises(ConfigError, match=name):
        start_app.lambda_handler(container)
