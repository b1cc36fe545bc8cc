"""The hardware configuration: the bundled defaults, files, overrides and their errors."""

import os
import time

import pytest
from deadline import no_hang
from pinta_helpers import ROOT

from pintac.core.errors import UserError
from pintac.runtime.pinta import __main__ as tools
from pintac.runtime.pinta.config import (
    DEFAULT_PATH,
    HardwareConfig,
    config_markdown,
    config_toml,
    load_config,
)


def test_the_bundled_toml_is_the_schema_defaults():
    """runtime/pinta/pinta.toml is generated (python -m pintac.runtime.pinta docs)."""
    assert DEFAULT_PATH.read_text() == config_toml()
    assert load_config() == HardwareConfig()
    assert load_config(DEFAULT_PATH) == HardwareConfig()


def test_the_hardware_doc_lists_every_key():
    doc = (ROOT / "docs" / "pinta-hardware.md").read_text()
    assert tools.with_config_table(doc, config_markdown()) == doc


def test_files_and_overrides_change_values(tmp_path):
    path = tmp_path / "hw.toml"
    path.write_text("[gemm]\npes = 32\n\n[sfu.cycles]\ntanh = 5\n")
    cfg = load_config(path, ["dram.bytes_per_cycle=64", "energy.dram_64b=2600"])
    assert cfg.gemm.pes == 32 and cfg.gemm.pe_rows == 4
    assert cfg.sfu.cycles["tanh"] == 5 and cfg.sfu.cycles["sin"] == 2
    assert cfg.dram.bytes_per_cycle == 64
    assert cfg.energy.dram_64b == 2600.0
    assert cfg.replace(**{"gemm.slices": 4}).gemm.slices == 4


@pytest.mark.parametrize(
    "text, message",
    [
        ("[gemm]\npes = 4\nfoo = 1\n", ":3: error: unknown key 'foo' in \\[gemm\\]"),
        ("\n[gem]\npes = 4\n", ":2: error: unknown section \\[gem\\]"),
        ("[gemm]\n\npes = 0\n", ":3: error: 'gemm.pes' must be at least 1, got 0"),
        ("[gemm]\npes = 2.5\n", ":2: error: 'gemm.pes' must be an integer, got 2.5"),
        ("[clock]\nmhz = 'fast'\n", ":2: error: 'clock.mhz' must be a number, got 'fast'"),
        ("[sfu.cycles]\nrelu = 2\n", ":2: error: 'sfu.cycles.relu' must name a function"),
        ("[gemm\n", ": error: invalid TOML"),
        ("pes = 4\n[gemm]\n", ":1: error: the key 'pes' lies outside any section"),
        (
            "[memory]\nspm_bytes = 8388608\n",
            ":2: error: 'memory.spm_bytes' gives 2097152 SPM words, more",
        ),
        ("[gemm]\npes = " + "9" * 5000 + "\n", ": error: invalid TOML: Exceeds the limit"),
        # keys and values are shown escaped, never as raw control characters
        ('[gemm]\n"\\u001b[2J" = 1\n', ":[0-9]+: error: unknown key '\\\\x1b\\[2J' in"),
        ('[clock]\nmhz = "\\u001b[2J"\n', ":2: error: 'clock.mhz' must be a number, got '\\\\x1b"),
    ],
)
def test_bad_files_name_the_file_line_and_key(tmp_path, text, message):
    path = tmp_path / "hw.toml"
    path.write_text(text)
    with pytest.raises(UserError, match=f"^{path}{message}"):
        load_config(path)


