"""Reading input files: regular files only, sizes checked before reading, nesting bounded,
user values quoted without raw bytes."""

import os
import time

import pytest
from deadline import no_hang

from pintac.core.errors import UserError
from pintac.runtime.inputs import check_nesting, input_size, read_bytes, read_text, shown


def test_a_regular_file_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("héllo\n".encode())
    assert read_bytes(path, "the input", 100) == "héllo\n".encode()
    assert read_text(path, "the input", 100) == "héllo\n"
    assert input_size(path, "the input") == 7
    link = tmp_path / "link.txt"
    link.symlink_to(path)
    assert read_text(link, "the input", 100) == "héllo\n"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with no_hang(), pytest.raises(UserError, match=f"^{fifo}: error: the input is a FIFO"):
        read_bytes(fifo, "the input", 100)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with no_hang(), pytest.raises(UserError, match=f"^{link}: error: the input is a FIFO"):
        read_text(link, "the input", 100)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_or_a_link_to_one_is_refused(tmp_path):
    link = tmp_path / "dram.img"
    link.symlink_to("/dev/zero")
    for path in ("/dev/zero", link):
        with pytest.raises(UserError, match="error: the DRAM image is a character device, not a"):
            read_bytes(path, "the DRAM image", 1 << 40)
        with pytest.raises(UserError, match="a character device"):
            input_size(path, "the DRAM image")


def test_missing_files_and_directories_are_named(tmp_path):
    with pytest.raises(UserError, match=f"^{tmp_path / 'nope'}: error: no such file$"):
        read_bytes(tmp_path / "nope", "the input", 100)
    with pytest.raises(UserError, match=f"^{tmp_path}: error: is a directory, not an input file$"):
        read_bytes(tmp_path, "the input", 100)


def test_the_size_is_checked_before_reading(tmp_path):
    sparse = tmp_path / "dram.img"
    with open(sparse, "wb") as f:
        f.truncate(4 << 30)  # 4 GiB of holes: reading it whole would take 4 GiB
    start = time.perf_counter()
    with pytest.raises(UserError, match=f"^{sparse}: error: the DRAM image is 4294967296 bytes"):
        read_bytes(sparse, "the DRAM image", 1 << 20)
    assert time.perf_counter() - start < 1
    small = tmp_path / "small"
    small.write_bytes(b"x" * 11)
    with pytest.raises(UserError, match="11 bytes, more than a program of 0 instructions"):
        read_bytes(small, "the program", 10, "a program of 0 instructions (10 bytes)")
    assert read_bytes(small, "the program", 11) == b"x" * 11


def test_text_that_is_not_utf8_is_located_and_never_echoed(tmp_path):
    path = tmp_path / "hw.toml"
    path.write_bytes(b"[gemm]\npes = \x1b[31m\xff\n")
    with pytest.raises(UserError) as e:
        read_text(path, "the hardware configuration", 100)
    message = str(e.value)
    assert (
        message == f"{path}:2:12: error: the hardware configuration is not UTF-8 text (byte 0xff)"
    )


@pytest.mark.parametrize(
    "syntax, text, where",
    [
        ("json", "[" * 100_000 + "]" * 100_000, ":1:33:"),
        ("json", '{"a":\n' + '{"a": ' * 100_000, ":2:187:"),
        ("toml", "a = " + "[" * 100_000, ":1:37:"),
        ("toml", "a = " + "{b = " * 100_000, ":1:165:"),
        ("toml", "[" + ".".join(["a"] * 100_000) + "]\nx = 1\n", ":1:65:"),
        ("toml", "\n" + ".".join(["a"] * 100_000) + " = 1\n", ":2:66:"),
    ],
    ids=[
        "json arrays",
        "json objects",
        "toml arrays",
        "toml inline tables",
        "toml dotted header",
        "toml dotted key",
    ],
)
def test_deep_nesting_is_refused_before_parsing(syntax, text, where):
    start = time.perf_counter()
    with pytest.raises(UserError, match=f"^f{where} error: nests more than 32 levels deep"):
        check_nesting(text, "f", syntax)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(
    "syntax, text",
    [
        ("json", '{"a": "' + "[" * 1000 + '", "b": [[1.5, 2.5e3]]}'),
        ("json", '["\\"[[[[", ' + "[" * 31 + "]" * 31 + "]"),
        ("toml", "a = '" + "[" * 1000 + "'\n# " + "{" * 1000 + '\nb = "' + "." * 1000 + '"\n'),
        ("toml", 'a = """\n' + "[" * 1000 + '"\n"""\n[sfu.cycles]\ntanh = 1.5\n'),
        ("toml", "x = 1.5\ny = 2.5\n" * 1000 + "a.b.c = [[1.5]]\n"),
    ],
    ids=[
        "json",
        "json escapes",
        "toml strings and comments",
        "toml multi-line",
        "toml floats and dotted keys",
    ],
)
def test_brackets_and_dots_in_strings_and_comments_do_not_count(syntax, text):
    check_nesting(text, "f", syntax)


def test_values_are_shown_escaped_and_truncated():
    assert shown("gemm") == "'gemm'"
    assert shown("\x1b[31mred") == "'\\x1b[31mred'"
    assert shown(b"\xff\x00") == "b'\\xff\\x00'"
    assert shown("x" * 100, 20) == "'" + "x" * 16 + "..."
    assert shown(10**5000) == "an integer of thousands of digits"


# `read_source` (pintac/diagnostics.py) reads every MLIR and assembly input through here.


def test_a_source_is_read_only_from_a_regular_file(tmp_path):
    from pintac.diagnostics import read_source

    fifo = tmp_path / "p.mlir"
    os.mkfifo(fifo)
    with no_hang(), pytest.raises(UserError, match=f"^{fifo}: error: the input is a FIFO"):
        read_source(str(fifo))
    sparse = tmp_path / "big.mlir"
    with open(sparse, "wb") as f:
        f.truncate(1 << 40)
    with pytest.raises(UserError, match=f"^{sparse}: error: the input is {1 << 40} bytes, more"):
        read_source(str(sparse))


def test_a_generous_limit_allocates_only_what_the_file_holds(tmp_path):
    """The limit bounds what may be read, not what is allocated: a 5-byte file read with a
    terabyte limit needs 5 bytes (reading `limit + 1` bytes would ask for a terabyte)."""
    path = tmp_path / "small.txt"
    path.write_bytes(b"hello")
    assert read_bytes(path, "the input", 1 << 40) == b"hello"
