"""Cold init of each handler in a fresh process, as a ratio to boto3 building the same clients.

A Lambda cold start runs the handler module's top level once: imports, settings, clients. That is
measured here in a fresh interpreter per sample, with `time.perf_counter` around the import inside
the child; the parent also times the whole child (spawn to exit) as a second figure.
The baseline is a process that imports boto3 and creates the same clients with the same Config:
what any Python Lambda using these services pays anyway. The ratio is our own cost on top.

- start:    import start_handler (its DynamoDB client is built at import)
- callback: import callback_handler (DynamoDB, KMS and Secrets Manager clients at import)

Bytecode is controlled, not left to whatever __pycache__ folders exist: every child reads
bytecode from one private pycache prefix that an untimed first run fills, so the figures are the
import and init work itself. Kinds are interleaved in a shuffled order each round (the machine is
noisy: only figures from the same run are compared).

Two more figures, when their inputs are there:
- as deployed: the handler and the libraries bundled with it imported from `.aws-sam/build/<Function>`
  (what `sam build` zips) with no bytecode, as Lambda runs a zip that carries none (it cannot
  write any either), against the same precompiled baseline;
- instructions: with valgrind installed, each kind once under cachegrind: instructions executed
  by the init (the interpreter's own start-up subtracted), a ratio the machine's noise can't move.

`python -m bench.cold_start --explain` lists what each handler imports beyond the baseline, with
`-X importtime` cumulative times.
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
import time
from pathlib import Path

from .common import FUNCTIONS, REPOSITORY, handler_environment, write_json

_CONFIG = 'Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 3})'

# What each child runs between the two clock readings. `time`, `sys` and `gc` are built in, so
# nothing measured is imported before t0.
INIT = {
    "start": "import start_handler",
    "callback": (
        "import callback_handler  # its Secrets Manager client too: the callback builds it at init"
    ),
    "boto3_start": (
        f'import boto3\nfrom botocore.config import Config\nconfig = {_CONFIG}\nboto3.client("dynamodb", config=config)'
    ),
    "boto3_callback": (
        "import boto3\n"
        "from botocore.config import Config\n"
        f"config = {_CONFIG}\n"
        'boto3.client("dynamodb", config=config)\n'
        'boto3.client("kms", config=config)\n'
        'boto3.client("secretsmanager", config=config)'
    ),
}
BASELINE_OF = {"start": "boto3_start", "callback": "boto3_callback"}
BUILT_FUNCTION = {"start": "StartFunction", "callback": "CallbackFunction"}
TARGET_RATIO = 1.20

# The child also reports the garbage collector's share: a full (generation 2) collection during
# init costs tens of milliseconds, and whether one happens depends on how many objects the
# process allocated in total, so it can fall on one side of a comparison and not the other.
_CHILD = """\
import gc, sys, time
gc_seconds, gc_full, gc_began = [0.0], [0], [0.0]
def gc_timer(phase, info):
    if phase == "start":
        gc_began[0] = time.perf_counter()
    else:
        gc_seconds[0] += time.perf_counter() - gc_began[0]
        gc_full[0] += info["generation"] == 2
