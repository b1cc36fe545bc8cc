"""Command-line plumbing shared by the subcommands."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from pintac.core.errors import UserError
from pintac.runtime.files import check_writable, write_text


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as UserErrors (exit 1, one clear line) and takes
    no abbreviations of options (`--hw` is not a prefix of `--hw-set`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: error: {message}\n{self.format_usage().rstrip()}")


def int_option(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type` for an integer in [low, high]: anything else is a usage error that
    names the option, the range and the value given."""

    def parse(text: str) -> int:
        value = None
        if re.fullmatch(r"[+-]?[0-9]+", text):
            try:
                value = int(text)
            except ValueError:  # more digits than Python converts
                value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high}, got {text!r}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def float_option(text: str) -> float:
    """An argparse `type` for a finite number."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


float_option.__name__ = "number"


def check_output(path: str | None, what: str = "output") -> None:
    """Before any work: a UserError if `path` (None or `-`: standard output) cannot be
    written."""
    if path is None or path == "-":
        return
    check_writable(path, what)


def write_output(text: str, path: str | None, what: str = "output") -> None:
    """Write to stdout, or atomically to `path`: a failed run never leaves a half-written file."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    write_text(Path(path), text, what)


def add_hardware_arguments(ap: argparse.ArgumentParser) -> None:
    """`--hw FILE` and `--hw-set KEY=VALUE` for the PINTA targets."""
    ap.add_argument(
        "--hw",
        metavar="FILE",
        help="PINTA hardware configuration (TOML; default: the bundled defaults, "
        "docs/pinta-hardware.md)",
    )
    ap.add_argument(
        "--hw-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one configuration key, e.g. --hw-set gemm.pes=32 (repeatable)",
    )


def hardware_options(args: argparse.Namespace):
    """The `HardwareOptions` of `--hw` / `--hw-set`, checked now (a bad key or value is an
    error naming it, before anything is compiled)."""
    from pintac.runtime.pinta.target import HardwareOptions

    hw = HardwareOptions(args.hw, tuple(args.hw_set))
    hw.load()
    return hw


def format_bytes(n: float) -> str:
    """`323 B`, `150 kB`, `2.1 MB`, `1.05 GB` (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"
