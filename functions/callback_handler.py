"""Lambda handler for the callback function: GET /callback finishes the OAuth flow and stores
the connection. The route is pd_connect.flow.callback_app; this module only wires it, once per
container.
"""

from pd_connect.platform.lambda_init import collector_paused

with collector_paused():  # the init's objects live as long as the container: collect none of them
    import boto3  # noqa: F401  first, as start_handler.py explains
    from pd_connect.container import process_container
    from pd_connect.flow.callback_app import lambda_handler

    # Wired at init: a missing setting or a page template that cannot render fails the cold start.
    handler = lambda_handler(process_container())
