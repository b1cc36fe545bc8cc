"""`pintac sweep`: located spec errors before any point runs, the same table whatever the
number of processes, resuming without redoing finished points, failed points recorded."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pintac.api as pt
from pintac.cli import main
from pintac.pipelines import PIPELINES
from pintac.runtime.pinta.report import CATEGORIES
from pintac.sweep_points import COST_COLUMNS
from pintac.sweep_spec import load, pipeline_of, point_id

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: columns that measure the machine, not the point
MACHINE = ("wall_s", "peak_rss_mb", "s_per_step")


def spec_text(run: str, body: str) -> str:
    """A spec of poisson2d_small's points of kind `run`, its tables `body`."""
    return f'problem = "{EXAMPLES / "poisson2d_small.mlir"}"\nrun = "{run}"\n' + body


SMALL = spec_text(
    "cost",
    """\
[fixed]
pipeline = "fp32"
[grid]
seed = [0, 1]
"gemm.pes" = [4, 16]
""",
)


def write_spec(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def sweep(spec: Path, out: Path, *extra: str, capsys=None) -> tuple[int, str]:
    code = main(["sweep", str(spec), "-o", str(out), *extra])
    err = capsys.readouterr().err if capsys is not None else ""
    return code, err


def table(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return sorted(({k: v for k, v in r.items() if k not in MACHINE} for r in rows), key=_index)


def _index(row: dict[str, str]) -> int:
    return int(row["index"])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('problem = "x.mlir"\nrun = "cost"\n', 1, "no problem file x.mlir"),
        (SMALL.replace('run = "cost"', 'run = "fly"'), 2, "run must be one of cost, train"),
        ("colour = 3\n" + SMALL, 1, "unknown key 'colour'"),
        (SMALL + "colour = [3]\n", 8, "unknown setting 'colour' for cost points"),
        (SMALL.replace("seed = [0, 1]", "seed = []"), 6, "grid.seed must be a non-empty list"),
        (SMALL.replace("seed = [0, 1]", 'seed = ["a"]'), 6, "seed takes int values"),
        (SMALL.replace('pipeline = "fp32"', 'pipeline = "fp33"'), 4, "unknown pipeline 'fp33'"),
        (SMALL.replace('"gemm.pes" = [4, 16]', '"gemm.pez" = [4]'), 7, "gemm.pez"),
        (SMALL.replace('"gemm.pes" = [4, 16]', '"gemm.pes" = [0]'), 7, "gemm.pes"),
        (SMALL.replace("[fixed]", "[fixed]\nseed = 3"), 7, "'seed' is set in both"),
        (SMALL.replace('run = "cost"', 'run = "train"'), 7, "hardware key 'gemm.pes'"),
        (SMALL.replace("[grid]", "[grid"), 5, "not valid TOML"),
        (SMALL + "[random]\nsamples = 0\n", 9, "random.samples must be a positive integer"),
        (SMALL + '"smx-quantize.act" = [8]\n', 8, "pipeline fp32 has no pass 'smx-quantize'"),
        (SMALL + "pairs = [0]\n", 8, "training option 'pairs' (Stein antithetic pairs K) must"),
        (SMALL + 'lr = ["fast"]\n', 8, "lr takes number values"),
        (
            SMALL.replace('"fp32"', '"smx-diff"') + '"smx-quantize.act" = [1]\n',
            8,
            "act must be a bit width from 2 to 16, got 1",
        ),
        (
            SMALL.replace('"fp32"', '"smx-diff"') + '"smx-quantize.acts" = [4]\n',
            8,
            "pass 'smx-quantize' has no option 'acts'",
        ),
    ],
)
def test_a_bad_spec_is_a_located_error_before_any_point_runs(tmp_path, capsys, text, line, message):
    spec = write_spec(tmp_path, text)
    code, err = sweep(spec, tmp_path / "out", capsys=capsys)
    assert code == 1
    assert f"{spec}:{line}: error: " in err and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_points_grid_order_and_random_draws(tmp_path):
    text = SMALL + '[random]\nsamples = 3\nseed = 7\n[random.choices]\n"gemm.pe_rows" = [4, 8]\n'
    spec = load(write_spec(tmp_path, text))
    points = spec.points()
    assert len(points) == 2 * 2 * 3
    assert [(p["seed"], p["gemm.pes"]) for p in points[::3]] == [(0, 4), (0, 16), (1, 4), (1, 16)]
    assert all(p["pipeline"] == "fp32" for p in points)
    # the same draws for every grid point, and for the same random seed
    draws = [p["gemm.pe_rows"] for p in points]
    assert draws[:3] == draws[3:6] == draws[9:] and set(draws) <= {4, 8}
    assert [p["gemm.pe_rows"] for p in load(write_spec(tmp_path, text, "b.toml")).points()] == draws
    # a point's id is its settings': points equal in every setting share it
    assert len({point_id(p) for p in points}) == len({str(sorted(p.items())) for p in points})


