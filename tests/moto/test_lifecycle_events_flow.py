"""End to end under moto: the real handlers change the table; its stream, read as the template's
event source mapping reads it, feeds the events function; PutEvents on the bus; a rule (the
README's example) sends them to an SQS queue, where the test reads them. Failures go to the DLQ
and are replayed from it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from pd_connect.client.disconnect import disconnect
from pd_connect.container import Container
from pd_connect.events import change_stream
from pd_connect.events.event_bus import EventBus
from pd_connect.platform.aws_clients import AwsClients
from pd_connect.vault.connections import ConnectionKey, ConnectionStore
from pd_connect.vault.token_cipher import TokenCipher

from admin.replay import replay_dead_letters
from local.stack.streams import StreamMapping, StreamMappingSettings
from tests.flow_driver import LambdaContext

from .conftest import scan_all
from .test_access_tokens import LIFETIME, US_KEY, make_tokens

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
README_RULE_PATTERN = {"source": ["pagerduty-connect"]}
# botocore sends stream calls to ACCOUNT.streams-ddb.REGION when the ARN names an account; moto
# only knows the classic streams.dynamodb.REGION host.
CLASSIC_ENDPOINTS = Config(account_id_endpoint_mode="disabled")


def client(service: str):
    return boto3.client(service, config=CLASSIC_ENDPOINTS)


class Unreachable:
    def put_events(self, **_):
        raise EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com")


class EventPath:
    """The template's mapping and the events function, plus the README's rule to an SQS queue."""

    def __init__(self, aws, template, *, bus_name: str = "default") -> None:
        self.aws = aws
        self.sqs = boto3.client("sqs")
        self.events = boto3.client("events")
        stream_arn = aws.dynamodb.describe_table(TableName=aws.table_name)["Table"]["LatestStreamArn"]
        self.dlq_url = self.sqs.get_queue_url(QueueName="local-EventsDeadLetterQueue")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        (spec,) = template.stream_mappings
        properties = {
            **{k: v for k, v in spec.properties.items() if k != "FunctionName"},
            "EventSourceArn": stream_arn,
            "DestinationConfig": {"OnFailure": {"Destination": dlq_arn}},
        }
        self.settings = StreamMappingSettings.from_properties(
            properties, function_name=spec.function_id, function_arn="arn:aws:lambda:us-east-1:123456789012:function:x"
        )
        self.handler = change_stream.lambda_handler(Container())  # the events function's own container
        self.invocations: list[dict] = []
        self.mapping = StreamMapping(self.settings, self._invoke, client)
        self.queue_url = self.sqs.create_queue(QueueName="connection-events")["QueueUrl"]
        self.subscribe(bus_name)

    def subscribe(self, bus_name: str) -> None:
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(
            Name="pagerduty-connections", EventBusName=bus_name, EventPattern=json.dumps(README_RULE_PATTERN)
        )
        self.events.put_targets(
            Rule="pagerduty-connections", EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )

    def bus_down(self, monkeypatch) -> None:
        """EventBridge unreachable for the events function (as far as its boto3 client can tell)."""
        self.handler = change_stream.lambda_handler(Container(aws=AwsClients({"events": Unreachable()})))

    def _invoke(self, event: dict):
        self.invocations.append(event)
        return self.handler(event, LambdaContext())

    def received(self) -> list[dict]:
        """Let the mapping read the stream now, then everything the rule delivered to the queue."""
        self.mapping.poll_once()
        found = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def dead_letters(self) -> list[dict]:
        answer = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


@pytest.fixture
def event_path(handlers, aws, template, monkeypatch):
    monkeypatch.setenv("EVENT_BUS_NAME", "default")
    return EventPath(aws, template)


def _types(events: list[dict]) -> list[str]:
    return [event["detail-type"] for event in events]


def _store(aws) -> ConnectionStore:
    return ConnectionStore(aws.dynamodb, aws.table_name, TokenCipher(aws.kms, aws.key_id))


def test_every_kind_of_connection_change_reaches_an_sqs_queue_through_the_readmes_rule(
    event_path, browser, aws, standin, log_scan
):
    assert browser.connect(login="PADA001")["statusCode"] == 200
    created = event_path.received()
    assert browser.connect(login="PADA001")["statusCode"] == 200
    reconnected = event_path.received()
    make_tokens(aws, offset=LIFETIME).get(US_KEY)  # a refresh: no lifecycle event
    refreshed = event_path.received()
    standin.faults.set(endpoint="token", kind="invalid_grant", times=1)
    with pytest.raises(Exception, match="invalid_grant"):
        make_tokens(aws, offset=2 * LIFETIME).get(US_KEY)
    needs_reauthorization = event_path.received()
    assert disconnect(US_KEY, _store(aws))
    deleted = event_path.received()

    assert _types(created) == ["PagerDuty Connection Created"]
    assert _types(reconnected) == ["PagerDuty Connection Reconnected"]
    assert refreshed == []
    assert _types(needs_reauthorization) == ["PagerDuty Connection Needs Reauthorization"]
    assert _types(deleted) == ["PagerDuty Connection Deleted"]
    everything = created + reconnected + needs_reauthorization + deleted
    assert {e["source"] for e in everything} == {"pagerduty-connect"}
    assert {e["detail"]["connection"] for e in everything} == {"PACMEUS/PADA001"}
    assert needs_reauthorization[0]["detail"]["reauthorization_reason"] == "invalid_grant on refresh"
    table_arn = aws.dynamodb.describe_table(TableName=aws.table_name)["Table"]["TableArn"]
    assert {tuple(e["resources"]) for e in everything} == {(table_arn,)}
    assert len({e["detail"]["event_id"] for e in everything}) == 4
    text = json.dumps(everything)
    assert "pdus+" not in text and [value for value in log_scan.values if value in text] == []
    _write_examples(everything)


def test_a_linked_flow_gives_no_event_until_confirmed_then_one_confirmed_event(event_path, browser, aws):
    from pd_connect.client.confirmations import confirm_connection

    from tests.moto.test_linked_flow import link, result_of

    result = result_of(browser.connect(login="PADA001", query=link("app-user-1")))
    assert event_path.received() == []  # the unconfirmed item is filtered out: nothing usable yet

    confirm_connection(result, "app-user-1")
    events = event_path.received()

    assert _types(events) == ["PagerDuty Connection Confirmed"]
    confirmed = events[-1]["detail"]
    assert confirmed["connection"] == "PACMEUS/PADA001/app-user-1"
    assert confirmed["confirmed_at"] and confirmed["reconnected"] is False
    _write_examples(events[-1:])


def test_no_event_carries_a_token_ciphertext_code_or_secret(event_path, browser, aws, standin, log_scan):
    assert browser.connect(login="PADA001")["statusCode"] == 200
    assert browser.connect(login="PGRACE1")["statusCode"] == 200
    make_tokens(aws, offset=LIFETIME).get(US_KEY)
    standin.faults.set(endpoint="token", kind="invalid_grant", times=1)
    with pytest.raises(Exception, match="invalid_grant"):
        make_tokens(aws, offset=2 * LIFETIME).get(US_KEY)
    ciphertexts = [base64.b64encode(i["tokens"]["B"]).decode() for i in scan_all(aws) if "tokens" in i]
    disconnect(US_KEY, _store(aws))

    events = event_path.received()
    text = json.dumps(events)

    assert len(events) == 4
    assert ciphertexts and not [c for c in ciphertexts if c in text or c[:40] in text]
    secrets = [value for value in log_scan.values if value in text]  # every code, token, state, secret the run made
    assert secrets == []
    assert "pdus+" not in text and "tokens" not in text and "secret" not in text.lower()
    # The stream records handed to the function did hold the ciphertext: the allow-list kept it out.
    assert any(c[:40] in json.dumps(event_path.invocations) for c in ciphertexts)
    _write_examples(events)


def _write_examples(events: list[dict]) -> None:
    """One example of each type seen in this run, for the README and reviewers (test-artifacts/)."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "lifecycle-events.json"
    examples = json.loads(target.read_text()) if target.exists() else {}
    examples.update({event["detail-type"]: event for event in events})
    target.write_text(json.dumps(examples, indent=2, sort_keys=True) + "\n")


