"""The per-client rate limit in front (RateLimitPerClient / WebAclArn): nothing by default; when on, a
CloudFront distribution with an AWS WAF web ACL in front of the HTTP API, which caches nothing,
forwards what the flow needs, and becomes the public host of the flow."""

import re

import pytest
from sam_template import (
    broken_rules,
    deployed,
    deployed_web_acl,
    http_api_routes,
    resource,
    resources_of_type,
    translated,
)

RATE_LIMIT = {"RateLimitPerClient": "300"}
WEB_ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/pagerduty-connect/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
DOMAIN = {"DomainName": "connect.example.com", "CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e"}
FRONT_DOOR_TYPES = ("AWS::CloudFront::Distribution", "AWS::CloudFormation::Stack", "AWS::WAFv2::WebACL")
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
FRONT_DOOR_HOST = "https://${FrontDoor.DomainName}"


def _distribution(template: dict) -> dict:
    return resource(template, "FrontDoor")["Properties"]["DistributionConfig"]


def _urls(template: dict) -> tuple:
    outputs = template["Outputs"]
    return outputs["LandingUrl"]["Value"], outputs["CallbackUrl"]["Value"]


def _stage_variables(template: dict):
    return resource(template, "HttpApiApiGatewayDefaultStage")["Properties"].get("StageVariables")


def _rules(template: dict) -> dict:
    return {rule["Name"]: rule for rule in resource(template, "WebAcl")["Properties"]["Rules"]}


def _parameter_accepts(name: str, value: str) -> bool:
    return re.fullmatch(translated()["Parameters"][name]["AllowedPattern"], value) is not None


@pytest.mark.parametrize("off", [{}, {"RateLimitPerClient": "0"}], ids=["default", "zero"])
def test_off_there_is_no_front_door(off):
    template = deployed(**off)

    assert [resources_of_type(template, type_name) for type_name in FRONT_DOOR_TYPES] == [{}, {}, {}]
    assert _stage_variables(template) is None
    assert not {"FrontDoorDistributionId", "FrontDoorWebAclArn"} & template["Outputs"].keys()


def test_a_rate_limit_in_us_east_1_nests_the_web_acl_template_with_its_limits():
    template = deployed(RateLimitPerClient="300", AuthorizeRateLimitPerClient="30")

    assert resource(template, "FrontDoorWebAcl")["Properties"]["TemplateURL"] == "waf/web-acl.yaml"
    assert resource(template, "FrontDoorWebAcl")["Properties"]["Parameters"] == {
        "RateLimitPerClient": {"Ref": "RateLimitPerClient"},
        "AuthorizeRateLimitPerClient": {"Ref": "AuthorizeRateLimitPerClient"},
    }
    assert _distribution(template)["WebACLId"] == {"Fn::GetAtt": ["FrontDoorWebAcl", "Outputs.WebAclArn"]}


def test_with_a_web_acl_arn_the_distribution_uses_it_from_any_region_and_makes_none():
    template = deployed(region="eu-west-1", WebAclArn=WEB_ACL_ARN)

    assert resources_of_type(template, "AWS::CloudFormation::Stack") == {}
    assert _distribution(template)["WebACLId"] == {"Ref": "WebAclArn"}
    assert template["Outputs"]["FrontDoorWebAclArn"]["Value"] == {"Ref": "WebAclArn"}


def test_the_origin_is_the_http_apis_execute_api_host_over_tls_1_2_only():
    (origin,) = _distribution(deployed(**RATE_LIMIT))["Origins"]

    assert origin == {
        "Id": "http-api",
        "DomainName": {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]},
    }


def test_the_front_door_caches_nothing_and_forwards_query_strings_cookies_and_headers_but_host():
    behaviour = _distribution(deployed(**RATE_LIMIT))["DefaultCacheBehavior"]

    assert (behaviour["CachePolicyId"], behaviour["OriginRequestPolicyId"]) == (CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST_HEADER)
    assert behaviour["TargetOriginId"] == "http-api"
    assert "ForwardedValues" not in behaviour and "DefaultTTL" not in behaviour  # the policies decide, nothing legacy


def test_viewers_are_sent_to_https():
    assert _distribution(deployed(**RATE_LIMIT))["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"


def test_the_front_door_passes_every_method_the_api_routes():
    allowed = set(_distribution(deployed(**RATE_LIMIT))["DefaultCacheBehavior"]["AllowedMethods"])

    routed = {route.method for route in http_api_routes(translated())}
    # $default takes any method (API Gateway's extension name for ANY): all seven must pass, so the
    # functions' 405 page answers them as it does without the front door.
    assert "X-AMAZON-APIGATEWAY-ANY-METHOD" in routed
    assert allowed == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}


def test_the_front_door_is_ipv4_only_so_one_client_cannot_spread_over_many_addresses():
    # A rate limit per address means little when one IPv6 customer holds a /64 of them.
    assert _distribution(deployed(**RATE_LIMIT))["IPV6Enabled"] is False


def test_behind_the_front_door_the_functions_learn_its_host_from_a_stage_variable():
    assert _stage_variables(deployed(**RATE_LIMIT)) == {"public_host": {"Fn::GetAtt": ["FrontDoor", "DomainName"]}}


def test_with_the_front_door_the_landing_and_callback_urls_are_on_its_host():
    assert _urls(deployed(**RATE_LIMIT)) == (
        {"Fn::Sub": f"{FRONT_DOOR_HOST}/"},
        {"Fn::Sub": f"{FRONT_DOOR_HOST}/callback"},
    )


