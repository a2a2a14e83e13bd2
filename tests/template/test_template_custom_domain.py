"""The optional custom domain: nothing without DomainName + CertificateArn; with them, one host for the whole flow."""

import re

from sam_template import broken_rules, deployed, resource, resources_of_type, translated

DOMAIN = {
    "DomainName": "connect.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e",
}
EXECUTE_API_HOST = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
DOMAIN_RESOURCE_TYPES = ("AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping")


def _urls(template: dict) -> tuple:
    outputs = template["Outputs"]
    return outputs["LandingUrl"]["Value"], outputs["CallbackUrl"]["Value"]


def _execute_api_disabled(template: dict):
    (server,) = resource(template, "HttpApi")["Properties"]["Body"]["servers"]
    return server["x-amazon-apigateway-endpoint-configuration"]["disableExecuteApiEndpoint"]


def test_by_default_no_domain_is_created():
    template = deployed()

    assert [resources_of_type(template, type_name) for type_name in DOMAIN_RESOURCE_TYPES] == [{}, {}]


def test_by_default_the_urls_are_on_the_execute_api_host():
    assert _urls(deployed()) == ({"Fn::Sub": f"{EXECUTE_API_HOST}/"}, {"Fn::Sub": f"{EXECUTE_API_HOST}/callback"})


def test_by_default_the_execute_api_endpoint_serves_the_flow():
    assert _execute_api_disabled(deployed()) is False


def test_a_custom_domain_is_a_regional_tls_1_2_domain_with_the_given_certificate():
    domain = resource(deployed(**DOMAIN), "ApiDomain")["Properties"]

    assert domain == {
        "DomainName": {"Ref": "DomainName"},
        "DomainNameConfigurations": [
            {"CertificateArn": {"Ref": "CertificateArn"}, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
        ],
    }


def test_a_custom_domain_maps_its_root_to_the_apis_default_stage():
    mapping = resource(deployed(**DOMAIN), "ApiDomainMapping")["Properties"]

    assert mapping == {
        "DomainName": {"Ref": "ApiDomain"},
        "ApiId": {"Ref": "HttpApi"},
        "Stage": {"Ref": "HttpApiApiGatewayDefaultStage"},
    }


def test_with_a_custom_domain_the_landing_and_callback_urls_use_it():
    assert _urls(deployed(**DOMAIN)) == (
        {"Fn::Sub": "https://${DomainName}/"},
        {"Fn::Sub": "https://${DomainName}/callback"},
    )


def test_with_a_custom_domain_the_execute_api_endpoint_is_off():
    # One host per flow: the browser-binding cookie is per host, PagerDuty takes one redirect URL.
    assert _execute_api_disabled(deployed(**DOMAIN)) is True


def test_with_a_custom_domain_the_dns_target_is_an_output():
    outputs = deployed(**DOMAIN)["Outputs"]

    assert (outputs["CustomDomainTarget"]["Value"], outputs["CustomDomainHostedZoneId"]["Value"]) == (
        {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]},
        {"Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]},
    )


def test_without_a_custom_domain_there_is_no_dns_target_output():
    assert {"CustomDomainTarget", "CustomDomainHostedZoneId"} & deployed()["Outputs"].keys() == set()


def test_an_explicit_redirect_url_is_the_callback_url_to_register_even_with_a_custom_domain():
    template = deployed(RedirectUrl="https://auth.example.com/pd/callback", **DOMAIN)

    assert template["Outputs"]["CallbackUrl"]["Value"] == {"Ref": "RedirectUrl"}


def test_domain_and_certificate_must_be_given_together():
    refused = {
        case: bool(broken_rules(**parameters))
        for case, parameters in {
            "neither": {},
            "both": DOMAIN,
            "domain only": {"DomainName": DOMAIN["DomainName"]},
            "certificate only": {"CertificateArn": DOMAIN["CertificateArn"]},
        }.items()
    }

    assert refused == {"neither": False, "both": False, "domain only": True, "certificate only": True}


def test_domain_name_accepts_a_host_name_only():
    pattern = re.compile(translated()["Parameters"]["DomainName"]["AllowedPattern"])
    accepted = {
        candidate: bool(pattern.fullmatch(candidate))
        for candidate in ("", "connect.example.com", "https://connect.example.com", "connect.example.com/callback")
    }

    assert list(accepted.values()) == [True, True, False, False]