def test_a_redelivered_batch_gives_events_with_the_same_ids_to_de_duplicate(event_path, browser):
    assert browser.connect(login="PADA001")["statusCode"] == 200
    first = event_path.received()
    (batch,) = event_path.invocations

    event_path.handler(batch, LambdaContext())  # Lambda delivering the same records again
    again = event_path.received()

    assert [e["detail"]["event_id"] for e in again] == [e["detail"]["event_id"] for e in first]
    assert again[0]["id"] != first[0]["id"]  # EventBridge's own id is new: de-duplicate on detail.event_id


def test_an_undeliverable_batch_is_retried_then_sent_to_the_dlq_and_the_connection_is_untouched(
    event_path, aws, browser, monkeypatch
):
    path = event_path
    path.bus_down(monkeypatch)

    assert browser.connect(login="PADA001")["statusCode"] == 200
    stored = scan_all(aws)
    path.received()

    assert len(path.invocations) == path.settings.max_retries + 1  # the first try and every retry
    (dead_letter,) = path.dead_letters()
    info = dead_letter["DDBStreamBatchInfo"]
    assert dead_letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["startSequenceNumber"] == path.invocations[0]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert "Records" not in json.dumps(dead_letter) and "tokens" not in json.dumps(dead_letter)
    assert scan_all(aws) == stored  # the event path never writes to the table
    assert browser.connect(login="PADA001")["statusCode"] == 200  # and connecting goes on working


