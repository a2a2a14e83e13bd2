"""Zipped size of each function `sam build` produced, zipped as Lambda receives it.

`make build` runs `sam build` (no Docker: functions/Makefile installs the libraries for the
Lambda target), then each `.aws-sam/build/<Function>` folder is zipped with DEFLATE, as `sam
deploy` uploads it. The target is 2 MB per function (the zip stays small enough for the Lambda
console to show the code, and cold starts do not download more than they need).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import zipfile
from pathlib import Path

from .common import REPOSITORY, RESULTS, write_json

BUILD = REPOSITORY / ".aws-sam" / "build"
FUNCTIONS = ("StartFunction", "CallbackFunction", "TokenFunction")
TARGET_BYTES = 2_000_000  # 2 MB (decimal: the stricter reading)


def build(log: Path) -> None:
    """`make build` (= sam build); its output goes to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(["make", "build"], cwd=REPOSITORY, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"make build failed (exit {done.returncode}); see {log}")


def zipped(folder: Path) -> dict:
    """Zip `folder` in memory; its size, what it holds, and which top-level entries weigh most."""
    buffer = io.BytesIO()
    files = 0
    unzipped = 0
    by_entry: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            before = buffer.tell()
            archive.write(path, name)
            files += 1
            unzipped += path.stat().st_size
            top = name.split("/")[0]
            by_entry[top] = by_entry.get(top, 0) + buffer.tell() - before
    size = len(buffer.getvalue())
    largest = sorted(by_entry.items(), key=lambda kv: -kv[1])[:8]
    return {
        "zip_bytes": size,
        "zip_mb": round(size / 1e6, 2),
        "unzipped_bytes": unzipped,
        "files": files,
        "largest_entries_bytes": dict(largest),
        "meets_target": size <= TARGET_BYTES,
    }


def measure(build_dir: Path = BUILD) -> dict:
    missing = [name for name in FUNCTIONS if not (build_dir / name).is_dir()]
    if missing:
        raise RuntimeError(f"no build of {', '.join(missing)} in {build_dir}: run make build")
    return {"target_bytes": TARGET_BYTES, "functions": {name: zipped(build_dir / name) for name in FUNCTIONS}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.package_size", description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="zip the existing .aws-sam/build")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.no_build:
        build(RESULTS / "sam-build.log")
    result = measure()
    if args.out:
        write_json(args.out, result)
    for name, figures in result["functions"].items():
        print(name, figures["zip_bytes"], "bytes", figures["zip_mb"], "MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
