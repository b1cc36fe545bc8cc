"""`pintac asm` and `pintac disasm`: PINTA assembly text to program file and back.

    pintac asm program.pasm -o program.bin
    pintac disasm program.bin -o program.pasm

Both directions use the ISA table (`pintac.runtime.pinta`): disassembling an assembled program
gives its canonical text, and assembling that gives the same words.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pintac.cli_util import ArgumentParser, check_output, write_output
from pintac.core.errors import UserError


def _asm_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac asm",
        description="Assemble PINTA assembly (.pasm) into a program file.",
        epilog="example: pintac asm program.pasm -o program.bin",
    )
    ap.add_argument("input", help="assembly text (.pasm), or - for stdin")
    ap.add_argument(
        "-o", "--output", metavar="FILE", help="program file (default: the input with .bin)"
    )
    return ap


def _disasm_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac disasm",
        description="Disassemble a PINTA program file into assembly text.",
        epilog="example: pintac disasm program.bin -o program.pasm",
    )
    ap.add_argument("input", help="program file (program.bin of pintac compile)")
    ap.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    return ap


def asm(argv: Sequence[str]) -> int:
    from pintac.diagnostics import read_source
    from pintac.runtime.files import atomic_write, refuse_overwriting_inputs
    from pintac.runtime.pinta.asm import assemble
    from pintac.runtime.pinta.program import Program

    args = _asm_parser().parse_args(argv)
    if args.output is None and args.input == "-":
        raise UserError("pintac asm: error: reading stdin, give the output with -o FILE")
    source = read_source(args.input)  # first: the default output is named after a file
    if args.output is None:
        args.output = str(Path(args.input).with_suffix(".bin"))
    refuse_overwriting_inputs([(args.output, "program")], [args.input], "pintac asm")
    check_output(args.output)
    data = Program(assemble(source.text, source.name)).to_bytes()
    atomic_write(Path(args.output), lambda f: f.write(data), "program")
    return 0


def disasm(argv: Sequence[str]) -> int:
    from pintac.runtime.files import refuse_overwriting_inputs
    from pintac.runtime.pinta.asm import disassemble
    from pintac.runtime.pinta.program import read_program

    args = _disasm_parser().parse_args(argv)
    refuse_overwriting_inputs([(args.output, "output")], [args.input], "pintac disasm")
    check_output(args.output)
    write_output(disassemble(read_program(args.input).words), args.output)
    return 0
