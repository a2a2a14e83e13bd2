"""The operations dashboard: one widget per question an operator asks, each on the metric that
answers it (as the functions emit them), and its URL an output."""

import json
import re

from sam_template import resource, translated

PLACEHOLDERS = {
    "AWS::Region": "us-east-1",
    "CallbackFunction": "fn-callback",
    "StartFunction": "fn-start",
    "EventsFunction": "fn-events",
    "HttpApi": "api123",
    "EventsDeadLetterQueue.QueueName": "events-dlq",
}


def _widgets() -> dict[str, dict]:
    body = resource(translated(), "OperationsDashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    variables = set(re.findall(r"\$\{([^}]+)\}", body))
    assert variables <= PLACEHOLDERS.keys(), variables - PLACEHOLDERS.keys()
    for name, value in PLACEHOLDERS.items():
        body = body.replace("${" + name + "}", value)
    return {w["properties"]["title"]: w["properties"] for w in json.loads(body)["widgets"]}


def _metrics(widget: dict) -> list[tuple]:
    """(namespace, name, dimensions, stat) of each plain metric row."""
    rows = []
    for row in widget["metrics"]:
        options = row[-1] if isinstance(row[-1], dict) else {}
        names = [item for item in row if not isinstance(item, dict)]
        if names:
            dimensions = dict(zip(names[2::2], names[3::2]))
            rows.append((names[0], names[1], dimensions, options.get("stat", widget.get("stat"))))
    return rows


SERVICE = {"service": "pagerduty-connect"}  # POWERTOOLS_SERVICE_NAME: the dimension every EMF metric carries


def test_the_dashboard_answers_each_operations_question():
    assert set(_widgets()) == {
        "Connections made",
        "Failures by reason",
        "Callback latency p50 / p99 (ms)",
        "Token refreshes",
        "Connections needing reauthorization",
        "Throttles",
        "Event delivery failures",
        "Lifecycle events published, and their delay",
    }


def test_connections_made_reads_the_callbacks_metric():
    assert _metrics(_widgets()["Connections made"]) == [("PagerDutyConnect", "ConnectionsMade", SERVICE, "Sum")]


def test_failures_are_split_by_reason_with_a_search_over_the_reason_dimension():
    (row,) = _widgets()["Failures by reason"]["metrics"]

    assert row[0]["expression"] == (
        "SEARCH('{PagerDutyConnect,reason,service} MetricName=\"ConnectFailures\"', 'Sum', 300)"
    )


def test_callback_latency_is_the_callback_functions_duration_at_p50_and_p99():
    assert _metrics(_widgets()["Callback latency p50 / p99 (ms)"]) == [
        ("AWS/Lambda", "Duration", {"FunctionName": "fn-callback"}, "p50"),
        ("AWS/Lambda", "Duration", {"FunctionName": "fn-callback"}, "p99"),
    ]


def test_refreshes_and_reauthorizations_read_what_the_events_function_counts():
    widgets = _widgets()

    assert _metrics(widgets["Token refreshes"]) == [("PagerDutyConnect", "TokenRefreshes", SERVICE, "Sum")]
    assert _metrics(widgets["Connections needing reauthorization"]) == [
        ("PagerDutyConnect", "ConnectionsNeedingReauthorization", SERVICE, "Sum")
    ]


def test_throttles_cover_the_api_and_every_function():
    assert _metrics(_widgets()["Throttles"]) == [
        ("PagerDutyConnect", "ThrottledRequests", {"ApiId": "api123"}, "Sum"),
        ("AWS/Lambda", "Throttles", {"FunctionName": "fn-start"}, "Sum"),
        ("AWS/Lambda", "Throttles", {"FunctionName": "fn-callback"}, "Sum"),
        ("AWS/Lambda", "Throttles", {"FunctionName": "fn-events"}, "Sum"),
    ]


def test_event_delivery_failures_show_refusals_errors_and_the_dead_letter_queue():
    assert _metrics(_widgets()["Event delivery failures"]) == [
        ("PagerDutyConnect", "LifecycleEventsNotDelivered", SERVICE, "Sum"),
        ("AWS/Lambda", "Errors", {"FunctionName": "fn-events"}, "Sum"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "events-dlq"}, "Maximum"),
    ]


def test_every_widget_is_in_the_stacks_region():
    assert {w["region"] for w in _widgets().values()} == {"us-east-1"}


def test_the_dashboard_url_is_an_output():
    url = translated()["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]

    assert url == (
        "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
        "#dashboards:name=${OperationsDashboard}"
    )


def test_the_custom_metrics_it_reads_are_the_ones_the_functions_emit_with_those_dimensions(capsys, monkeypatch):
    from pd_connect.platform import observability

    observability.record_stream_outcome(published=1, not_delivered=1, refreshes=1, needing_reauthorization=1)
    observability.record_connection("US")
    observability.metrics.flush_metrics()
    observability.record_failure("scopes_not_granted")
    emitted = set()
    for line in capsys.readouterr().out.splitlines():
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                dimensions = {name: document[name] for name in directive["Dimensions"][0]}
                emitted.add((directive["Namespace"], metric["Name"], tuple(sorted(dimensions.items()))))

    read = {
        (namespace, name, tuple(sorted(dimensions.items())))
        for widget in _widgets().values()
        for namespace, name, dimensions, _ in _metrics(widget)
        if namespace == "PagerDutyConnect" and name != "ThrottledRequests"  # from the access log's metric filter
    }
    assert read <= emitted, read - emitted
    assert ("PagerDutyConnect", "ConnectFailures", (("reason", "scopes_not_granted"), ("service", "pagerduty-connect"))) in emitted
