"""Program files and the constant pool."""

import os

import numpy as np
import pytest

from pintac.core.errors import UserError
from pintac.runtime.pinta import isa, program
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
        (lambda b: b[:10], "the file is not a PINTA program: 10 bytes, shorter than the 16-byte"),
        (lambda b: b"XXXX" + b[4:], "the file is not a PINTA program \\(magic b'XXXX'"),
        (lambda b: b"\x1b[2J" + b[4:], "the file is not a PINTA program \\(magic b'\\\\x1b\\[2J'"),
        (lambda b: b[:4] + b"\x07\x00" + b[6:], "the file is a PINTA program of format version 7;"),
        (
            lambda b: b[:-5],
            "the file is truncated: the header announces 3 instructions \\(48 bytes",
        ),
        (lambda b: b + b"\x00", "the file is corrupted \\(trailing bytes\\)"),
        (
            lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],
            "the file is corrupted: the instructions'",
        ),
    ],
)
def test_damaged_program_files_are_user_errors(tmp_path, damage, message):
    path = tmp_path / "bad.pbin"
    write_program(path, PROGRAM)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UserError, match=f"^{path}: error: {message}"):
        read_program(path)


def test_a_missing_program_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=f"^{tmp_path / 'nope.pbin'}: error: no such file$"):
        read_program(tmp_path / "nope.pbin")


def test_a_program_file_is_read_only_from_a_regular_file_of_its_size(tmp_path):
    fifo = tmp_path / "fifo.pbin"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="the program is a FIFO"):
        read_program(fifo)  # at once: opening the FIFO for reading would wait for a writer
    path = tmp_path / "p.pbin"
    write_program(path, PROGRAM)
    too_long = "the program is 64 bytes, more than a program of at most 2 instructions \\(48"
    with pytest.raises(UserError, match=too_long):
        read_program(path, max_instructions=2)
    sparse = tmp_path / "sparse.pbin"
    with open(sparse, "wb") as f:
        f.truncate(1 << 40)  # a terabyte of holes: refused from its size, never read
    with pytest.raises(UserError, match=f"the program is {1 << 40} bytes, more than a program of"):
        read_program(sparse)


def test_programs_longer_than_a_program_file_holds_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(program, "MAX_INSTRUCTIONS", 2)
    with pytest.raises(UserError, match="the program has 3 instructions, more than a program "):
        Program.of(PROGRAM).to_bytes()


def test_writing_a_program_replaces_a_link_instead_of_writing_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "p.pbin"
    link.symlink_to(victim)
    write_program(link, PROGRAM)
    assert victim.read_text() == "keep me"
    assert not link.is_symlink() and read_program(link).instructions() == PROGRAM


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
