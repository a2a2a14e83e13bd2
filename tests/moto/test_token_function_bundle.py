"""The token function's bundle holds only the pd_connect files it imports (functions/Makefile asks
functions/imported_files.py), and that is enough: every module it loads serving each action is in it."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import FUNCTIONS, REPOSITORY

SERVE_EVERY_ACTION = r"""
import json, sys
from moto import mock_aws
from pathlib import Path
with mock_aws():
    from local.stack.provision import provision_in_this_process
    from local.stack.template import load_template
    import os
    os.environ.update(provision_in_this_process(load_template(Path("template.yaml")), {"client_secret": "s"}))
    os.environ.update(PD_CLIENT_ID="c")
    sys.path.insert(0, "functions")
    before = set(sys.modules)
    import token_handler
    class LambdaContext:
        function_name, memory_limit_in_mb, aws_request_id = "TokenFunction", 512, "r"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:TokenFunction"
    for event in ({"action": "get_token", "connection": "PA/PU"}, {"action": "status", "app_user_id": "u"},
                  {"action": "confirm", "result": "x.y.z", "app_user_id": "u"}, {"action": "disconnect", "app_user_id": "u"}, []):
        token_handler.handler(event, LambdaContext())
    print(json.dumps(sorted(m for m in set(sys.modules) - before if m == "pd_connect" or m.startswith("pd_connect."))))
"""


def _bundled() -> list[str]:
    done = subprocess.run(
        [sys.executable, "imported_files.py", "token_handler.py"], cwd=FUNCTIONS, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_every_module_the_token_function_loads_is_in_its_bundle():
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SERVE_EVERY_ACTION], cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    files = set(_bundled())

    def file_of(module: str) -> set[str]:
        path = module.replace(".", "/")
        return {f"{path}.py", f"{path}/__init__.py"}

    assert "pd_connect.token_function.service" in loaded
    assert [m for m in loaded if not file_of(m) & files] == []


def test_the_token_functions_bundle_carries_no_pages_or_templates():
    files = _bundled()

    assert not {"pd_connect/platform/web.py", "pd_connect/flow/pages.py", "pd_connect/flow/templates", "pd_connect/oauth/pkce.py"} & set(files)
    assert "pd_connect/token_function/service.py" in files
