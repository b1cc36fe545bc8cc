"""`pintac compile --report`: the layer table of a pipeline with tensor-train layers, then the
quantization plan."""

from __future__ import annotations

from pathlib import Path

from pintac.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"


def compile_report(pipeline: str, tmp_path: Path, capsys) -> str:
    argv = ["compile", str(EXAMPLE), "--pipeline", pipeline, "--target", "mlir"]
    code = main([*argv, "-o", str(tmp_path / "step.mlir"), "--report"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_tt_pipeline_reports_its_layers(tmp_path, capsys):
    out = compile_report("full-noprs", tmp_path, capsys)
    layers, plan = out.split("quantized copies of @train_step:\n")
    assert layers.startswith("layers (MACs per batch row):\n")
    rows = {line.split()[1]: line.split() for line in layers.splitlines() if line.startswith("@u")}
    # the hidden 16x16 layer with modes 2·2·4 and ranks 1,4,8,1: cores 1·2·2·4 + 4·2·2·8 +
    # 8·4·4·1 = 272 parameters; the outer layers stay dense
    assert rows["z1"][2:6] == ["tt", "16x16", "2,2,4", "2,2,4"]
    assert rows["z1"][6] == "1,4,8,1" and rows["z1"][9] == "272"
    assert rows["z0"][2] == rows["y"][2] == "dense"
    assert "gradient" in plan and "weight" in plan


def test_dense_pipeline_has_no_layer_table(tmp_path, capsys):
    out = compile_report("smx-diff", tmp_path, capsys)
    assert out.startswith("quantized copies of @train_step:\n")


def test_the_numpy_target_reports_its_tiles_of_points(tmp_path, capsys):
    """poisson2d_small with tiles of 8 points asked for: one loop a loss term."""
    from pintac.pipelines import PIPELINES

    pipeline = PIPELINES["smx-diff"][0] + ",tile-points{points=8}"
    argv = ["compile", str(EXAMPLE), "--pipeline", pipeline, "--target", "numpy"]
    code = main([*argv, "-o", str(tmp_path / "step.py"), "--report"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0] == "tiles        points a tile, by loss term: pde 8, bc 8"


def test_the_report_shows_the_tiles_of_streams(tmp_path, capsys):
    """poisson2d_small (64 pairs) with tiles of 8 points and 16 of each point's streams."""
    from pintac.pipelines import PIPELINES

    pipeline = PIPELINES["smx-diff"][0] + ",tile-points{points=8},tile-streams{streams=16}"
    argv = ["compile", str(EXAMPLE), "--pipeline", pipeline, "--target", "mlir"]
    code = main([*argv, "-o", str(tmp_path / "step.mlir"), "--report"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0] == (
        "tiles        points a tile, by loss term: pde 8, bc 8; streams a tile: pde 16"
    )
