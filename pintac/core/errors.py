"""The errors pintac raises for mistakes in what a user gives it.

They sit below the driver so that passes and the runtime can raise them, and they join
xDSL's diagnostic family: plain `xdsl-opt` reports them like its own diagnostics, and
`pintac` prints them as they are and exits 1. A Python traceback for a user's mistake is a bug.
"""

from __future__ import annotations

from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException, PassFailedException


class UserError(DiagnosticException):
    """A mistake in the user's input, settings or files. `str(err)` is the complete message."""


class PassError(UserError, PassFailedException):
    """A pass cannot handle the IR it was given; `op` is the operation at fault, if one is."""

    def __init__(self, message: str, op: Operation | None = None):
        super().__init__(message)
        self.op = op
