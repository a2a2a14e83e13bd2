"""The local stack takes the branding parameters as `sam deploy` does, and the builder's templates
from a folder (standing in for the layer); a bad one stops it at start with one clear line."""

from __future__ import annotations

import signal

import pytest
import requests

from local.stack.__main__ import _parameter_overrides

from .support import REPOSITORY, StackProcess, free_port

HAS_REAL_HANDLERS = (REPOSITORY / "functions" / "start_handler.py").exists()
BRANDED = (
    "ProductName='Acme Status' LogoUrl=https://cdn.acme.example/logo.svg AccentColor=#5b3cc4 "
    "SupportUrl=https://acme.example/support PagerDutyScopes='incidents.read users.read'"
)


def test_parameter_overrides_take_quoted_values_with_spaces():
    assert _parameter_overrides(BRANDED) == {
        "ProductName": "Acme Status",
        "LogoUrl": "https://cdn.acme.example/logo.svg",
        "AccentColor": "#5b3cc4",
        "SupportUrl": "https://acme.example/support",
        "PagerDutyScopes": "incidents.read users.read",
    }


@pytest.mark.parametrize("text", ["ProductName", "=x", "ProductName='Acme"])
def test_malformed_parameter_overrides_are_refused(text):
    with pytest.raises(ValueError):
        _parameter_overrides(text)


@pytest.mark.skipif(not HAS_REAL_HANDLERS, reason="needs functions/ handlers")
def test_a_branded_stack_serves_the_branded_landing_page(tmp_path):
    (tmp_path / "style.css").write_text(".button{background:var(--accent)}", "utf-8")
    port = free_port()
    env = {"PORT": str(port), "PAGE_TEMPLATES_DIR": str(tmp_path)}
    with StackProcess("--parameter-overrides", BRANDED, env=env) as stack:
        stack.wait_for(f"Open http://localhost:{port}/")
        landing = requests.get(f"http://localhost:{port}/", timeout=10)
        assert stack.stop(signal.SIGINT) == 0
    assert "<h1>Connect Acme Status to your PagerDuty account</h1>" in landing.text
    assert '<li data-scope="incidents.read">See incidents</li>' in landing.text
    assert "<style>.button{background:var(--accent)}\n:root{--accent:#5b3cc4;" in landing.text
    assert landing.headers["Content-Security-Policy"].endswith("; img-src 'self' https://cdn.acme.example")


@pytest.mark.skipif(not HAS_REAL_HANDLERS, reason="needs functions/ handlers")
def test_a_template_that_cannot_render_stops_the_stack_at_start_naming_it(tmp_path):
    (tmp_path / "landing.html").write_text("<h1>$headline</h1>", "utf-8")
    env = {"PORT": str(free_port()), "PAGE_TEMPLATES_DIR": str(tmp_path)}
    with StackProcess(env=env) as stack:
        assert stack.process.wait(60) == 1
    assert "failed at init: PageTemplateError:" in stack.output
    assert "landing.html: $headline is not a placeholder of landing.html" in stack.output
    assert "Traceback" not in stack.output


@pytest.mark.skipif(not HAS_REAL_HANDLERS, reason="needs functions/ handlers")
def test_a_malformed_branding_parameter_stops_the_stack_at_start_naming_the_setting():
    with StackProcess("--parameter-overrides", "AccentColor=purple", env={"PORT": str(free_port())}) as stack:
        assert stack.process.wait(60) == 1
    assert "ACCENT_COLOR must be a hex colour" in stack.output
    assert "Traceback" not in stack.output
