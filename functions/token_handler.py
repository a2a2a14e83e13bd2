"""Lambda handler for the token function (no HTTP route: invoked with lambda:InvokeFunction).

Any backend, in any language, sends one JSON request and gets one JSON answer: a valid access
token, an app user's connections, a linked flow confirmed, a connection deleted. Only this
function and the callback can read the OAuth client secret and use the token key, so the
builder's code needs neither. Wire format: pd_connect/token_function/protocol.py and README,
"Use connections from any backend".
"""

from pd_connect.platform.lambda_init import collector_paused

with collector_paused():  # the init's objects live as long as the container: collect none of them
    import boto3  # noqa: F401  first, as start_handler.py explains
    from pd_connect.container import process_container
    from pd_connect.token_function.service import lambda_handler

    # Wired once per container (settings, clients, the token cache); a bad setting fails here, at init.
    handler = lambda_handler(process_container())
