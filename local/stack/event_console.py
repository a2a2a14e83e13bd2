"""Shows, one console line each, the lifecycle events the local stack's EventBridge received.

The way a builder would listen: an EventBridge rule on the bus (source pagerduty-connect) with
an SQS queue as its target, and a reader of that queue. So each line is proof that the event
went the whole way: table stream -> EventsFunction -> PutEvents -> rule -> SQS.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger(__name__)
SOURCE = "pagerduty-connect"
RULE_NAME = "local-lifecycle-events-console"
QUEUE_NAME = "local-lifecycle-events-console"


def describe(event: dict) -> str:
    """One readable line for an EventBridge event of ours (never more than its documented detail)."""
    detail = event.get("detail") or {}
    parts = [f"{event.get('detail-type', '?')}: {detail.get('connection', '?')}"]
    if detail.get("region"):
        parts.append(f"region {detail['region']}")
    if detail.get("scopes"):
        parts.append(f"scopes {' '.join(detail['scopes'])}")
    if detail.get("reauthorization_reason"):
        parts.append(f"reason {detail['reauthorization_reason']}")
    if "reconnected" in detail:
        parts.append("again" if detail["reconnected"] else "first time")
    parts.append(f"id {detail.get('event_id', '?')}")
    return "event  " + ", ".join(parts)


class EventConsole:
    def __init__(self, aws_client: Callable[[str], object], bus_name: str, show: Callable[[str], None] | None = None):
        self._events = aws_client("events")
        self._sqs = aws_client("sqs")
        self._bus = bus_name
        self._show = show or (lambda line: LOG.info("%s", line))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.queue_url = ""

    def subscribe(self) -> None:
        """The rule and its queue (what README's example rule sets up in a real account)."""
        self.queue_url = self._sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._events.put_rule(
            Name=RULE_NAME, EventBusName=self._bus, EventPattern=json.dumps({"source": [SOURCE]}), State="ENABLED"
        )
        self._events.put_targets(Rule=RULE_NAME, EventBusName=self._bus, Targets=[{"Id": "console", "Arn": arn}])

    def read_once(self, wait_seconds: int = 0) -> list[dict]:
        """Receive, show and delete what the queue holds now; returns the events."""
        answer = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        events = []
        for message in answer.get("Messages", []):
            event = json.loads(message["Body"])
            events.append(event)
            self._show(describe(event))
            self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return events

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.read_once(wait_seconds=1)  # a long poll: one call a second when idle
                except (BotoCoreError, ClientError) as exc:
                    LOG.warning("lifecycle events not read: %s", exc)
                    self._stop.wait(1)

        self._thread = threading.Thread(target=loop, name="event-console", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)  # a daemon thread: never hold up Ctrl-C for a poll in flight
