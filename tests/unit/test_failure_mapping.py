"""The one mapping from every layer's errors to the reason a page shows (flow/failures.py)."""

import pytest
from pd_connect.flow.failures import ConnectFailure, Reason, failure_for
from pd_connect.oauth import errors as oauth
from pd_connect.platform import errors as platform
from pd_connect.vault import errors as vault

EXPECTED = {
    oauth.InvalidClient: Reason.CLIENT_REJECTED,
    oauth.InvalidGrant: Reason.CODE_REJECTED,
    oauth.PagerDutyTimeout: Reason.PAGERDUTY_TIMEOUT,
    oauth.PagerDutyUnavailable: Reason.PAGERDUTY_UNAVAILABLE,
    oauth.PagerDutyBadResponse: Reason.PAGERDUTY_BAD_RESPONSE,
    vault.StoreUnavailable: Reason.DEPENDENCY_DOWN,
    vault.TokensUnreadable: Reason.STORED_TOKENS_UNREADABLE,
    platform.SecretUnavailable: Reason.DEPENDENCY_DOWN,
    platform.SecretNotSet: Reason.SECRET_NOT_SET,
    platform.SigningKeyNotConfigured: Reason.LINK_NOT_CONFIGURED,
    platform.BadRequest: Reason.BAD_REQUEST,
    platform.NotFound: Reason.NOT_FOUND,
    platform.MethodNotAllowed: Reason.METHOD_NOT_ALLOWED,
}


def _every_error_class():
    for module in (oauth, vault, platform):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == module.__name__:
                yield value


@pytest.mark.parametrize("error_class,reason", EXPECTED.items(), ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_layer_error_has_its_reason_and_keeps_its_detail(error_class, reason):
    failure = failure_for(error_class("dynamodb get_item: ThrottlingException"))
    assert (failure.reason, failure.detail) == (reason, "dynamodb get_item: ThrottlingException")


def test_every_concrete_layer_error_is_mapped():
    bases = {platform.LayerError, oauth.OAuthError, vault.VaultError, platform.PlatformError}
    assert set(_every_error_class()) - bases == set(EXPECTED)


def test_a_405_keeps_the_methods_it_allows():
    assert failure_for(platform.MethodNotAllowed("POST", allow=("GET", "HEAD"))).allow == ("GET", "HEAD")


def test_a_connect_failure_is_itself():
    failure = ConnectFailure(Reason.STATE_UNKNOWN, "no pending authorization for this state")
    assert failure_for(failure) is failure


def test_anything_else_is_unexpected_and_named_by_its_type_only():
    failure = failure_for(KeyError("state=s3cr3t-state"))
    assert (failure.reason, failure.detail) == (Reason.UNEXPECTED, "KeyError")


def test_layer_errors_keep_their_detail_out_of_their_message():
    # A third-party logger that prints the exception must not print the detail.
    assert str(vault.StoreUnavailable("kms decrypt: AccessDeniedException")) == "StoreUnavailable"


def test_every_layer_error_is_described_by_its_class_and_detail():
    for error in (oauth.PagerDutyTimeout("token exchange: timeout"), vault.StoreUnavailable("kms encrypt: KMSInternalException")):
        assert isinstance(error, platform.LayerError)
    assert vault.StoreUnavailable("kms encrypt: X").described == "StoreUnavailable (kms encrypt: X)"
