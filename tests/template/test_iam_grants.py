"""Least privilege, as deployed: each function's role grants exactly what its step of the flow needs.

Read from the CloudFormation SAM's transform produces, so policy templates, Globals and anything SAM
adds are included; resources are compared as the CloudFormation expressions the stack resolves.
"""

from sam_template import (
    cfn,
    function_role_id,
    grants,
    http_api_routes,
    managed_policy_arns,
    resource,
    resources_of_type,
    sam,
    statements,
    translated,
)

TABLE = cfn({"Fn::GetAtt": ["ConnectTable", "Arn"]})
TOKEN_KEY = cfn({"Fn::GetAtt": ["TokenKey", "Arn"]})
CLIENT_SECRET = cfn(
    {"Fn::If": ["CreateClientSecret", {"Ref": "ClientSecret"}, {"Ref": "ExistingClientSecretArn"}]}
)
LINK_KEY = cfn({"Ref": "LinkSigningKey"})
RESULT_KEY = cfn({"Ref": "ResultSigningKey"})
# Logs only: CreateLogGroup, CreateLogStream, PutLogEvents. (The offline transform's region is us-east-1.)
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
FUNCTIONS = ("StartFunction", "CallbackFunction", "EventsFunction", "TokenFunction")
STREAM = cfn({"Fn::GetAtt": ["ConnectTable", "StreamArn"]})
EVENTS_DLQ = cfn({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]})
EVENT_BUS = cfn({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"})
BY_APP_USER_INDEX = cfn({"Fn::Sub": "${ConnectTable.Arn}/index/by_app_user"})
TOKEN_FUNCTION = cfn({"Fn::GetAtt": ["TokenFunction", "Arn"]})


def _grants(function_id: str) -> set[tuple[str, str]]:
    template = translated()
    return grants(template, function_role_id(template, function_id))


def test_start_function_may_only_put_pending_items_and_read_the_link_signing_key():
    # PutItem: pending authorizations and spent link nonces. GetSecretValue: the link signing
    # key's own secret, to verify link tokens from the builder's backend; never the client secret.
    assert _grants("StartFunction") == {("dynamodb:PutItem", TABLE), ("secretsmanager:GetSecretValue", LINK_KEY)}


def test_callback_function_may_consume_and_store_items_read_its_secrets_and_encrypt_tokens():
    assert _grants("CallbackFunction") == {
        ("dynamodb:DeleteItem", TABLE),
        ("dynamodb:PutItem", TABLE),
        ("secretsmanager:GetSecretValue", CLIENT_SECRET),
        ("secretsmanager:GetSecretValue", RESULT_KEY),
        ("kms:Encrypt", TOKEN_KEY),
    }


def test_each_secret_is_readable_only_by_the_function_that_needs_it():
    readers = {
        secret: {f for f in FUNCTIONS if ("secretsmanager:GetSecretValue", secret) in _grants(f)}
        for secret in (CLIENT_SECRET, LINK_KEY, RESULT_KEY)
    }
    # The token function refreshes (client secret) and confirms (result key); only the builder mints links.
    assert readers == {
        CLIENT_SECRET: {"CallbackFunction", "TokenFunction"},
        LINK_KEY: {"StartFunction"},
        RESULT_KEY: {"CallbackFunction", "TokenFunction"},
    }


def test_events_function_may_only_read_the_tables_stream_put_events_on_its_bus_and_report_undelivered_batches():
    assert _grants("EventsFunction") == {
        ("dynamodb:DescribeStream", STREAM),
        ("dynamodb:GetRecords", STREAM),
        ("dynamodb:GetShardIterator", STREAM),
        ("dynamodb:ListStreams", STREAM),
        ("events:PutEvents", EVENT_BUS),
        ("sqs:SendMessage", EVENTS_DLQ),
    }


def test_the_event_path_cannot_touch_a_stored_connection_or_its_tokens():
    granted_resources = {target for _, target in _grants("EventsFunction")}

    assert granted_resources.isdisjoint({TABLE, TOKEN_KEY, CLIENT_SECRET})


def test_start_function_has_no_grant_on_the_token_key():
    granted_resources = {target for _, target in _grants("StartFunction")}

    assert TOKEN_KEY not in granted_resources


def test_no_function_grant_uses_a_wildcard():
    wildcards = {
        (function_id, action, target)
        for function_id in FUNCTIONS
        for action, target in _grants(function_id)
        if "*" in action or "*" in target
    }

    assert wildcards == set()


def test_token_function_may_read_lease_refresh_and_delete_connections_query_by_app_user_and_refresh_tokens():
    assert _grants("TokenFunction") == {
        ("dynamodb:GetItem", TABLE),
        ("dynamodb:UpdateItem", TABLE),
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:DeleteItem", TABLE),
        ("dynamodb:Query", BY_APP_USER_INDEX),
        ("secretsmanager:GetSecretValue", CLIENT_SECRET),
        ("secretsmanager:GetSecretValue", RESULT_KEY),
        ("kms:Decrypt", TOKEN_KEY),
        ("kms:Encrypt", TOKEN_KEY),
    }


def test_no_function_may_scan_the_table_and_only_the_token_function_may_decrypt_tokens():
    actions = {(function_id, action.lower()) for function_id in FUNCTIONS for action, _ in _grants(function_id)}

    assert not {action for _, action in actions} & {"dynamodb:scan"}
    assert {function_id for function_id, action in actions if action == "kms:decrypt"} == {"TokenFunction"}


def _roles_and_policies_granting_on(target: str) -> set[str]:
    """Every role and managed policy in the template with any grant on `target`."""
    template = translated()
    holders = {role_id for role_id in resources_of_type(template, "AWS::IAM::Role") if any(t == target for _, t in grants(template, role_id))}
    for policy_id, policy in resources_of_type(template, "AWS::IAM::ManagedPolicy").items():
        body = policy["Properties"]["PolicyDocument"]["Statement"]
        for statement in body if isinstance(body, list) else [body]:
            targets = statement.get("Resource", [])
            if target in {cfn(t) for t in (targets if isinstance(targets, list) else [targets])}:
                holders.add(policy_id)
    return holders


def test_only_the_callback_and_the_token_function_may_use_the_token_key():
    template = translated()
    roles = {function_role_id(template, f): f for f in ("CallbackFunction", "TokenFunction")}

    assert _roles_and_policies_granting_on(TOKEN_KEY) == set(roles)


def test_only_the_callback_and_the_token_function_may_read_the_oauth_client_secret():
    template = translated()
    roles = {function_role_id(template, f): f for f in ("CallbackFunction", "TokenFunction")}

    assert _roles_and_policies_granting_on(CLIENT_SECRET) == set(roles)


def test_the_token_function_cannot_read_the_link_signing_key():
    assert LINK_KEY not in {target for _, target in _grants("TokenFunction")}


def test_the_invoke_policy_grants_exactly_lambda_invoke_on_the_token_function_and_is_attached_to_nothing():
    policy = resource(translated(), "TokenFunctionInvokePolicy")
    document = policy["Properties"]["PolicyDocument"]

    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": {"Fn::GetAtt": ["TokenFunction", "Arn"]}}
    ]
    assert not {"Roles", "Users", "Groups"} & policy["Properties"].keys()  # the builder attaches it


def test_the_template_outputs_the_token_function_arn_and_the_invoke_policy():
    outputs = sam()["Outputs"]

    assert outputs["TokenFunctionArn"]["Value"] == {"Fn::GetAtt": ["TokenFunction", "Arn"]}
    assert outputs["TokenFunctionInvokePolicyArn"]["Value"] == {"Ref": "TokenFunctionInvokePolicy"}


def test_the_token_function_has_no_http_route_and_no_event_source():
    assert "Events" not in sam()["Resources"]["TokenFunction"]["Properties"]
    assert "TokenFunction" not in {route.function_id for route in http_api_routes(translated())}
    assert not [
        p for p in resources_of_type(translated(), "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "TokenFunction"}
    ]


def test_the_token_functions_concurrency_is_reserved_by_default_so_a_runaway_caller_cannot_starve_the_flow():
    template = sam()
    reserved = template["Resources"]["TokenFunction"]["Properties"]["ReservedConcurrentExecutions"]
    parameter = template["Parameters"]["TokenFunctionConcurrency"]

    assert reserved == {"Fn::If": ["BoundTokenFunction", {"Ref": "TokenFunctionConcurrency"}, {"Ref": "AWS::NoValue"}]}
    assert template["Conditions"]["BoundTokenFunction"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "TokenFunctionConcurrency"}, "0"]}]}
    assert 0 < parameter["Default"] <= 50


def test_every_policy_statement_is_a_plain_allow_without_negations():
    template = translated()
    irregular = [
        (function_id, statement)
        for function_id in FUNCTIONS
        for statement in statements(template, function_role_id(template, function_id))
        if statement.get("Effect") != "Allow" or {"NotAction", "NotResource"} & statement.keys()
    ]

    assert irregular == []


def test_function_roles_attach_only_the_aws_managed_basic_execution_policy():
    template = translated()
    attached = {
        function_id: managed_policy_arns(template, function_role_id(template, function_id))
        for function_id in FUNCTIONS
    }

    assert attached == {
        "StartFunction": [BASIC_EXECUTION_ROLE],
        "CallbackFunction": [BASIC_EXECUTION_ROLE],
        # Not AWSLambdaDynamoDBExecutionRole (stream actions on every stream): see EventsStreamMapping.
        "EventsFunction": [BASIC_EXECUTION_ROLE],
        "TokenFunction": [BASIC_EXECUTION_ROLE],
    }
