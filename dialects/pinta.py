"""The `pinta` dialect: a training step as a program for the PINTA accelerator.

`lower-to-pinta` turns a compiled `@train_step` into one `pinta.program`: the DRAM homes of
what crosses the host boundary (`pinta.tensor`: parameters, optimizer state, points, losses)
and the instruction stream, one op per instruction in program order. Each instruction op
mirrors one class of the ISA (docs/pinta-isa.md), its fields written as the assembler writes
them, its dependency-token flags as bare words:

    pinta.program @train_step ("param:W0", "points:pde", "seed", "step") -> ("param:W0", "loss")
        constants [1.0, 0.001] at 96 dram 100 {
      pinta.tensor @W0 param "W0" at 0 : 2x16
      pinta.load fmt=f32 dst=0 src=0 rows=2 cols=16 stride=16 push_next
      pinta.gemm acc=0 a=0 b=64 m=32 k=2 n=16 ta=0 tb=0 init=1 prec_a=f32 prec_b=f32 pop_prev
      pinta.halt
    }

The fields are checked against the ISA when the program is encoded (`pintac.runtime.pinta`);
the dialect keeps the instruction text and verifies its shape: known flags, integer or
name values, and a `pinta.halt` at the end. `{note = "..."}` on an instruction says what it
does for the step (which value, which rows), for people reading the lowering.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    StringAttr,
    i64,
)
from xdsl.ir import Attribute, Block, Dialect, Region
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import IsolatedFromAbove, NoTerminator, SymbolOpInterface, SymbolTable
from xdsl.utils.exceptions import VerifyException

from pintac.dialects.support import float_array, floats_of, parse_real_list, print_real_list

FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")

# The instruction classes of the ISA, in opcode order, an extension of an opcode (PERM, a
# minor opcode of VCOL's) after its base class (the runtime's table has the fields).
MNEMONICS = (
    "LOAD",
    "STORE",
    "GEMM",
    "ACCRD",
    "QUANT",
    "VEC",
    "VCOL",
    "PERM",
    "SFU",
    "RED",
    "STEIN",
    "RNG",
    "UPDATE",
    "NOP",
    "HALT",
)

# What a host-boundary tensor is to the host.
TENSOR_KINDS = ("param", "state", "points", "loss")

FieldValue = int | str


class InstructionOp(IRDLOperation):
    """One PINTA instruction: its class (the op), field values and dependency flags."""

    MNEMONIC: ClassVar[str] = ""
    fields = prop_def(DictionaryAttr)

    def __init__(self, fields: Mapping[str, FieldValue], note: str | None = None):
        attrs = {"note": StringAttr(note)} if note else {}
        super().__init__(properties={"fields": _fields_attr(fields)}, attributes=attrs)

    @property
    def values(self) -> dict[str, FieldValue]:
        """The fields and the set flags (as 1), by name."""
        out: dict[str, FieldValue] = {}
        for key, attr in self.fields.data.items():
            out[key] = attr.data if isinstance(attr, StringAttr) else attr.value.data
        return out

    @classmethod
    def parse(cls, parser: Parser) -> InstructionOp:
        fields: dict[str, FieldValue] = {}
        # Fields run to the next op, whose name is a bare identifier with a '.'.
        while "." not in parser._current_token.text:
            key = parser.parse_optional_identifier()
            if key is None:
                break
            if key in fields:
                parser.raise_error(f"field '{key}' is given twice")
            if key in FLAGS:
                fields[key] = 1
                continue
            parser.parse_punctuation("=", f" after the field name '{key}'")
            number = parser.parse_optional_integer(allow_negative=False)
            if number is not None:
                fields[key] = number
            else:
                fields[key] = parser.parse_identifier(f" (the value of field '{key}')")
        op = cls(fields)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        for key, value in self.values.items():
            if key in FLAGS:
                if value:
                    printer.print_string(f" {key}")
            else:
                printer.print_string(f" {key}={value}")
        if self.attributes:
            printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        for key, value in self.values.items():
            if key in FLAGS and value not in (0, 1):
                raise VerifyException(f"flag '{key}' must be 0 or 1, got {value}")
            if isinstance(value, int) and value < 0:
                raise VerifyException(f"field '{key}' must not be negative, got {value}")


@functools.cache
def _value_attr(value: FieldValue) -> Attribute:
    # programs have tens of thousands of instructions with few distinct field values, and
    # attributes are immutable: make each once
    return StringAttr(value) if isinstance(value, str) else IntegerAttr(int(value), i64)


def _fields_attr(fields: Mapping[str, FieldValue]) -> DictionaryAttr:
    return DictionaryAttr({key: _value_attr(value) for key, value in fields.items()})


def _instruction_op(mnemonic: str) -> type[InstructionOp]:
    cls = type(
        f"{mnemonic.capitalize()}Op",
        (InstructionOp,),
        {
            "__doc__": f"The {mnemonic} instruction (docs/pinta-isa.md#{mnemonic.lower()}).",
            "name": f"pinta.{mnemonic.lower()}",
            "MNEMONIC": mnemonic,
            "__annotations__": {"MNEMONIC": ClassVar[str]},
            "__module__": __name__,
        },
    )
    return irdl_op_definition(cls)


INSTRUCTION_OPS: dict[str, type[InstructionOp]] = {m: _instruction_op(m) for m in MNEMONICS}


def instruction(mnemonic: str, note: str | None = None, **fields: FieldValue) -> InstructionOp:
    """An instruction op of class `mnemonic` with these fields."""
    return INSTRUCTION_OPS[mnemonic](fields, note)


@irdl_op_definition
class TensorOp(IRDLOperation):
    """The DRAM home of a tensor the host reads or writes between steps.

        pinta.tensor @W0 param "W0" at 0 : 2x16
        pinta.tensor @m_W0 state "m:W0" at 32 : 2x16
        pinta.tensor @x_pde points "pde" at 4096 : 32x2
        pinta.tensor @loss loss "loss" at 4160 : scalar

    `kind` is what the host does with it: parameters and optimizer state are read before
    and written by the step in place; points are written by the host before each step;
    losses are read after it. `key` names it for the host (the parameter, state slot, point
    set or loss term). Addresses are DRAM words; row-major f32.
    """

    name = "pinta.tensor"
    sym_name = prop_def(StringAttr)
    kind = prop_def(StringAttr)
    key = prop_def(StringAttr)
    address = prop_def(IntegerAttr)
    shape = prop_def(ArrayAttr)
    traits = traits_def(SymbolOpInterface())

    def __init__(self, sym_name: str, kind: str, key: str, address: int, shape: Sequence[int]):
        super().__init__(
            properties={
                "sym_name": StringAttr(sym_name),
                "kind": StringAttr(kind),
                "key": StringAttr(key),
                "address": IntegerAttr(address, i64),
                "shape": ArrayAttr([IntegerAttr(d, i64) for d in shape]),
            }
        )

    @property
    def shape_values(self) -> tuple[int, ...]:
        return tuple(d.value.data for d in self.shape.data)

    @classmethod
    def parse(cls, parser: Parser) -> TensorOp:
        name = parser.parse_symbol_name().data
        kind = parser.parse_identifier(" (tensor kind: " + ", ".join(TENSOR_KINDS) + ")")
        key = parser.parse_str_literal(" (the tensor's key)")
        parser.parse_keyword("at")
        address = parser.parse_integer(allow_negative=False)
        parser.parse_punctuation(":")
        if parser.parse_optional_keyword("scalar") is not None:
            shape: list[int] = []
        else:
            shape = parser.parse_dimension_list()
        op = cls(name, kind, key, address, shape)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string(f" {self.kind.data} ")
        printer.print_string_literal(self.key.data)
        shape = "x".join(str(d) for d in self.shape_values) or "scalar"
        printer.print_string(f" at {self.address.value.data} : {shape}")
        if self.attributes:
            printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        if self.kind.data not in TENSOR_KINDS:
            raise VerifyException(
                f"unknown tensor kind '{self.kind.data}' (known: {', '.join(TENSOR_KINDS)})"
            )
        if any(d <= 0 for d in self.shape_values):
            raise VerifyException(f"a tensor needs positive dimensions, got {self.shape_values}")


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """A training step for PINTA: DRAM homes, then instructions ending in `pinta.halt`.

    The roles (`train.role`s) of the step's arguments and results say what the host passes
    and gets back, in order. `constants` is the constant pool (64-bit entries, placed in DRAM
    at `const_base`); `dram_words` is the DRAM the program uses, homes, working space and
    constants together.
    """

    name = "pinta.program"
    sym_name = prop_def(StringAttr)
    arg_roles = prop_def(ArrayAttr)
    result_roles = prop_def(ArrayAttr)
    constants = prop_def(ArrayAttr)
    const_base = prop_def(IntegerAttr)
    dram_words = prop_def(IntegerAttr)
    body = region_def("single_block")
    traits = traits_def(SymbolOpInterface(), SymbolTable(), NoTerminator(), IsolatedFromAbove())

    def __init__(
        self,
        sym_name: str,
        roles: tuple[Sequence[str], Sequence[str]],
        constants: Sequence[float],
        const_base: int,
        dram_words: int,
        body: Region | None = None,
    ):
        args, results = roles
        super().__init__(
            properties={
                "sym_name": StringAttr(sym_name),
                "arg_roles": ArrayAttr([StringAttr(r) for r in args]),
                "result_roles": ArrayAttr([StringAttr(r) for r in results]),
                "constants": float_array(constants),
                "const_base": IntegerAttr(const_base, i64),
                "dram_words": IntegerAttr(dram_words, i64),
            },
            regions=[body if body is not None else Region(Block())],
        )

    @property
    def roles(self) -> tuple[list[str], list[str]]:
        """The `train.role`s of the step's arguments and results, in order: what the host
        passes and gets back (see `pintac.runtime.pinta.lowered`)."""
        return [r.data for r in self.arg_roles.data], [r.data for r in self.result_roles.data]

    @property
    def constant_values(self) -> list[float]:
        return floats_of(self.constants)

    @property
    def tensors(self) -> list[TensorOp]:
        return [op for op in self.body.block.ops if isinstance(op, TensorOp)]

    @property
    def instructions(self) -> list[InstructionOp]:
        return [op for op in self.body.block.ops if isinstance(op, InstructionOp)]

    @classmethod
    def parse(cls, parser: Parser) -> ProgramOp:
        name = parser.parse_symbol_name().data
        roles = []
        for delimiter in ("(", "-> ("):
            for word in delimiter.split():
                parser.parse_punctuation(word)
            items = []
            if parser.parse_optional_punctuation(")") is None:
                items.append(parser.parse_str_literal(" (a role)"))
                while parser.parse_optional_punctuation(",") is not None:
                    items.append(parser.parse_str_literal(" (a role)"))
                parser.parse_punctuation(")")
            roles.append(items)
        parser.parse_keyword("constants")
        constants = parse_real_list(parser, "a constant")
        parser.parse_keyword("at")
        const_base = parser.parse_integer(allow_negative=False)
        parser.parse_keyword("dram")
        dram_words = parser.parse_integer(allow_negative=False)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region()
        op = cls(name, (roles[0], roles[1]), constants, const_base, dram_words, body)
        if attrs is not None:
            op.attributes |= attrs.data
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        args, results = self.roles
        printer.print_string(" (" + ", ".join(f'"{r}"' for r in args) + ") -> (")
        printer.print_string(", ".join(f'"{r}"' for r in results) + ") constants ")
        print_real_list(printer, self.constant_values)
        printer.print_string(f" at {self.const_base.value.data} dram {self.dram_words.value.data}")
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    def verify_(self) -> None:
        ops = list(self.body.block.ops)
        for op in ops:
            if not isinstance(op, TensorOp | InstructionOp):
                raise VerifyException(
                    f"'{op.name}' cannot appear in a pinta.program: it holds pinta.tensor "
                    "declarations and instructions"
                )
        if not ops or not isinstance(ops[-1], INSTRUCTION_OPS["HALT"]):
            raise VerifyException("a pinta.program ends with pinta.halt")
        seen_instruction = False
        for op in ops:
            if isinstance(op, InstructionOp):
                seen_instruction = True
            elif seen_instruction:
                raise VerifyException("pinta.tensor declarations come before the instructions")


PINTA = Dialect("pinta", [ProgramOp, TensorOp, *INSTRUCTION_OPS.values()], [])