def test_result_columns_cover_every_energy_category():
    assert {f"energy_{c}_pj" for c in CATEGORIES} <= set(COST_COLUMNS)


def test_same_table_with_one_or_two_processes(tmp_path, capsys):
    spec = write_spec(tmp_path, SMALL)
    assert sweep(spec, tmp_path / "one", capsys=capsys)[0] == 0
    code, err = sweep(spec, tmp_path / "two", "--jobs", "2", capsys=capsys)
    assert code == 0, err
    one, two = table(tmp_path / "one"), table(tmp_path / "two")
    assert one == two and len(one) == 4
    assert all(r["error"] == "" and int(r["cycles"]) > 0 for r in one)
    # the cost does not depend on the seed, and more PEs take fewer cycles
    by = {(r["seed"], r["gemm.pes"]): int(r["cycles"]) for r in one}
    assert by[("0", "4")] == by[("1", "4")] > by[("0", "16")] == by[("1", "16")]


def test_same_table_on_a_local_ray_instance(tmp_path, capsys):
    spec = write_spec(tmp_path, SMALL)
    assert sweep(spec, tmp_path / "local", "--jobs", "2", capsys=capsys)[0] == 0
    code, err = sweep(spec, tmp_path / "ray", "--executor", "ray", "--jobs", "2", capsys=capsys)
    assert code == 0, err
    assert "4 to run on Ray" in err
    assert table(tmp_path / "ray") == table(tmp_path / "local")


def test_address_without_ray_is_refused(tmp_path, capsys):
    spec = write_spec(tmp_path, SMALL)
    code, err = sweep(spec, tmp_path / "out", "--address", "auto", capsys=capsys)
    assert code == 1 and "--address is for --executor ray" in err
    assert not (tmp_path / "out").exists()


def test_resume_runs_only_the_points_without_a_row(tmp_path, capsys):
    spec = write_spec(tmp_path, SMALL)
    out = tmp_path / "out"
    assert sweep(spec, out, capsys=capsys)[0] == 0
    full = table(out)
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    # two rows gone, and half of a third written when the machine stopped
    (out / "results.csv").write_text("".join(lines[:-2]) + lines[-2][:10])
    code, err = sweep(spec, out, capsys=capsys)
    assert code == 0
    assert "3 already in" not in err and "2 already in" in err and "2 to run" in err, err
    assert table(out) == full
    code, err = sweep(spec, out, capsys=capsys)
    assert "4 already in" in err and "0 to run" in err
    assert table(out) == full


def test_a_killed_sweep_resumes_without_redoing_finished_points(tmp_path):
    points = "seed = [0, 1, 2, 3]"
    spec = write_spec(tmp_path, SMALL.replace("seed = [0, 1]", points))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "pintac.cli", "sweep", str(spec), "-o", str(out)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    results = out / "results.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if results.exists() and len(results.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = results.read_text().splitlines()
    finished = {line.split(",")[1] for line in before[1:]}
    assert 2 <= len(finished) < 8
    code = main(["sweep", str(spec), "-o", str(out)])
    assert code == 0
    after = results.read_text().splitlines()
    assert after[: len(before)] == before  # finished rows kept, none redone
    ids = [line.split(",")[1] for line in after[1:]]
    assert len(ids) == len(set(ids)) == 8
    reference = tmp_path / "reference"
    assert main(["sweep", str(spec), "-o", str(reference)]) == 0
    assert table(out) == table(reference)


def test_a_failing_point_records_its_error_and_the_sweep_goes_on(tmp_path, capsys):
    text = SMALL.replace('"gemm.pes" = [4, 16]', '"memory.dram_bytes" = [4096, 1073741824]')
    spec = write_spec(tmp_path, text)
    code, err = sweep(spec, tmp_path / "out", capsys=capsys)
    assert code == 0
    rows = table(tmp_path / "out")
    failed = [r for r in rows if r["error"]]
    assert [r["memory.dram_bytes"] for r in failed] == ["4096", "4096"]
    assert all("larger DRAM" in r["error"] and r["cycles"] == "" for r in failed)
    assert all(int(r["cycles"]) > 0 for r in rows if not r["error"])
    assert "2 failed point(s)" in err
    # run again, the failed points only, their rows replaced
    code, err = sweep(spec, tmp_path / "out", "--retry-failed", capsys=capsys)
    assert code == 0 and "2 already in" in err and "2 to run" in err
    again = table(tmp_path / "out")
    assert again == rows and len({r["point"] for r in again}) == 4


