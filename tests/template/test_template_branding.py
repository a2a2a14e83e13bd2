"""The builder's product on the pages: parameters that reach both functions, checked by
CloudFormation as the functions check them at start, and an optional layer of page templates."""

import re

import pytest
from pd_connect.platform.config import ConfigError, settings_from
from sam_template import deployed, environment, resource, sam

FUNCTIONS = ("StartFunction", "CallbackFunction")
SETTING_OF = {
    "ProductName": "PRODUCT_NAME",
    "LogoUrl": "LOGO_URL",
    "AccentColor": "ACCENT_COLOR",
    "SupportUrl": "SUPPORT_URL",
    "PrivacyPolicyUrl": "PRIVACY_POLICY_URL",
}
LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:acme-pages:3"


def allowed(parameter: str, value: str) -> bool:
    spec = sam()["Parameters"][parameter]
    pattern = spec.get("AllowedPattern", ".*")
    return bool(re.fullmatch(pattern, value)) and len(value) <= spec.get("MaxLength", 4096)


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_every_branding_parameter_reaches_both_functions(function_id):
    variables = environment(deployed(), function_id)
    assert {parameter: variables[setting] for parameter, setting in SETTING_OF.items()} == {
        parameter: {"Ref": parameter} for parameter in SETTING_OF
    }


def test_branding_parameters_default_to_empty_so_the_built_in_pages_are_unchanged():
    parameters = sam()["Parameters"]
    assert {name: parameters[name]["Default"] for name in [*SETTING_OF, "PageTemplatesLayerArn"]} == dict.fromkeys(
        [*SETTING_OF, "PageTemplatesLayerArn"], ""
    )


@pytest.mark.parametrize(
    "parameter,value",
    [
        ("LogoUrl", "https://cdn.acme.example/logo.svg"),
        ("LogoUrl", "https://cdn.acme.example:8443/brand/logo.png?v=2"),
        ("AccentColor", "#5b3cc4"),
        ("AccentColor", "#53C"),
        ("SupportUrl", "https://acme.example/support#contact"),
        ("PrivacyPolicyUrl", "https://acme.example/privacy"),
        ("ProductName", "Acme Status"),
    ],
)
def test_good_values_pass_cloudformation_and_the_functions(parameter, value):
    assert allowed(parameter, value)
    settings_from({"PD_CLIENT_ID": "c", "TABLE_NAME": "t", SETTING_OF[parameter]: value}, handles_tokens=False)


@pytest.mark.parametrize(
    "parameter,value",
    [
        ("LogoUrl", "http://cdn.acme.example/logo.svg"),
        ("LogoUrl", "javascript:alert(1)"),
        ("LogoUrl", "https://user@cdn.acme.example/logo.svg"),
        ("LogoUrl", "https://cdn.acme.example;script-src/x"),
        ("LogoUrl", "https://cdn.acme.example/a b.svg"),
        ("AccentColor", "purple"),
        ("AccentColor", "#5b3cc4ff"),
        ("AccentColor", "5b3cc4"),
        ("SupportUrl", "http://acme.example/support"),
        ("PrivacyPolicyUrl", "https://acme.example\\@evil.example/"),
        ("ProductName", "x" * 81),
    ],
)
def test_bad_values_are_refused_by_cloudformation_and_by_the_functions(parameter, value):
    assert not allowed(parameter, value)
    with pytest.raises(ConfigError, match=SETTING_OF[parameter]):
        settings_from({"PD_CLIENT_ID": "c", "TABLE_NAME": "t", SETTING_OF[parameter]: value}, handles_tokens=False)


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_without_a_templates_layer_the_functions_have_no_layer_and_the_built_in_pages(function_id):
    function = resource(deployed(), function_id)["Properties"]
    assert "Layers" not in function
    assert environment(deployed(), function_id)["PAGE_TEMPLATES_DIR"] == ""


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_a_templates_layer_is_attached_to_both_functions_and_read_from_opt(function_id):
    template = deployed(PageTemplatesLayerArn=LAYER)
    assert resource(template, function_id)["Properties"]["Layers"] == [{"Ref": "PageTemplatesLayerArn"}]
    assert environment(template, function_id)["PAGE_TEMPLATES_DIR"] == "/opt/pd_connect/templates"


def test_the_layer_parameter_takes_only_a_layer_version_arn():
    assert allowed("PageTemplatesLayerArn", LAYER)
    assert not allowed("PageTemplatesLayerArn", "arn:aws:lambda:eu-west-1:123456789012:layer:acme-pages")
    assert not allowed("PageTemplatesLayerArn", "/opt/pd_connect/templates")
