"""The report of a small hand-written program (load two matrices, GEMM, ACCRD, store),
checked against hand-computed cycles, bytes and energy, and against golden files byte for
byte.

The golden files are regenerated only deliberately, after checking the new numbers by hand:

    PINTA_REGOLD=1 pytest tests/runtime/pinta/test_report.py
"""

import json
import os

import numpy as np
import pytest
from pinta_helpers import GOLDEN

from pintac.runtime import smx
from pintac.runtime.pinta import asm
from pintac.runtime.pinta.report import format_energy, format_time
from pintac.runtime.pinta.simulator import Simulator

PROGRAM = """\
; C (16 x 16) = A (16 x 32, f32 in DRAM) * B (32 x 16, stored as q8b4), INT8 x INT8
LOAD  fmt=f32  dst=0   src=0   rows=16 cols=32 stride=32
LOAD  fmt=q8b4 dst=512 src=512 rows=32 cols=16 stride=16 push_next=1
GEMM  acc=0 a=0 b=512 m=16 k=32 n=16 init=1 prec_a=int8 prec_b=int8 pop_prev=1
ACCRD dst=1024 acc=0 m=16 n=16 push_next=1
STORE fmt=f32 dst=1024 src=1024 rows=16 cols=16 stride=16 pop_prev=1
HALT
"""


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(42)
    a = smx.quantize_matrix(rng.standard_normal((16, 32)).astype(np.float32), 8).values
    b = smx.quantize_matrix(rng.standard_normal((32, 16)).astype(np.float32), 8).values
    dram = np.zeros(1280, np.float32)
    dram[:512] = a.reshape(-1)
    dram[512:1024] = b.reshape(-1)
    sim = Simulator(asm.assemble(PROGRAM, "gemm.pasm"), dram_image=dram)
    return sim, sim.run_step(seed=1, step=0), a, b


def test_the_program_computes_the_exact_gemm(run):
    sim, _, a, b = run
    got = sim.dram[1024:1280].reshape(16, 16)
    assert np.array_equal(got.view(np.uint32), smx.gemm(a, b).view(np.uint32))


def test_cycles_by_hand(run):
    sim, report, _, _ = run
    # LOAD A: 100 + 2048 / 16 = 228; LOAD B: 512 code bytes + 8 * 4 exponents = 544 bytes,
    # 100 + 34 = 134 -> 362; GEMM: 8 + one wave of ceil(32 * 4 / 12) = 11 -> 381; ACCRD:
    # 4 + 256 / 16 = 20 -> 401; STORE: 100 + 1024 / 16 = 164 -> 565
    spans = [(s.start, s.finish) for s in sim.schedule.slots[:5]]
    assert spans == [(0, 228), (228, 362), (362, 381), (381, 401), (401, 565)]
    assert report.cycles == 565
    assert report.time_us == pytest.approx(565 / 500)
    q = report.queues
    assert (q["load"].busy, q["load"].stall, q["load"].idle) == (362, 0, 203)
    assert (q["compute"].busy, q["compute"].stall, q["compute"].idle) == (39, 362, 164)
    assert (q["store"].busy, q["store"].stall, q["store"].idle) == (164, 401, 0)
    # 8192 MACs at 256 lanes * 3 INT8 MACs per cycle
    assert report.macs == {"int8xint8": 8192}
    assert report.pe_utilization == pytest.approx(8192 / 768 / 565)


def test_bytes_and_energy_by_hand(run):
    _, report, _, _ = run
    # SPM reads: the GEMM operands at 8 bits (512 + 512/16 each) and the STORE's 1024;
    # writes: the two loads (2048 + 2048) and ACCRD (1024). ACC: 256 accumulators of 8 bytes
    # written by the GEMM and read by ACCRD. DRAM: 2048 + 544 read, 1024 written.
    assert report.bytes == {
        "spm": {"read": 544 + 544 + 1024, "write": 2048 + 2048 + 1024},
        "acc": {"read": 2048, "write": 2048},
        "const": {"read": 0, "write": 0},
        "dram": {"read": 2592, "write": 1024},
    }
    energy = report.energy_by_category()
    assert energy["mac"] == pytest.approx(8192 * (0.2 + 0.1))  # INT8 mult + 32-bit add
    assert energy["sram"] == pytest.approx((7232 / 8) * 50 + (4096 / 8) * 50)
    assert energy["dram"] == pytest.approx((3616 / 8) * 1300)
    assert energy["vector_sfu"] == 0 and energy["rng"] == 0
    assert report.total_energy_pj == pytest.approx(2457.6 + 45200 + 25600 + 587600)


def test_the_trace_has_one_track_per_queue_and_compute_unit(run, tmp_path):
    _, report, _, _ = run
    report.write_trace(tmp_path / "trace.json")
    trace = json.loads((tmp_path / "trace.json").read_text())
    tracks = {
        e["args"]["name"]: e["tid"] for e in trace["traceEvents"] if e["name"] == "thread_name"
    }
    assert set(tracks) == {"load", "compute", "store", "array", "acc", "quant", "sfu"} | {
        "vector",
        "rng",
    }
    gemm = next(e for e in trace["traceEvents"] if e["name"] == "GEMM")
    assert gemm["tid"] == tracks["array"] and gemm["ts"] == pytest.approx(362 / 500)
    assert gemm["dur"] == pytest.approx(19 / 500)
    waits = [e for e in trace["traceEvents"] if e["name"] == "wait (tokens)"]
    assert [(e["tid"], e["args"]["pc"]) for e in waits] == [(tracks["array"], 2), (2, 4)]


@pytest.mark.parametrize(
    "name, render",
    [("gemm_program.report.txt", "to_text"), ("gemm_program.report.json", "to_json")],
)
def test_the_report_matches_its_golden_file(run, name, render):
    _, report, _, _ = run
    text = getattr(report, render)()
    path = GOLDEN / name
    if os.environ.get("PINTA_REGOLD"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; see this file's docstring to regenerate"


def test_reports_are_the_same_every_step(run):
    sim, report, _, _ = run
    again = sim.run_step(seed=2, step=5)
    assert (again.seed, again.step) == (2, 5)
    assert {**again.to_dict(), "seed": 1, "step": 1} == report.to_dict()


@pytest.mark.parametrize(
    "pj, shown",
    [
        (648030311602.95, "648.0 mJ"),
        (660857.6, "660.9 nJ"),
        (2457.6, "2.458 nJ"),
        (0.5, "0.5000 pJ"),
        (0.0, "0 pJ"),
        (999_960.0, "1.000 uJ"),
        (3.2e12, "3.200 J"),
    ],
)
def test_energy_is_shown_in_the_unit_of_its_magnitude(pj, shown):
    assert format_energy(pj) == shown


@pytest.mark.parametrize(
    "us, shown",
    [(557028.36, "557.0 ms"), (1.13, "1.130 us"), (0.002, "2.000 ns"), (2.5e6, "2.500 s")],
)
def test_time_is_shown_in_the_unit_of_its_magnitude(us, shown):
    assert format_time(us) == shown


def test_the_text_labels_steps_from_one_and_the_json_keeps_raw_figures(run):
    sim, report, _, _ = run
    tenth = sim.run_step(seed=1, step=9)  # the step register counts the steps before
    assert tenth.to_text().startswith("PINTA step 10 (seed 1): 565 cycles, 1.130 us at 500 MHz")
    data = tenth.to_dict()
    assert data["step"] == 10
    assert (data["cycles"], data["time_us"]) == (565, 1.13)
    assert data["energy_pj"]["total"] == pytest.approx(2457.6 + 45200 + 25600 + 587600)
