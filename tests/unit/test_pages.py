from pd_connect import pages
from pd_connect.failures import Reason


def test_landing_links_to_authorize():
    body = pages.landing().body
    assert 'href="/authorize"' in body and "Connect to PagerDuty" in body


def test_a_script_name_is_shown_as_text():
    page = pages.welcome(name="<script>alert(1)</script>", avatar_url=None, subdomain="acme", region="US", profile_loaded=True)
    assert "<script>" not in page.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.body


def test_https_avatar_is_shown_and_allowed_for_its_origin_only():
    page = pages.welcome(name="Ada", avatar_url="https://secure.gravatar.com/avatar/abc.png?s=96&d=mm", subdomain="acme", region="US", profile_loaded=True)
    assert 'src="https://secure.gravatar.com/avatar/abc.png?s=96&amp;d=mm"' in page.body
    assert "img-src 'self' https://secure.gravatar.com;" in page.content_security_policy


def test_non_https_avatars_are_dropped():
    for url in ("javascript:alert(1)", "http://example.com/a.png", "data:image/png;base64,AAAA", "//evil.example/a.png", "https://user:pw@evil.example/a.png", " ", "https://"):
        page = pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
        assert "<img" not in page.body, url
        assert "img-src 'self';" in page.content_security_policy, url  # the favicon only


def test_quotes_in_avatar_url_cannot_break_out_of_the_attribute():
    page = pages.welcome(name="Ada", avatar_url='https://a.example/x" onerror="alert(1)', subdomain="acme", region="US", profile_loaded=True)
    assert 'onerror="alert' not in page.body


def test_pages_load_nothing_but_their_own_hashed_stylesheet():
    csp = pages.landing().content_security_policy
    assert csp.startswith("default-src 'none'")
    assert "style-src 'sha256-" in csp and "unsafe-inline" not in csp


def test_failure_page_has_one_sentence_a_try_again_link_and_the_reason_status():
    page = pages.failure(Reason.PAGERDUTY_TIMEOUT)
    assert page.status == 502
    assert Reason.PAGERDUTY_TIMEOUT.message in page.body
    assert 'href="/authorize"' in page.body


def test_cancelled_page_says_so():
    page = pages.failure(Reason.ACCESS_DENIED)
    assert "cancelled" in page.body.lower()


def test_profile_note_when_profile_not_loaded():
    page = pages.welcome(name="PagerDuty user", avatar_url=None, subdomain="acme", region="EU", profile_loaded=False)
    assert 'id="profile-note"' in page.body


def test_a_loopback_http_avatar_is_shown_for_a_local_standin_and_no_other_http_one():
    # The stand-in serves avatars over plain http on this machine; browsers treat loopback as secure.
    for url in ("http://127.0.0.1:8090/avatars/P1.svg", "http://localhost:3001/a.svg", "http://pagerduty.localhost:8090/a.svg", "http://[::1]:9/a.svg"):
        page = pages.welcome(name="Ada Lovelace", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
        origin = url.split("/a")[0] if "/avatars" not in url else "http://127.0.0.1:8090"
        assert f"img-src 'self' {origin};" in page.content_security_policy, url
        assert '<span class="initials">AL</span>' in page.body
    for url in ("http://localhost.evil.example/a.png", "http://127.0.0.2.nip.io/a.png", "http://user@localhost/a.png"):
        page = pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
        assert "<img" not in page.body, url


def test_failure_pages_show_the_reference_and_the_404_page_leads_to_the_start():
    page = pages.failure(Reason.NOT_FOUND, reference="0a1b2c3d")
    assert page.status == 404 and 'id="reference">0a1b2c3d<' in page.body
    assert 'href="/"' in page.body and "Page not found" in page.body


def test_the_favicon_is_an_svg_cached_for_a_day():
    icon = pages.favicon()
    assert (icon.status, icon.content_type, icon.headers["Cache-Control"]) == (200, "image/svg+xml", "public, max-age=86400")
    assert icon.body.startswith("<svg")
