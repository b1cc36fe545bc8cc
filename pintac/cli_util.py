"""Command-line plumbing shared by the subcommands."""

from __future__ import annotations

import argparse
from typing import NoReturn

from pintac.diagnostics import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage mistakes as UserErrors (exit 1, one clear line)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{self.prog}: error: {message}\n{self.format_usage().rstrip()}")