gc.callbacks.append(gc_timer)
t0, c0 = time.perf_counter(), time.process_time()
{init}
t1, c1 = time.perf_counter(), time.process_time()
print(t1 - t0, c1 - c0, gc_seconds[0], gc_full[0], len(sys.modules), flush=True)
"""


def child_code(kind: str) -> str:
    return _CHILD.format(init=INIT[kind])


class Children:
    """Starts the measured processes: same interpreter, same environment, bytecode as chosen."""

    def __init__(self, pycache_prefix: Path) -> None:
        self.env = handler_environment(PYTHONDONTWRITEBYTECODE="1")
        self.pycache_prefix = pycache_prefix

    def command(self, kind: str, *, deployed: bool = False) -> list[str]:
        if deployed:  # the bundle from `sam build`, no bytecode; boto3 from this environment
            return [sys.executable, "-c", child_code(kind)]
        return [sys.executable, "-X", f"pycache_prefix={self.pycache_prefix}", "-c", child_code(kind)]

    @staticmethod
    def cwd(kind: str, *, deployed: bool = False) -> Path:
        # `-c` puts the working directory first on sys.path: that is where the handler is found.
        return built_function(kind) if deployed else FUNCTIONS

    def fill_pycache(self) -> None:
        env = {k: v for k, v in self.env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for kind in INIT:
            subprocess.run(self.command(kind), cwd=FUNCTIONS, env=env, capture_output=True, check=True)

    def run(self, kind: str, *, deployed: bool = False) -> dict[str, float]:
        """One fresh process: its init (wall and CPU seconds, GC share), its whole wall time as
        the parent sees it, and how many modules it loaded."""
        started = time.perf_counter()
        child = subprocess.Popen(
            self.command(kind, deployed=deployed),
            cwd=self.cwd(kind, deployed=deployed),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        output, errors = child.communicate()
        wall = time.perf_counter() - started
        line = output if child.returncode == 0 else ""
        if not line:
            raise RuntimeError(f"cold start child {kind} failed:\n{errors[-2000:]}")
        init, cpu, gc_s, gc_full, modules = line.split()
        return {
            "init_s": float(init),
            "cpu_s": float(cpu),
            "gc_s": float(gc_s),
            "wall_s": wall,
            "gc_full": int(gc_full),
            "modules": int(modules),
        }


def built_function(kind: str) -> Path:
    return REPOSITORY / ".aws-sam" / "build" / BUILT_FUNCTION[kind]


def measure(runs: int, *, deployed: bool = True, instructions: bool = True, seed: int = 6) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as prefix:
        children = Children(Path(prefix))
        children.fill_pycache()
        variants = [(kind, False) for kind in INIT]
        if deployed and all((built_function(k) / f"{k}_handler.py").exists() for k in BASELINE_OF):
            variants += [(kind, True) for kind in BASELINE_OF]
        for kind, is_deployed in variants:  # one untimed run each: disk cache warm, errors early
            children.run(kind, deployed=is_deployed)
        samples: dict[tuple[str, bool], dict[str, list]] = {variant: {} for variant in variants}
        order = random.Random(seed)
        for _ in range(runs):
            order.shuffle(variants)
            for kind, is_deployed in variants:
                for key, value in children.run(kind, deployed=is_deployed).items():
                    samples[(kind, is_deployed)].setdefault(key, []).append(value)
        counted = count_instructions(children, deployed=any(d for _, d in variants)) if instructions else {}

    result: dict = {"runs": runs, "target_ratio": TARGET_RATIO, "handlers": {}}
    for handler, baseline in BASELINE_OF.items():
        mine, base = samples[(handler, False)], samples[(baseline, False)]
        figures = {
            "baseline": baseline,
            "init_ms_median": _median_ms(mine["init_s"]),
            "baseline_init_ms_median": _median_ms(base["init_s"]),
            "init_ratio": _ratio(mine["init_s"], base["init_s"]),
            # The median of per-round ratios: less sensitive to drift across the run.
            "init_ratio_paired_median": round(
                statistics.median(m / b for m, b in zip(mine["init_s"], base["init_s"], strict=True)), 3
            ),
            "cpu_ratio": _ratio(mine["cpu_s"], base["cpu_s"]),
            "wall_ms_median": _median_ms(mine["wall_s"]),
            "baseline_wall_ms_median": _median_ms(base["wall_s"]),
            "wall_ratio": _ratio(mine["wall_s"], base["wall_s"]),
            "gc_ms_median": _median_ms(mine["gc_s"]),
            "baseline_gc_ms_median": _median_ms(base["gc_s"]),
            "full_gc_collections": mine["gc_full"][0],
            "baseline_full_gc_collections": base["gc_full"][0],
            "modules": mine["modules"][0],
            "baseline_modules": base["modules"][0],
        }
        figures["meets_target"] = figures["init_ratio"] <= TARGET_RATIO
        if (handler, True) in samples:
            deployed_samples = samples[(handler, True)]
            figures["deployed_init_ms_median"] = _median_ms(deployed_samples["init_s"])
            figures["deployed_init_ratio"] = _ratio(deployed_samples["init_s"], base["init_s"])
            figures["deployed_modules"] = deployed_samples["modules"][0]
        if handler in counted:
            figures.update(counted[handler])
        result["handlers"][handler] = figures
    result["samples_ms"] = {
        ("deployed_" if is_deployed else "") + kind: {
            key: [round(v * 1000, 2) for v in values] for key, values in figures.items() if key.endswith("_s")
        }
        for (kind, is_deployed), figures in samples.items()
    }
    return result


def _median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 1)


def _ratio(mine: list[float], base: list[float]) -> float:
    return round(statistics.median(mine) / statistics.median(base), 3)


def count_instructions(children: Children, *, deployed: bool) -> dict[str, dict]:
    """Instructions each init executes, under valgrind (cachegrind, no cache simulation): the same
    number every run, so a change too small for the clock shows here. Empty without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return {}

    def instructions(command: list[str], cwd: Path) -> int:
        code_at = command.index("-c") + 1
        command = [*command[:code_at], command[code_at] + "import os\nos._exit(0)\n"]  # no teardown
        done = subprocess.run(
            [valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *command],
            cwd=cwd,
            env=children.env,
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"valgrind failed on {command}:\n{done.stderr[-2000:]}")
        return int(found.group(1).replace(",", ""))

    start_up = instructions(
        [sys.executable, "-X", f"pycache_prefix={children.pycache_prefix}", "-c", "pass\n"], FUNCTIONS
    )
    counted = {}
    for handler, baseline in BASELINE_OF.items():
        mine = instructions(children.command(handler), FUNCTIONS) - start_up
        base = instructions(children.command(baseline), FUNCTIONS) - start_up
        counted[handler] = {
            "instructions_m": round(mine / 1e6, 1),
            "baseline_instructions_m": round(base / 1e6, 1),
            "instructions_ratio": round(mine / base, 3),
        }
        if deployed:
            as_deployed = instructions(children.command(handler, deployed=True), built_function(handler)) - start_up
            counted[handler]["deployed_instructions_m"] = round(as_deployed / 1e6, 1)
            counted[handler]["deployed_instructions_ratio"] = round(as_deployed / base, 3)
    return counted


