"""A branded run next to the default one: the builder's product name, logo (served locally) and
accent colour, the permissions in plain words, and a CSP widened by the logo's origin only.
The branded landing page's screenshot is the README's (docs/branded-landing.png)."""

import base64
import hashlib
import re
from pathlib import Path

import pytest
from pd_connect.flow.page_templates import BUILT_IN
from pd_connect.flow.pages import accent_rule

from .conftest import REPOSITORY, start_local_stack
from .test_connect_in_browser import SECURITY_HEADERS

LOGO = Path(__file__).with_name("acme-logo.svg").read_bytes()
LOGO_ORIGIN = "https://cdn.acme.example"
ACCENT = "#5b3cc4"
BRANDED = (
    f"ProductName='Acme Status' LogoUrl={LOGO_ORIGIN}/brand/logo.svg AccentColor={ACCENT} "
    "SupportUrl=https://acme.example/support PrivacyPolicyUrl=https://acme.example/privacy "
    "PagerDutyScopes='incidents.read incidents.write schedules.read users.read users:contact_methods.read'"
)
DOCS = REPOSITORY / "docs"
README_VIEWPORT = {"width": 900, "height": 760}


def csp_with(css: str, img_src: str = "") -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    return csp + f"; img-src 'self'" + (f" {img_src}" if img_src else "")  # 'self': the favicon


@pytest.fixture(scope="module")
def branded_stack():
    for running in start_local_stack("--parameter-overrides", BRANDED):
        yield running.url


@pytest.fixture
def branded_page(new_page):
    """A page whose browser gets the builder's logo from this test (no internet here)."""

    def make():
        page = new_page()
        page.context.route(f"{LOGO_ORIGIN}/**", lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=LOGO))
        return page

    return make


def background(page, selector: str) -> str:
    return page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).backgroundColor")


def test_the_branded_landing_page_names_the_product_and_what_connecting_allows(branded_stack, branded_page, screenshot):
    page = branded_page()
    page.set_viewport_size(README_VIEWPORT)
    response = page.goto(branded_stack + "/")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Connect Acme Status to your PagerDuty account"
    assert page.title() == "Connect Acme Status to your PagerDuty account"
    page.wait_for_function("document.getElementById('logo').complete")
    assert page.evaluate("document.getElementById('logo').naturalWidth") == 224
    assert page.locator("#logo").get_attribute("alt") == "Acme Status"
    assert background(page, "#connect") == "rgb(91, 60, 196)"
    assert page.locator("#permissions li").all_inner_texts() == [
        "See, create and change incidents",
        "See schedules",
        "See users",
        "See users' contact methods",
    ]
    assert page.locator("#support").get_attribute("href") == "https://acme.example/support"
    assert page.locator("#privacy-policy").get_attribute("href") == "https://acme.example/privacy"
    assert response.headers["content-security-policy"] == csp_with(
        (BUILT_IN / "style.css").read_text("utf-8") + accent_rule(ACCENT), LOGO_ORIGIN
    )
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert page.problems == [], page.problems
    screenshot(page, "branded-landing")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "branded-landing.png"))


def test_the_default_landing_page_next_to_it_is_unbranded_with_todays_csp(local_stack, new_page, screenshot):
    page = new_page()
    page.set_viewport_size(README_VIEWPORT)
    response = page.goto(local_stack + "/")
    assert page.locator("h1").inner_text() == "Connect your PagerDuty account"
    assert page.locator("#logo").count() == 0 and page.locator("footer").count() == 0
    assert background(page, "#connect") == "rgb(6, 172, 56)"
    assert page.locator("#permissions li").all_inner_texts() == [
        "See everything your PagerDuty user can see: incidents, services, schedules, teams, users and more"
    ]
    assert response.headers["content-security-policy"] == csp_with((BUILT_IN / "style.css").read_text("utf-8"))
    assert page.problems == [], page.problems
    screenshot(page, "default-landing")
    page.screenshot(path=str(DOCS / "default-landing.png"))


def test_a_branded_connection_ends_on_a_branded_welcome_listing_what_was_granted(branded_stack, branded_page, screenshot):
    page = branded_page()
    page.goto(branded_stack + "/")
    page.click("#connect")
    page.wait_for_selector("#authorize")
    page.select_option("#login", "PADA001")
    with page.expect_navigation(url=re.compile(r"/callback\?")) as navigation:
        page.click("#authorize")
    assert page.locator("h1").inner_text() == "Welcome, Ada Lovelace"
    assert page.locator("#connected").inner_text() == "Your PagerDuty account is connected to Acme Status."
    # The stand-in grants openid and every requested scope it knows.
    assert page.locator("#granted li").all_inner_texts()[0] == "Know who you are on PagerDuty: your name, e-mail address and account"
    assert "See, create and change incidents" in page.locator("#granted li").all_inner_texts()
    page.wait_for_function("document.getElementById('logo').complete && document.getElementById('avatar').complete")
    assert page.evaluate("document.getElementById('logo').naturalWidth") == 224
    assert page.evaluate("document.getElementById('avatar').naturalWidth") == 96
    # The logo's origin and the stand-in's, which serves the avatar itself.
    assert re.search(rf"; img-src 'self' {re.escape(LOGO_ORIGIN)} http://[a-z0-9.]+:\d+$", navigation.value.headers["content-security-policy"])
    assert page.problems == [], page.problems  # no CSP violation: logo and avatar are allowed, nothing else
    screenshot(page, "branded-welcome")


def test_the_branded_failure_page_keeps_the_brand_and_links(branded_stack, branded_page, screenshot):
    page = branded_page()
    page.goto(branded_stack + "/callback?error=access_denied")
    assert page.locator("h1").inner_text() == "Connection cancelled"
    assert page.locator("#logo").count() == 1 and page.locator("#support").count() == 1
    assert background(page, "#try-again") == "rgb(91, 60, 196)"
    # The page's own 400 status is the only thing the console reports: no CSP violation.
    assert page.problems == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    screenshot(page, "branded-cancelled")
