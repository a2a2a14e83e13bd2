"""Connection lifecycle events, derived from the table's change stream (DynamoDB Streams).

Every change to a connection item that took effect, whoever made it (the callback, a refresh in
any process, the token function, the admin CLI, a hand edit), reaches the stream. One stream
record gives at most one event:

| stream record (connection items only, `kind = "connection"`)        | detail-type                                 |
|----------------------------------------------------------------------|---------------------------------------------|
| `confirmed_at` appears or changes (a linked flow's confirm step)     | PagerDuty Connection Confirmed              |
| new item without `confirmed_at`                                      | PagerDuty Connection Created                |
| `authorized_at` changes (the user authorized again)                  | PagerDuty Connection Reconnected            |
| `needs_reauthorization` turns true (PagerDuty refused a refresh)     | PagerDuty Connection Needs Reauthorization  |
| item removed                                                         | PagerDuty Connection Deleted                |
| `token_version` moves, nothing above (a token refresh)               | none: counted as a refresh                  |

Pending authorizations, link nonces and unconfirmed connections (other `kind`s) give nothing.

The detail is built from an allow-list of attributes: the token ciphertext, and anything else
the item may one day hold, never reaches an event. The stable id is the stream record's
`eventID`, which stays the same on every redelivery of that record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Mapping

SOURCE = "pagerduty-connect"
SCHEMA_VERSION = "1"
CONNECTION_KIND = "connection"


class EventType(Enum):
    CREATED = "PagerDuty Connection Created"
    RECONNECTED = "PagerDuty Connection Reconnected"
    CONFIRMED = "PagerDuty Connection Confirmed"
    NEEDS_REAUTHORIZATION = "PagerDuty Connection Needs Reauthorization"
    DELETED = "PagerDuty Connection Deleted"

    @property
    def detail_type(self) -> str:
        return self.value


class UnreadableRecord(ValueError):
    """A stream record for a connection lacks what an event needs (its key attributes)."""


@dataclass(frozen=True)
class LifecycleEvent:
    event_id: str  # the stream record's eventID: the same on every redelivery
    type: EventType
    detail: Mapping[str, Any]
    table_arn: str
    changed_at: datetime

    def put_events_entry(self, bus_name: str) -> dict[str, Any]:
        """One PutEvents entry for `bus_name`."""
        return {
            "Source": SOURCE,
            "DetailType": self.type.detail_type,
            "Detail": json.dumps(dict(self.detail), separators=(",", ":"), sort_keys=True),
            "EventBusName": bus_name,
            "Resources": [self.table_arn] if self.table_arn else [],
            "Time": self.changed_at,
        }


@dataclass(frozen=True)
class StreamChange:
    """What one stream record means: an event, a refresh, or nothing of interest."""

    sequence_number: str
    event: LifecycleEvent | None
    refreshed: bool = False


def classify(record: Mapping[str, Any]) -> StreamChange:
    """The meaning of one DynamoDB stream record, as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    stream = record.get("dynamodb") or {}
    sequence_number = str(stream.get("SequenceNumber", ""))
    old = _connection_image(stream.get("OldImage"))
    new = _connection_image(stream.get("NewImage"))
    if old is None and new is None:
        return StreamChange(sequence_number, None)
    event_type, refreshed = _what_changed(old, new)
    if event_type is None:
        return StreamChange(sequence_number, None, refreshed)
    image = new if new is not None else old
    event = LifecycleEvent(
        event_id=str(record.get("eventID") or ""),
        type=event_type,
        detail=_detail(record, event_type, image, old),
        table_arn=_table_arn(str(record.get("eventSourceARN", ""))),
        changed_at=_changed_at(stream),
    )
    if not event.event_id:
        raise UnreadableRecord("stream record without an eventID")
    return StreamChange(sequence_number, event)


def _what_changed(old: Mapping | None, new: Mapping | None) -> tuple[EventType | None, bool]:
    if new is None:
        return EventType.DELETED, False
    confirmed_at = _s(new, "confirmed_at")
    if old is None:
        return (EventType.CONFIRMED if confirmed_at else EventType.CREATED), False
    if confirmed_at and confirmed_at != _s(old, "confirmed_at"):
        return EventType.CONFIRMED, False
    if _s(new, "authorized_at") != _s(old, "authorized_at"):
        return EventType.RECONNECTED, False
    if _bool(new, "needs_reauthorization") and not _bool(old, "needs_reauthorization"):
        return EventType.NEEDS_REAUTHORIZATION, False
    return None, _n(new, "token_version") != _n(old, "token_version")


def _detail(record: Mapping, event_type: EventType, image: Mapping, old: Mapping | None) -> dict[str, Any]:
    account_id, user_id, app_user_id = _s(image, "account_id"), _s(image, "user_id"), _s(image, "app_user_id")
    if not account_id or not user_id:
        raise UnreadableRecord("connection item without account_id or user_id")
    key = f"{account_id}/{user_id}" + (f"/{app_user_id}" if app_user_id else "")
    detail: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": str(record.get("eventID") or ""),
        "connection": key,
        "account_id": account_id,
        "user_id": user_id,
        "app_user_id": app_user_id or None,
        "subdomain": _s(image, "subdomain") or None,
        "region": _s(image, "region") or None,
        "scopes": _s(image, "scopes").split(),
        "authorized_at": _s(image, "authorized_at") or None,
        "confirmed_at": _s(image, "confirmed_at") or None,
        "changed_at": _iso(_changed_at(record.get("dynamodb") or {})),
    }
    if event_type is EventType.NEEDS_REAUTHORIZATION:
        detail["reauthorization_reason"] = _s(image, "reauthorization_reason") or None
    if event_type is EventType.CONFIRMED:
        detail["reconnected"] = old is not None  # a connection under this key existed before
    return detail


def _connection_image(image: Any) -> Mapping[str, Any] | None:
    if isinstance(image, Mapping) and _s(image, "kind") == CONNECTION_KIND:
        return image
    return None


def _s(image: Mapping, name: str) -> str:
    value = image.get(name)
    return value["S"] if isinstance(value, Mapping) and isinstance(value.get("S"), str) else ""


def _n(image: Mapping, name: str) -> str:
    value = image.get(name)
    return str(value["N"]) if isinstance(value, Mapping) and "N" in value else ""


def _bool(image: Mapping, name: str) -> bool:
    value = image.get(name)
    return isinstance(value, Mapping) and value.get("BOOL") is True


def _table_arn(stream_arn: str) -> str:
    """arn:...:table/NAME/stream/LABEL -> arn:...:table/NAME"""
    return stream_arn.split("/stream/", 1)[0] if "/stream/" in stream_arn else ""


def _changed_at(stream: Mapping[str, Any]) -> datetime:
    """When DynamoDB made the change: Lambda gives epoch seconds, boto3's GetRecords a datetime."""
    value = stream.get("ApproximateCreationDateTime")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    return datetime.now(tz=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")
