"""Shared fixtures: fake AWS credentials everywhere, so nothing can ever reach real AWS."""

import os

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("TEST_AWS_REGION", "us-east-1"))
    monkeypatch.setenv("AWS_REGION", os.environ.get("TEST_AWS_REGION", "us-east-1"))
