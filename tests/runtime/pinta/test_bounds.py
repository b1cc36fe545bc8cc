"""The bounds of a PINTA step (`runtime/pinta/bounds.py`): MACs by precision and the compute
bound at the array's peak, the compulsory DRAM bytes of the host's tensors, and the roofline,
checked by hand on a tiny hand-written program and on poisson2d_small compiled for PINTA."""

import json
import math

import pytest
from pinta_helpers import ROOT

from pintac.runtime.pinta import asm, isa
from pintac.runtime.pinta.bounds import compulsory_bytes, gemm_macs, step_bounds
from pintac.runtime.pinta.config import load_config
from pintac.runtime.pinta.lowered import HostTensor, LoweredStep
from pintac.runtime.pinta.simulator import Simulator

# Two GEMMs of 16 x 32 x 16 = 8192 MACs each, one INT8 x INT8 and one INT12 x INT8.
PROGRAM = """\
LOAD  fmt=f32  dst=0   src=0   rows=16 cols=32 stride=32
LOAD  fmt=q8b4 dst=512 src=512 rows=32 cols=16 stride=16 push_next=1
GEMM  acc=0   a=0 b=512 m=16 k=32 n=16 init=1 prec_a=int8  prec_b=int8 pop_prev=1
GEMM  acc=256 a=0 b=512 m=16 k=32 n=16 init=1 prec_a=int12 prec_b=int8
ACCRD dst=1024 acc=0 m=16 n=16 push_next=1
STORE fmt=f32 dst=1024 src=1024 rows=16 cols=16 stride=16 pop_prev=1
HALT
"""

# The host's tensors of the hand-made step: the points are A, the parameter is B (updated in
# place), the loss is the stored 16 x 16 result, with a second loss viewing its first word.
TENSORS = [
    HostTensor("x", "points", "pde", 0, (16, 32)),
    HostTensor("W", "param", "W", 512, (32, 16)),
    HostTensor("loss", "loss", "loss", 1024, (16, 16)),
    HostTensor("loss_pde", "loss", "pde", 1024, ()),
]


@pytest.fixture(scope="module")
def hand_made():
    sim = Simulator(asm.assemble(PROGRAM, "bounds.pasm"), dram_image=[0.0] * 1280)
    step = LoweredStep("train_step", [], [], sim.instructions, [], TENSORS, [], 1280, 1280)
    return step, sim.report(), sim.config


def test_macs_and_compute_bound_by_hand(hand_made):
    step, report, cfg = hand_made
    bounds = step_bounds(step, report, cfg)
    # 16 PEs of 4 x 4 lanes = 256 lanes with 12 slices of 4 x 4 bits: an 8 x 8-bit product
    # takes 2 * 2 = 4 slices (3 per lane per cycle), a 12 x 8-bit one 3 * 2 = 6 (2 per lane)
    assert {k: (p.macs, p.peak) for k, p in bounds.precisions.items()} == {
        "int12xint8": (8192, 512.0),
        "int8xint8": (8192, 768.0),
    }
    assert bounds.macs == 16384
    assert bounds.compute_cycles == pytest.approx(8192 / 768 + 8192 / 512)
    assert bounds.peak == pytest.approx(16384 / (8192 / 768 + 8192 / 512))
    assert bounds.cycles == report.cycles
    assert bounds.compute_fraction == pytest.approx((8192 / 768 + 8192 / 512) / report.cycles)
    # the same figure the simulator reports as the PE utilization, computed apart
    assert bounds.compute_fraction == pytest.approx(report.pe_utilization)


def test_compulsory_bytes_by_hand(hand_made):
    step, report, cfg = hand_made
    bounds = step_bounds(step, report, cfg)
    # points 512 words read; the parameter 512 words read and written; the loss 256 words
    # written (the second loss views one of them)
    assert bounds.compulsory == {
        "param": {"read": 2048, "write": 2048},
        "points": {"read": 2048, "write": 0},
        "loss": {"read": 0, "write": 1024},
    }
    assert (bounds.compulsory_read, bounds.compulsory_write) == (4096, 3072)
    # LOAD A 2048 bytes, LOAD B 512 codes + 32 exponents, STORE 1024
    assert bounds.dram_bytes == 2048 + 544 + 1024
    assert bounds.traffic_ratio == pytest.approx(3616 / 7168)
    assert bounds.dram_cycles == 7168 / 16
    assert bounds.cycle_bound == 448  # DRAM: 448 cycles > 26.7 of compute


def test_roofline_by_hand(hand_made):
    step, report, cfg = hand_made
    bounds = step_bounds(step, report, cfg)
    achieved = bounds.roofline(bounds.dram_bytes)
    assert achieved.intensity == pytest.approx(16384 / 3616)
    assert achieved.attainable == pytest.approx(16 * 16384 / 3616)  # below the 614.4 peak
    assert achieved.limit == "DRAM"
    # at 100 bytes of traffic the DRAM allows 16 * 163.84 = 2621 MACs/cycle, over the peak
    plenty = bounds.roofline(100)
    assert plenty.attainable == pytest.approx(bounds.peak) and plenty.limit == "compute"
    assert bounds.achieved_macs_per_cycle == pytest.approx(16384 / report.cycles)


