"""`pintac sweep-report`: Pareto fronts against a brute-force dominance check."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pintac.cli import main
from pintac.sweep_report import pareto_front

COLUMNS = ["index", "point", "pipeline", "gemm.pes", "steps", "loss", "rel_l2", "s_per_step"]
COLUMNS += ["cycles", "energy_pj", "peak_rss_mb", "wall_s", "error"]


def dominated(p, others) -> bool:
    return any(o[0] <= p[0] and o[1] <= p[1] and o != p for o in others)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30))
def test_front_is_the_undominated_points(values):
    rows = [{"x": str(x), "y": str(y), "error": ""} for x, y in values]
    front = [(int(r["x"]), int(r["y"])) for r in pareto_front(rows, "x", "y")]
    expected = sorted({p for p in values if not dominated(p, values)})
    assert front == expected


def test_failed_and_missing_values_are_left_out():
    rows = [
        {"x": "1", "y": "1", "error": "out of memory"},
        {"x": "", "y": "0", "error": ""},
        {"x": "2", "y": "nan", "error": ""},
        {"x": "3", "y": "5", "error": ""},
    ]
    assert pareto_front(rows, "x", "y") == [rows[3]]


def write_results(directory: Path, rows: list[dict]) -> None:
    directory.mkdir()
    with open(directory / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for i, row in enumerate(rows):
            writer.writerow({"index": i, "point": f"p{i}", "error": "", **row})


def test_tables_and_plots_of_a_simulate_sweep(tmp_path, capsys):
    rows = [
        dict(pipeline="fp32", **{"gemm.pes": 4}, rel_l2=0.1, cycles=400, energy_pj=900),
        dict(pipeline="fp32", **{"gemm.pes": 16}, rel_l2=0.1, cycles=150, energy_pj=950),
        dict(pipeline="full", **{"gemm.pes": 16}, rel_l2=0.05, cycles=300, energy_pj=300),
        dict(pipeline="smx-diff", **{"gemm.pes": 16}, rel_l2=0.2, cycles=200, energy_pj=400),
    ]
    write_results(tmp_path / "r", rows)
    assert main(["sweep-report", str(tmp_path / "r"), "--plot", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    energy, cycles = out.split("Pareto front, ")[1:]
    assert energy.startswith("energy_pj against rel_l2") and "1 point(s)" in energy
    assert "| full | 16 | 300 | 0.05 |" in energy
    assert cycles.startswith("cycles against rel_l2") and "2 point(s)" in cycles
    assert "| fp32 | 16 | 150 | 0.1 |" in cycles and "| full | 16 | 300 | 0.05 |" in cycles
    assert "smx-diff" not in cycles
    for name in ("pareto_energy_pj_rel_l2.png", "pareto_cycles_rel_l2.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG"


def test_a_directory_without_results_is_an_error(tmp_path, capsys):
    assert main(["sweep-report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "results.csv: error: cannot read the results" in err and "Traceback" not in err
