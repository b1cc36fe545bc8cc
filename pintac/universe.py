"""The `xdsl.universe` entry point: makes plain `xdsl-opt` see pintac's dialects and passes.

xDSL's tools let a pass's diagnostic propagate as an uncaught exception. When they load this
plugin, pintac's errors (`pintac.core.errors.UserError`) are printed as diagnostics instead
of tracebacks: the message, and for a pass failure the IR with the offending op marked. The
process still exits with status 1.
"""

import sys
from io import StringIO

from xdsl.printer import Printer
from xdsl.universe import Universe
from xdsl.utils.diagnostic import Diagnostic

from pintac.core.errors import PassError, UserError
from pintac.dialects import get_all_dialects
from pintac.passes import get_all_passes

PINTAC_UNIVERSE = Universe(all_dialects=get_all_dialects(), all_passes=get_all_passes())


def format_diagnostic(error: UserError) -> str:
    """`error: message`, then, if the error names an op, the IR with that op marked."""
    text = f"error: {error}\n"
    if isinstance(error, PassError) and error.op is not None:
        diagnostic = Diagnostic()
        diagnostic.add_message(error.op, str(error))
        ir = StringIO()
        Printer(stream=ir, diagnostic=diagnostic).print_op(error.op.get_toplevel_object())
        text += ir.getvalue() + "\n"
    return text


_previous_hook = sys.excepthook


def _report(kind, value, traceback) -> None:
    if isinstance(value, UserError):
        sys.stderr.write(format_diagnostic(value))
    else:
        _previous_hook(kind, value, traceback)


sys.excepthook = _report
