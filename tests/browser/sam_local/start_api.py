"""`sam local start-api` assembled from SAM CLI's own objects, with only Docker replaced.

Runs under SAM CLI's interpreter (.venv-tools), never the project's, and takes the options of
`sam local start-api` that the README's command uses:

    python start_api.py --template .aws-sam/build/template.yaml --env-vars local/sam-local-env.json \\
        --parameter-overrides 'PagerDutyClientId=sam-local-client' --port 3001 [--region R] \\
        --add-host host.docker.internal:host-gateway --function-python PYTHON

What SAM itself does here: reads the template into stacks (SamLocalStackProvider: Globals merged,
intrinsics and parameter overrides resolved), finds the functions (SamFunctionProvider) and the
routes (ApiProvider), resolves each function's environment (LocalLambdaRunner: template values,
shell, env-vars file, AWS region and credentials from the AWS config) and serves the HTTP API
(LocalApigwService: events, routing, response parsing, its 403s and 502s). The options are parsed
by SAM's own click types and its env-vars reader. What replaces SAM's Docker-bound LambdaRuntime:
ProcessRuntime, one process per invocation (function_process.py), like the cold container SAM
starts per request by default.

SAM CLI's internals carry no stability promise. If a piece this needs is gone or changed, this
prints a line starting with INTERNALS_CHANGED and exits 3, so the test fails saying so.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

INTERNALS_CHANGED = 3
INIT_LIMIT_S = 10  # Lambda gives init (imports, clients) its own 10 s; Timeout counts only the handler
FUNCTION_PROCESS = Path(__file__).resolve().with_name("function_process.py")


class InternalsChanged(RuntimeError):
    pass


def _sam():
    """SAM CLI's pieces, imported by the paths 1.170.0 has them at."""
    try:
        from samcli.cli.types import CfnParameterOverridesType, DockerAdditionalHostType
        from samcli.commands.local.cli_common.invoke_context import InvokeContext
        from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
        from samcli.lib.providers.api_provider import ApiProvider
        from samcli.lib.providers.sam_function_provider import SamFunctionProvider
        from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
        from samcli.lib.utils.stream_writer import StreamWriter
        from samcli.local.apigw.local_apigw_service import LocalApigwService
    except ImportError as error:
        raise InternalsChanged(f"cannot import {error.name or error}: {error}") from error
    return argparse.Namespace(**{k: v for k, v in locals().items() if k != "error"})


class ProcessRuntime:
    """Stands in for samcli.local.lambdafn.runtime.LambdaRuntime: same `invoke` contract."""

    def __init__(self, python: str, log) -> None:
        self._python = python
        self._log = log

    def invoke(self, function_config, event, tenant_id=None, *, stdout=None, stderr=None, extra_hosts=None, **_more):
        try:
            env = dict(function_config.env_vars.resolve())
            code_dir, handler = function_config.code_abs_path, function_config.handler
            name, timeout = function_config.name, int(function_config.timeout)
        except AttributeError as error:
            raise InternalsChanged(f"FunctionConfig changed: {error}") from error
        env.update(LAMBDA_TASK_ROOT=str(code_dir), _HANDLER=handler, PYTHONDONTWRITEBYTECODE="1")
        self._log(f"INVOKE {name} region={env.get('AWS_REGION')} handler={handler}")
        command = [self._python, "-S", str(FUNCTION_PROCESS), str(code_dir), handler, json.dumps(extra_hosts or {})]
        try:
            done = subprocess.run(command, input=event, env=env, capture_output=True, text=True, timeout=INIT_LIMIT_S + timeout)
            output, logs = done.stdout, done.stderr
        except subprocess.TimeoutExpired as expired:
            output = ""
            logs = (expired.stderr or b"").decode(errors="replace") + f"\nTask timed out after {timeout} seconds\n"
        if stderr is not None and logs:
            stderr.write_str(logs)
            stderr.flush()
        if stdout is not None and output:
            stdout.write_str(output)
            stdout.flush()
        return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", required=True)
    parser.add_argument("--env-vars")
    parser.add_argument("--parameter-overrides", default="")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--region")
    parser.add_argument("--add-host", action="append", default=[])
    parser.add_argument("--function-python", required=True, help="interpreter with boto3, as Lambda's runtime has")
    args = parser.parse_args(argv)

    # SAM's dev server logs every request line, query string included (codes, states): SAM's
    # behaviour, not the functions'; only its warnings are kept, the functions' logs all are.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        sam = _sam()
        overrides = CfnOverrides(sam, args.parameter_overrides)
        extra_hosts = {}
        for value in args.add_host:
            extra_hosts.update(sam.DockerAdditionalHostType().convert(value, _Option("--add-host"), None))
        template = str(Path(args.template).resolve())
        cwd = str(Path(template).parent)  # InvokeContext.get_cwd(): the template's folder
        stacks, _ = sam.SamLocalStackProvider.get_stacks(
            template,
            parameter_overrides=overrides.values,
            global_parameter_overrides={"AWS::Region": args.region} if args.region else None,
        )
        functions = sam.SamFunctionProvider(stacks)
        api = sam.ApiProvider(stacks, cwd=cwd).api
        runner = sam.LocalLambdaRunner(
            local_runtime=ProcessRuntime(args.function_python, log),
            function_provider=functions,
            cwd=cwd,
            real_path=cwd,
            aws_region=args.region,
            env_vars_values=sam.InvokeContext._get_env_vars_value(args.env_vars) or {},
            extra_hosts=extra_hosts or None,
        )
        service = sam.LocalApigwService(
            api=api,
            lambda_runner=runner,
            static_dir=None,
            port=args.port,
            host=args.host,
            stderr=sam.StreamWriter(sys.stderr, auto_flush=True),
        )
        routes = [(route.function_name, route.path, sorted(route.methods)) for route in api.routes]
        service.create()
    except (InternalsChanged, AttributeError, TypeError) as error:
        print(f"INTERNALS_CHANGED SAM CLI's start-api objects are not what this was written for: {error}", flush=True)
        return INTERNALS_CHANGED
    for function_name, path, methods in routes:
        print(f"ROUTE {function_name} {path} {','.join(methods)}", flush=True)
    print(f"READY http://{args.host}:{args.port}", flush=True)
    service.run()
    return 0


class _Option:
    """The part of a click parameter SAM's types read (its option names, for error messages)."""

    def __init__(self, name: str) -> None:
        self.opts = [name]
        self.name = name.lstrip("-").replace("-", "_")


class CfnOverrides:
    """`--parameter-overrides` as SAM's click type parses it."""

    def __init__(self, sam, text: str) -> None:
        self.values = sam.CfnParameterOverridesType().convert(text, _Option("--parameter-overrides"), None) if text else {}


if __name__ == "__main__":
    sys.exit(main())
