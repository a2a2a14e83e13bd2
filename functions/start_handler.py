"""Lambda handler for the start function: GET / (landing page), /favicon.ico and /authorize,
and, through the template's $default route, the 404/405 pages. The routes are
pd_connect.flow.start_app; this module only wires them, once per container.
"""

from pd_connect.container import process_container
from pd_connect.flow.start_app import lambda_handler

# Wired at init: a missing setting or a page template that cannot render fails the cold start.
handler = lambda_handler(process_container())
