"""A local stand-in for Lambda's Invoke API, for the template's functions that have no HTTP route.

What `sam local start-lambda` does, without Docker: `POST /2015-03-31/functions/{name}/invocations`
runs the unmodified handler in this process, so boto3, the AWS SDK for JavaScript v3 and
`aws lambda invoke --endpoint-url` reach it as they reach Lambda. As Lambda answers:

- the function's result as the JSON body, 200, `X-Amz-Executed-Version: $LATEST`;
- a raised exception or a timeout: 200 with `X-Amz-Function-Error: Unhandled` and
  {"errorMessage", "errorType"} (no stack trace: the frames stay in this process's log);
- `X-Amz-Invocation-Type`: RequestResponse (default), Event (202, runs in the background),
  DryRun (204);
- errors in the SDKs' rest-json shape (`x-amzn-ErrorType` + {"Type", "message"}):
  404 ResourceNotFoundException (unknown function, or a qualifier other than $LATEST),
  400 InvalidRequestContentException (a body that is not JSON), 413 RequestTooLargeException
  (over 6 MB, the synchronous payload quota), 403 for a request not signed with this run's
  access key (its SigV4 signature checked as the embedded AWS checks it, local/stack/aws_guard.py)
  or sent by a web page (Origin, Sec-Fetch-*), 404 UnknownOperationException otherwise.

A function is named by its logical id (TokenFunction), its ARN or a partial ARN, with an optional
`:$LATEST`. Like one Lambda execution environment each function serves one event at a time;
concurrent invokes wait their turn.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from ..http_server import LocalServer
from .api_gateway import host_allowed
from .aws_guard import AwsGuard, RunKey
from .lambda_runtime import InvocationFailed, LocalFunction

MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda quota: 6 MB request and response, synchronous
MAX_EVENT_PAYLOAD_BYTES = 256 * 1024  # Lambda quota for asynchronous (Event) invocations
_PATH = re.compile(r"/2015-03-31/functions/(?P<name>[^/]+)/invocations")
_FUNCTION_NAME = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>[^:]+))?"
)
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")

LOG = logging.getLogger(__name__)


class LocalLambdaInvoke:
    """Binds its port on creation (a taken port fails before anything else starts)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._functions: Mapping[str, LocalFunction] = {}
        self._access_key_id = ""
        self._guarded = AwsGuard(self._wsgi, None)
        self._server = LocalServer(
            lambda environ, start: self._guarded(environ, start),
            host=host,
            port=port,
            name="lambda-invoke",
            framing_error=_unreadable,
            max_chunked_bytes=MAX_SYNC_PAYLOAD_BYTES,
        )

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, functions: Mapping[str, LocalFunction], *, access_key_id: str, run_key: RunKey | None) -> None:
        """Serve `functions` to requests signed with the run's AWS credentials: `run_key`'s signature
        is verified as the embedded AWS verifies it (aws_guard), else `access_key_id` is required."""
        self._functions = dict(functions)
        self._access_key_id = access_key_id
        self._guarded = AwsGuard(self._wsgi, run_key)  # and no browser request, with or without a key
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        try:
            response, served_by = self._respond(request, request_id)
        except Exception:  # a bug here must cost one request, not the server
            LOG.exception("local Lambda invoke failed")
            response, served_by = _error(500, "ServiceException", "The local invoke endpoint failed"), "-"
        response.headers["x-amzn-RequestId"] = request_id
        LOG.info("%s %s -> %d %s %.0f ms", request.method, request.path[:200], response.status_code, served_by,
                 (time.monotonic() - started) * 1000)
        return response(environ, start_response)

    def _respond(self, request: Request, request_id: str) -> tuple[Response, str]:
        if not host_allowed(request.host):  # as the local API: no DNS-rebound names
            return _error(403, "AccessDeniedException", "Host not allowed"), "-"
        credential = _CREDENTIAL.search(request.headers.get("Authorization", ""))
        if credential is None or not self._access_key_id or credential.group(1) != self._access_key_id:
            return _error(403, "UnrecognizedClientException", "The security token included in the request is invalid."), "-"
        found = _PATH.fullmatch(request.path)
        if found is None or request.method != "POST":
            return _error(404, "UnknownOperationException", "Unknown operation"), "-"
        function = self._function(unquote(found.group("name")), request.args.get("Qualifier"))
        if function is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {found.group('name')[:200]}"), "-"
        name = function.spec.logical_id
        length = request.content_length or 0
        if length > MAX_SYNC_PAYLOAD_BYTES:
            return _error(413, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation"), name
        body = request.get_data(cache=False)
        try:
            event = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError) as exc:
            return _error(400, "InvalidRequestContentException", f"Could not parse request body into json: {type(exc).__name__}"), name
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return Response(status=204), name
        if invocation_type == "Event":
            if len(body) > MAX_EVENT_PAYLOAD_BYTES:
                return _error(413, "RequestTooLargeException", "Request must be smaller than 262144 bytes for the InvokeAsync operation"), name
            threading.Thread(target=self._run_in_background, args=(function, event), daemon=True).start()
            return Response(status=202), name
        if invocation_type != "RequestResponse":
            return _error(400, "InvalidParameterValueException", "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun"), name
        return self._invoke(function, event), name

    def _function(self, name: str, qualifier: str | None) -> LocalFunction | None:
        found = _FUNCTION_NAME.fullmatch(name)
        if found is None:
            return None
        if {found.group("qualifier"), qualifier} - {None, "$LATEST"}:
            return None  # no versions or aliases are published locally
        return self._functions.get(found.group("name"))

    @staticmethod
    def _invoke(function: LocalFunction, event: Any) -> Response:
        headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        try:
            result = function.invoke(event, caller_timeout_s=None)
            payload = json.dumps(result).encode("utf-8")
        except InvocationFailed as failure:
            LOG.error("%s", failure)
            body = {"errorMessage": failure.error_message or str(failure), "errorType": failure.error_type or "Runtime.Error"}
            return Response(json.dumps(body), 200, {**headers, "X-Amz-Function-Error": "Unhandled"})
        except (TypeError, ValueError):
            LOG.error("%s returned a result that is not JSON", function.spec.logical_id)
            body = {"errorMessage": "Unable to marshal response", "errorType": "Runtime.MarshalError"}
            return Response(json.dumps(body), 200, {**headers, "X-Amz-Function-Error": "Unhandled"})
        if len(payload) > MAX_SYNC_PAYLOAD_BYTES:
            body = {"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge"}
            return Response(json.dumps(body), 200, {**headers, "X-Amz-Function-Error": "Unhandled"})
        return Response(payload, 200, headers)

    @staticmethod
    def _run_in_background(function: LocalFunction, event: Any) -> None:
        try:
            function.invoke(event, caller_timeout_s=None)
        except InvocationFailed as failure:
            LOG.error("%s (asynchronous invocation)", failure)


def _unreadable(status: int) -> Response:
    """What a request that is not readable HTTP gets (e.g. 400 BadRequestException)."""
    return _error(status, HTTPStatus(status).phrase.replace(" ", "").replace("-", "") + "Exception", "The request could not be read")


def _error(status: int, error_type: str, message: str) -> Response:
    # botocore's rest-json parser reads the code from this header, the message from the body.
    kind = "Service" if status >= 500 else "User"
    return Response(
        json.dumps({"Type": kind, "message": message}),
        status,
        {"x-amzn-ErrorType": f"{error_type}:", "Content-Type": "application/json"},
    )
