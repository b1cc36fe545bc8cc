"""The `pintac` console script: `pintac <command> [args...]`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from pintac import __version__

USAGE = """\
usage: pintac <command> [args...]

commands:
  run      train a problem on the CPU and report its error (pintac run examples/poisson2d.mlir)
  compile  compile a problem with a named pipeline; write the IR or the generated NumPy step
  opt      parse, verify and transform IR with a pass pipeline (the mlir-opt of pintac)

Run `pintac <command> --help` for the options of a command.
"""


def _opt(argv: Sequence[str]) -> int:
    from pintac.opt import run

    return run(argv)


def _run(argv: Sequence[str]) -> int:
    from pintac.run import run

    return run(argv)


def _compile(argv: Sequence[str]) -> int:
    from pintac.compile import run

    return run(argv)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "run": _run,
    "compile": _compile,
    "opt": _opt,
}


def main(argv: Sequence[str] | None = None) -> int:
    from pintac.runtime.errors import UserError

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 1
    if argv[0] in ("-V", "--version"):
        sys.stdout.write(f"pintac {__version__}\n")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        sys.stderr.write(f"pintac: error: unknown command '{argv[0]}'\n{USAGE}")
        return 1
    try:
        return command(argv[1:])
    except UserError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("pintac: interrupted\n")
        return 130
    except BrokenPipeError:  # `pintac opt ... | head`: the reader went away; not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
