"""The reliability suite: the handlers of tests/moto (moto + the strict PagerDuty stand-in) under
faults, hostile input and fuzzing. Bounded in time: fixed example counts, derandomized."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, settings

from local.pagerduty_standin import RegisteredClient, StandIn
from tests.moto.conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, aws, browser, container, handlers, template  # noqa: F401 - fixtures reused as they are

from .support import FUZZ_EXAMPLES, FUZZ_REACH, AwsFaults

# CI: the same 300 events per handler on every run. HYPOTHESIS_PROFILE=deep explores further.
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=300, derandomize=True, database=None, print_blob=True, **_FUZZ)
settings.register_profile("deep", max_examples=5000, **_FUZZ)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def id_token_key() -> rsa.RSAPrivateKey:
    """One RS256 key for every stand-in of the suite: generating one per test costs up to a second."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def standin(id_token_key):
    with StandIn(clients=[RegisteredClient(CLIENT_ID, CLIENT_SECRET, (REDIRECT_URI,))], signing_key=id_token_key) as pd:
        yield pd


@pytest.fixture
def aws_faults(monkeypatch) -> AwsFaults:
    faults = AwsFaults(monkeypatch)
    yield faults
    faults.close()


def pytest_terminal_summary(terminalreporter):
    if FUZZ_EXAMPLES:
        counts = ", ".join(f"{handler} {count}" for handler, count in sorted(FUZZ_EXAMPLES.items()))
        terminalreporter.write_line(f"fuzz: events run per handler: {counts}")
    for fuzzer, reach in sorted(FUZZ_REACH.items()):
        events = reach["events"]
        shares = ", ".join(
            f"{step} {reach[step]}/{events} ({100 * reach[step] / events:.0f}%)" for step in ("exchanged", "stored")
            if step in reach
        )
        terminalreporter.write_line(f"fuzz reach: {fuzzer}: {events} events; reached the token exchange / the store: {shares}")
