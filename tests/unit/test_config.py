import pytest
from pd_connect.platform.config import Branding, ConfigError, settings_from

BASE = {"PD_CLIENT_ID": "client-1", "TABLE_NAME": "table", "TOKEN_KEY_ID": "key", "CLIENT_SECRET_ID": "secret"}


def test_defaults_point_at_real_pagerduty_hosts():
    settings = settings_from(BASE, handles_tokens=True)
    assert settings.identity_url == "https://identity.pagerduty.com"
    assert settings.api_url("US") == "https://api.pagerduty.com"
    assert settings.api_url("EU") == "https://api.eu.pagerduty.com"
    assert settings.scopes == "read"


def test_overrides_for_a_local_stand_in():
    env = {**BASE, "PD_IDENTITY_URL": "http://127.0.0.1:8090/", "PD_API_URL": "http://127.0.0.1:8090", "PD_API_URL_EU": "http://127.0.0.1:8090/eu"}
    settings = settings_from(env, handles_tokens=True)
    assert settings.identity_url == "http://127.0.0.1:8090"
    assert settings.api_url("EU") == "http://127.0.0.1:8090/eu"


@pytest.mark.parametrize("missing", ["PD_CLIENT_ID", "TABLE_NAME", "TOKEN_KEY_ID", "CLIENT_SECRET_ID"])
def test_a_missing_setting_is_an_error_naming_it(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        settings_from(env, handles_tokens=True)


def test_start_side_does_not_need_secret_settings():
    settings = settings_from({"PD_CLIENT_ID": "c", "TABLE_NAME": "t"}, handles_tokens=False)
    assert settings.client_secret_id == ""


@pytest.mark.parametrize("name,value", [("PD_IDENTITY_URL", "ftp://x"), ("PD_API_URL", "https://x/?q=1"), ("PD_REDIRECT_URI", "/callback")])
def test_malformed_urls_are_errors_naming_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        settings_from({**BASE, name: value}, handles_tokens=True)


def test_scopes_are_normalised_to_single_spaces():
    assert settings_from({**BASE, "PD_SCOPES": "  incidents.read   users.read "}, handles_tokens=True).scopes == "incidents.read users.read"


def test_try_again_starts_a_new_flow_or_goes_back_to_the_app():
    assert settings_from(BASE, handles_tokens=True).try_again_url == "/authorize"
    linked_only = {**BASE, "ALLOW_ANONYMOUS_CONNECT": "false", "RETURN_TO_ORIGIN": "https://app.example.com"}
    assert settings_from(linked_only, handles_tokens=True).try_again_url == "https://app.example.com/"
    assert settings_from({**BASE, "ALLOW_ANONYMOUS_CONNECT": "false"}, handles_tokens=True).try_again_url == "/"


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_flag_names_the_setting(value):
    with pytest.raises(ConfigError, match="ALLOW_ANONYMOUS_CONNECT"):
        settings_from({**BASE, "ALLOW_ANONYMOUS_CONNECT": value}, handles_tokens=True)


@pytest.mark.parametrize("value", ["app.example.com", "https://app.example.com/path", "https://u@app.example.com", "ftp://x"])
def test_a_malformed_return_origin_names_the_setting(value):
    with pytest.raises(ConfigError, match="RETURN_TO_ORIGIN"):
        settings_from({**BASE, "RETURN_TO_ORIGIN": value}, handles_tokens=True)


# --- branding and page templates -------------------------------------------------------------


def test_branding_defaults_to_none_of_it():
    settings = settings_from(BASE, handles_tokens=True)
    assert settings.branding == Branding()
    assert settings.page_templates_dir == ""


def test_branding_settings_are_read_and_normalised():
    env = {
        **BASE,
        "PRODUCT_NAME": "  Acme   Status ",
        "LOGO_URL": "https://cdn.acme.example/logo.svg",
        "ACCENT_COLOR": "#53C",
        "SUPPORT_URL": "https://acme.example/support#contact",
        "PRIVACY_POLICY_URL": "https://acme.example/privacy",
    }
    assert settings_from(env, handles_tokens=False).branding == Branding(
        product_name="Acme Status",
        logo_url="https://cdn.acme.example/logo.svg",
        accent_color="#5533cc",
        support_url="https://acme.example/support#contact",
        privacy_policy_url="https://acme.example/privacy",
    )


@pytest.mark.parametrize("name", ["LOGO_URL", "SUPPORT_URL", "PRIVACY_POLICY_URL"])
@pytest.mark.parametrize(
    "value",
    [
        "http://acme.example/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "//acme.example/logo.png",
        "https://user@acme.example/logo.png",
        "https://acme.example;script-src/x",
        "https://acme.example\\@evil.example/",
        "https://acme.example/a b.png",
        "acme.example/logo.png",
    ],
)
def test_a_url_setting_that_is_not_plain_https_names_the_setting(name, value):
    with pytest.raises(ConfigError, match=name):
        settings_from({**BASE, name: value}, handles_tokens=False)


@pytest.mark.parametrize("value", ["5b3cc4", "#5b3cc", "#5b3cc4ff", "red", "rgb(1,2,3)", "#5b3cc4;x:y", "#ggg"])
def test_an_accent_that_is_not_a_hex_colour_names_the_setting(value):
    with pytest.raises(ConfigError, match="ACCENT_COLOR"):
        settings_from({**BASE, "ACCENT_COLOR": value}, handles_tokens=False)


@pytest.mark.parametrize("value", ["x" * 81, "Acme\x00Status", "Acme\x1bStatus"])
def test_a_product_name_too_long_or_with_control_characters_names_the_setting(value):
    with pytest.raises(ConfigError, match="PRODUCT_NAME"):
        settings_from({**BASE, "PRODUCT_NAME": value}, handles_tokens=False)


def test_page_templates_dir_must_be_a_folder(tmp_path):
    assert settings_from({**BASE, "PAGE_TEMPLATES_DIR": str(tmp_path)}, handles_tokens=False).page_templates_dir == str(tmp_path)
    with pytest.raises(ConfigError, match="PAGE_TEMPLATES_DIR"):
        settings_from({**BASE, "PAGE_TEMPLATES_DIR": str(tmp_path / "missing")}, handles_tokens=False)
@pytest.mark.parametrize(
    "name,value",
    [
        ("PD_IDENTITY_URL", "http://identity.pagerduty.com"),
        ("PD_API_URL", "http://api.pagerduty.com"),
        ("PD_API_URL_EU", "http://10.0.0.5:8090"),
        ("AWS_ENDPOINT_URL", "http://dynamodb.us-east-1.amazonaws.com"),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://secrets.internal.example"),
        ("AWS_ENDPOINT_URL", "ftp://127.0.0.1"),
    ],
)
def test_a_deployed_stack_refuses_plain_http_endpoints_beyond_this_machine(name, value):
    with pytest.raises(ConfigError, match=name):
        settings_from({**BASE, name: value}, handles_tokens=True)


@pytest.mark.parametrize(
    "value", ["http://localhost:5001", "http://127.0.0.1:5001", "http://[::1]:5001", "http://pagerduty.localhost:8090", "https://x.example"]
)
def test_loopback_hosts_and_https_are_accepted(value):
    settings = settings_from({**BASE, "PD_IDENTITY_URL": value, "AWS_ENDPOINT_URL": value}, handles_tokens=True)
    assert settings.identity_url == value


def test_inside_sam_local_the_docker_host_may_be_plain_http():
    env = {**BASE, "AWS_SAM_LOCAL": "true", "AWS_ENDPOINT_URL": "http://host.docker.internal:5001"}
    assert settings_from(env, handles_tokens=True)
