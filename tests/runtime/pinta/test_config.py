"""The hardware configuration: the bundled defaults, files, overrides and their errors."""

import pytest
from pinta_helpers import ROOT

from pintac.runtime.errors import UserError
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
        ("[gemm]\npes = 4\nfoo = 1\n", ":3: unknown key 'foo' in \\[gemm\\]"),
        ("\n[gem]\npes = 4\n", ":2: unknown section \\[gem\\]"),
        ("[gemm]\n\npes = 0\n", ":3: 'gemm.pes' must be at least 1, got 0"),
        ("[gemm]\npes = 2.5\n", ":2: 'gemm.pes' must be an integer, got 2.5"),
        ("[clock]\nmhz = 'fast'\n", ":2: 'clock.mhz' must be a number, got 'fast'"),
        ("[sfu.cycles]\nrelu = 2\n", ":2: 'sfu.cycles.relu' must name a function"),
        ("[gemm\n", ": invalid TOML"),
        ("pes = 4\n[gemm]\n", ":1: the key 'pes' lies outside any section"),
        ("[memory]\nspm_bytes = 8388608\n", ": 'memory.spm_bytes' gives 2097152 SPM words, more"),
        ("[gemm]\npes = " + "9" * 5000 + "\n", ": invalid TOML: Exceeds the limit"),
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
        ("gemm.pes", "override 'gemm.pes' is not KEY=VALUE"),
        ("gemm.pez=3", "override 'gemm.pez=3': unknown key 'pez' in \\[gemm\\]"),
        ("gemm.pes=x y", "override 'gemm.pes=x y': 'x y' is not a TOML value"),
        ("dram.latency=-1", "override 'dram.latency=-1': 'dram.latency' must be at least 0"),
        # values no hardware has, which the timing model would overflow on or carry as NaN
        ("gemm.pes=1e308", "override 'gemm.pes=1e308': 'gemm.pes' must be at most 2\\^53"),
        ("clock.mhz=nan", "override 'clock.mhz=nan': 'clock.mhz' must be a finite number"),
        ("energy.dram_64b=inf", "override 'energy.dram_64b=inf': 'energy.dram_64b' must be a f"),
        ("gemm.pes=" + "9" * 5000, "override 'gemm.pes=9+': '9+' is not a TOML value"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(UserError, match=f"^{message}"):
        load_config(overrides=[override])


def test_a_missing_config_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read the PINTA configuration"):
        load_config(tmp_path / "none.toml")
