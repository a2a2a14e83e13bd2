"""The library as builders get it: `pip install ./functions`, and `from pd_connect import ...`."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
FUNCTIONS = REPOSITORY / "functions"
# What the README's "Use the tokens from your own functions" and "Connect on behalf of your
# signed-in users" import from the top level.
DOCUMENTED = {
    "get_access_token", "NeedsReauthorization", "PagerDutyClient", "create_link", "confirm_connection",
    "ConfirmationError", "AppUserMismatch", "disconnect", "REVOKE_IN_PAGERDUTY",
}


def test_the_public_api_loads_lazily_and_names_what_the_readme_uses():
    # A fresh interpreter: importing the package loads none of its layers until a name is used.
    code = (
        "import json, sys, pd_connect\n"
        "before = [m for m in sys.modules if m.startswith('pd_connect.')]\n"
        "resolved = {name: getattr(pd_connect, name) is not None for name in pd_connect.__all__}\n"
        "print(json.dumps({'before': before, 'names': sorted(resolved)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=FUNCTIONS, capture_output=True, text=True, check=True).stdout
    answer = json.loads(out)
    assert answer["before"] == []
    assert DOCUMENTED <= set(answer["names"])


def test_an_unknown_name_is_an_attribute_error():
    import pd_connect

    with pytest.raises(AttributeError, match="no attribute 'get_acces_token'"):
        pd_connect.get_acces_token  # noqa: B018


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # A copy of functions/: setuptools writes build/ and *.egg-info next to pyproject.toml.
    subprocess.run(["cp", "-R", f"{FUNCTIONS}/.", str(build)], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "-w", str(out), str(build)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("pagerduty_connect-*.whl")
    return built


def test_the_wheel_holds_the_package_and_its_templates_and_no_handlers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert wheel.name == "pagerduty_connect-1.0.0-py3-none-any.whl"
    assert {"pd_connect/__init__.py", "pd_connect/client/access_tokens.py", "pd_connect/flow/templates/layout.html",
            "pd_connect/flow/templates/favicon.svg", "pd_connect/token_function/service.py"} <= names
    assert not {name for name in names if name.endswith("_handler.py") or name.startswith(("tests/", "build/"))}
    # every module of the source tree, nothing more
    source = {str(p.relative_to(FUNCTIONS)) for p in (FUNCTIONS / "pd_connect").rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert {name for name in names if name.startswith("pd_connect/")} == source
