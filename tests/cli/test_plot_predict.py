"""`pintac plot` and `pintac predict`: looking at a trained model."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import ROOT, SMALL

import pintac.api as pt
from pintac.cli import main

HEAT = ROOT / "examples" / "heat1d.mlir"


def cli(argv, capsys):
    code = main([*map(str, argv)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """poisson2d_small trained for 20 steps: its report and checkpoint."""
    d = tmp_path_factory.mktemp("small")
    argv = ["run", str(SMALL), "--steps", "20", "--quiet", "--report", str(d / "r.json")]
    assert main([*argv, "--checkpoint", str(d / "ck"), "--eval-points", "2000"]) == 0
    return d / "r.json", d / "ck" / "checkpoint.npz"


@pytest.fixture(scope="module")
def heat_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("heat")
    argv = ["run", str(HEAT), "--steps", "4", "--quiet", "--report", str(d / "r.json")]
    assert main([*argv, "--checkpoint", str(d / "ck"), "--eval-points", "500"]) == 0
    return d / "r.json", d / "ck" / "checkpoint.npz"


def assert_image(path: Path, min_size: int = 200):
    from matplotlib.image import imread

    assert path.is_file(), path
    pixels = imread(path)
    assert pixels.shape[0] >= min_size and pixels.shape[1] >= min_size, pixels.shape
    flat = pixels.reshape(-1, pixels.shape[-1])
    assert not np.all(flat == flat[0]), f"{path} is blank"
    # more than two colours: curves or colour maps, not just a frame
    assert len(np.unique(flat, axis=0)) > 20, path


@pytest.mark.parametrize("which", ["small", "heat"])
def test_plot_writes_loss_error_and_solution_images(which, small_run, heat_run, tmp_path, capsys):
    report, checkpoint = small_run if which == "small" else heat_run
    out = tmp_path / "plots"
    code, stdout, err = cli(["plot", report, "--checkpoint", checkpoint, "-o", out], capsys)
    assert code == 0, err
    for name in ("loss", "error", "solution"):
        assert_image(out / f"{name}.png")
        assert str(out / f"{name}.png") in stdout
    assert sorted(p.name for p in out.iterdir()) == ["error.png", "loss.png", "solution.png"]


def test_plot_without_a_checkpoint_draws_the_curves_only(small_run, tmp_path, capsys):
    report, _ = small_run
    code, _, err = cli(["plot", report, "-o", tmp_path / "p", "--format", "svg"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["error.svg", "loss.svg"]
    assert (tmp_path / "p" / "loss.svg").read_text().lstrip().startswith("<?xml")
    assert "--checkpoint" in err  # says how to get the solution plot too


def test_run_plot(tiny, tmp_path, capsys):
    code, _, err = cli(["run", tiny, "--quiet", "--plot", tmp_path / "p"], capsys)
    assert code == 0, err
    for name in ("loss", "error", "solution"):
        assert_image(tmp_path / "p" / f"{name}.png")


def test_missing_matplotlib_is_a_clear_message(small_run, tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` fails
    report, _ = small_run
    code, _, err = cli(["plot", report, "-o", tmp_path / "p"], capsys)
    assert code == 1
    assert "matplotlib" in err and "pip install" in err and "pintac[plot]" in err
    assert not (tmp_path / "p").exists()
    # `pintac run --plot` says so before training, not after
    code, _, err = cli(["run", SMALL, "--steps", "5", "--plot", tmp_path / "p"], capsys)
    assert code == 1 and "matplotlib" in err and "step 1/5" not in err


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "no such file"),
        ("", "not a pintac report"),
        ("{not json", "not a pintac report"),
        ('{"history": 3}', "not a pintac report"),
        ("[1, 2]", "not a pintac report"),
    ],
)
def test_plot_of_a_bad_report(content, fragment, tmp_path, capsys):
    report = tmp_path / "r.json"
    if content is not None:
        report.write_text(content)
    code, _, err = cli(["plot", report, "-o", tmp_path / "p"], capsys)
    assert code == 1
    assert err.startswith(f"{report}: error:") and fragment in err


def test_plot_with_the_checkpoint_of_another_run(small_run, heat_run, tmp_path, capsys):
    report, _ = small_run
    _, checkpoint = heat_run
    code, _, err = cli(["plot", report, "--checkpoint", checkpoint, "-o", tmp_path], capsys)
    assert code == 1 and "heat1d" in err and "poisson2d_small" in err


# ------------------------------------------------------------------ predict


def test_predict_reproduces_the_reported_error(small_run, tmp_path, capsys):
    report, checkpoint = small_run
    data = json.loads(report.read_text())
    program = pt.load(SMALL).compile()
    x = program.evaluation_points(data["eval_points"], data["seed"])
    np.save(tmp_path / "x.npy", x)
    code, _, err = cli(
        ["predict", checkpoint, "--points", tmp_path / "x.npy", "-o", tmp_path / "u.npz"], capsys
    )
    assert code == 0, err
    with np.load(tmp_path / "u.npz") as out:
        u, points = out["u"], out["x"]
    assert points.tobytes() == x.tobytes()
    exact = program.exact(x)[0].astype(np.float64)
    rel = np.linalg.norm(u.astype(np.float64) - exact) / np.linalg.norm(exact)
    assert rel == pytest.approx(data["rel_l2"], rel=1e-6)


def test_predict_on_a_grid_to_csv(small_run, tmp_path, capsys):
    _, checkpoint = small_run
    out = tmp_path / "u.csv"
    code, _, err = cli(["predict", checkpoint, "--grid", "11x6", "-o", out], capsys)
    assert code == 0, err
    lines = out.read_text().splitlines()
    assert lines[0] == "x0,x1,u,exact"
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    assert rows.shape == (66, 4)
    assert rows[:, 0].min() == 0.0 and rows[:, 0].max() == 1.0
    assert sorted(set(rows[:, 1])) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_predict_points_from_csv_and_the_problem_file(small_run, tmp_path, capsys):
    _, checkpoint = small_run
    (tmp_path / "x.csv").write_text("x0,x1\n0.5,0.5\n0.25,0.75\n")
    code, _, err = cli(
        [
            "predict",
            checkpoint,
            "--points",
            tmp_path / "x.csv",
            "--problem",
            SMALL,
            "-o",
            tmp_path / "u.npz",
        ],
        capsys,
    )
    assert code == 0, err
    with np.load(tmp_path / "u.npz") as out:
        assert out["u"].shape == (2, 1) and out["x"].shape == (2, 2)


def test_predict_time_dependent_grid_needs_a_time(heat_run, tmp_path, capsys):
    _, checkpoint = heat_run
    code, _, err = cli(["predict", checkpoint, "--grid", "21", "-o", tmp_path / "u.npz"], capsys)
    assert code == 1 and "--time" in err
    code, _, err = cli(
        ["predict", checkpoint, "--grid", "21", "--time", "0.5", "-o", tmp_path / "u.npz"], capsys
    )
    assert code == 0, err
    with np.load(tmp_path / "u.npz") as out:
        assert out["x"].shape == (21, 2) and np.all(out["x"][:, 1] == np.float32(0.5))


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--grid", "11"], "--grid 11 has 1 size(s), but the problem has 2 spatial coordinates"),
        (["--grid", "0x5"], "--grid"),
        (["--grid", "axb"], "--grid"),
        (["--grid", "100000x100000"], "--grid"),
        (["--time", "0.5", "--grid", "5x5"], "--time"),
        ([], "--points FILE or --grid"),
        (["--points", "POINTS3", "-o", "u.npz"], "3 coordinates per point, but the problem"),
        (["--points", "NAN", "-o", "u.npz"], "not finite"),
        (["--points", "missing.npy"], "no such file"),
        (["--points", "BADCSV"], "line 2"),
        (["--grid", "5x5", "-o", "u.txt"], ".npz or .csv"),
    ],
)
def test_predict_mistakes(args, fragment, small_run, tmp_path, capsys, monkeypatch):
    _, checkpoint = small_run
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "p3.npy", np.zeros((4, 3), np.float32))
    np.save(tmp_path / "nan.npy", np.full((4, 2), np.nan, np.float32))
    (tmp_path / "bad.csv").write_text("0.1,0.2\n0.3,oops\n")
    names = {"POINTS3": "p3.npy", "NAN": "nan.npy", "BADCSV": "bad.csv"}
    code, _, err = cli(["predict", checkpoint, *[names.get(a, a) for a in args]], capsys)
    assert code == 1
    assert fragment in err, err


def test_predict_of_a_missing_or_bad_checkpoint(tmp_path, capsys):
    code, _, err = cli(["predict", tmp_path / "none.npz", "--grid", "5x5"], capsys)
    assert code == 1 and "no such checkpoint file" in err
    (tmp_path / "bad.npz").write_bytes(b"junk")
    code, _, err = cli(["predict", tmp_path / "bad.npz", "--grid", "5x5"], capsys)
    assert code == 1 and "not an .npz" in err
