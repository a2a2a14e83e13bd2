"""The event path as deployed: the table's stream, the mapping that feeds EventsFunction, the
dead-letter queue and its alarm, and the bus parameter."""

import json

from sam_template import deployed, environment, resource, resources_of_type, sam, translated

STREAM = {"Fn::GetAtt": ["ConnectTable", "StreamArn"]}


def _mapping() -> dict:
    (mapping,) = resources_of_type(translated(), "AWS::Lambda::EventSourceMapping").values()
    return mapping["Properties"]


def test_the_table_streams_old_and_new_images_of_every_change():
    table = resource(translated(), "ConnectTable")["Properties"]

    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_exactly_one_mapping_feeds_the_tables_stream_to_the_events_function():
    mapping = _mapping()

    assert mapping["EventSourceArn"] == STREAM
    assert mapping["FunctionName"] == {"Ref": "EventsFunction"}
    assert resource(translated(), "EventsFunction")["Properties"]["Handler"] == "events_handler.handler"


def test_the_events_function_is_no_sam_dynamodb_event_so_no_broad_managed_policy_comes_with_it():
    events = sam()["Resources"]["EventsFunction"]["Properties"].get("Events", {})

    assert events == {}


def test_only_connection_items_invoke_the_function_new_image_for_writes_old_for_deletes():
    patterns = [json.loads(f["Pattern"]) for f in _mapping()["FilterCriteria"]["Filters"]]

    assert patterns == [
        {"dynamodb": {"NewImage": {"kind": {"S": ["connection"]}}}},
        {"dynamodb": {"OldImage": {"kind": {"S": ["connection"]}}}},
    ]


def test_a_batch_that_cannot_be_delivered_is_retried_from_its_first_failure_then_sent_to_the_dlq():
    mapping = _mapping()

    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 1 <= mapping["MaximumRetryAttempts"] <= 20
    # Given up well inside the stream's 24-hour retention, so the batch can still be replayed.
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 6 * 3600
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}}}


def test_the_mapping_adds_no_batching_delay():
    assert _mapping()["MaximumBatchingWindowInSeconds"] == 0


def test_the_dead_letter_queue_is_encrypted_and_keeps_messages_for_the_longest_time_sqs_allows():
    queue = resource(translated(), "EventsDeadLetterQueue")["Properties"]

    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_an_undelivered_batch_trips_the_event_delivery_alarm_at_the_first_message():
    alarm = resource(translated(), "EventDeliveryAlarm")["Properties"]

    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_the_bus_is_a_parameter_defaulting_to_the_accounts_default_bus():
    parameter = translated()["Parameters"]["EventBusName"]

    assert parameter["Default"] == "default"
    assert environment(translated(), "EventsFunction")["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}


def test_a_named_bus_is_what_the_function_may_put_events_on():
    template = deployed(EventBusName="connections")
    (statement,) = [
        s
        for p in resource(template, "EventsFunctionRole")["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if s["Action"] == "events:PutEvents"
    ]

    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}"
    }


def test_the_outputs_name_the_bus_and_the_dead_letter_queue():
    outputs = translated()["Outputs"]

    assert outputs["EventBus"]["Value"] == {"Ref": "EventBusName"}
    assert outputs["EventsDeadLetterQueueUrl"]["Value"] == {"Ref": "EventsDeadLetterQueue"}
