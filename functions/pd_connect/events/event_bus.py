"""Putting lifecycle events on an EventBridge bus.

PutEvents takes at most 10 entries per call and may accept some entries and refuse others
(FailedEntryCount): the result says which events, in order, were not delivered, so the stream
handler can have Lambda retry from the first of them. boto3's standard retries cover throttling.
"""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from pd_connect.events.lifecycle_events import LifecycleEvent
from pd_connect.platform.aws_clients import error_code

MAX_ENTRIES_PER_CALL = 10  # EventBridge's PutEvents limit


class EventBus:
    def __init__(self, client, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    @property
    def name(self) -> str:
        return self._bus_name

    def publish(self, events: Sequence[LifecycleEvent]) -> tuple[int, str]:
        """Put `events` in order; returns how many were delivered before the first failure (all of
        them: len(events)) and, on a failure, its error code. Nothing after a failure is sent."""
        delivered = 0
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            chunk = events[start : start + MAX_ENTRIES_PER_CALL]
            try:
                result = self._client.put_events(Entries=[event.put_events_entry(self._bus_name) for event in chunk])
            except (ClientError, BotoCoreError) as error:
                return delivered, error_code(error)
            for entry in result.get("Entries", []):
                if entry.get("ErrorCode") or not entry.get("EventId"):
                    return delivered, str(entry.get("ErrorCode") or "NoEventId")
                delivered += 1
            if delivered < start + len(chunk):  # fewer entries answered than sent
                return delivered, "MissingEntries"
        return delivered, ""
