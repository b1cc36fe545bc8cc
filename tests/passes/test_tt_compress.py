"""tt-compress, tt-partial-reconstruct and TT initialization.

- The 256-wide examples' hidden layers compress 13.8x; factorization mistakes are located
  errors naming the layer.
- `init=normal` matches the dense layer's variance; `init=svd` gives the cores of the TT-SVD
  of the dense weight's values (its own init, or given ones: a dense checkpoint's), and the
  dense weight is no parameter of the step.
- PRS with any number of groups gives the same f32 output as no PRS; the grouping is the
  cost model's cheapest at the residual's rows; the report renders it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.dialects import pinn, train
from pintac.dialects import tt as tt_dialect
from pintac.pass_manager import parse_pipeline_spec, run_pipeline
from pintac.passes.tt_partial_reconstruct import cost_model_rows, layer_costs, tt_report
from pintac.registry import available_passes, make_context
from pintac.runtime import tt
from pintac.runtime.init import init_params, trained_params, tt_cores_from_dense
from pintac.runtime.numpy_target import interpret

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def compiled(path_or_text, pipeline: str):
    """The module of a problem after `pipeline` (errors located in the source)."""
    text = path_or_text.read_text() if isinstance(path_or_text, Path) else path_or_text
    parsed = pt.loads(text, "test.mlir").parsed
    run_pipeline(make_context(), parsed, parse_pipeline_spec(pipeline, available_passes()))
    return parsed.module


def problem_of(module) -> pinn.ProblemOp:
    return next(op for op in module.ops if isinstance(op, pinn.ProblemOp))


@pytest.mark.parametrize("example", ["poisson2d", "hjb20d", "heat100d"])
def test_hidden_layers_of_the_examples_compress_13_8x(example):
    module = compiled(EXAMPLES / f"{example}.mlir", "tt-compress")
    layers = [c for c in layer_costs(module) if c.kind == "tt"]
    assert len(layers) == 2
    for c in layers:
        assert (c.in_factors, c.out_factors, c.ranks) == ((4, 8, 8), (4, 8, 8), (1, 8, 8, 1))
        assert c.params == 4736 and c.compression == pytest.approx(65536 / 4736)
        assert c.compression >= 10
    problem = problem_of(module)
    names = [p.sym_name.data for p in problem.ops_of(pinn.ParamOp)]
    assert "W1" not in names and "W2" not in names
    assert names[-6:] == ["W1_G0", "W1_G1", "W1_G2", "W2_G0", "W2_G1", "W2_G2"]


def test_variance_matched_init():
    """Normal cores of std `init_std` give W entries of the Glorot variance 2 / (N + M)."""
    module = compiled(EXAMPLES / "poisson2d.mlir", "tt-compress")
    problem = problem_of(module)
    std = tt.init_std((4, 8, 8), (4, 8, 8), 8, math.sqrt(2 / 512))
    cores = [p for p in problem.ops_of(pinn.ParamOp) if p.sym_name.data.startswith("W1_G")]
    for p in cores:
        assert p.init.data == "normal"
        assert p.init_args.data[0].value.data == pytest.approx(std, rel=1e-5)
    values = init_params(problem)
    w = tt.reconstruct([values[p.sym_name.data].astype(np.float64) for p in cores])
    assert w.var() == pytest.approx(2 / 512, rel=0.15)


@pytest.mark.parametrize(
    "options,message",
    [
        (
            "in-modes=4,4,4",
            r"in-modes \[4, 4, 4\] multiply to 64, but the layer of @W1 \(256x256\) has 256 "
            "inputs",
        ),
        (
            "out-modes=2,2,2,2",
            r"out-modes \[2, 2, 2, 2\] multiply to 16, but the layer of @W1 \(256x256\) has "
            "256 outputs",
        ),
        ("in-modes=16,16 cores=3", "cores=3, but the modes give 2 factors"),
        ("ranks=8,8,8", "ranks is one inner rank or the 2 inner ranks of 3 cores"),
        ("layers=first", "layers must be hidden or all"),
        ("init=zeros", "init must be normal or svd"),
        ("in-modes=0,256", "in-modes must be >= 1"),
    ],
)
def test_bad_factorizations_are_clear_errors(options, message):
    with pytest.raises(UserError, match=message) as err:
        compiled(EXAMPLES / "poisson2d.mlir", f"tt-compress{{{options}}}")
    if "multiply" in message:  # located at the layer in the source
        assert "test.mlir:23:11: error" in str(err.value)
        assert "pinn.dense %h0, @W1, @b1" in str(err.value)


def test_init_normal_needs_a_zero_mean_random_init():
    dense = (EXAMPLES / "poisson2d.mlir").read_text()
    text = dense.replace(
        "@W1 : tensor<256x256xf32> init xavier_normal", "@W1 : tensor<256x256xf32> init ones"
    )
    with pytest.raises(UserError, match="@W1 has init ones: compress its values with init=svd"):
        compiled(text, "tt-compress")
    compiled(text, "tt-compress{init=svd}")  # fine: the SVD of the matrix of ones (rank 1)


def test_svd_init_is_the_tt_svd_of_the_dense_values():
    module = compiled(EXAMPLES / "poisson2d.mlir", "tt-compress{init=svd}")
    problem = problem_of(module)
    dense = pt.load(EXAMPLES / "poisson2d.mlir")
    dense_values = init_params(dense.op)
    values = init_params(problem)
    # the step trains the cores, not the dense sources (which keep their position, hence
    # their random stream: the values of the dense problem)
    assert [p.sym_name.data for p in trained_params(problem)] == list(values)
    assert "W1" not in values and "W1_G0" in values
    assert all(v.dtype == np.float32 for v in values.values())
    for w in ("W1", "W2"):  # cores are unique up to a gauge: compare the matrices
        cores = [values[f"{w}_G{k}"].astype(np.float64) for k in range(3)]
        assert [c.shape for c in cores] == tt.core_shapes((4, 8, 8), (4, 8, 8), 8)
        expected = tt.tt_svd(dense_values[w].astype(np.float64), (4, 8, 8), (4, 8, 8), 8)
        np.testing.assert_allclose(
            tt.reconstruct(cores), tt.reconstruct(expected), rtol=0, atol=1e-6
        )
    assert np.array_equal(values["W0"], dense_values["W0"])

    # given values (a dense checkpoint's): the cores are their TT-SVD; given cores win
    rng = np.random.default_rng(0)
    trained = {
        name: rng.standard_normal(v.shape).astype(np.float32) for name, v in dense_values.items()
    }
    from_checkpoint = init_params(problem, given=trained)
    assert np.array_equal(from_checkpoint["W0"], trained["W0"])
    cores = tt_cores_from_dense(problem, trained)
    assert set(cores) == {f"W{i}_G{k}" for i in (1, 2) for k in range(3)}
    for name, value in cores.items():
        assert np.array_equal(from_checkpoint[name], value)
    exact = tt.tt_svd(trained["W2"].astype(np.float64), (4, 8, 8), (4, 8, 8), 8)
    np.testing.assert_allclose(
        tt.reconstruct([cores[f"W2_G{k}"].astype(np.float64) for k in range(3)]),
        tt.reconstruct(exact),
        atol=1e-5,
    )


def test_svd_init_at_full_rank_reproduces_the_matrix_and_pads_low_ranks():
    text = (EXAMPLES / "poisson2d_small.mlir").read_text()
    module = compiled(text, "tt-compress{init=svd ranks=64}")  # lowered to 4, 16: exact
    problem = problem_of(module)
    shapes = [p.shape for p in problem.ops_of(pinn.ParamOp) if p.sym_name.data.startswith("W1_")]
    assert shapes == [[1, 2, 2, 4], [4, 2, 2, 16], [16, 4, 4, 1]]
    w = np.random.default_rng(1).standard_normal((16, 16)).astype(np.float32)
    cores = tt_cores_from_dense(problem, {"W1": w})
    got = [cores[f"W1_G{k}"].astype(np.float64) for k in range(3)]
    np.testing.assert_allclose(tt.reconstruct(got), w, rtol=0, atol=1e-5)
    # TT ranks 1 with a tolerance: the cores are zero-padded to their shapes
    ones = np.full((16, 16), 3.0)
    padded = tt.cores_from_dense(ones, shapes, rel_tol=1e-9)
    assert [c.shape for c in padded] == [tuple(s) for s in shapes]
    assert not padded[0][..., 1:].any() and not padded[1][1:].any()  # ranks (1, 1, 1, 1)
    np.testing.assert_allclose(tt.reconstruct(padded), ones, rtol=1e-12)


def test_given_values_are_checked():
    problem = problem_of(compiled(EXAMPLES / "poisson2d_small.mlir", "tt-compress{init=svd}"))
    with pytest.raises(UserError, match="'V1', which is not a parameter of the problem"):
        init_params(problem, given={"V1": np.zeros((16, 16))})
    with pytest.raises(UserError, match="the given initial value of 'W1' has shape 16x8"):
        init_params(problem, given={"W1": np.zeros((16, 8))})
    with pytest.raises(UserError, match="TT-SVD of @W1, but no value of @W1 is given"):
        tt_cores_from_dense(problem, {})


# ---------------------------------------------------------------- tt-partial-reconstruct


def test_cost_model_rows_are_the_residual_perturbed_batch():
    assert cost_model_rows(pt.load(EXAMPLES / "poisson2d.mlir").op) == 100 * 1025
    assert cost_model_rows(pt.load(EXAMPLES / "hjb20d.mlir").op) == 50 * 2049
    assert cost_model_rows(pt.load(EXAMPLES / "poisson2d_small.mlir").op) == 32 * 129


@pytest.mark.parametrize("groups", [0, 1, 2, 3, 5])
def test_grouping_is_the_cost_model_choice(groups):
    module = compiled(
        EXAMPLES / "poisson2d.mlir", f"tt-compress,tt-partial-reconstruct{{groups={groups}}}"
    )
    rows = 100 * 1025
    num = None if groups == 0 else min(groups, 3)
    best = tt.plan_contraction(((4, 8, 8), (4, 8, 8)), 8, rows, num_groups=num)
    for op in problem_of(module).walk():
        if isinstance(op, tt_dialect.LinearOp):
            assert (op.group_sizes, op.contraction_order.value) == (best.groups, best.order)
    # the paper's g = 2 merges the first two cores: 81,920 MACs per row against 155,648
    if groups == 2:
        assert best.groups == (2, 1) and best.total_contract_macs == rows * 81920


def test_prs_gives_the_output_without_prs():
    """@predict of poisson2d's TT network, its initial values, f32: every grouping agrees
    with the core-by-core one to f32 rounding."""
    text = (EXAMPLES / "poisson2d.mlir").read_text()
    base = compiled(text, "tt-compress,stein-expand,pinn-build-loss")
    values = init_params(problem_of(base))
    x = np.random.default_rng(0).uniform(0, 1, (64, 2)).astype(np.float32)

    def predict(module):
        f = next(
            f for f in module.ops if isinstance(f, func.FuncOp) and f.sym_name.data == "predict"
        )
        args = [values[r.removeprefix("param:")] for r in train.arg_roles(f)[:-1]] + [x]
        return interpret(f, args)[0]

    reference = predict(base)
    for groups in (1, 2, 3):
        for order in ("ltr", "rtl"):
            spec = f"tt-compress,tt-partial-reconstruct{{groups={groups} order={order}}}"
            y = predict(compiled(text, f"{spec},stein-expand,pinn-build-loss"))
            assert y.dtype == np.float32
            np.testing.assert_allclose(y, reference, rtol=1e-4, atol=2e-6)


def test_report_table():
    module = compiled(EXAMPLES / "poisson2d.mlir", "tt-compress,tt-partial-reconstruct{groups=2}")
    report = tt_report(module)
    lines = report.splitlines()
    assert lines[0].split() == [
        "layer", "kind", "shape", "in", "modes", "out", "modes", "ranks", "groups", "order",
        "params", "compression", "MACs/row", "dense", "MACs/row", "merge", "MACs/step",
    ]  # fmt: skip
    z1 = next(line for line in lines if line.startswith("@u z1")).split()
    assert z1 == [
        "@u", "z1", "tt", "256x256", "4,8,8", "4,8,8", "1,8,8,1", "2,1", "ltr", "4,736",
        "13.8x", "81,920", "65,536", "65,536",
    ]  # fmt: skip
    total = lines[-1].split()
    dense_total = 2 * 256 + 256 + 2 * (65536 + 256) + 256 + 1
    assert total[3] == f"{2 * 4736 + 512 + 3 * 256 + 256 + 1:,}"
    assert total[4] == f"{dense_total / (2 * 4736 + 512 + 3 * 256 + 256 + 1):.1f}x"


def test_partial_reconstruct_needs_tt_layers():
    with pytest.raises(UserError, match="found no tt.linear layer"):
        compiled(EXAMPLES / "poisson2d_small.mlir", "tt-partial-reconstruct")
