"""A DynamoDB stream event source mapping, run the way Lambda runs one.

Reads each shard of the stream in order, keeps the records the mapping's FilterCriteria let
through (EventBridge pattern syntax, matched with moto's own matcher), invokes the function with
batches shaped as Lambda delivers them (`eventSourceARN`, epoch-second timestamps), and on
failure does what the mapping's settings say: ReportBatchItemFailures retries from the reported
record, BisectBatchOnFunctionError halves a failing batch, and after MaximumRetryAttempts the
batch's position (never its records) goes to the OnFailure SQS destination, as Lambda's
on-failure record. `poll_once()` is synchronous, for tests; `start()` polls in a thread.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from moto.events.models import EventPattern  # EventBridge's pattern syntax, which FilterCriteria use

LOG = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 100
DEFAULT_MAX_RETRIES = 10  # locally bounded: Lambda's default (-1) retries until the record expires


@dataclass(frozen=True)
class StreamMappingSettings:
    """The resolved properties of one AWS::Lambda::EventSourceMapping."""

    stream_arn: str
    function_name: str
    function_arn: str
    batch_size: int = DEFAULT_BATCH_SIZE
    filters: tuple[Mapping[str, Any], ...] = ()
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False
    max_retries: int = DEFAULT_MAX_RETRIES
    starting_position: str = "TRIM_HORIZON"
    on_failure_queue_arn: str = ""

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any], *, function_name: str, function_arn: str):
        filters = tuple(json.loads(f["Pattern"]) for f in (properties.get("FilterCriteria") or {}).get("Filters", []))
        retries = int(properties.get("MaximumRetryAttempts", DEFAULT_MAX_RETRIES))
        return cls(
            stream_arn=str(properties["EventSourceArn"]),
            function_name=function_name,
            function_arn=function_arn,
            batch_size=int(properties.get("BatchSize", DEFAULT_BATCH_SIZE)),
            filters=filters,
            report_batch_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            max_retries=DEFAULT_MAX_RETRIES if retries < 0 else retries,
            starting_position=str(properties.get("StartingPosition", "TRIM_HORIZON")),
            on_failure_queue_arn=str(
                ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination", "")
            ),
        )


class StreamMapping:
    def __init__(self, settings: StreamMappingSettings, invoke: Callable[[dict], Any], aws_client) -> None:
        """`invoke(event)` runs the function and returns its result (raises on a function error);
        `aws_client(service)` makes boto3 clients for the AWS that holds the stream."""
        self.settings = settings
        self._invoke = invoke
        self._streams = aws_client("dynamodbstreams")
        self._sqs = aws_client("sqs")
        self._iterators: dict[str, str] = {}  # shard -> the iterator to read next (one call per poll)
        self._shard_ids: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent_to_dead_letter_queue = 0

    # --- polling -----------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """Process every record now in the stream; returns how many records were read."""
        with self._lock:
            read = 0
            if not self._shard_ids:
                self._shard_ids = self._shards()
            for shard_id in self._shard_ids:
                records = self._new_records(shard_id)
                read += len(records)
                for start in range(0, len(records), self.settings.batch_size):
                    self._deliver(shard_id, records[start : start + self.settings.batch_size])
            return read

    def start(self, interval: float = 0.5) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.poll_once()
                except (BotoCoreError, ClientError) as exc:
                    LOG.warning("stream %s not read: %s", self.settings.function_name, exc)

        self._thread = threading.Thread(target=loop, name=f"{self.settings.function_name}-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)  # a daemon thread: never hold up Ctrl-C for a poll in flight

    def _shards(self) -> list[str]:
        description = self._streams.describe_stream(StreamArn=self.settings.stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description.get("Shards", [])]

    def _new_records(self, shard_id: str) -> list[dict]:
        iterator = self._iterators.get(shard_id)
        if iterator is None:
            iterator = self._streams.get_shard_iterator(
                StreamArn=self.settings.stream_arn, ShardId=shard_id, ShardIteratorType=self.settings.starting_position
            )["ShardIterator"]
        page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
        records = page["Records"]
        self._iterators[shard_id] = page.get("NextShardIterator") or iterator
        return [lambda_record(r, self.settings.stream_arn) for r in records if self._passes_filters(r)]

    def _passes_filters(self, record: Mapping[str, Any]) -> bool:
        if not self.settings.filters:
            return True
        event = lambda_record(record, self.settings.stream_arn)
        return any(EventPattern(json.dumps(f), f).matches_event(event) for f in self.settings.filters)

    # --- one batch, with Lambda's retry rules -------------------------------------------------------

    def _deliver(self, shard_id: str, batch: list[dict]) -> None:
        attempts = 0
        while batch:
            failed_from = self._run(batch)
            if failed_from is None:
                return
            attempts += 1
            if attempts > self.settings.max_retries:
                self._give_up(shard_id, batch[failed_from:])
                return
            batch = batch[failed_from:]
            if self.settings.bisect_on_error and len(batch) > 1 and failed_from == 0:
                half = len(batch) // 2
                self._deliver(shard_id, batch[:half])
                batch = batch[half:]
                attempts = 0

    def _run(self, batch: list[dict]) -> int | None:
        """None when the batch is done; else the index of the first record to retry."""
        try:
            result = self._invoke({"Records": batch})
        except Exception as exc:  # noqa: BLE001 - a function error means the whole batch is retried
            LOG.warning("%s failed on a stream batch (%s); retrying", self.settings.function_name, exc)
            return 0
        if not self.settings.report_batch_item_failures or not isinstance(result, Mapping):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        reported = str(failures[0].get("itemIdentifier", ""))
        return sequence_numbers.index(reported) if reported in sequence_numbers else 0

    def _give_up(self, shard_id: str, batch: list[dict]) -> None:
        if not self.settings.on_failure_queue_arn:
            LOG.error("%s: stream batch dropped after retries (no on-failure destination)", self.settings.function_name)
            return
        queue_url = self._sqs.get_queue_url(QueueName=self.settings.on_failure_queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(on_failure_record(self.settings, shard_id, batch)))
        self.sent_to_dead_letter_queue += 1
        LOG.error(
            "%s: %d stream record(s) not delivered after %d retries; their position is in the dead-letter queue",
            self.settings.function_name,
            len(batch),
            self.settings.max_retries,
        )


def lambda_record(record: Mapping[str, Any], stream_arn: str) -> dict:
    """A GetRecords record as Lambda's event has it: the source ARN added, times as epoch seconds."""
    shaped = json.loads(json.dumps(record, default=_json_default))
    shaped["eventSourceARN"] = stream_arn
    return shaped


def _json_default(value: Any):
    if isinstance(value, datetime):
        return int(value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp())
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode("ascii")  # Lambda's JSON carries B values base64-encoded
    if hasattr(value, "__float__"):  # Decimal
        return float(value)
    raise TypeError(f"cannot put {type(value).__name__} in a Lambda event")


def on_failure_record(settings: StreamMappingSettings, shard_id: str, batch: list[dict]) -> dict:
    """What Lambda sends to a stream mapping's on-failure destination: the position, not the records."""
    now = datetime.now(tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    arrivals = [r["dynamodb"].get("ApproximateCreationDateTime") for r in batch]
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": settings.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": settings.max_retries + 1,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": ""},
        "version": "1.0",
        "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(arrivals[0]),
            "approximateArrivalOfLastRecord": _iso(arrivals[-1]),
            "batchSize": len(batch),
            "streamArn": settings.stream_arn,
        },
    }


def _iso(epoch: Any) -> str:
    if isinstance(epoch, (int, float)):
        return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return ""
