"""The operator CLI against moto and the stand-in: never a token, lookups by key, paged listing."""

import io
import json

import pytest
from pd_connect.vault.connections import ConnectionStore

from admin.cli import main


@pytest.fixture
def two_connections(browser, aws):
    assert browser.connect(login="PADA001")["statusCode"] == 200
    assert browser.connect(login="PGRACE1")["statusCode"] == 200
    return aws


def run(*argv, container=None):
    out = io.StringIO()
    code = main(list(argv), out=out, container=container)
    return code, out.getvalue()


@pytest.fixture
def no_scans(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a lookup by key must not scan")

    monkeypatch.setattr(ConnectionStore, "list_page", refuse)


def test_list_json_shows_both_connections_without_tokens(two_connections):
    code, out = run("list", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["key"] for r in rows} == {"PACMEUS/PADA001", "PGLOBEX/PGRACE1"}
    assert "pdus" not in out and "tokens" not in rows[0]


def test_list_pages_through_results(two_connections):
    code, out = run("list", "--json", "--page-size", "1")
    assert code == 0 and len(json.loads(out)) == 2


def test_list_table_output(two_connections, capsys):
    run("list")
    printed = capsys.readouterr().out
    assert "Ada Lovelace" in printed and "2 connection(s)" in printed and "pdus" not in printed


def test_show_one_by_key(two_connections, no_scans):
    code, out = run("show", "PGLOBEX/PGRACE1", "--json")
    assert code == 0 and json.loads(out)["region"] == "EU" and "pdus" not in out


def test_show_unknown_is_exit_1(two_connections, no_scans):
    assert run("show", "PNOPE/PNOPE")[0] == 1


def test_refresh_one(two_connections, standin, no_scans):
    code, out = run("refresh", "PACMEUS/PADA001", "--json")
    assert code == 0 and json.loads(out)["token_version"] == 2
    assert standin.calls["token_refresh"] == 1 and "pdus" not in out


def test_refresh_refused_shows_needs_reauthorization(two_connections, standin, capsys):
    standin.faults.set(endpoint="token", kind="invalid_grant")
    assert run("refresh", "PACMEUS/PADA001")[0] == 3
    code, out = run("show", "PACMEUS/PADA001", "--json")
    assert json.loads(out)["needs_reauthorization"] is True


def test_delete_needs_yes_then_deletes_and_says_where_to_revoke(two_connections, no_scans):
    assert run("delete", "PACMEUS/PADA001")[0] == 2
    code, out = run("delete", "PACMEUS/PADA001", "--yes", "--json")
    result = json.loads(out)
    assert code == 0 and result["deleted"] is True and "PagerDuty" in result["revoke"]
    assert run("show", "PACMEUS/PADA001")[0] == 1


def test_malformed_key_is_a_usage_error(two_connections):
    with pytest.raises(SystemExit) as exit_:
        run("show", "not-a-key")
    assert exit_.value.code == 2


def test_missing_configuration_names_the_setting(monkeypatch, capsys):
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.setenv("PD_CLIENT_ID", "x")
    assert run("list")[0] == 2
    assert "TABLE_NAME" in capsys.readouterr().err


HOSTILE_NAME = "\x1b]0;owned\x07\x1b[2J\x1b[31mAda\r\nPACMEUS/PFAKE01   Forged row\u202e\x9b31m"


@pytest.fixture
def hostile_profile(browser, aws, standin):
    from local.pagerduty_standin import US_ACCOUNT, DemoUser

    standin.add_user(DemoUser(id="PEVIL01", name=HOSTILE_NAME, email="e\x1b[8m@x.example", account=US_ACCOUNT))
    assert browser.connect(login="PEVIL01")["statusCode"] == 200
    return aws


@pytest.mark.parametrize("command", [["list"], ["show", "PACMEUS/PEVIL01"]])
def test_text_output_escapes_control_characters_from_pagerduty_profiles(hostile_profile, capsys, command):
    assert main(command) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\r\x9b\u202e")
    assert "\\x1b]0;owned\\x07" in out
    if command == ["list"]:
        assert len(out.splitlines()) == 3  # header, the one row, the count: no forged row
    else:
        assert "Forged row\\u202e\\x9b31m" in out and "e\\x1b[8m@x.example" in out


def test_json_output_keeps_the_name_exact_but_escaped(hostile_profile):
    code, out = run("list", "--json")
    assert code == 0 and "\x1b" not in out and json.loads(out)[0]["user_name"] == HOSTILE_NAME


def test_list_reads_no_pending_authorizations_however_many_a_flood_left(two_connections, handlers):
    from pd_connect.container import Container

    from tests.flow_driver import FlowDriver

    from .conftest import SITE

    flooder = FlowDriver(*handlers, site=SITE)
    for _ in range(60):  # anonymous /authorize: one pending item each, kept 10 minutes
        flooder.authorize()
    scanned = []
    admin = Container()
    admin.aws.dynamodb.meta.events.register(
        "after-call.dynamodb.Scan", lambda parsed, **_: scanned.append(parsed.get("ScannedCount", 0))
    )

    code, out = run("list", "--json", "--page-size", "1", container=admin)

    assert code == 0 and {r["key"] for r in json.loads(out)} == {"PACMEUS/PADA001", "PGLOBEX/PGRACE1"}
    assert sum(scanned) == 2 and len(scanned) <= 3
