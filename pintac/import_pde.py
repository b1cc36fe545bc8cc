"""`pintac import FILE.pde [-o FILE.mlir]`: a problem in the PDE language as `pinn` IR.

The IR is verified first (a mistake is reported in the `.pde` text), then printed in the
`pinn` dialect's custom syntax, as a hand-written `examples/*.mlir` reads: the `.pde` file's
opening comment, the source line of each loss term and of the exact solution as a comment
above it, and `pinn.train` wrapped at 100 columns. `pintac run` and `pintac compile` read
the written file exactly as they read the `.pde`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from io import StringIO

from xdsl.ir import Operation
from xdsl.printer import Printer

from pintac.cli_util import ArgumentParser, check_output, write_output
from pintac.core.errors import UserError
from pintac.diagnostics import ParsedModule, read_source, verify
from pintac.dialects import pinn
from pintac.frontend import build_pde
from pintac.runtime.files import refuse_overwriting_inputs

LINE_WIDTH = 100


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac import",
        description="Translate a problem written in the PDE language (.pde, "
        "docs/pde-language.md) into pinn IR.",
        epilog="example: pintac import examples/heat1d.pde -o heat1d.mlir",
    )
    ap.add_argument("input", help="problem in the PDE language (.pde), or - for stdin")
    ap.add_argument(
        "-o", "--output", metavar="FILE", help="write the IR here (default: standard output)"
    )
    ap.add_argument(
        "--print-op-generic", action="store_true", help="generic MLIR form, without comments"
    )
    return ap


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    check_output(args.output)
    refuse_overwriting_inputs([(args.output, "output")], [args.input], "pintac import")
    src = read_source(args.input)
    if src.name.lower().endswith(".mlir"):
        raise UserError(
            f"pintac import: error: {src.name} is pinn IR already; import translates problems "
            "written in the PDE language (.pde)"
        )
    parsed = build_pde(src)
    verify(parsed)
    write_output(render(parsed, args.print_op_generic), args.output)
    return 0


def render(parsed: ParsedModule, generic: bool = False) -> str:
    """The problem's IR as text: generic, or custom syntax with the `.pde` source as comments."""
    problem = next(op for op in parsed.module.ops if isinstance(op, pinn.ProblemOp))
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(problem)
    text = out.getvalue().rstrip("\n") + "\n"
    if generic:
        return text
    comments = {_header(op): _source_line(parsed, op) for op in _commented(problem)}
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        note = next((c for h, c in comments.items() if stripped.startswith(h)), None)
        if note:
            lines.append(f"{line[: len(line) - len(stripped)]}// {note}")
        if stripped.startswith("pinn.train "):
            lines.extend(_wrap(line))
        else:
            lines.append(line)
    return "".join(f"{line}\n" for line in _opening_comment(parsed) + lines)


def _commented(problem: pinn.ProblemOp) -> list[Operation]:
    """The ops whose source line becomes a comment: loss terms and the exact solution."""
    commented = pinn.ResidualOp | pinn.BoundaryOp | pinn.ExactOp
    return [op for op in problem.body.block.ops if isinstance(op, commented)]


def _header(op: Operation) -> str:
    """How the op's printed line starts."""
    if isinstance(op, pinn.ExactOp):
        return "pinn.exact "
    return f"{op.name} @{op.sym_name.data} "


def _source_line(parsed: ParsedModule, op: Operation) -> str | None:
    """The `.pde` line an op was built from, without its comment."""
    offset = parsed.op_offsets.get(op)
    if offset is None:
        return None
    text = parsed.source.text
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start : len(text) if end == -1 else end]
    return " ".join(line.split("#", 1)[0].split()) or None


def _opening_comment(parsed: ParsedModule) -> list[str]:
    """The `.pde` file's opening `#` comment lines, as `//` comments, then what made the IR."""
    lines = []
    for line in parsed.source.text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        lines.append(("// " + stripped[1:].strip()).rstrip())
    lines.append(f"// pinn IR written by `pintac import` from {parsed.source.name}")
    return lines


def _wrap(line: str) -> list[str]:
    """`pinn.train {a = 1, b = 2, ...}` broken after commas to fit LINE_WIDTH columns, the
    continuation lines aligned under the first option."""
    if len(line) <= LINE_WIDTH:
        return [line]
    indent = " " * (line.index("{") + 1)
    parts = _top_level_items(line)
    lines, current = [], parts[0]
    for part in parts[1:]:
        if len(current) + 1 + len(part) > LINE_WIDTH:
            lines.append(current)
            current = indent + part
        else:
            current += " " + part
    return [*lines, current]


def _top_level_items(line: str) -> list[str]:
    """The line cut after each comma outside nested braces (`batch = {pde = 1, bc = 1}`
    stays whole), each piece keeping its comma."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 1:
            pieces.append(line[start : i + 1].strip() if start else line[: i + 1])
            start = i + 1
    pieces.append(line[start:].strip())
    return pieces
