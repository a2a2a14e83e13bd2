"""`make mutants`: apply each pinned mutant (mutation/mutants.py) to a copy of functions/, run the
tests that must catch it against that copy, and report which were killed and the score.

    python -m mutation [--only NAME ...] [--out-dir DIR]

The working tree is never changed: each mutant lives in its own temporary copy of the repository
(so every path to functions/, including the ones tooling puts on sys.path itself, is the mutated one). The unmutated copy must pass the same tests first, or nothing is
scored. Exit status 1 if any mutant survived or went stale.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .mutants import MUTANTS, Mutant

REPOSITORY = Path(__file__).resolve().parents[1]
FUNCTIONS = REPOSITORY / "functions"
TIMEOUT_SECONDS = 900  # a mutant that makes the tests hang counts as killed (by timeout)


def apply(mutant: Mutant, functions: Path) -> bool:
    """Edit the copy; False if an edit's text is not (exactly once) in the file: a stale mutant."""
    path = functions / mutant.path
    text = path.read_text()
    for old, new in mutant.edits:
        if text.count(old) != 1:
            return False
        text = text.replace(old, new)
    path.write_text(text)
    return True


def run_tests(
    functions: Path, tests: tuple[str, ...], *, first_failure: bool, timeout: float | None = TIMEOUT_SECONDS
) -> tuple[int, float]:
    """pytest on `tests` with `functions` in place of functions/; (exit status, seconds)."""
    tests = tuple(test for test in tests if (functions.parent / test).exists())  # e.g. scoring an older tree
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:log-scan",
        *(["-x"] if first_failure else []), *tests,
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=functions.parent, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        status = done.returncode
        if status not in (0, 1):  # not a test failure: a usage or collection error
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    except subprocess.TimeoutExpired:
        status = -1
    return status, time.monotonic() - started


_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "__pycache__", "*.pyc", ".aws-sam", "test-artifacts", "bench-results",
    "mutation-results", ".hypothesis", ".pytest_cache", ".local-state",
)


def copy_of_functions(into: Path) -> Path:
    """A copy of the repository (sources, tests, tooling) under `into`; its functions/ folder."""
    shutil.copytree(REPOSITORY, into, ignore=_NOT_COPIED)
    return into / "functions"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="mutant names to run (default: all)")
    parser.add_argument("--out-dir", default=str(REPOSITORY / "mutation-results"))
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip running the unmutated code's tests first (when `make test` just passed)")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.name in args.only]
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        if not args.no_baseline:
            baseline = copy_of_functions(Path(scratch) / "baseline")
            every_test = tuple(sorted({test for mutant in mutants for test in mutant.tests}))
            status, seconds = run_tests(baseline, every_test, first_failure=True, timeout=None)
            print(f"baseline: {len(every_test)} test paths, {'pass' if status == 0 else 'FAIL'} ({seconds:.0f} s)", flush=True)
            if status != 0:
                print("the unmutated code fails its tests: nothing scored", file=sys.stderr)
                return 2
        results = []
        for number, mutant in enumerate(mutants, 1):
            functions = copy_of_functions(Path(scratch) / f"m{number}")
            if not apply(mutant, functions):
                outcome, seconds = "stale", 0.0
            else:
                status, seconds = run_tests(functions, mutant.tests, first_failure=True)
                outcome = "survived" if status == 0 else ("killed (timeout)" if status == -1 else "killed")
            shutil.rmtree(functions.parent)
            results.append({"name": mutant.name, "file": mutant.path, "outcome": outcome, "seconds": round(seconds, 1)})
            print(f"{number:3}/{len(mutants)} {outcome:16} {mutant.name} ({mutant.path}, {seconds:.0f} s)", flush=True)

    killed = sum(r["outcome"].startswith("killed") for r in results)
    scored = sum(r["outcome"] != "stale" for r in results)
    minutes = (time.monotonic() - started) / 60
    summary = {
        "killed": killed, "scored": scored, "stale": len(results) - scored,
        "score": round(killed / scored, 3) if scored else None, "minutes": round(minutes, 1), "mutants": results,
    }
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "mutants.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"mutation score: {killed}/{scored} killed ({100 * killed / max(scored, 1):.0f}%), "
          f"{summary['stale']} stale, {minutes:.1f} min; details in {out_dir / 'mutants.json'}")
    for result in results:
        if not result["outcome"].startswith("killed"):
            print(f"  {result['outcome']}: {result['name']} ({result['file']})")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
