"""The template is read as SAM reads it, and its references resolve to local values."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.stack.intrinsics import PhysicalResource, Resolver, environment_of, runtime_logging_environment
from local.stack.template import Route, TemplateError, cloudformation_template, load_template, read_document

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
CREATED = {
    "Table": PhysicalResource("local-Table", {"Arn": "arn:aws:dynamodb:eu-west-1:123456789012:table/local-Table"}),
    "Key": PhysicalResource("key-id", {"Arn": "arn:aws:kms:eu-west-1:123456789012:key/key-id"}),
    "Secret": PhysicalResource("arn:aws:secretsmanager:eu-west-1:123456789012:secret:local-Secret-AbCdEf"),
}


def resolver_for(template, **parameters):
    return Resolver(template, pseudo_parameters=PSEUDO, parameter_values=parameters, resources=CREATED)


def test_routes_come_from_http_api_events(fixture_template_path):
    template = load_template(fixture_template_path)

    assert set(template.routes) == {
        Route("GET", "/", "EchoFunction"),
        Route("ANY", "/echo", "EchoFunction"),
        Route("GET", "/items/{item_id}", "EchoFunction"),
        Route("GET", "/secrets", "SecretsFunction"),
    }


def test_the_real_templates_routes_and_handlers(real_template_path):
    template = load_template(real_template_path)

    assert [route.route_key for route in template.routes] == ["GET /", "GET /authorize", "$default", "GET /callback"]
    assert {route.route_key: route.function_id for route in template.routes}["$default"] == "StartFunction"
    start = template.functions[template.routes[0].function_id]
    assert start.handler == "start_handler.handler"
    assert start.code_uri == real_template_path.parent / "functions"


def test_functions_take_globals_and_their_own_settings(fixture_template_path):
    template = load_template(fixture_template_path)
    echo, secrets = template.functions["EchoFunction"], template.functions["SecretsFunction"]

    assert (echo.timeout_s, echo.memory_mb) == (2, 256)
    assert secrets.timeout_s == 3  # Lambda's default
    assert set(secrets.environment) >= {"PD_CLIENT_ID", "TABLE_NAME", "KEY_ARN", "SECRET_ID"}


def test_environment_references_resolve_to_local_values(fixture_template_path):
    template = load_template(fixture_template_path)

    environment = environment_of(template.functions["SecretsFunction"], resolver_for(template), {"PD_CLIENT_ID": "cid"})

    assert environment == {
        "PD_CLIENT_ID": "cid",
        "PD_SCOPES": "read write",
        "TABLE_NAME": "local-Table",
        "RETRIES": "3",
        "REGION_LABEL": "eu-west-1/123456789012",
        "KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/key-id",
        "SECRET_ID": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:local-Secret-AbCdEf",
        "TABLE_ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/local-Table",
    }


def test_the_real_templates_environment_resolves(real_template_path):
    template = load_template(real_template_path)
    (table,) = (r.logical_id for r in template.resources_of_type("AWS::DynamoDB::Table"))
    (key,) = (r.logical_id for r in template.resources_of_type("AWS::KMS::Key"))
    secrets = [r.logical_id for r in template.resources_of_type("AWS::SecretsManager::Secret")]
    resolver = Resolver(
        template,
        pseudo_parameters=PSEUDO,
        resources={
            table: PhysicalResource("local-table", {"Arn": "table-arn"}),
            key: PhysicalResource("key-id", {"Arn": "key-arn"}),
            **{secret: PhysicalResource(f"{secret}-arn") for secret in secrets},
        },
    )
    overrides = {"PD_CLIENT_ID": "cid", "PD_REDIRECT_URI": "http://localhost:3000/callback"}

    environments = {fid: environment_of(f, resolver, overrides) for fid, f in template.functions.items()}

    callback = environments[template.routes[-1].function_id]
    keys = (callback["TABLE_NAME"], callback["TOKEN_KEY_ID"], callback["CLIENT_SECRET_ID"], callback["RESULT_SIGNING_KEY_ID"])
    assert keys == ("local-table", "key-arn", "ClientSecret-arn", "ResultSigningKey-arn")
    assert environments["StartFunction"]["LINK_SIGNING_KEY_ID"] == "LinkSigningKey-arn"
    assert "CLIENT_SECRET_ID" not in environments["StartFunction"]
    assert callback["PD_REDIRECT_URI"] == "http://localhost:3000/callback"


def test_if_follows_the_condition(fixture_template_path):
    template = load_template(fixture_template_path)
    existing = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mine-123456"
    resolver = resolver_for(template, ExistingSecretArn=existing)

    environment = environment_of(template.functions["SecretsFunction"], resolver, {"PD_CLIENT_ID": "cid"})

    assert environment["SECRET_ID"] == existing
    assert resolver.condition("UseExistingSecret") is True
    assert resolver.is_created("Secret") is False


def test_a_parameter_without_default_or_value_fails_naming_it(fixture_template_path):
    template = load_template(fixture_template_path)

    with pytest.raises(TemplateError, match="ClientId"):
        environment_of(template.functions["EchoFunction"], resolver_for(template), {})


def test_a_reference_to_a_resource_not_emulated_fails_naming_it(fixture_template_path):
    template = load_template(fixture_template_path)

    with pytest.raises(TemplateError, match="Api: AWS::Serverless::HttpApi is not emulated"):
        resolver_for(template).resolve({"Ref": "Api"})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Fn::Sub": "${AWS::Region}-${Table}-${!Literal}"}, "eu-west-1-local-Table-${Literal}"),
        (
            {"Fn::Sub": ["${Name}.${Table.Arn}", {"Name": {"Ref": "Scopes"}}]},
            "read write.arn:aws:dynamodb:eu-west-1:123456789012:table/local-Table",
        ),
        ({"Fn::Join": ["/", ["a", {"Ref": "AWS::AccountId"}]]}, "a/123456789012"),
        ({"Fn::Select": [1, {"Fn::Split": [" ", {"Ref": "Scopes"}]}]}, "write"),
        ({"Fn::If": ["CreateSecret", "yes", {"Ref": "AWS::NoValue"}]}, "yes"),
        ({"A": {"Fn::If": ["UseExistingSecret", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}, {"B": 1}),
    ],
)
def test_intrinsic_functions(fixture_template_path, expression, expected):
    template = load_template(fixture_template_path)

    assert resolver_for(template).resolve(expression) == expected


def test_short_tags_parse_to_their_long_forms(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: m.h\n      CodeUri: .\n      Environment:\n        Variables:\n"
        "          A: !GetAtt T.Arn\n          B: !Sub '${T}'\n          C: !If [Cond, !Ref T, !Ref AWS::NoValue]\n"
    )

    variables = load_template(path).functions["F"].environment

    assert variables == {
        "A": {"Fn::GetAtt": ["T", "Arn"]},
        "B": {"Fn::Sub": "${T}"},
        "C": {"Fn::If": ["Cond", {"Ref": "T"}, {"Ref": "AWS::NoValue"}]},
    }


def test_logging_config_gives_lambdas_log_variables(fixture_template_path):
    template = load_template(fixture_template_path)

    environment = runtime_logging_environment(template.functions["EchoFunction"], resolver_for(template))

    assert environment == {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"}  # via Fn::FindInMap


def test_find_in_map_outside_the_mappings_fails_naming_it(fixture_template_path):
    template = load_template(fixture_template_path)

    with pytest.raises(TemplateError, match="LevelNames/TRACE/Name"):
        resolver_for(template).resolve({"Fn::FindInMap": ["LevelNames", "TRACE", "Name"]})


# --- what the template tests read through the same reader ---------------------------------------


def sections(**document):
    return cloudformation_template({"Resources": {}, **document}, Path("template.yaml"))


def test_chosen_branches_keeps_every_other_expression_as_written():
    template = sections(
        Parameters={"Domain": {"Type": "String", "Default": ""}},
        Conditions={"HasDomain": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Domain"}, ""]}]}},
    )
    value = {
        "Name": {"Fn::If": ["HasDomain", {"Ref": "Domain"}, {"Fn::GetAtt": ["Api", "Endpoint"]}]},
        "Aliases": [{"Fn::If": ["HasDomain", "www", {"Ref": "AWS::NoValue"}]}, {"Ref": "Other"}],
        "Certificate": {"Fn::If": ["HasDomain", {"Ref": "Cert"}, {"Ref": "AWS::NoValue"}]},
    }

    assert Resolver(template, pseudo_parameters={}).chosen_branches(value) == {
        "Name": {"Fn::GetAtt": ["Api", "Endpoint"]},
        "Aliases": [{"Ref": "Other"}],
    }
    chosen = Resolver(template, pseudo_parameters={}, parameter_values={"Domain": "x.example"}).chosen_branches(value)
    assert chosen == {"Name": {"Ref": "Domain"}, "Aliases": ["www", {"Ref": "Other"}], "Certificate": {"Ref": "Cert"}}


def test_a_rule_expression_evaluates_against_the_parameters():
    template = sections(Parameters={"A": {"Type": "String", "Default": ""}, "B": {"Type": "String", "Default": ""}})
    a_empty, b_empty = {"Fn::Equals": [{"Ref": "A"}, ""]}, {"Fn::Equals": [{"Ref": "B"}, ""]}
    together = {"Fn::Or": [{"Fn::And": [a_empty, b_empty]}, {"Fn::And": [{"Fn::Not": [a_empty]}, {"Fn::Not": [b_empty]}]}]}

    assert Resolver(template, pseudo_parameters={}).evaluate(together) is True
    assert Resolver(template, pseudo_parameters={}, parameter_values={"A": "a"}).evaluate(together) is False


def test_a_condition_cycle_fails_naming_it():
    template = sections(Conditions={"Egg": {"Condition": "Hen"}, "Hen": {"Fn::Not": [{"Condition": "Egg"}]}})

    with pytest.raises(TemplateError, match="condition cycle through Egg"):
        Resolver(template, pseudo_parameters={}).condition("Egg")


def test_the_reader_gives_short_tags_their_long_forms(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n  R:\n    Type: X\n    Properties:\n"
        "      A: !GetAtt Table.StreamArn\n"
        "      B: !Sub '${AWS::Region}'\n"
        "      C: !If [Cond, !Ref P, !Ref AWS::NoValue]\n"
    )

    assert read_document(path)["Resources"]["R"]["Properties"] == {
        "A": {"Fn::GetAtt": ["Table", "StreamArn"]},
        "B": {"Fn::Sub": "${AWS::Region}"},
        "C": {"Fn::If": ["Cond", {"Ref": "P"}, {"Ref": "AWS::NoValue"}]},
    }
