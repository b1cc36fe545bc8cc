"""The PINTA accelerator backend: its ISA, assembler, hardware configuration and simulator.

PINTA is a decoupled access/execute training accelerator: load, compute and store queues
synchronized by dependency tokens, an SMX tile-PE array with exact accumulators, a vector
unit, an SFU, a quantizer and a Philox RNG (docs/pinta-hardware.md). Its instructions are
fixed 128-bit words described by one table (`isa.INSTRUCTIONS`, docs/pinta-isa.md).

Public API:

- instructions: `LOAD`, `STORE`, `GEMM`, `ACCRD`, `QUANT`, `VEC`, `VCOL`, `PERM`, `SFU`,
  `RED`, `STEIN`, `RNG`, `UPDATE`, `NOP`, `HALT` (named tuples:
  `GEMM(acc=0, a=0, b=64, m=8, ...)`), `make(mnemonic, **fields)`, `encode`, `decode`,
  `validate`, `text`, `INSTRUCTIONS`;
- text: `assemble(text) -> words`, `assemble_instructions`, `disassemble(words) -> text`;
- files: `Program`, `write_program`, `read_program`; constants: `ConstantPool`;
- hardware: `HardwareConfig`, `load_config(path=None, overrides=())`;
- simulation: `Simulator(program, config, dram_image, const_base=, const_entries=)`,
  `Simulator.run_step(seed, step) -> StepReport`, `PintaTrap`.
"""

from pintac.runtime.pinta.asm import assemble, assemble_instructions, disassemble
from pintac.runtime.pinta.config import HardwareConfig, load_config
from pintac.runtime.pinta.errors import PintaTrap
from pintac.runtime.pinta.isa import (
    ACCRD,
    GEMM,
    HALT,
    INSTRUCTIONS,
    LOAD,
    NOP,
    PERM,
    QUANT,
    RED,
    RNG,
    SFU,
    STEIN,
    STORE,
    UPDATE,
    VCOL,
    VEC,
    Instruction,
    decode,
    encode,
    isa_markdown,
    make,
    text,
    validate,
)
from pintac.runtime.pinta.program import ConstantPool, Program, read_program, write_program
from pintac.runtime.pinta.report import StepReport
from pintac.runtime.pinta.simulator import Simulator

__all__ = [
    "ACCRD",
    "GEMM",
    "HALT",
    "INSTRUCTIONS",
    "LOAD",
    "NOP",
    "PERM",
    "QUANT",
    "RED",
    "RNG",
    "SFU",
    "STEIN",
    "STORE",
    "UPDATE",
    "VCOL",
    "VEC",
    "ConstantPool",
    "HardwareConfig",
    "Instruction",
    "PintaTrap",
    "Program",
    "Simulator",
    "StepReport",
    "assemble",
    "assemble_instructions",
    "decode",
    "disassemble",
    "encode",
    "isa_markdown",
    "load_config",
    "make",
    "read_program",
    "text",
    "validate",
    "write_program",
]
