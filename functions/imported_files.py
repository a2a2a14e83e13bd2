"""Build helper (never bundled): the pd_connect files a handler imports, found statically.

    python imported_files.py token_handler.py   ->  pd_connect/__init__.py pd_connect/platform/config.py ...

modulefinder follows every import, the lazy ones inside functions included, so the list holds
everything the handler can load; templates/ joins it when pages.py (their only reader) does.
"""

from __future__ import annotations

import sys
from modulefinder import ModuleFinder
from pathlib import Path

HERE = Path(__file__).resolve().parent


def imported_files(handler: str) -> list[str]:
    finder = ModuleFinder(path=[str(HERE)], excludes=["boto3", "botocore", "requests", "aws_lambda_powertools"])
    finder.run_script(str(HERE / handler))
    files = sorted(
        str(Path(module.__file__).relative_to(HERE))
        for name, module in finder.modules.items()
        if (name == "pd_connect" or name.startswith("pd_connect.")) and module.__file__
    )
    if "pd_connect/flow/pages.py" in files:
        files.append("pd_connect/flow/templates")
    return files


if __name__ == "__main__":
    print(" ".join(imported_files(sys.argv[1])))