def explain(kind: str, top: int = 25) -> str:
    """Modules `kind` imports that its baseline does not, by cumulative `-X importtime` (µs)."""

    def importtimes(which: str) -> dict[str, tuple[int, int]]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", child_code(which)],
            cwd=FUNCTIONS,
            env=handler_environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        rows = {}
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
            rows[name.strip()] = (int(self_us), int(cumulative_us))
        return rows

    mine, base = importtimes(kind), importtimes(BASELINE_OF[kind])
    extra = {name: row for name, row in mine.items() if name not in base}
    self_ms = sum(row[0] for row in extra.values()) / 1000
    lines = [f"{kind}: {len(extra)} modules beyond {BASELINE_OF[kind]}, {self_ms:.1f} ms self time"]
    lines.append(f"{'self ms':>8} {'cumul ms':>8}  module")
    for name, (self_us, cumulative_us) in sorted(extra.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"{self_us / 1000:8.1f} {cumulative_us / 1000:8.1f}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-deployed", action="store_true", help="skip the .aws-sam/build figures")
    parser.add_argument("--no-instructions", action="store_true", help="skip the valgrind instruction counts")
    parser.add_argument("--explain", action="store_true", help="list what each handler imports beyond boto3")
    args = parser.parse_args(argv)
    if args.explain:
        print(explain("start"), explain("callback"), sep="\n\n")
        return 0
    result = measure(args.runs, deployed=not args.no_deployed, instructions=not args.no_instructions)
    if args.out:
        write_json(args.out, result)
    for handler, figures in result["handlers"].items():
        print(handler, {k: v for k, v in figures.items() if not isinstance(v, list)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
