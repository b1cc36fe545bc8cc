"""`python -m pintac.runtime.pinta docs [--check]`: regenerate docs/pinta-isa.md,
runtime/pinta/pinta.toml and the configuration table of docs/pinta-hardware.md (--check:
only report whether they are up to date). Users assemble and disassemble with `pintac asm`
and `pintac disasm`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pintac.core.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
ISA_DOC = ROOT / "docs" / "pinta-isa.md"
HARDWARE_DOC = ROOT / "docs" / "pinta-hardware.md"
TABLE_BEGIN = "<!-- config-table:begin (generated: python -m pintac.runtime.pinta docs) -->"
TABLE_END = "<!-- config-table:end -->"


def generated() -> dict[Path, str]:
    """Every generated file and its content."""
    from pintac.runtime.pinta.config import DEFAULT_PATH, config_markdown, config_toml
    from pintac.runtime.pinta.isa import isa_markdown

    out = {ISA_DOC: isa_markdown(), DEFAULT_PATH: config_toml()}
    if HARDWARE_DOC.is_file():
        out[HARDWARE_DOC] = with_config_table(HARDWARE_DOC.read_text(), config_markdown())
    return out


def with_config_table(doc: str, table: str) -> str:
    """`doc` with the text between the configuration-table markers replaced by `table`."""
    if TABLE_BEGIN not in doc or TABLE_END not in doc:
        raise UserError(f"{HARDWARE_DOC} lacks the configuration-table markers")
    head, rest = doc.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_BEGIN}\n{table}{TABLE_END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pintac.runtime.pinta")
    sub = parser.add_subparsers(dest="command", required=True)
    docs = sub.add_parser("docs", help="regenerate the generated documentation")
    docs.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = [p for p, text in generated().items() if not p.is_file() or p.read_text() != text]
    if args.check:
        for p in stale:
            print(f"out of date: {p}")
        return 1 if stale else 0
    for p in stale:
        p.write_text(generated()[p])
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
