"""Granted vs requested scopes, and the page that names what is missing."""

import pytest
from pd_connect.flow.failures import Reason
from pd_connect.flow.pages import default_pages
from pd_connect.oauth.granted_scopes import missing_scopes

pages = default_pages()


@pytest.mark.parametrize(
    ("requested", "granted", "missing"),
    [
        ("read", "openid read", ()),
        ("read", "read", ()),
        ("read write", "openid read write", ()),
        ("read", "openid write", ()),  # classic write includes read
        ("openid read", "openid read", ()),
        ("read", "", ()),  # RFC 6749 §5.1: no scope in the answer = as requested
        ("read", "openid", ("read",)),
        ("read write", "openid read", ("write",)),
        ("incidents.read incidents.write users.read", "openid incidents.read", ("incidents.write", "users.read")),
        ("write", "openid read", ("write",)),
        ("services.read services.read", "openid", ("services.read",)),
    ],
)
def test_missing_scopes(requested, granted, missing):
    assert missing_scopes(requested, granted) == missing


def test_the_page_names_each_missing_scope_and_what_to_do():
    page = pages.failure(Reason.SCOPES_NOT_GRANTED, missing_scopes=("incidents.write", "users.read"))

    assert page.status == 403
    assert '<ul id="missing-scopes"><li><code>incidents.write</code></li><li><code>users.read</code></li></ul>' in page.body
    assert "PagerDuty role" in page.body and "scope settings in PagerDuty" in page.body
    assert "PagerDutyScopes" in page.body
    assert 'id="reason">scopes_not_granted<' in page.body


def test_a_scope_name_is_shown_as_text():
    page = pages.failure(Reason.SCOPES_NOT_GRANTED, missing_scopes=("<img src=x onerror=alert(1)>",))

    assert "<img" not in page.body and "&lt;img src=x onerror=alert(1)&gt;" in page.body


def test_other_failure_pages_have_no_scope_section():
    assert 'id="missing-scopes"' not in pages.failure(Reason.PAGERDUTY_TIMEOUT).body
