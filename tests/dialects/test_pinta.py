"""The pinta dialect mirrors the ISA table (the dialect cannot import the runtime)."""

from pintac.dialects import pinta
from pintac.runtime.pinta import isa


def test_one_instruction_op_per_isa_class_in_opcode_order():
    by_opcode = sorted(isa.INSTRUCTIONS.values(), key=lambda c: (c.opcode, c.minor or 0))
    assert list(pinta.MNEMONICS) == [c.mnemonic for c in by_opcode]
    for mnemonic, op in pinta.INSTRUCTION_OPS.items():
        assert op.name == f"pinta.{mnemonic.lower()}"


def test_the_same_token_flags():
    assert pinta.FLAGS == isa.FLAGS


def test_an_instruction_op_carries_what_the_isa_encodes():
    ins = isa.GEMM(acc=0, a=8, b=64, m=16, k=32, n=4, init=1, prec_b="int12", pop_prev=1)
    fields = {f.name: getattr(ins, f.name) for f in ins.spec.fields} | {"pop_prev": 1}
    op = pinta.instruction("GEMM", "a note", **fields)
    assert isa.make(op.MNEMONIC, **op.values) == ins
    assert op.attributes["note"].data == "a note"
