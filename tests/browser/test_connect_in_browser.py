"""The connect flow in a real browser: what a user sees and clicks."""

import re
import time

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


def test_an_unknown_page_is_the_apps_own_404_page_with_its_favicon(local_stack, new_page, screenshot):
    page = new_page()
    response = page.goto(local_stack + "/nope")
    assert (response.status, page.title(), page.locator("#reason").inner_text()) == (404, "Page not found", "not_found")
    # Chromium does not report its favicon fetch to the page: load the linked icon as the page's
    # own image instead, under the page's CSP.
    icon = page.evaluate(
        """() => new Promise(done => { const image = new Image();
            image.onload = () => done(image.naturalWidth); image.onerror = () => done(-1);
            image.src = document.querySelector('link[rel=icon]').href; })"""
    )
    assert icon > 0
    screenshot(page, "not-found")
    page.click("#try-again")  # "Go to the start"
    assert page.locator("#connect").is_visible()
    # Chromium reports the page's own 404 as a console error; nothing else (no CSP violation).
    assert page.problems == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]


def test_the_welcome_page_keeps_its_shape_when_the_avatar_fails(local_stack, new_page, screenshot):
    page = new_page()
    page.route(re.compile(r".*/avatars/.*"), lambda route: route.abort())  # the picture cannot load
    connect_until_pagerduty(page, local_stack)
    with page.expect_navigation(url=re.compile(r"/callback\?")):
        page.click("#authorize")
    page.locator("#avatar").wait_for(state="attached")
    frame = page.locator(".avatar").bounding_box()
    image = page.locator("#avatar").bounding_box()
    failed = page.evaluate("document.getElementById('avatar').complete && document.getElementById('avatar').naturalWidth === 0")
    screenshot(page, "welcome-avatar-failed")

    assert failed  # the image really did not load
    assert (frame["width"], frame["height"]) == (96, 96)
    assert (image["width"], image["height"]) == (96, 96)  # no alt text pushing out of the circle
    assert page.locator(".avatar .initials").inner_text() == "AL"  # Ada Lovelace's initials instead
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("h1").inner_text() == "Welcome, Ada Lovelace"


def test_a_flow_started_on_127_0_0_1_names_the_host_mismatch_and_its_reference_is_in_the_log(
    running_stack, new_page, screenshot
):
    page = new_page()
    other_host = running_stack.url.replace("localhost", "127.0.0.1")
    connect_until_pagerduty(page, other_host)  # the binding cookie is set for 127.0.0.1
    with page.expect_navigation(url=re.compile(r"^http://localhost:\d+/callback\?")):
        page.click("#authorize")  # PagerDuty returns to the registered localhost callback
    reference = page.locator("#reference").inner_text()
    screenshot(page, "started-on-another-host")

    assert page.locator("#reason").inner_text() == "state_other_host"
    assert "different address" in page.locator("#message").inner_text()
    assert re.fullmatch(r"[0-9a-f]{8}", reference)
    wait_for_line(running_stack, f"ref {reference}")
    (line,) = [line for line in running_stack.output if f"ref {reference}" in line]
    assert "GET /callback 400" in line and "state_other_host" in line and "?" not in line
    page.click("#try-again")  # starts again on localhost, and this time it finishes
    page.select_option("#login", "PADA001")
    with page.expect_navigation(url=re.compile(r"/callback\?")):
        page.click("#authorize")
    assert page.locator("h1").inner_text() == "Welcome, Ada Lovelace"


def test_a_made_up_state_is_not_blamed_on_another_browser(local_stack, new_page):
    page = new_page()
    response = page.goto(local_stack + "/callback?code=garbage&state=garbage")

    assert (response.status, page.locator("#reason").inner_text()) == (400, "state_unknown")
    assert "not issued by this app" in page.locator("#message").inner_text()


def wait_for_line(running_stack, text: str, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while not any(text in line for line in running_stack.output):
        assert time.time() < deadline, f"no console line with {text!r}"
        time.sleep(0.05)
