"""Alarms an operator gets: failures on our side and throttling, sent to one SNS topic, e-mail optional."""

import re

from sam_template import deployed, resource, resources_of_type, translated

ALARMS = {
    "ServerErrorsAlarm", "ApiThrottlingAlarm", "FunctionThrottlingAlarm", "SecurityEventsAlarm", "EventDeliveryAlarm",
    "TokenFunctionThrottlingAlarm",
}
TOPIC = {"Ref": "AlarmTopic"}


def _alarm(logical_id: str) -> dict:
    return resource(translated(), logical_id)["Properties"]


def _metrics_watched(logical_id: str) -> list[tuple[str, str, dict]]:
    """(namespace, metric name, dimensions) of every metric the alarm reads."""
    alarm = _alarm(logical_id)
    if "MetricName" in alarm:
        stats = [{key: alarm[key] for key in ("Namespace", "MetricName", "Dimensions")}]
    else:
        stats = [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]
    return [
        (stat["Namespace"], stat["MetricName"], {d["Name"]: d["Value"] for d in stat.get("Dimensions", [])})
        for stat in stats
    ]


def test_security_events_alarm_watches_both_events_the_code_counts():
    from pd_connect.client.confirmations import Confirmations  # noqa: F401 - the code that emits them exists
    from pd_connect.flow.failures import Reason

    assert sorted(_metrics_watched("SecurityEventsAlarm"), key=repr) == [
        ("PagerDutyConnect", "SecurityEvents", {"event": "confirm_app_user_mismatch"}),
        ("PagerDutyConnect", "SecurityEvents", {"event": Reason.STORED_TOKENS_UNREADABLE.code}),
    ]


def test_the_stack_has_exactly_the_failure_throttling_and_security_alarms():
    assert set(resources_of_type(translated(), "AWS::CloudWatch::Alarm")) == ALARMS


def test_every_alarm_notifies_the_alarm_topic_when_it_fires_and_when_it_clears():
    actions = {alarm_id: (_alarm(alarm_id)["AlarmActions"], _alarm(alarm_id)["OKActions"]) for alarm_id in ALARMS}

    assert actions == {logical_id: ([TOPIC], [TOPIC]) for logical_id in ALARMS}


def test_no_alarm_fires_for_lack_of_traffic():
    treatments = {_alarm(logical_id)["TreatMissingData"] for logical_id in ALARMS}

    assert treatments == {"notBreaching"}


def test_token_function_throttling_alarm_watches_its_throttles():
    assert _metrics_watched("TokenFunctionThrottlingAlarm") == [
        ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "TokenFunction"}})
    ]


def test_server_errors_alarm_watches_this_apis_5xx_responses():
    assert _metrics_watched("ServerErrorsAlarm") == [("AWS/ApiGateway", "5xx", {"ApiId": {"Ref": "HttpApi"}})]


def test_api_throttling_alarm_watches_the_429s_counted_from_the_access_log():
    (metric_filter,) = resources_of_type(translated(), "AWS::Logs::MetricFilter").values()
    (produced,) = metric_filter["Properties"]["MetricTransformations"]

    assert metric_filter["Properties"]["FilterPattern"] == "{ $.status = 429 }"
    assert _metrics_watched("ApiThrottlingAlarm") == [
        (produced["MetricNamespace"], produced["MetricName"], {"ApiId": {"Ref": "HttpApi"}})
    ]


def test_the_throttled_requests_metric_is_per_api_so_stacks_in_one_account_stay_apart():
    (metric_filter,) = resources_of_type(translated(), "AWS::Logs::MetricFilter").values()
    (produced,) = metric_filter["Properties"]["MetricTransformations"]

    assert produced["Dimensions"] == [{"Key": "ApiId", "Value": "$.apiId"}]


def test_function_throttling_alarm_watches_the_throttles_of_both_functions():
    assert sorted(_metrics_watched("FunctionThrottlingAlarm"), key=str) == sorted(
        [
            ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "StartFunction"}}),
            ("AWS/Lambda", "Throttles", {"FunctionName": {"Ref": "CallbackFunction"}}),
        ],
        key=str,
    )


def test_without_an_alarm_email_nothing_subscribes_to_the_topic():
    assert resources_of_type(deployed(AlarmEmail=""), "AWS::SNS::Subscription") == {}


def test_an_alarm_email_subscribes_that_address_to_the_topic():
    subscriptions = resources_of_type(deployed(AlarmEmail="ops@example.com"), "AWS::SNS::Subscription")

    assert [s["Properties"] for s in subscriptions.values()] == [
        {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    ]


def test_the_alarm_topic_is_an_output_to_subscribe_other_channels_to():
    assert translated()["Outputs"]["AlarmTopicArn"]["Value"] == TOPIC


def test_alarm_email_accepts_empty_or_one_address():
    pattern = re.compile(translated()["Parameters"]["AlarmEmail"]["AllowedPattern"])
    candidates = ("", "ops@example.com", "ops", "a@b.c d@e.f")
    accepted = {candidate: bool(pattern.fullmatch(candidate)) for candidate in candidates}

    assert list(accepted.values()) == [True, True, False, False]
