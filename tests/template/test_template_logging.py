"""What the stack logs and for how long: access logs that never hold a code or a state, nothing kept forever.

The callback's query string carries the authorization code and the state, so no logged variable
may be one that can contain it.
"""

import json
import re

from sam_template import resource, resources_of_type, translated

# HTTP API access-log variables that are (or may be) the request URI, path or query string.
CAN_HOLD_THE_QUERY_STRING = re.compile(r"path|uri|url|query|param", re.IGNORECASE)
VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_.]+")


def _access_log_settings() -> dict:
    return resource(translated(), "HttpApiApiGatewayDefaultStage")["Properties"]["AccessLogSettings"]


def _a_logged_line() -> dict:
    """One access-log line as API Gateway would write it for a throttled request."""
    line = _access_log_settings()["Format"].replace("$context.status", "429")
    return json.loads(VARIABLE.sub("sample", line))


def test_the_api_writes_access_logs_to_the_stacks_access_log_group():
    assert _access_log_settings()["DestinationArn"] == {"Fn::GetAtt": ["AccessLogGroup", "Arn"]}


def test_the_access_log_format_names_no_variable_that_can_hold_the_query_string():
    logged = VARIABLE.findall(_access_log_settings()["Format"])

    assert [variable for variable in logged if CAN_HOLD_THE_QUERY_STRING.search(variable)] == []


def test_the_access_log_uses_only_context_variables():
    # $input, $request and $stageVariables are REST API mapping variables; none belongs here.
    format_ = _access_log_settings()["Format"]

    assert re.findall(r"\$(?!context\.)\w+", format_) == []


def test_an_access_log_line_is_json_naming_the_route_and_the_numeric_status():
    line = _a_logged_line()

    assert (line["routeKey"], line["status"]) == ("sample", 429)


def test_the_throttled_requests_filter_reads_fields_the_access_log_writes():
    template = translated()
    (metric_filter,) = resources_of_type(template, "AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    read = set(re.findall(r"\$\.(\w+)", json.dumps(properties)))

    assert properties["LogGroupName"] == {"Ref": "AccessLogGroup"}
    assert read <= _a_logged_line().keys()


def test_every_log_group_expires_within_a_year():
    retention = {
        logical_id: log_group["Properties"].get("RetentionInDays")
        for logical_id, log_group in resources_of_type(translated(), "AWS::Logs::LogGroup").items()
    }

    forever_or_too_long = {
        logical_id for logical_id, days in retention.items() if not (isinstance(days, int) and 0 < days <= 365)
    }

    assert forever_or_too_long == set()


def test_there_is_a_log_group_for_each_function_and_one_for_access_logs():
    assert set(resources_of_type(translated(), "AWS::Logs::LogGroup")) == {
        "StartFunctionLogGroup",
        "CallbackFunctionLogGroup",
        "EventsFunctionLogGroup",
        "TokenFunctionLogGroup",
        "AccessLogGroup",
    }
