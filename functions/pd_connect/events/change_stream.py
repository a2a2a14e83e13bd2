"""One batch of the table's stream records in, lifecycle events out, in order.

Lambda's event source mapping reads the stream and hands over batches; with
ReportBatchItemFailures the answer names the first record whose event was not delivered, and
Lambda retries from there (records before it are done). So an EventBridge outage delays events
and, after the mapping's retries, sends the batch's position to the dead-letter queue: it never
loses one silently and never touches the table (this side can only read the stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pd_connect.events.event_bus import EventBus
from pd_connect.events.lifecycle_events import EventType, StreamChange, UnreadableRecord, classify
from pd_connect.platform.observability import instrumented, logger, record_stream_outcome

if TYPE_CHECKING:
    from pd_connect.container import Container


def forward(records: Iterable[Mapping[str, Any]], bus: EventBus) -> dict[str, list[dict[str, str]]]:
    """Publish the events of `records`; the Lambda answer listing the first undelivered record."""
    changes: list[StreamChange] = []
    stop_at: str | None = None
    for record in records:
        try:
            changes.append(classify(record))
        except UnreadableRecord as error:
            stop_at = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            logger.error("stream record not turned into an event", extra={"reason": str(error), "sequence_number": stop_at})
            break
    events = [change.event for change in changes if change.event is not None]
    delivered, error = bus.publish(events)
    if delivered < len(events):
        first_failed = next(i for i, change in enumerate(changes) if change.event is events[delivered])
        stop_at = changes[first_failed].sequence_number
        changes = changes[:first_failed]  # retried from here: counted when they are delivered
        logger.error(
            "lifecycle events not delivered; the stream retries them",
            extra={"reason": error, "bus": bus.name, "undelivered": len(events) - delivered},
        )
    for event in events[:delivered]:
        logger.info(
            "lifecycle event published",
            extra={"detail_type": event.type.detail_type, "event_id": event.event_id, "connection": event.detail["connection"]},
        )
    record_stream_outcome(
        published=delivered,
        not_delivered=len(events) - delivered,
        refreshes=sum(1 for c in changes if c.refreshed),
        needing_reauthorization=sum(
            1 for c in changes if c.event is not None and c.event.type is EventType.NEEDS_REAUTHORIZATION
        ),
    )
    return {"batchItemFailures": [{"itemIdentifier": stop_at}] if stop_at else []}


def lambda_handler(container: Container) -> Callable[[Any, Any], dict[str, list[dict[str, str]]]]:
    """The events function's Lambda handler: the stream's batches onto the container's bus."""
    bus = EventBus(container.aws.events, container.settings.event_bus_name)

    @instrumented
    def handler(event, context):
        return forward(event.get("Records") or [], bus)

    return handler
