"""The connect flow in a real browser: what a user sees and clicks."""

import re

SECURITY_HEADERS = ("content-security-policy", "referrer-policy", "cache-control", "x-content-type-options", "strict-transport-security")


def connect_until_pagerduty(page, site):
    page.goto(site + "/")
    page.click("#connect")
    page.wait_for_selector("#authorize")


def test_landing_connect_authorize_welcome(local_stack, new_page, screenshot):
    page = new_page()
    response = page.goto(local_stack + "/")
    assert response.status == 200
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    assert page.locator("#connect").inner_text() == "Connect to PagerDuty"
    screenshot(page, "1-landing")

    page.click("#connect")
    page.wait_for_selector("#authorize")
    assert "Authorize" in page.title()
    screenshot(page, "2-pagerduty-authorize")

    page.select_option("#login", "PADA001")
    with page.expect_navigation(url=re.compile(r"/callback\?")):
        page.click("#authorize")
    assert page.locator("h1").inner_text() == "Welcome, Ada Lovelace"
    assert page.locator("#subdomain").inner_text() == "acme-us"
    assert page.locator("#region").inner_text() == "US"
    avatar = page.locator("#avatar")
    avatar.wait_for()
    assert page.evaluate("document.getElementById('avatar').complete && document.getElementById('avatar').naturalWidth") == 96
    screenshot(page, "3-welcome")
    assert page.problems == [], page.problems  # no CSP violation, no script error


def test_an_eu_user_sees_the_eu_region(local_stack, new_page, screenshot):
    page = new_page()
    connect_until_pagerduty(page, local_stack)
    page.select_option("#login", "PGRACE1")
    with page.expect_navigation(url=re.compile(r"/callback\?")):
        page.click("#authorize")
    assert page.locator("h1").inner_text() == "Welcome, Grace Hopper"
    assert page.locator("#region").inner_text() == "EU"
    screenshot(page, "welcome-eu")


def test_deny_shows_the_cancelled_page_with_try_again(local_stack, new_page, screenshot):
    page = new_page()
    connect_until_pagerduty(page, local_stack)
    with page.expect_navigation(url=re.compile(r"/callback\?")):
        page.click("#deny")
    assert page.locator("h1").inner_text() == "Connection cancelled"
    assert "cancelled" in page.locator("#message").inner_text()
    screenshot(page, "cancelled")
    page.click("#try-again")
    page.wait_for_selector("#authorize")  # straight back to PagerDuty's authorize page


def test_reloading_the_callback_says_already_used(local_stack, new_page, screenshot):
    page = new_page()
    connect_until_pagerduty(page, local_stack)
    with page.expect_navigation(url=re.compile(r"/callback\?")):
        page.click("#authorize")
    assert page.locator("h1").inner_text().startswith("Welcome")
    response = page.reload()
    assert response.status == 400
    assert "already used" in page.locator("#message").inner_text()
    assert "Welcome" not in page.content()
    screenshot(page, "reloaded-callback")


def test_a_second_browser_cannot_finish_the_first_ones_flow(local_stack, new_page, screenshot):
    owner, other = new_page(), new_page()
    captured = []

    def hold_back_the_redirect(route):
        # Let PagerDuty answer the Authorize click, but keep its redirect instead of following it.
        answer = route.fetch(max_redirects=0)
        captured.append(answer.headers["location"])
        route.fulfill(status=200, content_type="text/plain", body="held back")

    connect_until_pagerduty(owner, local_stack)
    owner.route(re.compile(r".*/oauth/authorize$"), hold_back_the_redirect)
    owner.click("#authorize")
    owner.wait_for_selector("text=held back")
    (callback_url,) = captured
    assert "/callback?" in callback_url

    other.goto(local_stack + "/authorize")  # the other browser has a flow (and cookie) of its own
    response = other.goto(callback_url)
    assert response.status == 400
    assert "different browser" in other.locator("#message").inner_text()
    screenshot(other, "other-browser-refused")

    owner.goto(callback_url)  # the code was not spent: its owner still finishes
    assert owner.locator("h1").inner_text() == "Welcome, Ada Lovelace"


def test_unknown_page_is_api_gateways_404(local_stack, new_page):
    page = new_page()
    response = page.goto(local_stack + "/nope")
    assert response.status == 404
