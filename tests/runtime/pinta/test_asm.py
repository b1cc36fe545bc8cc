"""The assembler's fast path against the grammar: the words of every line it accepts, and the
message of every mistake, are those of the grammar reading the whole text; messages never
echo raw characters."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_isa import instructions

from pintac.core.errors import UserError
from pintac.runtime.pinta import asm, isa

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(assemble, text: str) -> tuple[str, object]:
    try:
        return "words", assemble(text, "prog.pasm")
    except UserError as e:
        return "error", str(e)


def fast_and_grammar_agree(text: str) -> tuple[str, object]:
    fast, grammar = outcome(asm.assemble, text), outcome(asm.assemble_by_grammar, text)
    assert fast == grammar
    return fast


# ------------------------------------------------------------------------ valid spellings


@SETTINGS
@given(instructions())
def test_the_canonical_text_takes_the_fast_path_and_gives_the_words(ins):
    line = isa.text(ins)
    fast = asm._fast_statement(line, {})
    assert fast is not None, line
    assert fast == (ins, isa.encode(ins))
    assert fast_and_grammar_agree(line + "\n") == ("words", [isa.encode(ins)])


@st.composite
def spellings(draw):
    """An instruction and one way to write it in the fast path's form: any case of the
    mnemonic, named operands in any order, defaults omitted or not, blanks, a comment, CRLF."""
    ins = draw(instructions())
    spec = ins.spec
    operands = [
        f"{f.name}={f.format(getattr(ins, f.name))}"
        for f in spec.fields
        if getattr(ins, f.name) != f.default or draw(st.booleans())
    ]
    operands += [f"{name}={getattr(ins, name)}" for name in isa.FLAGS if getattr(ins, name)]
    operands = draw(st.permutations(operands))
    mnemonic = draw(st.sampled_from([spec.mnemonic, spec.mnemonic.lower(), spec.mnemonic.title()]))
    blank = st.sampled_from([" ", "  ", "\t", " \t "])
    line = draw(st.sampled_from(["", " ", "\t"])) + mnemonic
    for operand in operands:
        line += draw(blank) + operand
    line += draw(st.sampled_from(["", " ", "  ; note", "# x=1, y", ";;"]))
    return ins, line + draw(st.sampled_from(["", "\r"]))


@SETTINGS
@given(st.lists(spellings(), min_size=1, max_size=6), st.sampled_from(["\n", "\n\n"]))
def test_every_fast_spelling_gives_the_grammars_words(program, separator):
    for ins, line in program:
        assert asm._fast_statement(line, {}) == (ins, isa.encode(ins)), line
    text = separator.join(line for _, line in program) + "\n"
    assert fast_and_grammar_agree(text) == ("words", [isa.encode(ins) for ins, _ in program])


@SETTINGS
@given(st.integers(0, (1 << isa.WORD_BITS) - 1))
def test_raw_words_take_the_fast_path(word):
    line = isa.raw_text(word)
    assert asm._fast_statement(line, {}) == (word, word)
    assert fast_and_grammar_agree(f"{line}  ; raw\n") == ("words", [word])


@pytest.mark.parametrize("spec", isa.INSTRUCTIONS.values(), ids=lambda spec: spec.mnemonic)
def test_each_operand_takes_the_values_and_codes_of_its_field(spec):
    encoding = asm._ENCODINGS[spec.mnemonic]  # every class has the fast path
    for f in spec.fields:
        if f.kind == "uint":
            values = [f.minimum, f.minimum + 1, f.top - 1, f.top, f.top + 1, 1 << f.width]
            values += [f.minimum - 1] if f.minimum else []
        else:
            values = [*f.codes, 0, 3, "int17", "f32", "q"]
        for value in values:
            converted = encoding.operand(f"{f.name}={value}")
            valid = f.problem(value) is None and (f.kind == "enum") == isinstance(value, str)
            assert (converted is not None) == valid, (f.name, value)
            if converted is not None:
                delta = (f.encode(value) - f.encode(f.default)) << f.offset
                assert converted == (spec.fields.index(f), value, delta)


def test_other_spellings_go_through_the_grammar():
    for line in ["GEMM 0, 0, 512", "VEC op=add rows=0x10", "LOAD dst=1_000", ".word 0b1"]:
        assert asm._fast_statement(line, {}) is None, line
    words = asm.assemble("GEMM 0, 0, 512\nVEC op=add rows=0x10\n.word 0b1\n")
    assert words[0] == isa.encode(isa.GEMM(acc=0, a=0, b=512))
    assert words[1] == isa.encode(isa.VEC(op="add", rows=16)) and words[2] == 1


# ------------------------------------------------------------------------------ mistakes

# Characters a typo or a damaged file brings: the syntax's own, blanks the grammar does and
# does not ignore, control and non-ASCII characters.
NOISE = list("=,;#.-+ _x0129aZ\t\r\f\v\x00\x1b\x85\xa0é→")


@st.composite
def damaged_lines(draw):
    """A valid line with a mistake: an edited character, a value out of range or of the
    wrong kind, an unknown or repeated field, a flag its queue does not have, an unknown
    mnemonic, a number too large to convert."""
    ins = draw(instructions())
    line = isa.text(ins)
    kind = draw(st.sampled_from(["edit", "value", "field", "repeat", "flag", "mnemonic", "huge"]))
    operands = line.split()[1:]
    if kind == "edit" or not operands:
        at = draw(st.integers(0, len(line)))
        cut = draw(st.integers(0, 2))
        return line[:at] + draw(st.text(st.sampled_from(NOISE), max_size=2)) + line[at + cut :]
    i = draw(st.integers(0, len(operands) - 1))
    name = operands[i].split("=")[0]
    if kind == "value":
        value = draw(
            st.sampled_from(["-1", "65536", "16777216", "4294967296", "int17", "f32", "3"])
        )
        operands[i] = f"{name}={value}"
    elif kind == "field":
        operands[i] = f"{draw(st.sampled_from(['q', 'pop', 'Rows', 'opcode']))}=1"
    elif kind == "repeat":
        operands.append(operands[i])
    elif kind == "flag":
        operands.append(f"{draw(st.sampled_from(isa.FLAGS))}={draw(st.sampled_from(['1', '2']))}")
    elif kind == "huge":
        operands[i] = f"{name}={'9' * draw(st.sampled_from([60, 70, 5000]))}"
    else:
        return draw(st.sampled_from(["GEMN", "HALTX", "Load2"])) + " " + " ".join(operands)
    return " ".join([line.split()[0], *operands])


@SETTINGS
@given(
    st.lists(st.one_of(damaged_lines(), instructions().map(isa.text)), min_size=1, max_size=5),
    st.booleans(),
)
def test_mistakes_give_the_grammars_message(lines, final_newline):
    text = "\n".join(lines) + ("\n" if final_newline else "")
    kind, result = fast_and_grammar_agree(text)
    if kind == "error":  # one line of printable ASCII, whatever the text held
        assert result.isascii() and result.isprintable(), result


@pytest.mark.parametrize(
    "line, characters", [(".word 0x" + "0" * 200 + "1", 203), ("GEMM m=" + "0" * 200 + "1", 201)]
)
def test_a_number_too_long_is_refused_on_both_paths(line, characters):
    kind, message = fast_and_grammar_agree(line + "\n")
    assert kind == "error"
    assert f"is a number of {characters} characters, longer than any field" in message


def test_a_syntax_error_comes_before_an_earlier_invalid_value():
    text = "GEMM m=70000\nHALT\nGEMM m=1 ,, =\n"
    message = "prog.pasm:3:11: error: unexpected ','; expected a name or a number"
    with pytest.raises(UserError, match=f"^{message}"):
        asm.assemble(text, "prog.pasm")
    with pytest.raises(UserError, match=f"^{message}"):
        asm.assemble_by_grammar(text, "prog.pasm")


# ------------------------------------------------------------------------------- messages


def test_messages_escape_what_they_quote():
    with pytest.raises(UserError) as caught:
        asm.assemble("HALT\nGEMM m=1 \x1b[2J\x00\n", "prog.pasm")
    assert str(caught.value) == "prog.pasm:2:10: error: unexpected character '\\x1b'"
    with pytest.raises(UserError) as caught:
        asm.assemble("GEMM m=1 ; \x1b[2J\u202e\nGEMM m=\n", "prog.pasm")
    assert str(caught.value).startswith("prog.pasm:2:8: error: unexpected end of line")
    with pytest.raises(UserError) as caught:  # a comment where a value belongs: not quoted
        asm.assemble("GEMM m= ; \x1b[2J\n", "prog.pasm")
    assert str(caught.value) == (
        "prog.pasm:1:9: error: unexpected comment; expected a name or a number"
    )
    for digits in (4000, 5000):  # Python converts the first, not the second
        with pytest.raises(UserError) as caught:
            asm.assemble("GEMM m=" + "9" * digits + "\n", "prog.pasm")
        assert str(caught.value) == (
            f"prog.pasm:1:8: error: '{'9' * 37}...' is a number of {digits} characters, "
            "longer than any field or word takes"
        )
