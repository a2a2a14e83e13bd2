"""Stream records -> lifecycle events: which change gives which event, and what an event may carry."""

import base64
import json
from datetime import datetime, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pd_connect.events.change_stream import forward
from pd_connect.events.event_bus import EventBus
from pd_connect.events.lifecycle_events import SOURCE, EventType, UnreadableRecord, classify

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/local-ConnectTable/stream/2026-12-01T10:00:00.000"
TABLE_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/local-ConnectTable"
CIPHERTEXT = b"\x01\x02kms-ciphertext-of-the-tokens\xff" * 4


def connection_item(**changes) -> dict:
    item = {
        "pk": {"S": "connection#PACMEUS#PADA001"},
        "kind": {"S": "connection"},
        "account_id": {"S": "PACMEUS"},
        "user_id": {"S": "PADA001"},
        "user_name": {"S": "Ada Lovelace"},
        "user_email": {"S": "ada@acme-us.example"},
        "subdomain": {"S": "acme-us"},
        "region": {"S": "US"},
        "api_base": {"S": "https://api.pagerduty.com"},
        "scopes": {"S": "openid read"},
        "access_token_expires_at": {"N": "1800000000"},
        "profile_loaded": {"BOOL": True},
        "needs_reauthorization": {"BOOL": False},
        "tokens": {"B": CIPHERTEXT},
        "created_at": {"S": "2026-12-01T10:00:00+00:00"},
        "updated_at": {"S": "2026-12-01T10:00:00+00:00"},
        "authorized_at": {"S": "2026-12-01T10:00:00+00:00"},
        "token_version": {"N": "1"},
    }
    for name, value in changes.items():
        if value is None:
            item.pop(name, None)
        else:
            item[name] = value
    return item


