"""The functions' handlers, run in this process the way Lambda runs them.

Each handler is imported unmodified from its CodeUri. Like one Lambda execution environment,
a function serves one event at a time (its module globals, Powertools' resolver included, are
never shared by two requests at once) and is cut off, as far as the caller sees, at its
Timeout: Lambda would then report an error, which API Gateway turns into a 500.
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .template import FunctionSpec, TemplateError

# HTTP API gives up on an integration after 30 s and answers 503 (quota "Maximum integration timeout").
INTEGRATION_TIMEOUT_S = 30

LOG = logging.getLogger(__name__)


class InvocationFailed(RuntimeError):
    """The function raised, timed out or could not be reached; `status` is API Gateway's answer.
    `error_type` and `error_message` are what Lambda's Invoke API reports for it (no stack trace)."""

    def __init__(self, status: int, message: str, *, error_type: str = "", error_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.error_message = error_message


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline_epoch_s: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_epoch_s - time.time()) * 1000))


@dataclass
class LocalFunction:
    spec: FunctionSpec
    handler: Callable[[dict, LambdaContext], Any]
    region: str
    account_id: str
    _busy: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, event: Any, *, caller_timeout_s: float | None = INTEGRATION_TIMEOUT_S) -> Any:
        """`caller_timeout_s`: how long the caller waits (API Gateway: 30 s; None: the function's Timeout)."""
        name = self.spec.logical_id
        if not self._busy.acquire(timeout=caller_timeout_s or self.spec.timeout_s):
            raise InvocationFailed(503, f"{name} still busy with an earlier request that did not finish")
        context = self._context()
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["result"] = self.handler(event, context)
            except BaseException as exc:  # noqa: BLE001 - a handler's failure is reported, not raised here
                outcome["error"] = exc
            finally:
                finished.set()
                self._busy.release()  # only now: a timed-out handler still holds its "environment"

        # In a copy of the caller's context: what the handler logs reaches the caller's request line.
        context_copy = contextvars.copy_context()
        threading.Thread(target=context_copy.run, args=(run,), name=f"{name}-invocation", daemon=True).start()
        if not finished.wait(min(self.spec.timeout_s, caller_timeout_s or self.spec.timeout_s)):
            if caller_timeout_s and self.spec.timeout_s > caller_timeout_s:
                raise InvocationFailed(503, f"{name} did not answer within API Gateway's {INTEGRATION_TIMEOUT_S} s")
            raise InvocationFailed(
                500,
                f"{name} timed out after {self.spec.timeout_s} s",
                error_type="Sandbox.Timedout",
                error_message=f"Task timed out after {self.spec.timeout_s:.2f} seconds",
            )
        if "error" in outcome:
            error = outcome["error"]
            raise InvocationFailed(
                500,
                f"{name} failed: {_one_line(error)}",
                error_type=type(error).__name__,
                error_message=str(error).splitlines()[0] if str(error) else "",
            )
        return outcome["result"]

    def _context(self) -> LambdaContext:
        name = self.spec.logical_id
        return LambdaContext(
            function_name=name,
            memory_limit_in_mb=self.spec.memory_mb,
            invoked_function_arn=f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}",
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name=time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
            deadline_epoch_s=time.time() + self.spec.timeout_s,
        )


class FunctionInitError(RuntimeError):
    """The handler module raised while it was imported (a setting or a page template is wrong)."""


def load_function(spec: FunctionSpec, *, region: str, account_id: str) -> LocalFunction:
    """Import the handler from CodeUri; the process environment must already be set."""
    module_name, _, attribute = spec.handler.rpartition(".")
    code_uri = str(spec.code_uri)
    if code_uri not in sys.path:
        sys.path.insert(0, code_uri)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - as Lambda reports a failed init: one line, no traceback
        raise FunctionInitError(f"{spec.logical_id} failed at init: {_one_line(exc)}") from exc
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise TemplateError(f"{spec.logical_id}: Handler {spec.handler} is not a function in {code_uri}")
    return LocalFunction(spec=spec, handler=handler, region=region, account_id=account_id)


def _one_line(exc: BaseException) -> str:
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})"
    message = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {message}{where}"