def test_another_specs_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(write_spec(tmp_path, SMALL), out, capsys=capsys)[0] == 0
    other = write_spec(tmp_path, SMALL.replace("seed = [0, 1]", "seed = [2]"), "other.toml")
    code, err = sweep(other, out, capsys=capsys)
    assert code == 1 and "holds the results of another spec" in err


def test_train_points(tmp_path, capsys):
    text = spec_text(
        "train",
        """\
[fixed]
steps = 3
[grid]
pipeline = ["fp32", "smx-diff"]
""",
    )
    code, err = sweep(write_spec(tmp_path, text), tmp_path / "out", capsys=capsys)
    assert code == 0, err
    rows = table(tmp_path / "out")
    assert [r["pipeline"] for r in rows] == ["fp32", "smx-diff"]
    assert all(r["error"] == "" and r["steps"] == "3" for r in rows)
    assert all(float(r["loss"]) > 0 and 0 < float(r["rel_l2"]) < 10 for r in rows)


def test_simulate_points(tmp_path, capsys):
    text = spec_text(
        "simulate",
        """\
[fixed]
steps = 2
pipeline = "smx-diff"
[grid]
"gemm.pes" = [4, 16]
""",
    )
    code, err = sweep(write_spec(tmp_path, text), tmp_path / "out", "--jobs", "2", capsys=capsys)
    assert code == 0, err
    rows = table(tmp_path / "out")
    assert all(r["error"] == "" and r["steps"] == "2" for r in rows)
    # the same training on either array; its cost differs
    assert rows[0]["loss"] == rows[1]["loss"] and rows[0]["rel_l2"] == rows[1]["rel_l2"]
    assert int(rows[0]["cycles"]) > int(rows[1]["cycles"]) > 0


def test_pass_options(tmp_path, capsys):
    """`pass.option` settings change the pipeline: INT4 activations train otherwise than
    INT8 ones; the pipeline with the option given by hand trains as the sweep's point."""
    text = spec_text(
        "train",
        """\
[fixed]
steps = 2
pipeline = "smx-diff"
[grid]
"smx-quantize.act" = [4, 8]
""",
    )
    spec = write_spec(tmp_path, text)
    assert pipeline_of(load(spec).points()[0]).count("smx-quantize{act=4}") == 1
    code, err = sweep(spec, tmp_path / "out", capsys=capsys)
    assert code == 0, err
    int4, int8 = table(tmp_path / "out")
    assert int4["error"] == int8["error"] == "" and int4["loss"] != int8["loss"]
    by_hand = PIPELINES["smx-diff"][0].replace("smx-quantize", "smx-quantize{act=4}")
    program = pt.load(EXAMPLES / "poisson2d_small.mlir").compile(by_hand, steps=2)
    trainer = pt.Trainer(program, seed=0)
    assert str(trainer.train(2)["loss"]) == int4["loss"]


def test_training_options_of_the_problem(tmp_path, capsys):
    """`pairs` and `lr` set the problem's pinn.train: the point trains as the problem with
    those options written in does."""
    text = spec_text(
        "train",
        """\
[fixed]
steps = 2
lr = 0.003
[grid]
pairs = [4, 16]
""",
    )
    code, err = sweep(write_spec(tmp_path, text), tmp_path / "out", capsys=capsys)
    assert code == 0, err
    rows = table(tmp_path / "out")
    assert [r["pairs"] for r in rows] == ["4", "16"] and rows[0]["loss"] != rows[1]["loss"]
    source = (EXAMPLES / "poisson2d_small.mlir").read_text()
    edited = source.replace("pairs = 64", "pairs = 4").replace("lr = 1.0e-3", "lr = 3.0e-3")
    assert edited.count("pairs = 4") == 1 and "lr = 3.0e-3" in edited
    program = pt.loads(edited, "edited.mlir").compile("fp32", steps=2)
    assert str(pt.Trainer(program, seed=0).train(2)["loss"]) == rows[0]["loss"]
