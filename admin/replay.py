"""Replay lifecycle events whose delivery failed, from the events dead-letter queue.

After its retries, the stream's event source mapping puts the position of each undelivered batch
in the dead-letter queue (shard, first and last sequence number: Lambda never puts the records
themselves there). The records stay in the table's stream for 24 hours; this reads them again,
turns them into the same events (same `event_id`, so consumers that de-duplicate see each once)
and deletes the message only when every event of its batch was delivered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from pd_connect.events.change_stream import forward
from pd_connect.events.event_bus import EventBus

MAX_EMPTY_READS = 5  # an open shard can answer empty pages before the next records


@dataclass
class ReplayReport:
    replayed_batches: int = 0
    records: int = 0
    kept: list[str] = field(default_factory=list)  # why a message stayed in the queue


def replay_dead_letters(sqs, streams, bus: EventBus, queue_url: str) -> ReplayReport:
    report = ReplayReport()
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not messages:
            return report
        for message in messages:
            problem = _replay_one(streams, bus, message["Body"], report)
            if problem:
                report.kept.append(problem)
                # Visible again at once: the next replay (after fixing the cause) finds it.
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                report.replayed_batches += 1
        if report.kept:
            return report  # the rest become visible again later; nothing is lost by stopping


def _replay_one(streams, bus: EventBus, body: str, report: ReplayReport) -> str:
    try:
        info = json.loads(body)["DDBStreamBatchInfo"]
        stream_arn, shard_id = info["streamArn"], info["shardId"]
        first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    except (ValueError, KeyError, TypeError):
        return "a message that is not a stream batch's on-failure record (left in the queue)"
    try:
        records = _records(streams, stream_arn, shard_id, first, last)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"):
            return f"shard {shard_id} {first}-{last}: no longer in the stream ({code}; records last 24 hours)"
        raise
    answer = forward(records, bus)
    if answer["batchItemFailures"]:
        return f"shard {shard_id} {first}-{last}: still not delivered to bus {bus.name}"
    report.records += len(records)
    return ""


def _records(streams, stream_arn: str, shard_id: str, first: int, last: int) -> list[dict]:
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=str(first)
    )["ShardIterator"]
    found: list[dict] = []
    empty_reads = 0
    while iterator and empty_reads < MAX_EMPTY_READS:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        records = page.get("Records", [])
        empty_reads = 0 if records else empty_reads + 1
        for record in records:
            if int(record["dynamodb"]["SequenceNumber"]) > last:
                return found
            found.append({**record, "eventSourceARN": stream_arn})
        if found and int(found[-1]["dynamodb"]["SequenceNumber"]) >= last:
            return found
        iterator = page.get("NextShardIterator")
    return found
