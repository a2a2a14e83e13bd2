"""Cold start as Lambda runs it: the `sam build` bundles imported by Python 3.13 (the runtime's
version), each with the bytecode the build put in it, and the same bundle stripped of bytecode,
against two baselines on the same interpreter: boto3 alone with the same clients, and the
named-package floor (the packages the function needs, imported and created: boto3 and its
clients, Powertools' Logger, Metrics and (callback) SecretsProvider, requests' Session for the
callback), imported from the same bundle so they use the same bytecode. Median of N interleaved
rounds of fresh processes, wall (perf_counter) and CPU (process_time) time of each child's init,
and the median of each round's own ratio (paired: a round's processes ran side by side).

The handlers pause the garbage collector during their init (pd_connect/platform/lambda_init.py),
which the floor as defined does not: a third baseline, the floor with the collector paused the
same way, leaves only the package's own code in the ratio.

Needs a Python 3.13 (python3.13 on PATH, or one pyenv has installed: the same search as
functions/Makefile). boto3 for it is installed at the repository's pin into .venv-bench313, as
the runtime ships boto3 precompiled. Without a Python 3.13 the part reports itself skipped.

    python -m bench.runtime_cold_start --out bench-results/runtime_cold_start.json [--runs 15]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import REPOSITORY, handler_environment, write_json

BUILD = REPOSITORY / ".aws-sam" / "build"
VENV = REPOSITORY / ".venv-bench313"
BASELINES = {
    "start": "import boto3; boto3.client('dynamodb')",
    "callback": "import boto3; boto3.client('dynamodb'); boto3.client('kms'); boto3.client('secretsmanager')",
}
_POWERTOOLS = (
    "from aws_lambda_powertools import Logger, Metrics; Logger(service='pagerduty-connect'); "
    "Metrics(namespace='PagerDutyConnect', service='pagerduty-connect')"
)
FLOORS = {
    "start": f"{BASELINES['start']}; {_POWERTOOLS}",
    "callback": (
        f"{BASELINES['callback']}; {_POWERTOOLS}; import requests; requests.Session(); "
        "from aws_lambda_powertools.utilities.parameters import SecretsProvider; "
        "SecretsProvider(boto3_client=boto3.client('secretsmanager'))"
    ),
}
def paused(code: str) -> str:
    """`code` with the collector paused and the result frozen, as the handlers' init runs."""
    return f"import gc; gc.disable(); {code}; gc.freeze(); gc.enable()"


HANDLERS = {
    "start": ("StartFunction", "import start_handler"),
    # the callback builds its Secrets Manager client (and the secret cache) at init
    "callback": ("CallbackFunction", "import callback_handler"),
}


def find_python313() -> str | None:
    candidates = ["python3.13"]
    try:
        versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True, check=True).stdout.split()
        for version in sorted(v for v in versions if re.match(r"^3\.13(\.|$)", v)):
            found = subprocess.run(
                ["pyenv", "which", "python3.13"], capture_output=True, text=True, env={**handler_environment(), "PYENV_VERSION": version}
            ).stdout.strip()
            candidates.append(found)
    except (OSError, subprocess.CalledProcessError):
        pass
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"], capture_output=True, text=True)
        except OSError:
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return None


def boto3_pin() -> str:
    for line in (REPOSITORY / "requirements-run.txt").read_text().splitlines():
        if line.startswith("boto3=="):
            return line.strip()
    return "boto3"


