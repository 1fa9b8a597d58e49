"""`python -m vjgan.benchmark [flags]`: the same as `vjgan bench [flags]`."""

from __future__ import annotations

import argparse
import sys

from vjgan.benchmark.cli import add_parser, run
from vjgan.errors import VjganError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vjgan")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except VjganError as exc:
        print(f"vjgan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
