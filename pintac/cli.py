"""The `pintac` console script: `pintac <command> [args...]`.

`main` returns the exit status and never raises: 0 on success, 1 for every mistake in the
input, the options or the files (a message naming what is wrong, never a traceback), 130 when
Ctrl-C stops it (at any moment, start-up included).

Every error speaks with one voice: `FILE:LINE:COL: error: ...` or `FILE: error: ...` when a
file is at fault, else `pintac <command>: error: ...`. Code anywhere raises a `UserError`
with a located message or one starting `error: `; `main` names the command in the latter (and
in a bare message). Messages go to the terminal with their control characters escaped: an
error quoting a binary input or a command-line word never sends raw bytes to the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from pintac import __version__
from pintac.diagnostics import printable

USAGE = """\
usage: pintac <command> [args...]

commands:
  run      train a problem and report its error (pintac run examples/poisson2d.mlir),
           on the CPU or on the PINTA simulator (--target pinta-sim)
  compile  compile a problem's training step for PINTA (a program directory), the NumPy
           runtime or as IR (pintac compile examples/poisson2d.mlir --pipeline smx-diff)
  sim      train with a compiled PINTA program on the cycle/energy simulator
  asm      assemble PINTA assembly (.pasm) into a program file
  disasm   disassemble a PINTA program file
  opt      parse, verify and transform IR with a pass pipeline (the mlir-opt of pintac)
  import   write a problem in the PDE language (.pde) as pinn IR
  plot     draw a run's losses and error, and with its checkpoint the solution
  predict  evaluate a trained model (a checkpoint) at given points or on a grid
  sweep    run a grid or random search of settings (pipelines, seeds, hardware keys) into
           one CSV, resumably (pintac sweep examples/sweep_small.toml --jobs 2)
  sweep-report  the Pareto fronts of a sweep's results, as tables and plots

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


def _plot(argv: Sequence[str]) -> int:
    from pintac.plot import run

    return run(argv)


def _predict(argv: Sequence[str]) -> int:
    from pintac.predict import run

    return run(argv)


def _sim(argv: Sequence[str]) -> int:
    from pintac.sim import run

    return run(argv)


def _asm(argv: Sequence[str]) -> int:
    from pintac.asm import asm

    return asm(argv)


def _import(argv: Sequence[str]) -> int:
    from pintac.import_pde import run

    return run(argv)


def _sweep(argv: Sequence[str]) -> int:
    from pintac.sweep import run

    return run(argv)


def _sweep_report(argv: Sequence[str]) -> int:
    from pintac.sweep_report import run

    return run(argv)


def _disasm(argv: Sequence[str]) -> int:
    from pintac.asm import disasm

    return disasm(argv)


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "run": _run,
    "compile": _compile,
    "sim": _sim,
    "asm": _asm,
    "disasm": _disasm,
    "opt": _opt,
    "import": _import,
    "plot": _plot,
    "predict": _predict,
    "sweep": _sweep,
    "sweep-report": _sweep_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt as e:
        message = getattr(e, "message", None) or "pintac: interrupted"
        _write(sys.stderr, message + "\n")
        return 130


def _main(argv: Sequence[str] | None) -> int:
    from pintac.core.errors import UserError

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 1
    if argv[0] in ("-V", "--version"):
        sys.stdout.write(f"pintac {__version__}\n")
        return 0
    command = COMMANDS.get(argv[0])
    if command is None:
        _write(sys.stderr, f"pintac: error: unknown command '{argv[0]}'\n{USAGE}")
        return 1
    try:
        return command(argv[1:])
    except UserError as e:
        _write(sys.stderr, voiced(str(e), argv[0]) + "\n")
        return 1
    except SystemExit as e:  # argparse after --help; nothing else exits
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except MemoryError:
        _write(
            sys.stderr,
            f"pintac {argv[0]}: error: out of memory; the problem's batch sizes, Stein pairs "
            "or evaluation points are too large for this machine\n",
        )
        return 1
    except BrokenPipeError:  # `pintac opt ... | head`: the reader went away; not an error
        _silence_stdout()
        return 0


def voiced(message: str, command: str) -> str:
    """`message` as `pintac <command>: error: ...` unless it is located at a file already."""
    first = message.partition("\n")[0]
    if first.startswith("error: "):
        return f"pintac {command}: {message}"
    if ": error: " in first:
        return message
    return f"pintac {command}: error: {message}"


def _write(stream, text: str) -> None:
    """Write a message; control characters escaped (see `printable`)."""
    try:
        stream.write(printable(text))
        stream.flush()
    except (OSError, ValueError):  # a closed or broken stream: nowhere left to say it
        pass


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does not
    complain about the pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
