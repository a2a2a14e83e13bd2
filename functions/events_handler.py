"""Lambda handler for the table's DynamoDB stream: connection changes become EventBridge events.

Invoked by the event source mapping in template.yaml (filtered to connection items, batch item
failures reported, retries then the dead-letter queue). It can read the stream and put events on
one bus, nothing else: whatever happens here, the stored connections are untouched.
"""

from pd_connect.events.change_stream import forward
from pd_connect.events.event_bus import EventBus
from pd_connect.platform import aws_clients
from pd_connect.platform.config import load_settings
from pd_connect.platform.observability import instrumented

settings = load_settings(handles_tokens=False)
bus = EventBus(aws_clients.events(), settings.event_bus_name)


@instrumented
def handler(event, context):
    return forward(event.get("Records") or [], bus)
