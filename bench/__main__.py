"""python -m bench [--quick] [--out-dir DIR]: run every part, print the table, write bench.json.

Each part runs in a child process of its own (`python -m bench.<part> --out <dir>/<part>.json`,
its output in <dir>/<part>.log), one after the other, so no part loads the machine while another
measures. `--quick` is the tiny configuration the test uses: no build, two cold-start runs, ten
requests per route, three concurrent flows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from .common import RESULTS, write_json
from .report import machine, render

FULL = {
    "package_size": [],  # builds first: the cold start's "as deployed" figure reads the build
    "cold_start": ["--runs", "15"],
    "runtime_cold_start": ["--runs", "15"],
    "remote_calls": [],
    "latency": ["--requests", "1000"],
    "token_function": ["--requests", "1000"],
    "load": ["--levels", "10", "50", "200", "--rounds", "2"],
}
QUICK = {
    "cold_start": ["--runs", "2", "--no-deployed", "--no-instructions"],
    "remote_calls": [],
    "latency": ["--requests", "10"],
    "token_function": ["--requests", "10"],
    "load": ["--levels", "3", "--rounds", "1"],
}


def run_part(part: str, args: list[str], out_dir: Path) -> tuple[dict, float]:
    out, log = out_dir / f"{part}.json", out_dir / f"{part}.log"
    began = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:
        done = subprocess.run(
            [sys.executable, "-m", f"bench.{part}", "--out", str(out), *args],
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"bench part {part} failed (exit {done.returncode}); see {log}")
    return json.loads(out.read_text(encoding="utf-8")), time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny configuration: proves the bench works")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--no-build", action="store_true", help="zip the existing .aws-sam/build instead of building")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    parts = dict(QUICK if args.quick else FULL)
    if args.no_build and "package_size" in parts:
        parts["package_size"] = ["--no-build"]

    results: dict = {"machine": machine(), "configuration": "quick" if args.quick else "full", "part_seconds": {}}
    for part, part_args in parts.items():
        print(f"bench: {part} ...", file=sys.stderr, flush=True)
        results[part], seconds = run_part(part, part_args, args.out_dir)
        results["part_seconds"][part] = round(seconds, 1)
    results["table"] = render(results)
    write_json(args.out_dir / "bench.json", results)
    (args.out_dir / "bench.md").write_text(results["table"] + "\n", encoding="utf-8")
    print(results["table"])
    print(f"wrote {args.out_dir / 'bench.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
