"""Shared fixtures: fake AWS credentials everywhere, so nothing can ever reach real AWS.

And the session-wide log scan (tests/log_scan.py): every line the functions emit is kept, every
secret the run makes is collected where it is born (listed here), and at the end the run fails if
any secret appears in any line, in any of its encodings.
"""

from __future__ import annotations

import os

import pytest

from tests import log_scan as log_scan_module
from tests.log_scan import LogLines, LogScan


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("TEST_AWS_REGION", "us-east-1"))
    monkeypatch.setenv("AWS_REGION", os.environ.get("TEST_AWS_REGION", "us-east-1"))


# --- log scan (tests/log_scan.py) ---------------------------------------------------------------

# Where secrets are born during a run: (module, attribute, kind, the secrets in a call's result).
# The stand-in knows every code and token it issues, every id_token it signs and every client
# secret registered with it; the start function makes every state, PKCE verifier and browser
# binding; the token endpoint client sees every token PagerDuty (or a fake of it) answers.
# A new kind of sensitive value: add where it is born here.
_SECRET_SOURCES = (
    (
        "pd_connect.oauth.token_endpoint",
        "exchange_code",
        "token",
        lambda t: [t.access_token, t.refresh_token, t.id_token],
    ),
    ("pd_connect.oauth.token_endpoint", "refresh", "token", lambda t: [t.access_token, t.refresh_token]),
    ("local.pagerduty_standin.tokens", "TokenStore.issue_code", "authorization code", lambda code: [code]),
    ("local.pagerduty_standin.tokens", "TokenStore.redeem_code", "token", lambda t: [t.access_token, t.refresh_token]),
    (
        "local.pagerduty_standin.tokens",
        "TokenStore.rotate_refresh_token",
        "token",
        lambda t: [t.access_token, t.refresh_token],
    ),
    # the whole id_token and its signature alone (the header is the same in every token)
    ("local.pagerduty_standin.id_token", "IdTokenSigner.sign", "id_token", lambda t: [t, t.rsplit(".", 1)[-1]]),
    ("pd_connect.flow.pending_authorizations", "new_state", "state", lambda state: [state]),
    ("pd_connect.oauth.pkce", "new_code_verifier", "code_verifier", lambda verifier: [verifier]),
    ("pd_connect.flow.browser_binding", "new_binding", "browser binding", lambda binding: [binding]),
    ("pd_connect.platform.signing_keys", "load_signing_keys", "signing key", lambda keys: [keys.current, keys.previous]),
    ("pd_connect.flow.links", "sign_link", "link token", lambda token: [token]),
    ("pd_connect.flow.link_results", "sign_result", "linked-flow result", lambda token: [token]),
    ("local.stack.aws_guard", "RunKey.new", "embedded AWS secret key", lambda key: [key.secret_access_key]),
)


def pytest_configure(config):
    """Installs the log scan for the whole session; `-p no:log-scan` leaves it out."""
    manager = config.pluginmanager
    if manager.has_plugin("log-scan") or manager.is_blocked("log-scan"):
        return
    scan = LogScan()
    manager.register(scan, "log-scan")
    from local.pagerduty_standin import clients

    scan.install(
        _SECRET_SOURCES,
        wraps=[(clients.RegisteredClient, "__post_init__", "client secret", lambda _, client: [client.client_secret])],
    )


@pytest.fixture(scope="session")
def log_scan() -> LogScan:
    """Add secrets the run makes elsewhere (`add_value`) and output of child processes
    (`add_output`) to the session's log scan (a detached one under `-p no:log-scan`)."""
    return log_scan_module.current()


@pytest.fixture
def log_lines():
    """The log lines this test produces, as the scan formats them (every `extra=` field kept;
    caplog.text leaves those out)."""
    lines = LogLines()
    yield lines
    lines.close()
