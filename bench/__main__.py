"""`python -m bench [scenario ...]`: run benchmark scenarios on a throwaway test database.

BENCH_KEEPDB=1 keeps the test database between runs (created on the first one, migrated, never
dropped): a scenario can then reuse what an earlier run loaded (the full group tree takes
minutes to load). Each scenario empties what it measures itself.
"""

from __future__ import annotations

import argparse
import os
import pkgutil
import sys
from importlib import import_module
from pathlib import Path

import django

SKIP = {"harness"}


def scenario_names() -> list[str]:
    folder = Path(__file__).parent
    return sorted(
        module.name
        for module in pkgutil.iter_modules([str(folder)])
        if not module.name.startswith("_") and module.name not in SKIP
    )


def main() -> int:
    available = scenario_names()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help=f"scenarios to run (default: all of {', '.join(available)})",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.scenarios) - set(available))
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; known: {', '.join(available)}")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cadreconnect.settings")
    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    from bench.harness import Bench

    setup_test_environment()
    keepdb = os.environ.get("BENCH_KEEPDB", "") not in ("", "0", "false")
    # Not serialized: nothing here rolls back to the start (and a kept database may be large).
    old_config = setup_databases(
        verbosity=0, interactive=False, keepdb=keepdb, serialized_aliases=set()
    )
    bench = Bench()
    try:
        for name in args.scenarios or available:
            bench.scenario = name
            print(f"running {name} ...", file=sys.stderr, flush=True)
            import_module(f"bench.{name}").run(bench)
    finally:
        teardown_databases(old_config, verbosity=0, keepdb=keepdb)
    print(f"\nCadreConnect benchmarks on {connection.vendor}, {os.cpu_count()} cores\n")
    print(bench.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
