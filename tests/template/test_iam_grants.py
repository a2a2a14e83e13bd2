"""Least privilege, as deployed: each function's role grants exactly what its step of the flow needs.

Read from the CloudFormation SAM's transform produces, so policy templates, Globals and anything SAM
adds are included; resources are compared as the CloudFormation expressions the stack resolves.
"""

from sam_template import cfn, function_role_id, grants, managed_policy_arns, statements, translated

TABLE = cfn({"Fn::GetAtt": ["ConnectTable", "Arn"]})
TOKEN_KEY = cfn({"Fn::GetAtt": ["TokenKey", "Arn"]})
CLIENT_SECRET = cfn(
    {"Fn::If": ["CreateClientSecret", {"Ref": "ClientSecret"}, {"Ref": "ExistingClientSecretArn"}]}
)
LINK_KEY = cfn({"Ref": "LinkSigningKey"})
RESULT_KEY = cfn({"Ref": "ResultSigningKey"})
# Logs only: CreateLogGroup, CreateLogStream, PutLogEvents. (The offline transform's region is us-east-1.)
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
FUNCTIONS = ("StartFunction", "CallbackFunction", "EventsFunction")
STREAM = cfn({"Fn::GetAtt": ["ConnectTable", "StreamArn"]})
EVENTS_DLQ = cfn({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]})
EVENT_BUS = cfn({"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"})


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
    assert readers == {CLIENT_SECRET: {"CallbackFunction"}, LINK_KEY: {"StartFunction"}, RESULT_KEY: {"CallbackFunction"}}


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


def test_no_function_may_scan_the_table_or_decrypt_tokens():
    actions = {action.lower() for function_id in FUNCTIONS for action, _ in _grants(function_id)}

    assert actions.isdisjoint({"dynamodb:scan", "kms:decrypt"})


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
    }
