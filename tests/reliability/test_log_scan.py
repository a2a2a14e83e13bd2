"""The session's log scan (tests/conftest.py) sees what production logs would carry, and finds
secrets in it without printing them."""

from __future__ import annotations

import logging
import secrets

from pd_connect.platform.observability import logger

from tests.log_scan import LogScan


def scanned(values: dict[str, str], lines: list[str]) -> list[tuple[str, str]]:
    scan = LogScan()  # a fresh one, not the session's: only its scanning is used
    for value, kind in values.items():
        scan.add_value(kind, value)
    scan.add_lines(lines, "test")
    scan.scan()
    return scan.found


def test_a_known_secret_in_a_line_is_found_and_masked():
    state = secrets.token_urlsafe(32)

    assert scanned({state: "state"}, [f"GET /callback?state={state}"]) == [
        ("state", "[test] GET /callback?state=<state>")
    ]


def test_a_pagerduty_token_is_found_by_its_shape_alone():
    assert scanned({}, ["Authorization: Bearer pdus+_0abcdefghijklmnopqrstuvwxyz"]) == [
        ("pagerduty token (by its shape)", "[test] Authorization: Bearer <token>")
    ]


def test_values_too_short_to_be_secrets_are_not_collected():
    assert scanned({"secret": "client secret"}, ["secretsmanager: get secret failed"]) == []


def test_clean_lines_find_nothing():
    assert scanned({secrets.token_urlsafe(32): "code_verifier"}, ["connect flow failed", "GET /callback -> 400"]) == []


def test_powertools_lines_are_captured_with_their_extra_fields(log_scan):
    marker = secrets.token_hex(8)

    logger.warning("log scan probe", extra={"detail": marker})

    assert any('"detail":"' + marker in line for line in log_scan.lines[-5:])


def test_library_lines_are_captured_with_their_extra_fields(log_scan):
    marker = secrets.token_hex(8)

    logging.getLogger("some.library").debug("probe", extra={"url": f"https://example.com/?x={marker}"})

    assert any(marker in line for line in log_scan.lines[-5:])
