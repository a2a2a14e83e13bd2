"""Logging and metrics, shared by both functions.

Powertools Logger writes JSON with the API Gateway request id as correlation id; the event is
never logged (it carries codes, states and cookies). Metrics go out as CloudWatch EMF lines.
Tracing (X-Ray) is left out on purpose: importing it costs about a quarter second of cold start.
"""

from __future__ import annotations

import logging
import os
import warnings

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pagerduty-connect")

logger = Logger(service=SERVICE)

# At DEBUG, botocore logs response bodies (the client secret, KMS plaintext) and urllib3 logs
# URLs; at INFO they only add noise. Whatever level the app runs at, these log warnings and up.
for _library in ("botocore", "boto3", "urllib3", "requests"):
    logging.getLogger(_library).setLevel(max(logging.WARNING, logging.getLogger(_library).level))
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PagerDutyConnect")
# A landing page or a failure records no metric on the shared set: that is normal, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def record_failure(reason_code: str) -> None:
    """Count a failed request under its reason dimension (alarms can watch one reason or all)."""
    with single_metric(name="ConnectFailures", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="reason", value=reason_code)
        metric.add_dimension(name="service", value=SERVICE)  # always: the dashboard's SEARCH names both


def record_security_event(event: str) -> None:
    """Count a security event (e.g. a linked flow confirmed by another app user) for its alarm."""
    with single_metric(name="SecurityEvents", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="event", value=event)


def record_connection(region: str) -> None:
    metrics.add_metric(name="ConnectionsMade", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="region", value=region)


def record_authorization_started() -> None:
    metrics.add_metric(name="AuthorizationsStarted", unit=MetricUnit.Count, value=1)


def record_stream_outcome(*, published: int, not_delivered: int, refreshes: int, needing_reauthorization: int) -> None:
    """The events function's counts for one batch (refreshes are seen here, whoever made them)."""
    for name, value in (
        ("LifecycleEventsPublished", published),
        ("LifecycleEventsNotDelivered", not_delivered),
        ("TokenRefreshes", refreshes),
        ("ConnectionsNeedingReauthorization", needing_reauthorization),
    ):
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def instrumented(handler):
    """Wrap a Lambda handler: Lambda context in every log line, metrics flushed, cold start counted."""
    with_context = logger.inject_lambda_context(log_event=False, clear_state=True)(handler)
    return metrics.log_metrics(capture_cold_start_metric=True)(with_context)


def record_token_error(error_code: str) -> None:
    """Count a token-function request answered with an error, by its code."""
    with single_metric(name="TokenFunctionErrors", unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="error", value=error_code)
