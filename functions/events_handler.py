"""Lambda handler for the table's DynamoDB stream: connection changes become EventBridge events.

Invoked by the event source mapping in template.yaml (filtered to connection items, batch item
failures reported, retries then the dead-letter queue). It can read the stream and put events on
one bus, nothing else: whatever happens here, the stored connections are untouched.
"""

from pd_connect.platform.lambda_init import collector_paused

with collector_paused():  # the init's objects live as long as the container: collect none of them
    import boto3  # noqa: F401  first, as start_handler.py explains
    from pd_connect.container import process_container
    from pd_connect.events.change_stream import lambda_handler

    # Wired once per container: settings and the bus.
    handler = lambda_handler(process_container())