def record(old: dict | None, new: dict | None, *, sequence: int = 100, event_id: str = "e0c1a2b3d4") -> dict:
    """A record as Lambda delivers it from a NEW_AND_OLD_IMAGES stream."""
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    stream = {
        "ApproximateCreationDateTime": 1796121600,
        "Keys": {"pk": (new or old)["pk"]},
        "SequenceNumber": str(sequence),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        stream["OldImage"] = old
    if new is not None:
        stream["NewImage"] = new
    return {
        "eventID": event_id,
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": stream,
    }


def test_a_new_connection_is_created():
    change = classify(record(None, connection_item()))

    assert change.event.type is EventType.CREATED
    assert change.event.detail == {
        "schema_version": "1",
        "event_id": "e0c1a2b3d4",
        "connection": "PACMEUS/PADA001",
        "account_id": "PACMEUS",
        "user_id": "PADA001",
        "app_user_id": None,
        "subdomain": "acme-us",
        "region": "US",
        "scopes": ["openid", "read"],
        "authorized_at": "2026-12-01T10:00:00+00:00",
        "confirmed_at": None,
        "changed_at": "2026-12-01T10:40:00+00:00",
    }
    assert change.sequence_number == "100" and not change.refreshed


def test_the_event_id_is_the_stream_records_id_so_a_redelivery_has_the_same_id():
    first = classify(record(None, connection_item(), event_id="same-record"))
    again = classify(record(None, connection_item(), event_id="same-record"))

    assert first.event.event_id == again.event.event_id == first.event.detail["event_id"] == "same-record"
    assert first.event.put_events_entry("default") == again.event.put_events_entry("default")


def test_authorizing_again_is_a_reconnect():
    old = connection_item(needs_reauthorization={"BOOL": True}, token_version={"N": "7"})
    new = connection_item(authorized_at={"S": "2026-12-02T09:00:00+00:00"}, token_version={"N": "8"})

    assert classify(record(old, new)).event.type is EventType.RECONNECTED


def test_a_connection_written_before_authorized_at_existed_reconnects_when_authorized_again():
    old = connection_item(authorized_at=None)

    assert classify(record(old, connection_item())).event.type is EventType.RECONNECTED


def test_a_refresh_gives_no_event_and_is_counted_as_a_refresh():
    old = connection_item(refresh_lease_until={"N": "1796126420"}, refresh_lease_owner={"S": "abc"})
    new = connection_item(token_version={"N": "2"}, tokens={"B": b"other ciphertext"})

    change = classify(record(old, new))

    assert change.event is None and change.refreshed


def test_taking_or_releasing_the_refresh_lease_is_no_event_and_no_refresh():
    leased = connection_item(refresh_lease_until={"N": "1796126420"}, refresh_lease_owner={"S": "abc"})

    for old, new in ((connection_item(), leased), (leased, connection_item())):
        change = classify(record(old, new))
        assert change.event is None and not change.refreshed


def test_a_refused_refresh_means_needs_reauthorization_with_its_reason():
    old = connection_item(refresh_lease_owner={"S": "abc"})
    new = connection_item(
        needs_reauthorization={"BOOL": True}, reauthorization_reason={"S": "invalid_grant on refresh"}
    )

    event = classify(record(old, new)).event

    assert event.type is EventType.NEEDS_REAUTHORIZATION
    assert event.detail["reauthorization_reason"] == "invalid_grant on refresh"


def test_a_connection_still_needing_reauthorization_is_not_announced_twice():
    flagged = connection_item(needs_reauthorization={"BOOL": True})

    assert classify(record(flagged, connection_item(needs_reauthorization={"BOOL": True}))).event is None


def test_deleting_a_connection_is_deleted_with_what_it_was():
    event = classify(record(connection_item(app_user_id={"S": "user-42"}), None)).event

    assert event.type is EventType.DELETED
    assert event.detail["connection"] == "PACMEUS/PADA001/user-42" and event.detail["app_user_id"] == "user-42"


def test_a_linked_connection_confirmed_for_the_first_time():
    new = connection_item(app_user_id={"S": "user-42"}, confirmed_at={"S": "2026-12-01T10:00:05+00:00"})

    event = classify(record(None, new)).event

    assert event.type is EventType.CONFIRMED
    assert event.detail["confirmed_at"] == "2026-12-01T10:00:05+00:00" and event.detail["reconnected"] is False


def test_confirming_again_over_an_existing_connection_is_confirmed_and_says_it_reconnected():
    old = connection_item(confirmed_at={"S": "2026-12-01T10:00:05+00:00"})
    new = connection_item(
        confirmed_at={"S": "2026-12-03T08:00:00+00:00"}, authorized_at={"S": "2026-12-03T08:00:00+00:00"}
    )

    event = classify(record(old, new)).event

    assert event.type is EventType.CONFIRMED and event.detail["reconnected"] is True


def test_a_refresh_of_a_confirmed_connection_is_not_confirmed_again():
    confirmed = {"confirmed_at": {"S": "2026-12-01T10:00:05+00:00"}}
    change = classify(record(connection_item(**confirmed), connection_item(token_version={"N": "2"}, **confirmed)))

    assert change.event is None and change.refreshed


@pytest.mark.parametrize("kind", ["pending_authorization", "link_nonce", "unconfirmed_connection", None])
def test_items_that_are_not_connections_give_nothing(kind):
    other = connection_item(kind={"S": kind} if kind else None, pk={"S": "pending#abc"})

    for old, new in ((None, other), (other, None), (other, other)):
        change = classify(record(old, new))
        assert change.event is None and not change.refreshed


def test_confirming_removes_the_unconfirmed_item_without_an_event_and_creates_the_confirmed_one():
    unconfirmed = connection_item(kind={"S": "unconfirmed_connection"}, pk={"S": "unconfirmed#x"})
    confirmed = connection_item(confirmed_at={"S": "2026-12-01T10:00:05+00:00"})

    assert classify(record(unconfirmed, None)).event is None
    assert classify(record(None, confirmed)).event.type is EventType.CONFIRMED


def test_a_connection_item_without_its_key_attributes_is_unreadable():
    with pytest.raises(UnreadableRecord):
        classify(record(None, connection_item(account_id=None)))


def test_the_put_events_entry_names_source_type_bus_and_the_table():
    event = classify(record(None, connection_item())).event

    entry = event.put_events_entry("my-bus")

    assert entry["Source"] == SOURCE == "pagerduty-connect"
    assert entry["DetailType"] == "PagerDuty Connection Created"
    assert entry["EventBusName"] == "my-bus"
    assert entry["Resources"] == [TABLE_ARN]
    assert entry["Time"] == datetime(2026, 12, 1, 10, 40, tzinfo=timezone.utc)
    assert json.loads(entry["Detail"]) == event.detail


# --- nothing secret, ever ------------------------------------------------------------------------

SECRET_ATTRIBUTES = ("tokens", "access_token", "refresh_token", "code", "client_secret", "code_verifier", "id_token")


def _all_entries_text(old, new) -> str:
    change = classify(record(old, new))
    return json.dumps(change.event.put_events_entry("default"), default=str) if change.event else ""


def _transition(transition: str, base: dict) -> tuple[dict | None, dict | None]:
    return {
        "create": (None, base),
        "reconnect": (connection_item(authorized_at=None), base),
        "reauth": (connection_item(), {**base, "needs_reauthorization": {"BOOL": True}}),
        "delete": (base, None),
        "confirm": (None, {**base, "confirmed_at": {"S": "2026-12-01T10:00:05+00:00"}}),
    }[transition]


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=16, max_size=64),
    attribute=st.sampled_from(SECRET_ATTRIBUTES),
    transition=st.sampled_from(["create", "reconnect", "reauth", "delete", "confirm"]),
)
def test_no_event_carries_a_token_ciphertext_code_or_secret_whatever_the_item_holds(secret, attribute, transition):
    planted = {attribute: {"S": secret}, "refresh_lease_owner": {"S": secret[::-1]}}
    base = connection_item(**planted) if attribute != "tokens" else connection_item(tokens={"B": secret.encode()})
    old, new = _transition(transition, base)

    text = _all_entries_text(old, new)
    # A "secret" that is part of the event's own fixed text (e.g. "pagerduty-connec") proves nothing.
    unplanted = _all_entries_text(*_transition(transition, connection_item()))
    assume(secret not in unplanted and secret[::-1] not in unplanted)

    assert text, "every transition here gives an event"
    for leaked in (secret, secret[::-1], base64.b64encode(secret.encode()).decode(), base64.b64encode(CIPHERTEXT).decode()):
        assert leaked not in text
    assert "ciphertext" not in text and "tokens" not in text