def test_a_given_redirect_url_still_wins_over_the_front_doors():
    given = "https://connect.example.com/callback"

    assert _urls(deployed(**RATE_LIMIT, RedirectUrl=given))[1] == {"Ref": "RedirectUrl"}


def test_the_distribution_is_an_output():
    assert deployed(**RATE_LIMIT)["Outputs"]["FrontDoorDistributionId"]["Value"] == {"Ref": "FrontDoor"}


@pytest.mark.parametrize(
    ("parameters", "region"),
    [({}, "eu-west-1"), (RATE_LIMIT, "us-east-1"), ({"RateLimitPerClient": "300", "AuthorizeRateLimitPerClient": "30"}, "us-east-1"),
     ({"WebAclArn": WEB_ACL_ARN}, "eu-west-1"), (DOMAIN, "eu-west-1")],
    ids=["off", "rate-limit-in-us-east-1", "with-authorize-limit", "web-acl-arn-elsewhere", "custom-domain-alone"],
)
def test_coherent_settings_deploy(parameters, region):
    assert broken_rules(region=region, **parameters) == set()


@pytest.mark.parametrize(
    ("parameters", "region", "rule"),
    [
        (RATE_LIMIT, "eu-west-1", "RateLimitWebAclIsMadeOnlyInUsEast1"),
        ({**RATE_LIMIT, "WebAclArn": WEB_ACL_ARN}, "eu-west-1", "WebAclArnBringsItsOwnLimits"),
        ({"AuthorizeRateLimitPerClient": "30", "WebAclArn": WEB_ACL_ARN}, "us-east-1", "WebAclArnBringsItsOwnLimits"),
        ({"AuthorizeRateLimitPerClient": "30"}, "us-east-1", "AuthorizeLimitNeedsTheRateLimit"),
        ({**RATE_LIMIT, **DOMAIN}, "us-east-1", "FrontDoorOrCustomDomain"),
        ({"WebAclArn": WEB_ACL_ARN, **DOMAIN}, "eu-west-1", "FrontDoorOrCustomDomain"),
    ],
    ids=["rate-limit-outside-us-east-1", "limits-and-web-acl-arn", "authorize-limit-and-web-acl-arn",
         "authorize-limit-alone", "rate-limit-and-domain", "web-acl-arn-and-domain"],
)
def test_incoherent_settings_are_refused_before_anything_is_deployed(parameters, region, rule):
    assert rule in broken_rules(region=region, **parameters)


@pytest.mark.parametrize(("value", "accepted"), [("", True), ("0", True), ("9", False), ("10", True), ("300", True), ("-1", False), ("1e3", False)])
def test_a_limit_below_aws_wafs_minimum_of_10_is_refused(value, accepted):
    assert _parameter_accepts("RateLimitPerClient", value) is accepted


@pytest.mark.parametrize(
    ("arn", "accepted"),
    [
        (WEB_ACL_ARN, True),
        (WEB_ACL_ARN.replace(":global/", ":regional/"), False),  # a REGIONAL web ACL cannot go on CloudFront
        (WEB_ACL_ARN.replace("us-east-1", "eu-west-1"), False),
    ],
    ids=["cloudfront-scope", "regional-scope", "other-region"],
)
def test_only_a_cloudfront_web_acl_arn_is_accepted(arn, accepted):
    assert _parameter_accepts("WebAclArn", arn) is accepted


def test_the_web_acl_is_for_cloudfront_and_lets_through_what_no_rule_blocks():
    web_acl = resource(deployed_web_acl(RateLimitPerClient="300"), "WebAcl")["Properties"]

    assert (web_acl["Scope"], web_acl["DefaultAction"]) == ("CLOUDFRONT", {"Allow": {}})


def test_each_client_ip_is_limited_per_5_minutes_and_answered_429_above_it():
    rule = _rules(deployed_web_acl(RateLimitPerClient="300"))["per-client"]

    assert rule["Statement"] == {
        "RateBasedStatement": {"Limit": {"Ref": "RateLimitPerClient"}, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}
    }
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}


def test_without_an_authorize_limit_the_web_acl_has_the_one_rule():
    assert list(_rules(deployed_web_acl(RateLimitPerClient="300"))) == ["per-client"]


def test_the_authorize_limit_counts_only_authorize_requests_decoded_and_in_any_case_first():
    rules = _rules(deployed_web_acl(RateLimitPerClient="300", AuthorizeRateLimitPerClient="30"))
    statement = rules["authorize-per-client"]["Statement"]["RateBasedStatement"]

    assert (statement["Limit"], statement["EvaluationWindowSec"], statement["AggregateKeyType"]) == (
        {"Ref": "AuthorizeRateLimitPerClient"}, 300, "IP"
    )
    assert statement["ScopeDownStatement"] == {
        "ByteMatchStatement": {
            "FieldToMatch": {"UriPath": {}},
            "PositionalConstraint": "EXACTLY",
            "SearchString": "/authorize",
            "TextTransformations": [{"Priority": 0, "Type": "URL_DECODE"}, {"Priority": 1, "Type": "LOWERCASE"}],
        }
    }
    assert rules["authorize-per-client"]["Priority"] < rules["per-client"]["Priority"]
    assert rules["authorize-per-client"]["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 429}}}


def test_the_web_acls_arn_is_the_output_the_main_stack_takes():
    assert deployed_web_acl(RateLimitPerClient="300")["Outputs"]["WebAclArn"]["Value"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
