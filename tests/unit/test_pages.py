import base64
import hashlib
import types

import pytest
from pd_connect.flow.failures import Reason
from pd_connect.flow.page_templates import BUILT_IN, load_page_templates
from pd_connect.flow.pages import Pages, accent_rule, contrast, default_pages, favicon, local_avatar_origin
from pd_connect.platform.config import Branding

pages = default_pages()
BUILT_IN_CSS = (BUILT_IN / "style.css").read_text("utf-8")


def sha256_source(css: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii") + "'"


def branded(scopes: str = "read", **branding: str) -> Pages:
    return Pages(load_page_templates(), Branding(**branding), scopes)


ACME = dict(
    product_name="Acme Status",
    logo_url="https://cdn.acme.example/brand/logo.svg?v=2",
    accent_color="#5b3cc4",
    support_url="https://acme.example/support",
    privacy_policy_url="https://acme.example/privacy",
)


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
    assert page.content_security_policy.endswith("; img-src 'self' https://secure.gravatar.com")


def test_non_https_avatars_are_dropped():
    for url in ("javascript:alert(1)", "http://example.com/a.png", "data:image/png;base64,AAAA", "//evil.example/a.png", "https://user:pw@evil.example/a.png", " ", "https://"):
        page = pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
        assert "<img" not in page.body, url
        assert page.content_security_policy.endswith("; img-src 'self'"), url  # the favicon only


def test_an_avatar_url_cannot_add_directives_to_the_csp():
    # Its "host" would have gone into the header as is: img-src https://a.example;script-src 'unsafe-inline'
    for url in ("https://a.example;script-src 'unsafe-inline'/x.png", "https://a.example;script-src:1/x.png", "https://good.example\\@evil.example/x.png"):
        page = pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
        assert "script-src" not in page.content_security_policy, url
        assert page.content_security_policy.endswith("; img-src 'self'"), url
        assert "<img" not in page.body, url


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


def test_the_configured_local_standin_may_serve_avatars_over_http_and_nothing_else_may():
    # The stand-in serves avatars over plain http on this machine; browsers treat loopback as secure.
    local = Pages(load_page_templates(), Branding(), "read", local_avatar_origin="http://pagerduty.localhost:8090")
    page = local.welcome(name="Ada Lovelace", avatar_url="http://pagerduty.localhost:8090/avatars/P1.svg", subdomain="acme", region="US", profile_loaded=True)
    assert page.content_security_policy.endswith("; img-src 'self' http://pagerduty.localhost:8090")
    assert '<span class="initials">AL</span>' in page.body and 'src="http://pagerduty.localhost:8090/avatars/P1.svg"' in page.body
    others = ("http://127.0.0.1:8090/a.svg", "http://localhost:3001/a.svg", "http://pagerduty.localhost:8091/a.svg", "http://user@pagerduty.localhost:8090/a.svg", "http://pagerduty.localhost.evil.example:8090/a.svg")
    for builder_pages in (local, pages):  # the deployed pages have no local origin: no http avatar at all
        for url in others if builder_pages is local else others + ("http://pagerduty.localhost:8090/avatars/P1.svg",):
            page = builder_pages.welcome(name="Ada", avatar_url=url, subdomain="acme", region="US", profile_loaded=True)
            assert "<img" not in page.body and page.content_security_policy.endswith("; img-src 'self'"), url


def test_the_local_avatar_origin_comes_only_from_a_loopback_http_pagerduty_api():
    def settings_with(api_url):
        return types.SimpleNamespace(api_url=lambda region: api_url)

    assert local_avatar_origin(settings_with("http://pagerduty.localhost:8090")) == "http://pagerduty.localhost:8090"
    assert local_avatar_origin(settings_with("http://127.0.0.1:5")) == "http://127.0.0.1:5"
    for api in ("https://api.pagerduty.com", "http://host.docker.internal:8090", "http://api.example"):
        assert local_avatar_origin(settings_with(api)) == "", api


def test_failure_pages_show_the_reference_and_the_404_page_leads_to_the_start():
    page = pages.failure(Reason.NOT_FOUND, reference="0a1b2c3d")
    assert page.status == 404 and 'id="reference">0a1b2c3d<' in page.body
    assert 'href="/"' in page.body and "Page not found" in page.body


def test_the_favicon_is_an_svg_cached_for_a_day():
    icon = favicon()
    assert (icon.status, icon.content_type, icon.headers["Cache-Control"]) == (200, "image/svg+xml", "public, max-age=86400")
    assert icon.body.startswith("<svg")


# --- branding -------------------------------------------------------------------------------


def test_default_pages_have_exactly_todays_csp_and_the_built_in_stylesheet():
    expected = f"default-src 'none'; style-src {sha256_source(BUILT_IN_CSS)}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; img-src 'self'"
    for page in (pages.landing(), pages.failure(Reason.STATE_UNKNOWN), pages.welcome(name="Ada", avatar_url=None, subdomain="a", region="US", profile_loaded=True)):
        assert page.content_security_policy == expected
        assert f"<style>{BUILT_IN_CSS}</style>" in page.body


def test_default_pages_name_no_product_and_show_no_logo_or_footer():
    body = pages.landing().body
    assert "<h1>Connect your PagerDuty account</h1>" in body
    assert "Link your PagerDuty user to this app." in body
    assert 'id="logo"' not in body and "<footer" not in body


def test_branded_csp_adds_the_logo_origin_and_nothing_else():
    page = branded(**ACME).landing()
    css = BUILT_IN_CSS + accent_rule("#5b3cc4")
    assert page.content_security_policy == (
        f"default-src 'none'; style-src {sha256_source(css)}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'; img-src 'self' https://cdn.acme.example"
    )


def test_branded_welcome_allows_the_logo_and_the_avatar_origins_only():
    page = branded(**ACME).welcome(name="Ada", avatar_url="https://secure.gravatar.com/a.png", subdomain="a", region="US", profile_loaded=True)
    assert page.content_security_policy.endswith("; img-src 'self' https://cdn.acme.example https://secure.gravatar.com")


def test_the_logo_origin_is_listed_once_when_the_avatar_shares_it():
    page = branded(logo_url="https://img.example/logo.png").welcome(name="Ada", avatar_url="https://img.example/ada.png", subdomain="a", region="US", profile_loaded=True)
    assert page.content_security_policy.endswith("; img-src 'self' https://img.example")


def test_branded_landing_names_the_product_shows_the_logo_and_links():
    body = branded(**ACME).landing().body
    assert "<h1>Connect Acme Status to your PagerDuty account</h1>" in body
    assert "<title>Connect Acme Status to your PagerDuty account</title>" in body
    assert '<img class="logo" id="logo" src="https://cdn.acme.example/brand/logo.svg?v=2" alt="Acme Status">' in body
    assert '<a id="support" href="https://acme.example/support">Support</a>' in body
    assert '<a id="privacy-policy" href="https://acme.example/privacy">Privacy policy</a>' in body


@pytest.mark.parametrize("page", ["landing", "failure", "welcome"])
def test_every_page_carries_the_logo_and_footer(page):
    brand = branded(**ACME)
    response = {
        "landing": brand.landing,
        "failure": lambda: brand.failure(Reason.STATE_UNKNOWN),
        "welcome": lambda: brand.welcome(name="Ada", avatar_url=None, subdomain="a", region="US", profile_loaded=False),
    }[page]()
    assert 'id="logo"' in response.body and 'id="support"' in response.body
    assert "img-src 'self' https://cdn.acme.example" in response.content_security_policy


def test_only_the_links_that_are_set_are_shown():
    body = branded(privacy_policy_url="https://acme.example/privacy").landing().body
    assert 'id="privacy-policy"' in body and 'id="support"' not in body


def test_branding_values_are_escaped_where_shown():
    brand = branded(
        product_name='<b>Evil</b> "Co" & Sons',
        logo_url='https://cdn.example/l.png?a=1&b="x"><script>',
        support_url="https://acme.example/help?q=<x>&y='1'",
    )
    body = brand.landing().body
    assert "<b>Evil</b>" not in body and "&lt;b&gt;Evil&lt;/b&gt; &quot;Co&quot; &amp; Sons" in body
    assert "<script>" not in body
    assert 'src="https://cdn.example/l.png?a=1&amp;b=&quot;x&quot;&gt;&lt;script&gt;"' in body
    assert 'href="https://acme.example/help?q=&lt;x&gt;&amp;y=&#x27;1&#x27;"' in body


def test_the_accent_colour_is_in_the_hashed_stylesheet():
    page = branded(accent_color="#5b3cc4").landing()
    assert ":root{--accent:#5b3cc4;--accent-hover:#49309d;--accent-text:#fff}" in page.body
    assert page.content_security_policy.endswith("; img-src 'self'")


def test_a_light_accent_gets_dark_button_text():
    assert "--accent-text:#1b1f1c" in accent_rule("#ffd400")
    assert "--accent-text:#fff" in accent_rule("#1d4ed8")


def test_contrast_is_wcags():
    assert contrast((255, 255, 255), (0, 0, 0)) == pytest.approx(21)
    assert contrast((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


# --- permissions -----------------------------------------------------------------------------


def listed(response) -> list[tuple[str, str]]:
    import re

    return re.findall(r'<li data-scope="([^"]*)">([^<]*)</li>', response.body)


def test_landing_lists_what_the_requested_scopes_allow():
    items = listed(branded("incidents.read incidents.write users:contact_methods.read oncalls.read custom.thing").landing())
    assert items == [
        ("incidents.read incidents.write", "See, create and change incidents"),
        ("users:contact_methods.read", "See users&#x27; contact methods"),
        ("oncalls.read", "See who is on call"),
        ("custom.thing", "custom.thing"),
    ]


def test_welcome_lists_what_was_granted_not_what_was_requested():
    page = branded("read write").welcome(name="Ada", avatar_url=None, subdomain="a", region="US", profile_loaded=True, granted_scopes="openid read")
    assert [scope for scope, _ in listed(page)] == ["openid", "read"]


def test_welcome_says_so_when_pagerduty_listed_no_scopes():
    page = pages.welcome(name="Ada", avatar_url=None, subdomain="a", region="US", profile_loaded=True, granted_scopes="")
    assert "PagerDuty did not say which permissions it granted." in page.body


def test_an_unknown_scope_is_escaped_when_shown_as_itself():
    items = listed(branded("<img>.read").landing())
    assert items == [("&lt;img&gt;.read", "&lt;img&gt;.read")]


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
    assert page.content_security_policy.endswith("; img-src 'self'") and "<img" not in page.body
    page.content_security_policy.encode("latin-1")  # always a sendable header


def test_an_avatar_origin_is_rebuilt_from_the_parsed_host_and_port():
    page = pages.welcome(name="Ada", avatar_url="https://Secure.Gravatar.com:443/avatar/x", subdomain="acme", region="US", profile_loaded=True)
    assert page.content_security_policy.endswith("; img-src 'self' https://secure.gravatar.com:443")
