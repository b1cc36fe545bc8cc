"""Program files and the constant pool."""

import numpy as np
import pytest

from pintac.runtime.errors import UserError
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.program import (
    ConstantPool,
    Program,
    read_constants,
    read_program,
    write_program,
)

PROGRAM = [
    isa.LOAD(dst=0, src=0, rows=2, cols=2, stride=2, push_next=1),
    isa.GEMM(acc=0, a=0, b=0, m=2, k=2, n=2, init=1, pop_prev=1),
    isa.HALT(),
]


def test_a_program_file_round_trips(tmp_path):
    path = tmp_path / "p.pbin"
    write_program(path, PROGRAM)
    program = read_program(path)
    assert program.instructions() == PROGRAM
    assert program.words == [i.encode() for i in PROGRAM]
    assert path.read_bytes()[:4] == b"PNTA"
    assert len(path.read_bytes()) == 16 + 16 * len(PROGRAM)
    assert Program.of(path.read_bytes()) == program


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:10], "not a PINTA program: 10 bytes, shorter than the 16-byte header"),
        (lambda b: b"XXXX" + b[4:], "not a PINTA program \\(magic b'XXXX'"),
        (lambda b: b[:4] + b"\x07\x00" + b[6:], "format version 7; this pintac reads version 1"),
        (lambda b: b[:-5], "truncated: the header announces 3 instructions \\(48 bytes\\) but 43"),
        (lambda b: b + b"\x00", "corrupted \\(trailing bytes\\)"),
        (lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], "corrupted: the instructions' checksum"),
    ],
)
def test_damaged_program_files_are_user_errors(tmp_path, damage, message):
    path = tmp_path / "bad.pbin"
    write_program(path, PROGRAM)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UserError, match=f"^{path}.* {message}|^{path} is {message}"):
        read_program(path)


def test_a_missing_program_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read the PINTA program .*nope.pbin"):
        read_program(tmp_path / "nope.pbin")


def test_the_constant_pool_holds_float64_entries_in_dram_words():
    pool = ConstantPool()
    assert pool.add(0.9) == 0
    assert pool.add(0.01) == 1
    assert pool.add(0.9) == 0  # shared
    h = pool.hyperparameters(1e-3, schedule="linear_decay", steps=500)
    assert h == 2 and len(pool) == 8
    dram = np.zeros(40, np.float32)
    dram[10 : 10 + 16] = pool.words()
    consts = read_constants(dram, 10, len(pool))
    assert consts.tolist() == [0.9, 0.01, 1e-3, 0.9, 0.999, 1e-8, 1.0, 500.0]
    with pytest.raises(UserError, match="unknown schedule 'cosine'"):
        pool.hyperparameters(1e-3, schedule="cosine")


def test_the_generated_documentation_is_up_to_date():
    from pintac.runtime.pinta.__main__ import main

    assert main(["docs", "--check"]) == 0