def runtime_python(python313: str) -> str:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([python313, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", boto3_pin()], check=True)
    return str(python)


def one_run(python: str, code: str, cwd: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of `code` in a fresh process."""
    program = (
        "import time; w, c = time.perf_counter(), time.process_time(); "
        f"{code}; print(time.perf_counter() - w, time.process_time() - c)"
    )
    env = handler_environment(PYTHONDONTWRITEBYTECODE="1")  # each run a fresh Lambda: nothing cached on disk
    done = subprocess.run([python, "-c", program], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    wall, cpu = done.stdout.split()[-2:]
    return float(wall), float(cpu)


def measure(runs: int) -> dict:
    python313 = find_python313()
    if not python313:
        return {"skipped": "no Python 3.13 on this machine"}
    if not all((BUILD / function).exists() for function, _ in HANDLERS.values()):
        return {"skipped": "no .aws-sam/build: run `make build` (or the package_size part) first"}
    python = runtime_python(python313)
    with tempfile.TemporaryDirectory() as scratch:
        stripped = Path(scratch) / "build"
        shutil.copytree(BUILD, stripped)
        for cache in stripped.rglob("*.pyc"):
            cache.unlink()
        variants = {}
        for kind, (function, code) in HANDLERS.items():
            variants[(kind, "baseline")] = (BASELINES[kind], Path(scratch))
            variants[(kind, "floor")] = (FLOORS[kind], BUILD / function)  # the bundle's own Powertools, requests
            variants[(kind, "floor_paused")] = (paused(FLOORS[kind]), BUILD / function)
            variants[(kind, "bundle")] = (code, BUILD / function)
            variants[(kind, "bundle_without_bytecode")] = (code, stripped / function)
        samples: dict = {key: [] for key in variants}
        order = list(variants)
        for key in order:  # one untimed run each: disk cache warm, errors surface early
            one_run(python, *variants[key])
        rng = random.Random(13)
        for _ in range(runs):
            rng.shuffle(order)
            for key in order:
                samples[key].append(one_run(python, *variants[key]))
    result: dict = {"python": python313 and subprocess.run([python, "-V"], capture_output=True, text=True).stdout.strip(), "runs": runs, "handlers": {}}
    for kind in HANDLERS:
        medians = {
            (variant, clock): statistics.median(sample[index] for sample in samples[(kind, variant)])
            for variant in ("baseline", "floor", "floor_paused", "bundle", "bundle_without_bytecode")
            for index, clock in enumerate(("wall", "cpu"))
        }

        def paired(variant: str, index: int) -> float:  # the median of each round's bundle ÷ variant
            rounds = zip(samples[(kind, "bundle")], samples[(kind, variant)])
            return round(statistics.median(bundle[index] / other[index] for bundle, other in rounds), 3)

        pycs = sum(1 for _ in (BUILD / HANDLERS[kind][0]).rglob("*.cpython-313.pyc"))
        entry: dict = {"bytecode_files": pycs}
        for index, clock in enumerate(("wall", "cpu")):
            bundle = medians[("bundle", clock)]
            entry[clock] = {
                "baseline_ms_median": round(medians[("baseline", clock)] * 1000, 1),
                "floor_ms_median": round(medians[("floor", clock)] * 1000, 1),
                "paused_floor_ms_median": round(medians[("floor_paused", clock)] * 1000, 1),
                "bundle_ms_median": round(bundle * 1000, 1),
                "without_bytecode_ms_median": round(medians[("bundle_without_bytecode", clock)] * 1000, 1),
                "bundle_ratio": round(bundle / medians[("baseline", clock)], 3),
                "floor_ratio": round(bundle / medians[("floor", clock)], 3),
                "paused_floor_ratio": round(bundle / medians[("floor_paused", clock)], 3),
                "paired_bundle_ratio": paired("baseline", index),
                "paired_floor_ratio": paired("floor", index),
                "paired_paused_floor_ratio": paired("floor_paused", index),
                "without_bytecode_ratio": round(medians[("bundle_without_bytecode", clock)] / medians[("baseline", clock)], 3),
            }
        # kept at the top level for the report's existing rows: the wall figures
        entry.update({key: value for key, value in entry["wall"].items()})
        entry["meets_target"] = entry["wall"]["bundle_ratio"] <= 1.20
        entry["meets_floor_target"] = entry["wall"]["floor_ratio"] <= 1.05 and entry["cpu"]["floor_ratio"] <= 1.05
        result["handlers"][kind] = entry
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.runtime_cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    result = measure(args.runs)
    write_json(args.out, result)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
