"""The client secret lives only in Secrets Manager: never a parameter, an env value or template text."""

import json
import re

import pytest
from sam_template import environment, resource, translated

FUNCTIONS = ("StartFunction", "CallbackFunction", "TokenFunction")
NON_SECRET_PARAMETERS = {
    "PagerDutyClientId",
    "PagerDutyScopes",
    "RedirectUrl",
    "LogLevel",
    "ExistingClientSecretArn",
    "AllowAnonymousConnect",
    "ReturnToOrigin",
    # the product on the pages: names and public URLs
    "ProductName",
    "LogoUrl",
    "AccentColor",
    "SupportUrl",
    "PrivacyPolicyUrl",
}


def _parameter_refs(value) -> set[str]:
    parameters = translated()["Parameters"]
    return set(re.findall(r'"Ref": "(\w+)"', json.dumps(value))) & parameters.keys()


def test_no_parameter_is_no_echo():
    # A NoEcho parameter would be how a secret value gets passed in; this stack takes none.
    no_echo = [name for name, spec in translated()["Parameters"].items() if str(spec.get("NoEcho")).lower() == "true"]

    assert no_echo == []


def test_a_secret_parameter_accepts_only_a_complete_secrets_manager_arn():
    pattern = re.compile(translated()["Parameters"]["ExistingClientSecretArn"]["AllowedPattern"])
    accepted = {
        candidate: bool(pattern.fullmatch(candidate))
        for candidate in (
            "",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pagerduty/connect-AbC123",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pagerduty/connect",
            "pd-client-secret-value-0123456789abcdef",
        )
    }

    assert list(accepted.values()) == [True, True, False, False]


def test_the_created_client_secret_keeps_its_shape_so_an_update_never_overwrites_the_value_put():
    generate = resource(translated(), "ClientSecret")["Properties"]["GenerateSecretString"]

    assert (json.loads(generate["SecretStringTemplate"]).keys(), generate["GenerateStringKey"]) == (
        {"client_secret"},
        "link_signing_key",  # a leftover field nothing reads any more (template.yaml says why)
    )


@pytest.mark.parametrize("secret_id", ["LinkSigningKey", "ResultSigningKey"])
def test_each_signing_key_is_a_secret_of_its_own_generated_long(secret_id):
    properties = resource(translated(), secret_id)["Properties"]
    generate = properties["GenerateSecretString"]

    assert "SecretString" not in properties and "Condition" not in resource(translated(), secret_id)
    assert (json.loads(generate["SecretStringTemplate"]), generate["GenerateStringKey"]) == ({}, "signing_key")
    assert generate["PasswordLength"] >= 32


def test_the_template_never_holds_the_secret_value():
    assert "SecretString" not in resource(translated(), "ClientSecret")["Properties"]


def test_no_function_environment_resolves_a_secret():
    values = json.dumps([environment(translated(), function_id) for function_id in FUNCTIONS])

    assert "{{resolve:" not in values


def test_callback_learns_where_the_secret_and_key_are_not_what_they_hold():
    variables = environment(translated(), "CallbackFunction")

    assert (variables["CLIENT_SECRET_ID"], variables["TOKEN_KEY_ID"]) == (
        {"Fn::If": ["CreateClientSecret", {"Ref": "ClientSecret"}, {"Ref": "ExistingClientSecretArn"}]},
        {"Fn::GetAtt": ["TokenKey", "Arn"]},
    )


def test_functions_read_only_non_secret_parameters():
    read = set().union(*(_parameter_refs(environment(translated(), function_id)) for function_id in FUNCTIONS))

    assert read <= NON_SECRET_PARAMETERS
