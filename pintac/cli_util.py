"""Command-line plumbing shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from pintac.runtime.errors import UserError
from pintac.runtime.files import write_text


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as UserErrors (exit 1, one clear line)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: error: {message}\n{self.format_usage().rstrip()}")


def write_output(text: str, path: str | None, what: str = "output") -> None:
    """Write to stdout, or atomically to `path`: a failed run never leaves a half-written file."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    write_text(Path(path), text, what)