@pytest.mark.parametrize(
    "override, message",
    [
        ("gemm.pes", "--hw-set gemm.pes: error: not KEY=VALUE \\(e.g. gemm.pes=32\\)"),
        ("gemm.pez=3", "--hw-set gemm.pez=3: error: unknown key 'pez' in \\[gemm\\]"),
        ("gemm.pes=x y", "--hw-set 'gemm.pes=x y': error: 'x y' is not a TOML value"),
        ("dram.latency=-1", "--hw-set dram.latency=-1: error: 'dram.latency' must be at least 0"),
        # values no hardware has, which the timing model would overflow on or carry as NaN
        ("gemm.pes=1e308", "--hw-set gemm.pes=1e308: error: 'gemm.pes' must be at most 2\\^53"),
        ("clock.mhz=nan", "--hw-set clock.mhz=nan: error: 'clock.mhz' must be a finite number"),
        ("energy.dram_64b=inf", "--hw-set energy.dram_64b=inf: error: 'energy.dram_64b' must"),
        ("gemm.pes=" + "9" * 5000, "--hw-set 'gemm.pes=9+\\.\\.\\.: error: '9+\\.\\.\\. is not a"),
        # a key without its section: the sections are named
        (
            "gemm=3",
            "--hw-set gemm=3: error: 'gemm' is not a key: a key is section.key \\(e.g. "
            "gemm.pes\\); the sections are clock, gemm, memory, dram, vector, sfu, quant, rng, "
            "energy",
        ),
        ("gemm.=3", "--hw-set gemm.=3: error: unknown key '' in \\[gemm\\] \\(known: pes,"),
        ("\x1b[2J=1", "--hw-set '\\\\x1b\\[2J=1': error: '\\\\x1b\\[2J' is not a key"),
    ],
)
def test_bad_overrides_name_the_option(override, message):
    with pytest.raises(UserError, match=f"^{message}"):
        load_config(overrides=[override])


def test_a_missing_config_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match=f"^{tmp_path / 'none.toml'}: error: no such file"):
        load_config(tmp_path / "none.toml")


def test_a_fifo_device_or_huge_file_is_refused_unread(tmp_path):
    fifo = tmp_path / "hw.toml"
    os.mkfifo(fifo)
    with no_hang(), pytest.raises(UserError, match="hardware configuration is a FIFO"):
        load_config(fifo)
    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as f:
        f.truncate(1 << 32)
    with pytest.raises(
        UserError, match=f"^{huge}: error: the hardware configuration is 4294967296"
    ):
        load_config(huge)


@pytest.mark.parametrize(
    "text",
    [
        "[gemm]\npes = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "[gemm]\npes = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n",
        "[gemm." + ".".join(["a"] * 100_000) + "]\nx = 1\n",
        "[gemm]\n" + ".".join(["a"] * 100_000) + " = 1\n",
    ],
    ids=["arrays", "inline tables", "dotted header", "dotted key"],
)
def test_deep_nesting_is_refused_before_parsing(tmp_path, text):
    path = tmp_path / "hw.toml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(UserError, match=f"^{path}:2?:?[0-9]+:[0-9]+: error: nests more than"):
        load_config(path)
    assert time.perf_counter() - start < 2


def test_a_configuration_names_where_each_key_was_set(tmp_path):
    path = tmp_path / "hw.toml"
    path.write_text("[gemm]\npes = 8\n\n[memory]\nspm_bytes = 4096\n")
    cfg = load_config(path, ["memory.dram_bytes=4"])
    assert str(cfg.key_error("memory.dram_bytes", "too small")) == (
        "--hw-set memory.dram_bytes=4: error: too small"
    )
    assert str(cfg.key_error("memory.spm_bytes", "x")) == f"{path}:5: error: x"
    assert str(cfg.key_error("memory.acc_bytes", "x")) == "error: x"
    assert cfg == load_config(path, ["memory.dram_bytes=4"])
    replaced = cfg.replace(**{"memory.dram_bytes": 8})
    assert str(replaced.key_error("memory.spm_bytes", "x")) == f"{path}:5: error: x"
    assert str(replaced.key_error("memory.dram_bytes", "x")).startswith("replace(")


def test_a_size_beyond_the_address_fields_names_where_it_was_set(tmp_path):
    with pytest.raises(UserError, match="^--hw-set memory.dram_bytes=1e12: error: 'memory.dram"):
        load_config(overrides=["memory.dram_bytes=1e12"])
    path = tmp_path / "hw.toml"
    path.write_text("[memory]\n\nacc_word_bytes = 5\n")
    with pytest.raises(
        UserError,
        match=f"^{path}:3: error: 'memory.acc_bytes' \\(4194304\\) must be a multiple of 5",
    ):
        load_config(path)