def test_the_detail_holds_exactly_the_documented_fields():
    documented = {
        "schema_version", "event_id", "connection", "account_id", "user_id", "app_user_id", "subdomain", "region",
        "scopes", "authorized_at", "confirmed_at", "changed_at",
    }
    created = classify(record(None, connection_item())).event.detail
    reauth = classify(record(connection_item(), connection_item(needs_reauthorization={"BOOL": True}))).event.detail
    confirmed = classify(record(None, connection_item(confirmed_at={"S": "2026-12-01T10:00:05+00:00"}))).event.detail

    assert set(created) == documented
    assert set(reauth) == documented | {"reauthorization_reason"}
    assert set(confirmed) == documented | {"reconnected"}
    assert "user_email" not in created and "user_name" not in created  # no personal data beyond the ids


# --- one batch: order, retries from the first failure ---------------------------------------------


class FakeEvents:
    """PutEvents that refuses the entries it is told to (by position across calls)."""

    def __init__(self, refuse: set[int] = frozenset(), raise_error: Exception | None = None) -> None:
        self.refuse = refuse
        self.raise_error = raise_error
        self.calls: list[list[dict]] = []
        self._seen = 0

    def put_events(self, Entries):
        if self.raise_error:
            raise self.raise_error
        self.calls.append(Entries)
        answers = []
        for entry in Entries:
            refused = self._seen in self.refuse
            answers.append({"ErrorCode": "InternalFailure", "ErrorMessage": "x"} if refused else {"EventId": f"id-{self._seen}"})
            self._seen += 1
        return {"FailedEntryCount": sum("ErrorCode" in a for a in answers), "Entries": answers}


def _batch(n: int) -> list[dict]:
    records = []
    for i in range(n):
        item = connection_item(user_id={"S": f"PUSER{i:02}"}, pk={"S": f"connection#PACMEUS#PUSER{i:02}"})
        records.append(record(None, item, sequence=1000 + i, event_id=f"event-{i}"))
    return records


def test_a_delivered_batch_reports_no_failures_and_sends_in_order_at_most_ten_per_call():
    events = FakeEvents()

    answer = forward(_batch(23), EventBus(events, "default"))

    assert answer == {"batchItemFailures": []}
    assert [len(call) for call in events.calls] == [10, 10, 3]
    sent = [json.loads(entry["Detail"])["event_id"] for call in events.calls for entry in call]
    assert sent == [f"event-{i}" for i in range(23)]


def test_a_refused_entry_makes_lambda_retry_from_that_record_on():
    answer = forward(_batch(12), EventBus(FakeEvents(refuse={4}), "default"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "1004"}]}


def test_an_unreachable_bus_retries_the_whole_batch():
    from botocore.exceptions import EndpointConnectionError

    events = FakeEvents(raise_error=EndpointConnectionError(endpoint_url="https://events.example"))

    assert forward(_batch(3), EventBus(events, "default")) == {"batchItemFailures": [{"itemIdentifier": "1000"}]}


def test_records_without_events_before_a_failure_are_done_and_after_it_are_retried():
    refresh = record(connection_item(), connection_item(token_version={"N": "2"}), sequence=999, event_id="refresh")
    records = [refresh, *_batch(2)]

    answer = forward(records, EventBus(FakeEvents(refuse={0}), "default"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "1000"}]}


def test_an_unreadable_record_stops_the_batch_there_after_publishing_what_came_before():
    broken = record(None, connection_item(user_id=None), sequence=2000, event_id="broken")
    events = FakeEvents()

    answer = forward([*_batch(2), broken, *_batch(1)], EventBus(events, "default"))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "2000"}]}
    assert [json.loads(e["Detail"])["event_id"] for call in events.calls for e in call] == ["event-0", "event-1"]
