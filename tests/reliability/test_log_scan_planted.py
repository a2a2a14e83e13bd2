"""Planted leaks: a pytest session of its own, with the repository's conftest (so the real log scan
and its secret sources), where each test leaks one secret one way. Every leak must be reported and
fail that session; the same session without the leaks passes.

The inner session's output is read here, never printed: its planted secrets must not reach this
session's own scan."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.moto.conftest import REPOSITORY

PLANTED = textwrap.dedent(
    '''
    import json
    import logging
    import subprocess
    import sys
    from urllib.parse import quote, quote_plus

    from local.pagerduty_standin import clients, id_token, tokens
    from local.pagerduty_standin.accounts import DEFAULT_USERS
    from pd_connect.flow import browser_binding, links, pending_authorizations
    from pd_connect.oauth import pkce
    from pd_connect.platform.observability import logger, metrics


    def issued_tokens():
        store = tokens.TokenStore(code_lifetime=30, access_token_lifetime=3600, refresh_token_lifetime=86400)
        code = store.issue_code(client_id="c", user=DEFAULT_USERS[0], scope="read",
                                redirect_uri="http://localhost/cb", code_challenge=None)
        return store.redeem_code(code, client_id="c", redirect_uri="http://localhost/cb", code_verifier=None)


    def test_clean():
        logger.info("connection stored", extra={"account_id": "PACMEUS", "user_id": "PADA001"})
        print("GET /callback -> 200")


    def test_leak_print_verifier():
        print("planted-print-verifier", pkce.new_code_verifier())


    def test_leak_print_refresh_token_to_stderr():
        print("planted-stderr-refresh", issued_tokens().refresh_token, file=sys.stderr)


    def test_leak_id_token_through_the_product_logger():
        signed = id_token.IdTokenSigner().sign({"sub": "PADA001"})
        logger.info("planted-id-token", extra={"claims": signed})


    def test_leak_percent_encoded_refresh_token_through_a_library_logger():
        body = "grant_type=refresh_token&refresh_token=" + quote_plus(issued_tokens().refresh_token)
        logging.getLogger("urllib3.connectionpool").warning("planted-percent-encoded %s", body)


    def test_leak_json_escaped_client_secret():
        secret = clients.RegisteredClient("c", "s3cret/with+chars-0123", ("http://localhost/cb",)).client_secret
        print("planted-json-escaped", json.dumps({"client_secret": secret}).replace("/", "\\\\/"))


    def test_leak_state_in_a_powertools_extra_field():
        logger.warning("planted-extra-field", extra={"detail": pending_authorizations.new_state()})


    def test_leak_binding_in_an_emf_line():
        metrics.add_metric(name="Planted", unit="Count", value=1)
        metrics.add_metadata(key="planted-emf", value=browser_binding.new_binding())
        metrics.flush_metrics()


    def test_leak_link_token_read_through_capsys(capsys):
        print("planted-capsys", links.sign_link("k" * 64, "app-user-1"))
        assert capsys.readouterr().out


    def test_leak_in_a_child_process_output(log_scan):
        state = pending_authorizations.new_state()
        done = subprocess.run([sys.executable, "-c", f"print('planted-child', {state!r})"],
                              capture_output=True, text=True, check=True)
        log_scan.add_output(done.stdout, "child")


    def test_leak_access_token_by_its_shape_alone():
        print("planted-shape", "pdus%2B_0" + "x" * 40)
    '''
)

# (what the leak is, the line the inner session must report, with the secret masked)
EXPECTED = [
    ("code_verifier", "planted-print-verifier <code_verifier>"),
    ("token", "planted-stderr-refresh <token>"),
    ("id_token", '"message":"planted-id-token"'),
    ("token", "planted-percent-encoded grant_type=refresh_token&refresh_token=<token>"),
    ("client secret", 'planted-json-escaped {"client_secret": "<client secret>"}'),
    ("state", '"detail":"<state>"'),
    ("browser binding", '"planted-emf":"<browser binding>"'),
    ("link token", "planted-capsys <link token>"),
    ("state", "[child] planted-child <state>"),
    ("pagerduty token (by its shape)", "planted-shape <token>"),
]


@pytest.fixture(scope="module")
def inner_session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    (folder / "conftest.py").write_text("from tests.conftest import *  # noqa: F403 - the real scan\n")
    (folder / "test_planted.py").write_text(PLANTED)

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), str(REPOSITORY / "functions")])}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder), str(folder), *args],
            cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
        )

    return run


@pytest.fixture(scope="module")
def planted_run(inner_session):
    return inner_session()


def test_the_inner_session_without_leaks_passes_with_a_clean_scan(inner_session):
    done = inner_session("-k", "clean")

    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 found" in done.stdout


def test_every_planted_leak_passes_its_test_and_fails_the_run(planted_run):
    assert planted_run.returncode == pytest.ExitCode.TESTS_FAILED, planted_run.stdout[-3000:]
    assert f"{len(EXPECTED) + 1} passed" in planted_run.stdout  # the tests pass: the scan fails the run
    assert "log scan: secrets in log lines, so the run fails" in planted_run.stdout


@pytest.mark.parametrize("kind,line", EXPECTED, ids=[f"{kind}-{n}" for n, (kind, _) in enumerate(EXPECTED)])
def test_each_planted_leak_is_reported_masked(planted_run, kind, line):
    reports = [text for text in planted_run.stdout.splitlines() if text.startswith(f"log scan: a {kind} was logged: ")]

    assert any(line in report for report in reports), "\n".join(reports)
