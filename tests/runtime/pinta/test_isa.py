"""The instruction table, the 128-bit encoding, the assembler and the disassembler."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pinta_helpers import ROOT

from pintac.core.errors import UserError
from pintac.runtime.pinta import asm, isa
from pintac.runtime.pinta.codes import QUEUES
from pintac.runtime.pinta.config import load_config
from pintac.runtime.pinta.errors import PintaTrap

# ------------------------------------------------------------------------------- strategies


def _field_values(f: isa.Field):
    if f.kind == "enum":
        return st.sampled_from(list(f.codes))
    if f.kind == "pow2":
        return st.sampled_from(list(f.codes))
    return st.one_of(
        st.integers(f.minimum, min(f.top, f.minimum + 40)), st.integers(f.minimum, f.top)
    )


@st.composite
def instructions(draw, spec=None):
    spec = spec or draw(st.sampled_from(list(isa.INSTRUCTIONS.values())))
    values = {f.name: draw(_field_values(f)) for f in spec.fields}
    ins = spec.type(**values)
    queue = ins.dispatch_queue
    flags = {}
    if queue is not None:
        index = QUEUES.index(queue)
        for name in isa.FLAGS:
            allowed = index > 0 if name.endswith("prev") else index < len(QUEUES) - 1
            flags[name] = draw(st.integers(0, 1)) if allowed else 0
    ins = ins._replace(**flags)
    if isa.problems(ins):
        # cross-field rules: repair the usual suspects rather than filter
        repairs = {}
        if spec.mnemonic == "VCOL":
            lo = min(ins.lo, 4094)
            repairs = {"lo": lo, "hi": max(ins.hi, lo + 1), "cols": max(ins.cols, ins.hi, lo + 1)}
        elif spec.mnemonic == "STEIN":
            lo = min(ins.lo, 254)
            hi = max(ins.hi, lo + 1)
            repairs = {"lo": lo, "hi": hi, "coords": max(ins.coords, hi), "diff": 0}
        elif spec.mnemonic == "QUANT":
            repairs = {"bcols": ins.brows, "tensor_cols": max(ins.tensor_cols, ins.cols)}
        elif spec.mnemonic == "STORE":
            repairs = {"stride": max(ins.stride, ins.cols)}
        elif spec.mnemonic == "RED":
            repairs = {"rows": 1}
        elif spec.mnemonic == "RNG":
            repairs = {"coords": max(ins.coords, 1), "sigma": 0, "sigma_t": 0, "has_sigma_t": 0}
        elif spec.mnemonic == "PERM":
            drawn = [ins.p0, ins.p1, ins.p2, ins.p3]
            axes = sorted(range(4), key=lambda i: (drawn[i], i))  # a permutation
            extents = [ins.n0, ins.n1, ins.n2, ins.n3]
            while math.prod(extents) >= 1 << 19:  # room for a disjoint source and result
                extents[extents.index(max(extents))] //= 16
            src = min(ins.src, (1 << 19) - 1)
            repairs = {f"p{i}": a for i, a in enumerate(axes)}
            repairs |= {f"n{i}": e for i, e in enumerate(extents)}
            repairs |= {"src": src, "dst": src + math.prod(extents)}
        ins = ins._replace(**repairs)
    assert not isa.problems(ins), isa.problems(ins)
    return ins


# ------------------------------------------------------------------------------- encoding


def test_every_class_fits_the_word_and_opcodes_are_unique():
    opcodes = [(spec.opcode, spec.minor) for spec in isa.INSTRUCTIONS.values()]
    assert len(set(opcodes)) == len(opcodes)
    assert not {op for op, _ in opcodes} & {0, 15}
    for spec in isa.INSTRUCTIONS.values():
        assert spec.used_bits <= isa.WORD_BITS
        bit = isa.HEADER_BITS + spec.minor_bits
        for f in spec.fields:
            assert f.offset == bit
            bit += f.width


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instructions())
def test_decode_inverts_encode(ins):
    word = isa.encode(ins)
    assert 0 <= word < 1 << isa.WORD_BITS
    assert isa.decode(word) == ins
    assert isa.decode_bytes(ins.to_bytes()) == ins


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instructions())
def test_disassembly_reassembles_to_the_same_words(ins):
    word = isa.encode(ins)
    text = asm.disassemble([word])
    assert asm.assemble(text) == [word]
    # and the canonical text is a fixed point
    assert asm.disassemble(asm.assemble(text)) == text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(instructions(), min_size=1, max_size=8), st.data())
def test_assembling_any_spelling_gives_the_canonical_text(program, data):
    """Positional or named operands, defaults omitted, comments and commas: the disassembly
    of the assembled text is the canonical text."""
    lines = []
    for ins in program:
        spec = ins.spec
        npos = data.draw(st.integers(0, len(spec.fields)))
        parts = [spec.mnemonic.lower() if data.draw(st.booleans()) else spec.mnemonic]
        for i, f in enumerate(spec.fields):
            value = f.format(getattr(ins, f.name))
            if i < npos:
                parts.append(value)
            elif getattr(ins, f.name) != f.default or data.draw(st.booleans()):
                parts.append(f"{f.name}={value}")
        parts += [f"{name}=1" for name in isa.FLAGS if getattr(ins, name)]
        sep = data.draw(st.sampled_from([" ", ", ", "\t"]))
        comment = data.draw(st.sampled_from(["", "  ; note", " # x=1"]))
        lines.append(sep.join(parts) + comment)
    text = "\n\n".join(lines) + "\n"
    assert asm.disassemble(asm.assemble(text)) == "".join(i.text() + "\n" for i in program)


def test_encoding_errors_name_the_field():
    with pytest.raises(isa.EncodeError, match="GEMM: field 'm': 70000 does not fit in 16 bits"):
        isa.GEMM(m=70000).encode()
    with pytest.raises(isa.EncodeError, match="field 'rounding': 'up' is not one of"):
        isa.QUANT(rounding="up").encode()
    with pytest.raises(isa.EncodeError, match="field 'bits': 1 is out of range \\(2..16\\)"):
        isa.QUANT(bits=1).encode()
    with pytest.raises(
        isa.EncodeError, match="field 'pop_next': must be 0: the store queue has no next"
    ):
        isa.STORE(pop_next=1).encode()
    with pytest.raises(isa.EncodeError, match="field 'hi': needs lo < hi <= cols"):
        isa.VCOL(lo=2, hi=2, cols=4).encode()
    with pytest.raises(isa.EncodeError, match="field 'p1': p0..p3 must be a permutation"):
        isa.PERM(p0=1).encode()
    with pytest.raises(
        isa.EncodeError, match=r"field 'dst': the destination SPM\[10, 30\) overlaps the source"
    ):
        isa.PERM(dst=10, src=0, n3=20).encode()


def test_perm_is_a_minor_opcode_of_vcol():
    """PERM is code 3 of VCOL's `op` bits: opcode 7, its own fields from bit 10."""
    spec = isa.INSTRUCTIONS["PERM"]
    assert (spec.opcode, spec.minor, spec.minor_bits) == (7, 3, 2)
    assert spec.fields[0].offset == isa.HEADER_BITS + 2
    ins = isa.PERM(dst=300, src=4, n0=3, n1=2, n2=5, n3=7, p0=2, p1=0, p2=3, p3=1, pop_prev=1)
    word = ins.encode()
    assert word & 0xF == 7 and (word >> isa.HEADER_BITS) & 3 == 3
    assert isa.decode(word) == ins
    vcol = isa.VCOL(op="expand_columns", lo=0, hi=1, cols=1)
    assert isa.decode(vcol.encode()) == vcol
    assert isa.decode(isa.VCOL(lo=0, hi=1, cols=1).encode() | 3 << isa.HEADER_BITS).mnemonic == (
        "PERM"
    )


