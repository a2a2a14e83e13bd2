"""A builder's own templates: used where supplied, built-in elsewhere, checked at start."""

import pytest
from pd_connect.flow.failures import Reason
from pd_connect.flow.page_templates import BUILT_IN, PLACEHOLDERS, PageTemplateError, load_page_templates
from pd_connect.flow.pages import Pages
from pd_connect.platform.config import Branding


def pages_from(directory) -> Pages:
    return Pages(load_page_templates(str(directory)), Branding(product_name="Acme Status"), "read")


def test_a_supplied_template_replaces_only_its_page(tmp_path):
    (tmp_path / "landing.html").write_text('<h1 id="own">$heading</h1><a id="connect" href="/authorize">Go</a>', "utf-8")
    pages = pages_from(tmp_path)
    assert '<h1 id="own">Connect Acme Status to your PagerDuty account</h1>' in pages.landing().body
    assert 'id="try-again"' in pages.failure(Reason.STATE_UNKNOWN).body
    assert load_page_templates(str(tmp_path)).supplied == ("landing.html",)


def test_a_supplied_stylesheet_is_inlined_and_hashed(tmp_path):
    (tmp_path / "style.css").write_text("body{background:#000}", "utf-8")
    page = pages_from(tmp_path).landing()
    assert "<style>body{background:#000}</style>" in page.body
    assert "style-src 'sha256-" in page.content_security_policy


def test_escaping_stays_on_in_supplied_templates(tmp_path):
    (tmp_path / "welcome.html").write_text("<h1>$name</h1>$avatar", "utf-8")
    page = pages_from(tmp_path).welcome(name="<script>x</script>", avatar_url=None, subdomain="a", region="US", profile_loaded=True)
    assert "<script>x" not in page.body and "&lt;script&gt;x&lt;/script&gt;" in page.body


def test_without_a_folder_the_built_in_templates_are_used():
    templates = load_page_templates("")
    assert templates.supplied == ()
    assert templates.stylesheet == (BUILT_IN / "style.css").read_text("utf-8")


def test_a_placeholder_the_page_does_not_have_fails_naming_file_and_placeholder(tmp_path):
    (tmp_path / "landing.html").write_text("<h1>$heading</h1> $user_email", "utf-8")
    with pytest.raises(PageTemplateError, match=r"landing\.html: \$user_email is not a placeholder of landing\.html"):
        load_page_templates(str(tmp_path))


def test_a_lone_dollar_fails(tmp_path):
    (tmp_path / "failure.html").write_text("<p>Costs $ 5</p>", "utf-8")
    with pytest.raises(PageTemplateError, match=r"failure\.html: a \$ that starts no placeholder"):
        load_page_templates(str(tmp_path))


def test_a_layout_without_body_or_style_fails(tmp_path):
    (tmp_path / "layout.html").write_text("<html><style>$style</style></html>", "utf-8")
    with pytest.raises(PageTemplateError, match=r"layout\.html must contain \$body"):
        load_page_templates(str(tmp_path))


def test_a_misspelt_template_name_fails_instead_of_being_ignored(tmp_path):
    (tmp_path / "landng.html").write_text("<h1>hi</h1>", "utf-8")
    with pytest.raises(PageTemplateError, match=r"PAGE_TEMPLATES_DIR has landng\.html, which no page uses"):
        load_page_templates(str(tmp_path))


def test_other_files_in_the_folder_are_left_alone(tmp_path):
    (tmp_path / "README.md").write_text("my pages", "utf-8")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    assert load_page_templates(str(tmp_path)).supplied == ()


def test_a_template_that_is_not_utf8_fails(tmp_path):
    (tmp_path / "welcome.html").write_bytes(b"\xff\xfe<h1>$name</h1>")
    with pytest.raises(PageTemplateError, match=r"welcome\.html is not UTF-8"):
        load_page_templates(str(tmp_path))


def test_every_built_in_template_uses_only_its_declared_placeholders():
    # The contract builders copy from: the built-in files themselves pass the same check.
    templates = load_page_templates()
    assert set(templates.templates) == set(PLACEHOLDERS)


def test_dollar_dollar_is_a_dollar_sign(tmp_path):
    (tmp_path / "landing.html").write_text("<p>Only $$5 a month</p>", "utf-8")
    assert "<p>Only $5 a month</p>" in pages_from(tmp_path).landing().body
