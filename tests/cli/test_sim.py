"""`pintac sim` as a tool: other hardware (`--hw`, `--hw-set`), a checkpoint that `predict` and
`plot` read, outputs that never overwrite the program directory, readable units."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import call

import pintac.api as pt
from pintac.runtime.pinta.report import format_energy, format_time


def sim_report(compiled, tmp_path, capsys, *options) -> dict:
    report = tmp_path / "sim.json"
    code, _, err = call(
        ["sim", compiled, "--steps", 2, "--quiet", "--report", report, *options], capsys
    )
    assert code == 0, err
    return json.loads(report.read_text())


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


# ------------------------------------------------------------------------------ hardware


def test_hw_replaces_the_compiled_hardware(compiled, tmp_path, capsys):
    hardware = tmp_path / "fast.toml"
    hardware.write_text("[clock]\nmhz = 1000.0\n")
    base = sim_report(compiled, tmp_path, capsys)
    fast = sim_report(compiled, tmp_path, capsys, "--hw", hardware)
    assert fast["pinta"]["clock_mhz"] == 1000.0 and base["pinta"]["clock_mhz"] == 500.0
    assert fast["pinta"]["cycles"] == base["pinta"]["cycles"]
    assert fast["pinta"]["time_us"] == pytest.approx(base["pinta"]["time_us"] / 2)
    assert fast["history"] == base["history"]  # timing keys change the report only


def test_hw_is_a_whole_configuration_its_omitted_keys_the_defaults(tiny, tmp_path, capsys):
    directory = tmp_path / "wide.pinta"
    argv = ["compile", tiny, "-o", directory, "--hw-set", "dram.bytes_per_cycle=64"]
    assert call(argv, capsys)[0] == 0
    hardware = tmp_path / "fast.toml"
    hardware.write_text("[clock]\nmhz = 1000.0\n")
    compiled = sim_report(directory, tmp_path, capsys)
    defaults = sim_report(directory, tmp_path, capsys, "--hw", hardware)
    assert defaults["pinta"]["cycles"] > compiled["pinta"]["cycles"]  # 16 bytes per cycle


def test_hw_set_applies_on_top_of_hw(compiled, tmp_path, capsys):
    hardware = tmp_path / "fast.toml"
    hardware.write_text("[clock]\nmhz = 1000.0\n")
    argv = ["sim", compiled, "--steps", 1, "--hw", hardware, "--hw-set", "clock.mhz=250"]
    code, out, _ = call([*argv, "--report", tmp_path / "sim.json", "--quiet"], capsys)
    assert code == 0 and f"hardware     {hardware}, clock.mhz=250\n" in out
    assert json.loads((tmp_path / "sim.json").read_text())["pinta"]["clock_mhz"] == 250.0


def test_hardware_the_program_does_not_fit_is_refused_naming_the_key(compiled, tmp_path, capsys):
    hardware = tmp_path / "small.toml"
    hardware.write_text("[memory]\nspm_bytes = 64\n")
    code, _, err = call(["sim", compiled, "--steps", 1, "--hw", hardware], capsys)
    assert code == 1
    assert "PINTA trap at PC" in err and "beyond the SPM (16 words)" in err
    assert f"note: {hardware} gives memory.spm_bytes = 64; the program was compiled for " in err
    code, _, err = call(
        ["sim", compiled, "--steps", 1, "--hw-set", "memory.const_entries=1"], capsys
    )
    assert code == 1 and "memory.const_entries" in err
    assert "note: --hw-set gives memory.const_entries = 1" in err


def test_options_are_never_abbreviated(compiled, tmp_path, capsys):
    code, _, err = call(["sim", compiled, "--steps", 1, "--rep", tmp_path / "r.json"], capsys)
    assert code == 1 and "unrecognized arguments: --rep" in err
    code, _, err = call(["sim", compiled, "--steps", 1, "--hw-s", "clock.mhz=1"], capsys)
    assert code == 1 and "unrecognized arguments: --hw-s" in err


def test_help_says_which_keys_change_what(capsys):
    code, out, _ = call(["sim", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    assert "changes only the report" in text
    for key in (
        "memory.spm_bytes",
        "memory.acc_bytes",
        "memory.dram_bytes",
        "memory.const_entries",
    ):
        assert key in text


# ---------------------------------------------------------------------------- checkpoint


def test_checkpoint_is_the_format_of_run_and_predict_reads_it(tiny, compiled, tmp_path, capsys):
    directory = tmp_path / "ck"
    report = tmp_path / "sim.json"
    argv = ["sim", compiled, "--steps", 3, "--quiet", "--checkpoint", directory, "--report", report]
    code, out, err = call(argv, capsys)
    assert code == 0, err
    checkpoint = directory / "checkpoint.npz"
    assert f"checkpoint   {checkpoint}" in out
    trainer = pt.Trainer(pt.load(tiny).compile("smx-diff"), seed=0)
    trainer.train(3)
    trainer.save(tmp_path / "runtime.npz")
    got, want = pt.read_checkpoint(checkpoint), pt.read_checkpoint(tmp_path / "runtime.npz")
    assert list(got.arrays) == list(want.arrays)
    for name, value in want.arrays.items():  # the simulator computes the runtime's bits
        assert got.arrays[name].dtype == value.dtype
        assert np.array_equal(got.arrays[name].view(np.uint32), value.view(np.uint32)), name
    assert {k: v for k, v in got.meta.items() if k != "problem"} == {
        k: v for k, v in want.meta.items() if k != "problem"
    }
    assert got.problem().name == "tiny"  # the problem as the program directory keeps it

    predictions = {}
    for name, path in (("sim", checkpoint), ("runtime", tmp_path / "runtime.npz")):
        predictions[name] = tmp_path / f"u_{name}.npz"
        code, _, err = call(["predict", path, "--grid", "4x4", "-o", predictions[name]], capsys)
        assert code == 0, err
    with np.load(predictions["sim"]) as a, np.load(predictions["runtime"]) as b:
        assert np.array_equal(a["u"], b["u"])


def test_plot_reads_the_report_and_the_checkpoint(compiled, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    report, directory = tmp_path / "sim.json", tmp_path / "ck"
    argv = ["sim", compiled, "--steps", 2, "--quiet", "--report", report, "--checkpoint", directory]
    assert call(argv, capsys)[0] == 0
    plots = tmp_path / "plots"
    argv = ["plot", report, "--checkpoint", directory / "checkpoint.npz", "-o", plots]
    code, out, err = call(argv, capsys)
    assert code == 0, err
    assert (plots / "loss.png").is_file() and "solution" in out


def test_an_existing_checkpoint_is_kept_unless_overwrite(compiled, tmp_path, capsys):
    directory = tmp_path / "ck"
    argv = ["sim", compiled, "--steps", 1, "--quiet", "--checkpoint", directory]
    assert call(argv, capsys)[0] == 0
    before = (directory / "checkpoint.npz").read_bytes()
    code, out, err = call([*argv[:3], 2, *argv[4:]], capsys)
    assert code == 1 and "a checkpoint is already there (step 1 of 4" in err
    assert "--overwrite" in err and out == ""
    assert (directory / "checkpoint.npz").read_bytes() == before
    assert call([*argv[:3], 2, *argv[4:], "--overwrite"], capsys)[0] == 0
    assert pt.read_checkpoint(directory / "checkpoint.npz").step == 2


def test_an_unwritable_checkpoint_is_refused_before_simulating(compiled, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = call(["sim", compiled, "--steps", 1, "--checkpoint", blocker / "ck"], capsys)
    assert code == 1 and "cannot write the checkpoint" in err and out == ""
    code, out, err = call(["sim", compiled, "--steps", 1, "--checkpoint", ""], capsys)
    assert code == 1 and "--checkpoint: the directory is empty" in err and out == ""


# ------------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("option", ["--report", "--trace"])
@pytest.mark.parametrize("name", ["manifest.json", "program.bin", "dram.img", "hardware.toml"])
def test_an_output_that_is_a_file_of_the_program_is_refused(compiled, capsys, option, name):
    before = files_of(compiled)
    code, out, err = call(["sim", compiled, "--steps", 1, option, compiled / name], capsys)
    assert code == 1 and out == ""
    assert f"would overwrite the input {compiled / name}" in err
    assert files_of(compiled) == before


def test_an_output_that_is_the_hw_file_or_links_to_an_input_is_refused(compiled, tmp_path, capsys):
    hardware = tmp_path / "hw.toml"
    hardware.write_text("[clock]\nmhz = 1000.0\n")
    code, _, err = call(["sim", compiled, "--hw", hardware, "--report", hardware], capsys)
    assert code == 1 and f"would overwrite the input {hardware}" in err
    link = tmp_path / "link.json"
    link.symlink_to(compiled / "manifest.json")
    before = files_of(compiled)
    code, _, err = call(["sim", compiled, "--steps", 1, "--report", link], capsys)
    assert code == 1 and "would overwrite the input" in err
    assert files_of(compiled) == before


# ----------------------------------------------------------------------- labels and units


def test_the_last_step_is_labelled_by_its_number_in_readable_units(compiled, tmp_path, capsys):
    report = tmp_path / "sim.json"
    code, out, _ = call(["sim", compiled, "--steps", 3, "--report", report, "--quiet"], capsys)
    assert code == 0
    assert "PINTA step 3 (seed 0)" in out
    pinta = json.loads(report.read_text())["pinta"]
    assert pinta["step"] == 3
    assert f"{format_time(pinta['time_us'])} at 500 MHz" in out
    total = re.search(r"^total +(.+?) *$", out, re.M)
    assert total and total.group(1) == format_energy(pinta["energy_pj"]["total"])
    assert not re.search(r"\d{5,}\.\d+ (pJ|us)", out)  # no raw pJ or microseconds
    # the raw figures stay in the report
    assert {"cycles", "time_us", "energy_pj"} <= set(pinta)


def test_two_outputs_that_are_one_file_are_refused(compiled, tmp_path, capsys):
    out = tmp_path / "out.json"
    code, _, err = call(["sim", compiled, "--steps", 1, "--report", out, "--trace", out], capsys)
    assert code == 1 and f"the trace {out} would overwrite the report {out}" in err
    assert not out.exists()


def test_the_report_and_the_trace_can_go_to_standard_output(compiled, capsys):
    code, out, _ = call(["sim", compiled, "--steps", 1, "--quiet", "--report", "-"], capsys)
    assert code == 0
    report = json.loads(out[out.index("\n{") :])
    assert report["steps"] == 1 and report["history"][0]["step"] == 1
