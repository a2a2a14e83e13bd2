"""Shared fixtures for the local stack's tests: templates, an embedded AWS, a gateway on a free port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.stack.api_gateway import LocalApiGateway
from local.stack.aws import LocalAws, start_aws
from local.stack.lambda_runtime import LocalFunction
from local.stack.routes import RouteTable
from local.stack.template import FunctionSpec, Route

from .support import FIXTURES, REPOSITORY, RecordingHandler


@pytest.fixture(scope="session")
def real_template_path() -> Path:
    return REPOSITORY / "template.yaml"


@pytest.fixture(scope="session")
def fixture_template_path() -> Path:
    return FIXTURES / "template.yaml"


@pytest.fixture(scope="session")
def sam_generated_event() -> dict[str, Any]:
    """What `sam local generate-event apigateway http-api-proxy` (SAM CLI 1.170.0) printed."""
    return json.loads((FIXTURES / "sam-http-api-proxy-event.json").read_text())


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    """One embedded moto for the session (moto keeps its state per process anyway)."""
    aws = start_aws({})
    yield aws
    aws.stop()


@pytest.fixture
def handler() -> RecordingHandler:
    return RecordingHandler()


@pytest.fixture
def gateway(handler: RecordingHandler) -> Iterator[LocalApiGateway]:
    """The local API on a free port: GET / and GET /authorize -> `handler`, with a 1 s timeout."""
    spec = FunctionSpec(
        logical_id="StartFunction",
        handler="recording.handler",
        code_uri=FIXTURES,
        timeout_s=1,
        memory_mb=128,
        environment={},
    )
    function = LocalFunction(spec=spec, handler=handler, region="us-east-1", account_id="123456789012")
    routes = RouteTable([Route("GET", "/", "StartFunction"), Route("GET", "/authorize", "StartFunction")])
    api = LocalApiGateway(host="127.0.0.1", port=0)
    api.start(routes, {"StartFunction": function})
    yield api
    api.stop()
