"""One Lambda invocation in a process of its own, as a cold container of `sam local` runs it.

Run as `python -S function_process.py CODE_DIR HANDLER EXTRA_HOSTS_JSON` with the function's
environment exactly as SAM CLI resolved it, the event on stdin; the handler's result (or Lambda's
`{"errorMessage", "errorType"}`) comes out on stdout, and everything the function prints or logs
on stderr, as a container's log stream. `-S`: only the bundle (CODE_DIR) and what Lambda's Python
runtime provides (boto3 and its dependencies) can be imported, so a library missing from the
bundle fails here as it would in Lambda. Standard library only: this runs the deployed code,
never the project's tooling.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import os
import socket
import sys
import sysconfig
import time
import traceback
import uuid

# What Lambda's python3.13 runtime has besides the standard library (the bundle never carries it).
RUNTIME_PACKAGES = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six"})
HOST_GATEWAY = "127.0.0.1"  # what Docker's `host-gateway` means from a container: this machine


class RuntimePackages:
    """Finds only the runtime's packages in this interpreter's site-packages, after the bundle."""

    def __init__(self) -> None:
        self._where = [sysconfig.get_paths()["purelib"]]

    def find_spec(self, name, path=None, target=None):
        if path is None and name in RUNTIME_PACKAGES:
            return importlib.machinery.PathFinder.find_spec(name, self._where)
        return None


def map_extra_hosts(extra_hosts: dict[str, str]) -> None:
    """`--add-host NAME:IP`, as Docker writes it into a container's /etc/hosts."""
    hosts = {name: HOST_GATEWAY if ip == "host-gateway" else ip for name, ip in extra_hosts.items()}
    resolve = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return resolve(hosts.get(host, host), *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


class LambdaContext:
    def __init__(self, timeout_s: int) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = self.client_context = None
        self._deadline = time.time() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def main() -> int:
    code_dir, handler_name, extra_hosts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    result_stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the function's prints and log lines go to the log stream, as in a container
    sys.stdout = sys.stderr
    sys.path.insert(0, code_dir)
    sys.meta_path.append(RuntimePackages())
    map_extra_hosts(extra_hosts)
    event = json.loads(sys.stdin.read())
    try:
        module_name, _, attribute = handler_name.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        result = handler(event, LambdaContext(int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))))
    except Exception as error:  # noqa: BLE001 - reported as Lambda reports it
        traceback.print_exc()
        result = {"errorMessage": str(error), "errorType": type(error).__name__}
    result_stream.write(json.dumps(result))
    result_stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
