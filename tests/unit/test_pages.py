import pytest

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
    assert "img-src https://secure.gravatar.com" in page.content_security_policy


def test_non_https_avatars_are_dropped():
    for url in ("javascript:alert(1)", "http://example.com/a.png", "data:image/png;base64,AAAA", "//evil.example/a.png", "https://user:pw@evil.example/a.png", " ", "https://"):
        page = pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
        assert "<img" not in page.body, url
        assert "img-src" not in page.content_security_policy, url


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


@pytest.mark.parametrize(
    "url",
    [
        "https://a.example;report-uri https://evil.example/r/x.png",  # a CSP directive smuggled in the host
        "https://a.example;report-uri=x/x.png",
        "https://a.example%3Breport-uri/x.png",
        "https://a.example x/x.png",
        "https://ä.example/x.png",  # non-ASCII host: not a valid header value either
        "https://a.exam\u0100ple/x.png",
        "https://user@a.example/x.png",
        "https://a.example:99999/x.png",
        "https://a.example:/x.png",
        "https://127.0.0.1/x.png",
        "https://[::1]/x.png",
        "https://a..example/x.png",
        "https://-a.example/x.png",
        "https://a.example'/x.png",
    ],
)
def test_an_avatar_url_that_is_not_a_plain_https_host_is_dropped_not_put_into_the_csp(url):
    page = pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
    assert "img-src" not in page.content_security_policy and "<img" not in page.body
    page.content_security_policy.encode("latin-1")  # always a sendable header


def test_an_avatar_origin_is_rebuilt_from_the_parsed_host_and_port():
    page = pages.welcome(name="Ada", avatar_url="https://Secure.Gravatar.com:443/avatar/x", subdomain="acme", region="US", profile_loaded=True)
    assert page.content_security_policy.endswith("; img-src https://secure.gravatar.com:443")