def test_rng_onehot_is_a_kind_whose_code_0_keeps_the_normal_draws_words():
    """`kind` follows RNG's older fields: a normal draw's word has zero bits there (its word
    is the one it was before the onehot kind); a onehot draw is checked, timed and charged
    as the table says."""
    kind = isa.INSTRUCTIONS["RNG"].by_name["kind"]
    assert kind.offset == isa.INSTRUCTIONS["RNG"].used_bits - 1
    normal = isa.RNG(dst=5, points=3, pairs=4, coords=2, stream=1, sigma=2, has_sigma_t=1)
    assert not normal.encode() >> kind.offset
    onehot = isa.RNG(kind="onehot", dst=5, points=3, pairs=4, coords=2, stream=1)
    assert onehot.encode() >> kind.offset == 1
    assert isa.decode(onehot.encode()) == onehot
    with pytest.raises(isa.EncodeError, match="field 'sigma': onehot draws are not scaled"):
        onehot._replace(sigma=1).encode()
    with pytest.raises(isa.EncodeError, match="field 'coords': onehot draws from \\[0, coords\\)"):
        onehot._replace(coords=0).encode()
    cfg = load_config(None)
    spec = isa.INSTRUCTIONS["RNG"]
    # rng.latency 12 + max(ceil(12 draws / 4 words a cycle), ceil(24 words / 16 lanes))
    assert spec.cycles(onehot, cfg) == 12 + 3
    wide = onehot._replace(coords=200)  # the rows written: ceil(2400 / 16)
    assert spec.cycles(wide, cfg) == 12 + 150
    assert spec.events(wide, cfg) == {"rng.word": 12}


