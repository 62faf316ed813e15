"""Benchmarks that print their figures: a table for people, and with --json one JSON line for machines."""
from __future__ import annotations

import json
import sys


def report(result: dict, table: str, *, as_json: bool) -> None:
    """The table on stdout, or with `as_json` on stderr and the result as one JSON line on stdout."""
    print(table, file=sys.stderr if as_json else sys.stdout)
    if as_json:
        print(json.dumps(result))