def test_replaying_the_dlq_once_the_bus_is_back_delivers_the_same_events_and_empties_it(
    event_path, browser, monkeypatch
):
    path = event_path
    events = boto3.client("events")
    path.bus_down(monkeypatch)
    assert browser.connect(login="PADA001")["statusCode"] == 200
    path.received()
    stream_ids = [r["eventID"] for r in path.invocations[0]["Records"]]

    still_down = replay_dead_letters(client("sqs"), client("dynamodbstreams"), EventBus(Unreachable(), "default"), path.dlq_url)
    replayed = replay_dead_letters(client("sqs"), client("dynamodbstreams"), EventBus(events, "default"), path.dlq_url)
    delivered = path.received()

    assert still_down.replayed_batches == 0 and len(still_down.kept) == 1 and "still not delivered" in still_down.kept[0]
    assert (replayed.replayed_batches, replayed.records, replayed.kept) == (1, 1, [])
    assert [e["detail"]["event_id"] for e in delivered] == stream_ids
    assert _types(delivered) == ["PagerDuty Connection Created"]
    assert path.dead_letters() == []


def test_the_admin_cli_replays_the_dlq(event_path, browser, monkeypatch, capsys):
    from admin.cli import main

    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")  # see CLASSIC_ENDPOINTS
    path = event_path
    path.bus_down(monkeypatch)
    assert browser.connect(login="PADA001")["statusCode"] == 200
    path.received()

    code = main(["replay-events", "--queue-url", path.dlq_url])

    assert code == 0
    assert "replayed 1 batch(es), 1 stream record(s) to bus default" in capsys.readouterr().out
    assert _types(path.received()) == ["PagerDuty Connection Created"]


def test_the_connection_key_in_events_is_the_one_the_library_takes(event_path, browser):
    assert browser.connect(login="PADA001")["statusCode"] == 200

    (event,) = event_path.received()

    assert ConnectionKey.parse(event["detail"]["connection"]) == US_KEY
