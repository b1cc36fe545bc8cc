"""PINTA program files and the constant pool.

A program file (`.pbin`) is a 16-byte header followed by the instruction words:

| bytes | content |
|---|---|
| 0-3 | magic `PNTA` |
| 4-5 | format version (u16, little-endian; this is version 1) |
| 6-7 | header size in bytes (u16; 16) |
| 8-11 | instruction count (u32) |
| 12-15 | CRC-32 of the instruction bytes (u32) |
| 16- | the instructions, 16 bytes each, little-endian |

`read_program` checks all of it: a truncated, corrupted or foreign file is a `UserError`
naming the file and what is wrong. A program holds at most `MAX_INSTRUCTIONS` instructions: a
file is refused from its size before it is read, and no longer program is written.

The constant pool is a region of DRAM holding 64-bit entries (float64, two little-endian
words each, low word first): sigma, scale factors, loss weights, optimizer hyperparameter
blocks. Instructions address it by entry index. Constants are float64 because the runtime's
kernels take them as Python floats (a float32 copy of beta1 would change `1 - beta1`, and
so the update, in its last bit). `ConstantPool` builds one.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pintac.core.errors import UserError
from pintac.core.training import ADAM_DEFAULTS
from pintac.runtime.files import atomic_write
from pintac.runtime.inputs import read_bytes, shown
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.codes import HYPER_FIELDS, SCHEDULE_CODES

MAGIC = b"PNTA"
VERSION = 1
_HEADER = struct.Struct("<4sHHII")
HEADER_BYTES = _HEADER.size
# A program is read whole and decoded in Python: 2 Mi instructions (32 MiB) is over 100 times
# the programs of the paper-size examples.
MAX_INSTRUCTIONS = 1 << 21


@dataclass
class Program:
    """A PINTA program: its 128-bit instruction words (ints)."""

    words: list[int]

    @classmethod
    def of(cls, items: Iterable[int | isa.Instruction] | Program | bytes) -> Program:
        """A program from instructions, words, a Program, or the bytes of a program file."""
        if isinstance(items, Program):
            return items
        if isinstance(items, bytes | bytearray | memoryview):
            return from_bytes(bytes(items))
        return cls([isa.encode(i) if isinstance(i, isa.Instruction) else int(i) for i in items])

    def instructions(self) -> list[isa.Instruction]:
        """The decoded instructions (a `PintaTrap` at the first word that does not decode)."""
        return [isa.decode(w, pc) for pc, w in enumerate(self.words)]

    def to_bytes(self) -> bytes:
        if len(self.words) > MAX_INSTRUCTIONS:
            raise UserError(
                f"error: the program has {len(self.words)} instructions, more than a program "
                f"file holds ({MAX_INSTRUCTIONS})"
            )
        body = b"".join(w.to_bytes(isa.WORD_BYTES, "little") for w in self.words)
        header = _HEADER.pack(MAGIC, VERSION, HEADER_BYTES, len(self.words), zlib.crc32(body))
        return header + body

    def __len__(self) -> int:
        return len(self.words)


def from_bytes(data: bytes, source: str | None = None) -> Program:
    """Parse the bytes of a program file (`source`: its path, for messages); `UserError` if
    they are not a valid one."""

    def damaged(message: str) -> UserError:
        where = f"{source}: error: the file" if source is not None else "error: the program"
        return UserError(f"{where} {message}")

    if len(data) < HEADER_BYTES:
        raise damaged(
            f"is not a PINTA program: {len(data)} bytes, shorter than the {HEADER_BYTES}-byte "
            "header"
        )
    magic, version, header, count, crc = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise damaged(f"is not a PINTA program (magic {shown(magic)}, expected {MAGIC!r})")
    if version != VERSION:
        raise damaged(
            f"is a PINTA program of format version {version}; this pintac reads version {VERSION}"
        )
    if header != HEADER_BYTES:
        raise damaged(f"is corrupted: header size {header}, expected {HEADER_BYTES}")
    body = data[HEADER_BYTES:]
    expected = count * isa.WORD_BYTES
    if len(body) != expected:
        what = "truncated" if len(body) < expected else "corrupted (trailing bytes)"
        raise damaged(
            f"is {what}: the header announces {count} instructions ({expected} bytes) but "
            f"{len(body)} bytes follow it"
        )
    if zlib.crc32(body) != crc:
        raise damaged("is corrupted: the instructions' checksum does not match")
    words = [
        int.from_bytes(body[i : i + isa.WORD_BYTES], "little")
        for i in range(0, len(body), isa.WORD_BYTES)
    ]
    return Program(words)


def write_program(path: str | Path, program) -> None:
    """Write a program file (`program`: a Program, instructions or words), atomically."""
    data = Program.of(program).to_bytes()
    atomic_write(Path(path), lambda stream: stream.write(data), "program")


def file_bytes(instructions: int) -> int:
    """The size of a program file of `instructions` instructions."""
    return HEADER_BYTES + instructions * isa.WORD_BYTES


def read_program(path: str | Path, max_instructions: int = MAX_INSTRUCTIONS) -> Program:
    """Read a program file of at most `max_instructions` instructions; a missing, special,
    too large, truncated or corrupted file is a `UserError`."""
    limit = file_bytes(max_instructions)
    data = read_bytes(
        path,
        "the program",
        limit,
        f"a program of at most {max_instructions} instructions ({limit} bytes)",
    )
    return from_bytes(data, str(path))


# ------------------------------------------------------------------------------- constants


class ConstantPool:
    """The constants of a program, as 64-bit entries.

    `add` returns the entry index of a value (shared by equal values); `add_block` appends
    values as consecutive entries (wsum weights); `hyperparameters` appends an UPDATE block.
    `words()` is the pool as DRAM words, to place at the program's `const_base`.
    """

    def __init__(self):
        self.values: list[float] = []
        self._index: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self.values)

    def add(self, value: float) -> int:
        key = np.float64(value).tobytes()
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.values)
            self.values.append(float(value))
        return found

    def add_block(self, values: Iterable[float]) -> int:
        first = len(self.values)
        self.values.extend(float(v) for v in values)
        return first

    def hyperparameters(
        self,
        lr: float,
        beta1: float = ADAM_DEFAULTS["beta1"],
        beta2: float = ADAM_DEFAULTS["beta2"],
        eps: float = ADAM_DEFAULTS["eps"],
        schedule: str = "constant",
        steps: int | None = None,
    ) -> int:
        """Append an UPDATE hyperparameter block (lr, beta1, beta2, eps, schedule code,
        steps); the first entry's index. Pass the optimizer's values exactly as the
        `train.update` op holds them."""
        if schedule not in SCHEDULE_CODES:
            raise UserError(
                f"error: unknown schedule {shown(schedule)} (known: {', '.join(SCHEDULE_CODES)})"
            )
        block = dict(zip(HYPER_FIELDS, (lr, beta1, beta2, eps), strict=False))
        block["schedule"] = SCHEDULE_CODES.index(schedule)
        block["steps"] = 0 if steps is None else int(steps)
        return self.add_block(block[name] for name in HYPER_FIELDS)

    def array(self) -> np.ndarray:
        return np.array(self.values, dtype=np.float64)

    def words(self) -> np.ndarray:
        """The pool as float32-typed DRAM words (two per entry, little-endian halves)."""
        return self.array().astype("<f8").view("<f4").astype(np.float32, copy=True)


def read_constants(dram: np.ndarray, base: int, entries: int) -> np.ndarray:
    """The float64 entries of a constant pool at DRAM word `base`."""
    words = np.ascontiguousarray(dram[base : base + 2 * entries], dtype=np.float32)
    return words.astype("<f4", copy=False).view("<f8").astype(np.float64)
