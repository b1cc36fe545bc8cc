"""Command-line plumbing shared by the subcommands."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from pintac.runtime.errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as UserErrors (exit 1, one clear line)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: error: {message}\n{self.format_usage().rstrip()}")


def write_output(text: str, path: str | None, what: str = "output") -> None:
    """Write to stdout, or atomically to `path`: a failed run never leaves a half-written file."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as e:
        raise UserError(f"{path}: error: cannot write the {what}: {e.strerror}") from None
