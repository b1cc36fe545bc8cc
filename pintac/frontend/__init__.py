"""pintac's PDE problem language: `.pde` text -> `pinn` IR (docs/pde-language.md).

    from pintac.frontend import is_pde, build_pde

    parsed = build_pde(src)   # a ParsedModule: the pinn.problem, located in the .pde text

`parse` (`pintac.frontend.parse`) makes the syntax tree, `build` (`pintac.frontend.build`) the
IR. Every mistake is a `UserError` reading `FILE:LINE:COL: error: ...` with the line and a
caret; the IR is not verified here (`pintac.diagnostics.verify` does that, and its messages
point into the `.pde` text too).
"""

from __future__ import annotations

import re

from pintac.diagnostics import ParsedModule, Source

PDE_SUFFIX = ".pde"

# What a .pde file starts with, after blank lines and comments: `problem NAME`.
_PDE_START = re.compile(r"(?:\s|#[^\n]*)*problem\s+[A-Za-z_]")


def is_pde(src: Source) -> bool:
    """Whether `src` is in the PDE language: a `.pde` file, or (standard input, a file of
    another suffix than `.mlir`) text that starts with `problem NAME`."""
    name = src.name.lower()
    if name.endswith(PDE_SUFFIX):
        return True
    if name.endswith(".mlir"):
        return False
    return _PDE_START.match(src.text) is not None


def build_pde(src: Source) -> ParsedModule:
    """Parse a `.pde` source and build its `pinn.problem`, or raise a located UserError."""
    from pintac.frontend.build import ProblemBuilder
    from pintac.frontend.parse import parse

    return ProblemBuilder(src, parse(src)).build()
