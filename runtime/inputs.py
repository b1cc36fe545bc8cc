"""Reading the files a user gives pintac: regular files only, their size checked before reading.

Every input file pintac reads whole (an MLIR source, a program file, a DRAM image, a manifest,
a hardware configuration) goes through `read_bytes` or `read_text`:

- only a regular file is read, after symbolic links are followed; a directory, FIFO, device or
  socket is an error saying which it is, found by `stat` before the file is opened (a FIFO
  would wait forever for a writer, `/dev/zero` never ends), and the file is opened
  non-blocking and checked again in case it was swapped in between;
- its size, from `stat`, is compared with the caller's limit before a byte is read (a sparse
  file of gigabytes is refused from its size, not read), and no more than the limit is read
  if the file grows meanwhile.

`input_size` is the same check for a caller that compares the size with what it expects
before reading. `check_nesting` bounds the nesting of JSON and TOML text before a recursive
parser sees it (`json` and `tomllib` recurse once per level, and `tomllib` takes quadratic
time in the components of a dotted key). `shown` quotes a user's value in a message: escaped,
never raw bytes, and truncated (`plain` leaves a printable name as it is).

Every failure is a `UserError` that starts with the path: `FILE: error: ...`.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from pintac.core.errors import UserError

# The largest MLIR source (a problem, IR, PINTA assembly) pintac reads: a PINTA program of the
# most instructions a program file holds, as annotated assembly, is about 250 MiB.
MAX_SOURCE_BYTES = 256 << 20
# Nesting deeper than this in a manifest or a hardware configuration is refused before parsing;
# pintac writes three levels.
MAX_NESTING = 32

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _error(path: str | Path, message: str) -> UserError:
    return UserError(f"{path}: error: {message}")


def _os_error(path: str | Path, e: OSError) -> UserError:
    if isinstance(e, FileNotFoundError):
        return _error(path, "no such file")
    if isinstance(e, PermissionError):
        return _error(path, "permission denied")
    if isinstance(e, IsADirectoryError):
        return _error(path, "is a directory, not an input file")
    return _error(path, f"cannot read: {(e.strerror or str(e)).lower()}")


def _check_regular(path: str | Path, mode: int, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise _error(path, "is a directory, not an input file")
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise _error(path, f"{what} is {kind}, not a regular file; pintac reads only regular files")


def input_size(path: str | Path, what: str) -> int:
    """The size in bytes of the regular file `path` (symbolic links followed); a UserError if
    it is missing, unreadable or not a regular file. `what` names it ("the DRAM image")."""
    if str(path) == "":
        raise UserError(f"error: the path of {what} is empty")
    try:
        info = os.stat(path)
    except OSError as e:
        raise _os_error(path, e) from None
    _check_regular(path, info.st_mode, what)
    return info.st_size


def _too_large(path: str | Path, what: str, size: int, limit: int, bound: str | None):
    bound = bound or f"the {limit} bytes pintac reads"
    return _error(path, f"{what} is {size} bytes, more than {bound}")


def read_bytes(path: str | Path, what: str, limit: int, bound: str | None = None) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (see the module doc).

    `what` names the file in messages ("the manifest"); `bound` says what the limit is ("a
    program of 12 instructions (208 bytes)"), by default the number of bytes."""
    size = input_size(path, what)
    if size > limit:
        raise _too_large(path, what, size, limit, bound)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise _os_error(path, e) from None
    with os.fdopen(fd, "rb") as stream:
        try:
            info = os.fstat(fd)
            _check_regular(path, info.st_mode, what)  # swapped since the stat above
            if info.st_size > limit:
                raise _too_large(path, what, info.st_size, limit, bound)
            # a byte more than the file has: a file that grows meanwhile is seen, and nothing
            # is allocated for the limit, only for the file
            data = stream.read(info.st_size + 1)
        except OSError as e:
            raise _os_error(path, e) from None
    if len(data) > info.st_size:
        raise _error(path, f"{what} changed while it was read")
    return data


def read_text(path: str | Path, what: str, limit: int, bound: str | None = None) -> str:
    """`read_bytes` decoded as UTF-8; bytes that are not UTF-8 are a located error that shows
    the offending byte's value, never the bytes themselves."""
    data = read_bytes(path, what, limit, bound)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise UserError(
            f"{path}:{line}:{column}: error: {what} is not UTF-8 text (byte 0x{data[e.start]:02x})"
        ) from None


# Everything that does not change the nesting, strings and comments included, as one regular
# expression: every alternative consumes at least one character and a string runs to its
# closing quote or the end of the text without backtracking, so one pass skips it all.
_SKIPPED = {
    "json": r'"(?:[^"\\]++|\\.?)*+"?|[^"\[\]{}]++',
    "toml": r"#[^\n]*+"
    r'|"""(?:[^"\\]++|\\.?|"(?!""))*+(?:"""|\Z)'
    r"|'''(?:[^']++|'(?!''))*+(?:'''|\Z)"
    r'|"(?:[^"\\\n]++|\\.?)*+"?'
    r"|'[^'\n]*+'?"
    r"|[^#\"'\[\]{}.=,\n]++",
}
_SIGNIFICANT = {"json": r"[\[\]{}]", "toml": r"[\[\]{}.=,\n]"}
_SKIP = {k: re.compile(f"(?:{v})++", re.S) for k, v in _SKIPPED.items()}
_NEXT = {k: re.compile(f"(?:{v})*+({_SIGNIFICANT[k]})", re.S) for k, v in _SKIPPED.items()}


def check_nesting(text: str, name: str, syntax: str, limit: int = MAX_NESTING) -> None:
    """A located UserError if JSON or TOML (`syntax`) `text` nests deeper than `limit`: arrays,
    objects and tables, and in TOML also the components of a dotted key (`a.b.c`). Brackets
    and dots in strings and comments do not count."""
    tokens = np.frombuffer(_SKIP[syntax].sub("", text).encode("ascii"), np.uint8)
    opens = (tokens == ord("[")) | (tokens == ord("{"))
    closes = (tokens == ord("]")) | (tokens == ord("}"))
    depth = np.cumsum(opens, dtype=np.int64) - np.cumsum(closes, dtype=np.int64)
    dots = np.cumsum(tokens == ord("."), dtype=np.int64)
    # the dots since the last token that ends a dotted key (anything but a dot)
    dots -= np.maximum.accumulate(np.where(tokens != ord("."), dots, 0))
    deeper = np.flatnonzero(depth + dots > limit)
    if deeper.size:
        found = itertools.islice(_NEXT[syntax].finditer(text), int(deeper[0]), None)
        offset = next(found).start(1)
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        raise UserError(f"{name}:{line}:{column}: error: nests more than {limit} levels deep")


def plain(text: str, limit: int = 40) -> str:
    """A name for a message: as it is if it is printable and at most `limit` characters, else
    `shown` (quoted, escaped, truncated)."""
    return text if text.isprintable() and len(text) <= limit else shown(text, limit)


def shown(value: Any, limit: int = 40) -> str:
    """`value` for a message: its repr (control characters and undecodable bytes escaped), at
    most `limit` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return "an integer of thousands of digits"
    return text if len(text) <= limit else text[: limit - 3] + "..."