def test_the_peak_follows_the_hardware(hand_made):
    step, report, _ = hand_made
    cfg = load_config(None, ["gemm.pes=32", "gemm.f32_cycles_per_mac=2", "dram.bytes_per_cycle=8"])
    bounds = step_bounds(step, report, cfg)
    assert bounds.compute_cycles == pytest.approx((8192 / 768 + 8192 / 512) / 2)
    assert bounds.dram_cycles == 7168 / 8
    f32 = gemm_macs([isa.make("GEMM", m=4, k=8, n=4, prec_a="f32", prec_b="int8")], cfg)
    # 32 * 16 lanes, one f32 MAC every 2 cycles: 256 per cycle, whatever the other operand
    assert {k: (p.macs, p.peak) for k, p in f32.items()} == {"f32": (128, 256.0)}


def test_no_gemms_and_no_traffic_give_no_ratios():
    cfg = load_config()
    step = LoweredStep("train_step", [], [], [isa.make("HALT")], [""], [], [], 0, 0)
    sim = Simulator(step.instructions, cfg)
    bounds = step_bounds(step, sim.report(), cfg)
    assert bounds.macs == 0 and bounds.peak is None and bounds.roofline(0) is None
    assert bounds.traffic_ratio is None
    assert json.loads(json.dumps(bounds.to_dict()))["roofline"] == {
        "achieved": None,
        "compulsory": None,
    }
    assert "roofline" not in bounds.to_text()


def test_overlapping_homes_count_once():
    tensors = [
        HostTensor("a", "loss", "loss", 10, ()),
        HostTensor("b", "loss", "b", 10, ()),
        HostTensor("c", "loss", "c", 8, (4,)),
        HostTensor("d", "loss", "d", 20, (2,)),
    ]
    assert compulsory_bytes(tensors) == {"loss": {"read": 0, "write": 4 * (4 + 2)}}


def test_text_and_json_of_a_report_with_bounds(hand_made):
    step, report, cfg = hand_made
    text = report.with_bounds(step, cfg).to_text()
    assert "  int12xint8                    8192            512.0            16.0" in text
    assert "  int8xint8                     8192            768.0            10.7" in text
    assert "  all                          16384            614.4            26.7" in text
    assert f"  cycles       {report.cycles} achieved; compute bound 27 at the array's peak" in text
    assert "  DRAM bytes   3616 moved; compulsory 7168: 0.50x" in text
    assert "  compulsory   params 4096, points 2048, losses 1024 (read 4096, write 3072)" in text
    assert "  DRAM bound   448 cycles (the compulsory bytes at 16 bytes/cycle)" in text
    assert "  step bound   448 cycles (the larger: DRAM)" in text
    # 16384 / 3616 = 4.531 MACs per byte, 16 bytes/cycle: 72.50; 16384 / 7168 = 2.286: 36.57
    assert "  achieved traffic" + " " * 13 + "4.531" + " " * 18 + "72.50     DRAM" in text
    assert "  compulsory traffic" + " " * 11 + "2.286" + " " * 18 + "36.57     DRAM" in text
    assert "\nMACs" + " " * 29 + "count\n" not in text  # the MAC table once, with its peaks
    data = report.with_bounds(step, cfg).to_dict()["bounds"]
    assert data["compulsory_bytes"]["total"] == 7168
    assert data["cycle_bound"] == 448
    assert data["roofline"]["achieved"]["limit"] == "DRAM"
    assert "bounds" not in report.to_dict() and "bounds of the step" not in report.to_text()


@pytest.fixture(scope="module")
def poisson2d_small():
    import pintac.api as pt

    executable = (
        pt.load(ROOT / "examples" / "poisson2d_small.mlir")
        .compile("smx-diff", target="pinta")
        .executable
    )
    return executable.step, executable.report, executable.config


def test_poisson2d_small_compulsory_bytes_by_hand(poisson2d_small):
    step, report, cfg = poisson2d_small
    bounds = step_bounds(step, report, cfg)
    # W0 2x16, b0 16, W1 16x16, b1 16, W2 16x1, b2 1: 337 parameters; Adam's m and v of each;
    # 32 + 32 points of 2 coordinates; 3 losses (total, pde, bc); 4 bytes a word
    params, state, points, losses = 337, 2 * 337, 64 * 2, 3
    assert bounds.compulsory == {
        "param": {"read": 4 * params, "write": 4 * params},
        "state": {"read": 4 * state, "write": 4 * state},
        "points": {"read": 4 * points, "write": 0},
        "loss": {"read": 0, "write": 4 * losses},
    }
    assert bounds.compulsory_bytes == 8612
    assert bounds.dram_bytes == report.bytes["dram"]["read"] + report.bytes["dram"]["write"]
    assert bounds.traffic_ratio == pytest.approx(bounds.dram_bytes / 8612)


def test_poisson2d_small_macs_match_the_simulator(poisson2d_small):
    step, report, cfg = poisson2d_small
    bounds = step_bounds(step, report, cfg)
    assert {k: p.macs for k, p in bounds.precisions.items()} == report.macs
    assert set(report.macs) == {"int8xint8", "int8xint12", "int12xint8"}
    assert bounds.compute_fraction == pytest.approx(report.pe_utilization)
    assert bounds.cycle_bound == math.ceil(max(bounds.compute_cycles, 8612 / 16))
    assert bounds.cycle_bound < report.cycles
