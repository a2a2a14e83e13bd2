"""Lambda handler for the start function: GET / (landing page), /favicon.ico and /authorize,
and, through the template's $default route, the 404/405 pages. The routes are
pd_connect.flow.start_app; this module only wires them, once per container.
"""

from pd_connect.platform.lambda_init import collector_paused

with collector_paused():  # the init's objects live as long as the container: collect none of them
    # boto3 first: imported from deep inside the package's own imports, Python 3.13 allocated and
    # freed a frame-stack chunk some 300 times while boto3 loaded (strace: 518 mmap calls in the
    # cold start instead of 212, and as many page faults).
    import boto3  # noqa: F401
    from pd_connect.container import process_container
    from pd_connect.flow.start_app import lambda_handler

    # Wired at init: a missing setting or a page template that cannot render fails the cold start.
    handler = lambda_handler(process_container())