def test_decoding_traps_on_bad_words():
    with pytest.raises(PintaTrap, match="PINTA trap at PC 3: bad opcode 15") as e:
        isa.decode(0xF, pc=3)
    assert ".word 0x" in str(e.value)
    with pytest.raises(PintaTrap, match="bad opcode 0"):
        isa.decode(0)
    vec = isa.VEC(op="add").encode()
    with pytest.raises(PintaTrap, match="field 'op' of VEC out of range: code 15 means nothing"):
        isa.decode(vec | 0xF << isa.INSTRUCTIONS["VEC"].fields[0].offset)
    with pytest.raises(PintaTrap, match="reserved bits 76..127 of ACCRD are not zero"):
        isa.decode(isa.ACCRD().encode() | 1 << 100)
    bits = isa.INSTRUCTIONS["QUANT"].by_name["bits"]
    word = isa.QUANT().encode() & ~(((1 << bits.width) - 1) << bits.offset)  # bits = 0
    with pytest.raises(PintaTrap, match="field 'bits' of QUANT out of range: 0 is out of range"):
        isa.decode(word)


def test_make_and_text():
    ins = isa.make("gemm", 8, 0, 64, 4, 4, 4, init=1, push_next=1)
    assert ins.text() == (
        "GEMM acc=8 a=0 b=64 m=4 k=4 n=4 ta=0 tb=0 init=1 prec_a=int8 prec_b=int8 push_next=1"
    )
    assert ins.dispatch_queue == "compute"
    assert isa.NOP(queue="store").dispatch_queue == "store"
    assert isa.HALT().dispatch_queue is None
    with pytest.raises(UserError, match="unknown mnemonic 'FOO'"):
        isa.make("FOO")


# ------------------------------------------------------------------------------ assembler


@pytest.mark.parametrize(
    "source, where, message",
    [
        ("GEMN m=1", "2:1", "unknown mnemonic 'GEMN' \\(did you mean GEMM\\?\\)"),
        ("GEMM acc=0 q=1", "2:12", "GEMM has no field 'q'"),
        ("GEMM m=70000", "2:8", "field 'm': 70000 does not fit in 16 bits \\(0..65535\\)"),
        ("GEMM m=abc", "2:8", "field 'm' takes a number, got 'abc'"),
        ("GEMM prec_a=9", "2:13", "field 'prec_a' takes a name"),
        ("GEMM prec_a=int17", "2:13", "field 'prec_a': 'int17' is not one of"),
        ("GEMM m=-1", "2:8", "unexpected character '-'"),
        ("GEMM m=1 m=2", "2:10", "field 'm' is given twice"),
        ("GEMM m=1 2", "2:10", "a positional operand cannot follow a named one"),
        ("NOP compute store", "2:13", "NOP takes at most 1 positional operands"),
        ("LOAD fmt=q8x4", "2:10", "field 'fmt': 'q8x4' is not one of f32 or q"),
        ("LOAD pop_prev=1", "2:15", "field 'pop_prev': must be 0: the load queue has no previous"),
        ("GEMM m=", "2:8", "unexpected end of line; expected a name or a number"),
        ("VCOL lo=3 hi=2 cols=4", "2:14", "field 'hi': needs lo < hi <= cols"),
        ("PERM n3=4 p3=2", "2:14", "field 'p3': p0..p3 must be a permutation of 0..3"),
        (".word 0x1" + "0" * 32, "2:7", "a word has 128 bits"),
    ],
)
def test_assembler_errors_give_line_and_column(source, where, message):
    with pytest.raises(UserError, match=f"^prog.pasm:{where}: error: {message}"):
        asm.assemble("; first line\n" + source + "\nHALT\n", "prog.pasm")


def test_raw_words_and_numbers():
    words = asm.assemble(".word 0x0\nVEC op=add rows=0x10 cols=0b11 dst=1_000\n")
    assert words[0] == 0
    assert isa.decode(words[1]) == isa.VEC(op="add", rows=16, cols=3, dst=1000)
    assert asm.disassemble(words).splitlines()[0] == ".word 0x" + "0" * 32
    with pytest.raises(PintaTrap, match="bad opcode 0"):
        asm.assemble_instructions(".word 0")


# --------------------------------------------------------------------------- documentation


def test_isa_doc_is_generated_from_the_table():
    """docs/pinta-isa.md is `isa_markdown()`; regenerate: python -m pintac.runtime.pinta docs"""
    doc = ROOT / "docs" / "pinta-isa.md"
    assert doc.read_text() == isa.isa_markdown()
