"""The child side of `vjgan.gan.loader.load_isolated`: `python -m vjgan.gan.load_child IN OUT`.

Reads the model file IN (any supported format, `loader.load_any`) and writes it as a vjgan
.safetensors to OUT. Exit status 0 on success; otherwise the last line on stderr is a one-line
message for the user (the parent raises it verbatim): status 2 for a VjganError, 3 when memory ran
out, 1 for anything else. `--memory-bytes N` caps this process's address space (RLIMIT_AS).

Test hook: the environment variable VJGAN_LOAD_CHILD_TEST_SLEEP=<seconds> makes the child sleep
that long before loading, so tests can exercise the parent's timeout. Nothing else reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

TEST_SLEEP_ENV = "VJGAN_LOAD_CHILD_TEST_SLEEP"
_OOM_TEXT = ("can't allocate memory", "cannot allocate memory", "not enough memory", "out of memory")


def _limit_memory(n_bytes: int) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = n_bytes if hard == resource.RLIM_INFINITY else min(n_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vjgan.gan.load_child", description=__doc__)
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--memory-bytes", type=int, default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # stderr carries exactly the user's error line
    if args.memory_bytes is not None:
        _limit_memory(args.memory_bytes)
    delay = os.environ.get(TEST_SLEEP_ENV)
    if delay:
        time.sleep(float(delay))
    from vjgan.errors import VjganError

    try:
        from vjgan.gan.loader import load_any
        from vjgan.gan.modelfile import save_generator

        G = load_any(args.input)
        save_generator(G, args.output)
    except VjganError as exc:
        print(_one_line(str(exc)), file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{args.input}: ran out of memory while loading{_cap(args.memory_bytes)} — the file is too big "
              "or broken; convert it on a machine with more memory", file=sys.stderr)
        return 3
    except Exception as exc:
        if any(text in str(exc).lower() for text in _OOM_TEXT):
            print(f"{args.input}: ran out of memory while loading{_cap(args.memory_bytes)} — the file is too "
                  "big or broken; convert it on a machine with more memory", file=sys.stderr)
            return 3
        print(f"{args.input}: loading failed ({type(exc).__name__}: {_one_line(str(exc))[:300]}) — the file is "
              "broken or not a supported StyleGAN generator", file=sys.stderr)
        return 1
    return 0


def _cap(memory_bytes: int | None) -> str:
    return "" if memory_bytes is None else f" (limit {memory_bytes / 2**20:.0f} MiB)"


if __name__ == "__main__":
    sys.exit(main())
