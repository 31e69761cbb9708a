"""`python -m tests.benchmarks [NAME ...]`: run every ``bench_*.py`` module's ``main()``.

With names (``api``, ``checker``), only ``bench_<name>.py`` runs. A ``main()``
returns an exit code (None is success); the run fails when any benchmark does.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (of {', '.join(available)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are {', '.join(available)}")
    failed = 0
    for name in args.names or available:
        print(f"\n=== benchmark: {name} ===", flush=True)
        started = time.monotonic()
        module = importlib.import_module(f"tests.benchmarks.bench_{name}")
        result = module.main()
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        code = int(result or 0)
        print(
            f"=== {name}: {'ok' if code == 0 else f'FAILED ({code})'}"
            f" in {time.monotonic() - started:.1f} s ===",
            flush=True,
        )
        failed = failed or code
    return failed


if __name__ == "__main__":
    sys.exit(main())
