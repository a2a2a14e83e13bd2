"""The two functions and the HTTP API in front of them, as CloudFormation will create them."""

import json

from sam_template import environment, http_api_routes, resource, resources_of_type, translated

FUNCTIONS = ("StartFunction", "CallbackFunction", "TokenFunction")
SHARED_SETTINGS = {
    "PD_CLIENT_ID",
    "PD_SCOPES",
    "PD_REDIRECT_URI",
    "TABLE_NAME",
    "ALLOW_ANONYMOUS_CONNECT",
    "RETURN_TO_ORIGIN",
    # the builder's product on the pages, and where a layer's page templates are
    "PRODUCT_NAME",
    "LOGO_URL",
    "ACCENT_COLOR",
    "SUPPORT_URL",
    "PRIVACY_POLICY_URL",
    "PAGE_TEMPLATES_DIR",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    # declared empty so sam local's env-vars file can point them at the local stack
    "PD_IDENTITY_URL",
    "PD_API_URL",
    "PD_API_URL_EU",
    "AWS_ENDPOINT_URL",
}


def test_every_function_runs_python_3_13_on_arm64():
    template = translated()
    platforms = {
        function_id: (resource(template, function_id)["Properties"]["Runtime"],
                      resource(template, function_id)["Properties"]["Architectures"])
        for function_id in FUNCTIONS
    }

    assert platforms == {
        "StartFunction": ("python3.13", ["arm64"]),
        "CallbackFunction": ("python3.13", ["arm64"]),
        "TokenFunction": ("python3.13", ["arm64"]),
    }


def test_handlers_are_the_start_callback_and_token_modules():
    template = translated()
    handlers = {function_id: resource(template, function_id)["Properties"]["Handler"] for function_id in FUNCTIONS}

    assert handlers == {
        "StartFunction": "start_handler.handler",
        "CallbackFunction": "callback_handler.handler",
        "TokenFunction": "token_handler.handler",
    }


def test_start_function_reads_the_shared_settings_and_where_the_link_signing_key_is():
    assert set(environment(translated(), "StartFunction")) == SHARED_SETTINGS | {"LINK_SIGNING_KEY_ID"}


def test_callback_function_also_reads_where_the_token_key_client_secret_and_result_key_are():
    assert set(environment(translated(), "CallbackFunction")) == SHARED_SETTINGS | {
        "TOKEN_KEY_ID",
        "CLIENT_SECRET_ID",
        "RESULT_SIGNING_KEY_ID",
    }


def test_token_function_reads_where_the_token_key_client_secret_and_result_key_are_but_not_the_link_key():
    assert set(environment(translated(), "TokenFunction")) == SHARED_SETTINGS | {
        "TOKEN_KEY_ID",
        "CLIENT_SECRET_ID",
        "RESULT_SIGNING_KEY_ID",
    }


ANY_METHOD = "X-AMAZON-APIGATEWAY-ANY-METHOD"


def test_the_api_has_exactly_three_get_routes_and_the_default_route():
    routes = {(route.method, route.path) for route in http_api_routes(translated())}

    # SAM writes the $default route as the path "/$default" with the any-method operation.
    assert routes == {("GET", "/"), ("GET", "/authorize"), ("GET", "/callback"), (ANY_METHOD, "/$default")}


def test_start_function_serves_landing_authorize_and_every_unknown_route_and_callback_function_serves_callback():
    served_by = {route.path: route.function_id for route in http_api_routes(translated())}

    assert served_by == {
        "/": "StartFunction",
        "/authorize": "StartFunction",
        "/$default": "StartFunction",  # 404/405 pages and the favicon: no secret, no KMS there
        "/callback": "CallbackFunction",
    }


def test_every_route_delivers_payload_format_2_0():
    # Handlers read cookies from event["cookies"] and answer with a `cookies` list: payload 2.0 only.
    versions = {route.payload_format_version for route in http_api_routes(translated())}

    assert versions == {"2.0"}


def test_the_http_api_is_the_only_way_in():
    template = translated()
    permissions = resources_of_type(template, "AWS::Lambda::Permission").values()
    other_callers = [
        permission["Properties"]
        for permission in permissions
        if permission["Properties"]["Principal"] != "apigateway.amazonaws.com"
        or '{"Ref": "HttpApi"}' not in json.dumps(permission["Properties"]["SourceArn"])
    ]
    other_entry_points = resources_of_type(template, "AWS::ApiGateway::RestApi") | resources_of_type(
        template, "AWS::Lambda::Url"
    )

    assert (other_callers, other_entry_points) == ([], {})


def test_the_default_stage_throttles_every_route():
    template = translated()
    stage = resource(template, "HttpApiApiGatewayDefaultStage")["Properties"]
    settings = stage.get("DefaultRouteSettings", {})
    defaults = {
        setting: template["Parameters"][value["Ref"]]["Default"] if isinstance(value, dict) else value
        for setting, value in settings.items()
        if setting in ("ThrottlingRateLimit", "ThrottlingBurstLimit")
    }

    assert stage["StageName"] == "$default"
    assert set(defaults) == {"ThrottlingRateLimit", "ThrottlingBurstLimit"}
    assert all(float(limit) > 0 for limit in defaults.values())


def test_each_function_logs_to_its_own_log_group_that_expires():
    template = translated()
    log_groups = {
        log_group["Properties"]["LogGroupName"]["Fn::Sub"]: log_group["Properties"].get("RetentionInDays")
        for log_group in resources_of_type(template, "AWS::Logs::LogGroup").values()
        if log_group["Properties"].get("LogGroupName", {}).get("Fn::Sub", "").startswith("/aws/lambda/")
    }

    assert log_groups.keys() == {
        "/aws/lambda/${StartFunction}",
        "/aws/lambda/${CallbackFunction}",
        "/aws/lambda/${EventsFunction}",
        "/aws/lambda/${TokenFunction}",
    }
    assert all(isinstance(days, int) and 0 < days <= 365 for days in log_groups.values())


def test_local_overrides_are_declared_empty_so_aws_uses_the_real_endpoints():
    for function_id in FUNCTIONS:
        variables = environment(translated(), function_id)
        assert {name: variables[name] for name in ("PD_IDENTITY_URL", "PD_API_URL", "PD_API_URL_EU", "AWS_ENDPOINT_URL")} == dict.fromkeys(
            ("PD_IDENTITY_URL", "PD_API_URL", "PD_API_URL_EU", "AWS_ENDPOINT_URL"), ""
        )
