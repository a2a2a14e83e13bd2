"""Lambda handler for the token function (no HTTP route: invoked with lambda:InvokeFunction).

Any backend, in any language, sends one JSON request and gets one JSON answer: a valid access
token, an app user's connections, a linked flow confirmed, a connection deleted. Only this
function and the callback can read the OAuth client secret and use the token key, so the
builder's code needs neither. Wire format: pd_connect/token_function/protocol.py and README,
"Use connections from any backend".
"""

from pd_connect.platform.observability import instrumented
from pd_connect.token_function.service import default_token_service

service = default_token_service()  # wired once per container: clients, settings, token cache


@instrumented
def handler(event, context):
    return service.answer(event)
