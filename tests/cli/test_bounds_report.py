"""The bounds of the PINTA step in `pintac compile --report` and `pintac sim` (text and JSON):
MACs by precision, the compute and compulsory-DRAM bounds beside the achieved figures, the
roofline. The tiny problem's compulsory bytes are counted by hand."""

from __future__ import annotations

import json
import re

import pytest
from cli_helpers import call

# The tiny problem (width 4): W0 2x4, b0 4, W1 4x1, b1 1 = 17 parameters, Adam's m and v of
# each (34 words), 8 + 8 points of 2 coordinates (32 words), 3 losses; 4 bytes a word.
COMPULSORY_LINE = (
    "  compulsory   params 136, state 272, points 128, losses 12 (read 332, write 216)"
)
COMPULSORY = 548


def test_compile_report_shows_the_bounds(tiny, tmp_path, capsys):
    argv = ["compile", tiny, "--pipeline", "smx-diff", "-o", tmp_path / "t.pinta", "--report"]
    code, out, err = call(argv, capsys)
    assert code == 0, err
    cycles = re.search(r"^step +(\d+) cycles", out, re.M).group(1)
    bounds = out.split("quantized copies of @train_step:\n")[1]
    assert re.search(r"^MACs by precision +count +peak MACs/cycle +cycles at peak$", bounds, re.M)
    assert re.search(r"^  int8xint8 +\d+ +768\.0 ", bounds, re.M)  # 256 lanes x 3
    assert re.search(r"^  int12xint8 +\d+ +512\.0 ", bounds, re.M)  # 256 lanes x 2
    assert f"  cycles       {cycles} achieved; compute bound " in bounds
    assert f"; compulsory {COMPULSORY}: " in bounds
    assert COMPULSORY_LINE + "\n" in bounds
    assert "  DRAM bound   35 cycles (the compulsory bytes at 16 bytes/cycle)\n" in bounds
    assert re.search(r"^  achieved traffic +[\d.]+ +[\d.]+ +(DRAM|compute)$", bounds, re.M)
    assert re.search(r"^  compulsory traffic +[\d.]+ +[\d.]+ +(DRAM|compute)$", bounds, re.M)


def test_other_targets_report_no_pinta_bounds(tiny, tmp_path, capsys):
    argv = ["compile", tiny, "--pipeline", "smx-diff", "--target", "numpy", "--report"]
    code, out, err = call([*argv, "-o", tmp_path / "step.py"], capsys)
    assert code == 0, err
    assert "quantized copies of @train_step:" in out and "bounds of the step" not in out


def test_sim_shows_the_bounds_of_the_simulated_hardware(compiled, tmp_path, capsys):
    report = tmp_path / "sim.json"
    argv = ["sim", compiled, "--steps", 1, "--quiet", "--no-eval", "--report", report]
    code, out, err = call([*argv, "--hw-set", "dram.bytes_per_cycle=32"], capsys)
    assert code == 0, err
    pinta = json.loads(report.read_text())["pinta"]
    bounds = pinta["bounds"]
    assert COMPULSORY_LINE + "\n" in out
    assert "  DRAM bound   18 cycles (the compulsory bytes at 32 bytes/cycle)\n" in out
    assert f"  cycles       {pinta['cycles']} achieved; compute bound " in out
    assert bounds["compulsory_bytes"]["total"] == COMPULSORY
    assert bounds["dram_bound_cycles"] == COMPULSORY / 32
    assert bounds["cycles"] == pinta["cycles"]
    assert bounds["dram_bytes"] == pinta["bytes"]["dram"]["read"] + pinta["bytes"]["dram"]["write"]
    assert {k: v["macs"] for k, v in bounds["macs"].items()} == pinta["macs"]
    assert bounds["compute_bound_fraction"] == pytest.approx(pinta["pe_utilization"])
