"""`tile-points`: the tiled training step equals the untiled one bit for bit under the
arithmetic contract, for every admissible tile size, and refuses an inadmissible one."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.pipelines import PIPELINES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STEPS = 2


def _problem(example: str, batch: int, pairs: int = 4) -> pt.Problem:
    """The example with `batch` points in its first term, one fewer in the others."""
    text = (EXAMPLES / f"{example}.mlir").read_text()

    def batches(match: re.Match) -> str:
        terms = [item.partition("=")[0].strip() for item in match.group(1).split(",")]
        sizes = [batch] + [max(batch - 1, 1)] * (len(terms) - 1)
        return (
            "batch = {" + ", ".join(f"{t} = {n}" for t, n in zip(terms, sizes, strict=True)) + "}"
        )

    text, count = re.subn(r"batch = \{([^}]*)\}", batches, text)
    assert count == 1
    text = re.sub(r"pairs = \d+", f"pairs = {pairs}", text)
    return pt.loads(text, f"{example}.mlir")


def _run(problem: pt.Problem, pipeline: str, target: str, tile: int | None):
    """`STEPS` steps of the pipeline's step tiled by `tile` points, or untiled (None: the
    step as the pipeline leaves it, without the NumPy target's own tiling)."""
    spec = PIPELINES[pipeline][0] if pipeline in PIPELINES else pipeline
    if tile is not None:
        spec += f",tile-points{{points={tile}}}"
    program = problem.compile(spec, target=target)
    if tile is None:
        program = pt.Program(
            program.module, pipeline, spec, program.source_name, target, problem=problem
        )
        assert not any(op.name == "tile.loop" for op in program.module.walk())
    return _steps(program)


def _steps(program: pt.Program):
    """The step's outputs over `STEPS` steps from seed 0."""
    state = program.initial_state(0)
    outputs = []
    for _ in range(STEPS):
        args = program.step_arguments(state, 0, program.batch(0, state.step))
        outputs.append(program.train_step(*args))
        state, _ = program.step(state, 0)
    return program.result_roles, outputs


def _assert_same_bits(untiled, tiled) -> None:
    roles, expected = untiled
    _, got = tiled
    for step, (a_step, b_step) in enumerate(zip(expected, got, strict=True)):
        differ = [
            role
            for role, a, b in zip(roles, a_step, b_step, strict=True)
            if np.asarray(a, np.float32).tobytes() != np.asarray(b, np.float32).tobytes()
        ]
        assert not differ, f"step {step}: {differ}"


#: smx-diff with stochastic rounding: the residual's gradient, which a tile rescales by the
#: batch's count, is quantized with draws by its rows' index
SMX_DIFF_STOCHASTIC = PIPELINES["smx-diff"][0].replace(
    "smx-quantize", 'smx-quantize{rounding="stochastic"}'
)
CASES = [
    ("poisson2d_small", "fp32", "numpy-exact"),
    ("poisson2d_small", SMX_DIFF_STOCHASTIC, "numpy"),
    ("poisson2d_small", "smx-diff", "numpy"),
    ("poisson2d_small", "full", "numpy"),
    ("poisson2d_small", "fp32-taylor", "numpy-exact"),
    ("poisson2d_small", "fp32-stde", "numpy-exact"),
    ("heat10d_small", "smx-diff", "numpy"),
    ("heat10d_small", "full", "numpy"),
    ("heat10d_small", "fp32", "numpy-exact"),
]


@pytest.mark.parametrize(("example", "pipeline", "target"), CASES)
@pytest.mark.parametrize("tile", [4, 8, 12])
def test_tiled_step_equals_untiled_bit_for_bit(example, pipeline, target, tile):
    """10 points (9 on the boundary): tiles of 4 and 8 leave a remainder, 12 is one tile."""
    problem = _problem(example, batch=10)
    _assert_same_bits(_run(problem, pipeline, target, None), _run(problem, pipeline, target, tile))


@settings(max_examples=8, deadline=None)
@given(batch=st.integers(1, 21), units=st.integers(1, 6))
def test_every_admissible_tile_is_bit_identical(batch, units):
    problem = _problem("poisson2d_small", batch=batch + 1)
    _assert_same_bits(
        _run(problem, "smx-diff", "numpy", None), _run(problem, "smx-diff", "numpy", 4 * units)
    )


def test_a_tile_that_splits_a_block_is_refused_with_the_reason():
    problem = _problem("poisson2d_small", batch=10)
    with pytest.raises(UserError, match=r"6 points .* not a whole number of its 4-row blocks"):
        problem.compile(PIPELINES["smx-diff"][0] + ",tile-points{points=6}")


def test_fp32_needs_no_block_alignment():
    problem = _problem("poisson2d_small", batch=10)
    _assert_same_bits(
        _run(problem, "fp32", "numpy-exact", None), _run(problem, "fp32", "numpy-exact", 3)
    )


@pytest.mark.parametrize("pipeline", ["fp32", "smx-diff", "full", "fp32-stde"])
def test_pinta_runs_a_tiled_step_as_the_runtime_runs_the_untiled_one(pipeline):
    """The simulator runs the PINTA program of the step tiled by 4 points (tiles of 4, 4 and
    2 points of the batch of 10; 4, 4 and 1 of the boundary's 9), bit for bit like the
    runtime's untiled step under the contract."""
    problem = _problem("poisson2d_small", batch=10)
    _assert_same_bits(
        _run(problem, pipeline, "numpy-exact", None), _run(problem, pipeline, "pinta-sim", 4)
    )


def test_the_numpy_target_tiles_the_step_and_keeps_a_pipeline_s_tiles():
    problem = _problem("poisson2d_small", batch=10)
    default = problem.compile("smx-diff")
    assert [op.tile_points for op in default.lowered.walk() if op.name == "tile.loop"]
    given = problem.compile(PIPELINES["smx-diff"][0] + ",tile-points{points=4}")
    assert {op.tile_points for op in given.lowered.walk() if op.name == "tile.loop"} == {4}


def test_one_dimensional_mx_blocks_tile_in_whole_blocks():
    """mx-diff's 32x1 copies (read by the weight gradients) need tiles of 32 points."""
    problem = _problem("poisson2d_small", batch=70)
    with pytest.raises(UserError, match="use a multiple of 32 points"):
        problem.compile(PIPELINES["mx-diff"][0] + ",tile-points{points=16}")
    _assert_same_bits(
        _run(problem, "mx-diff", "numpy", None), _run(problem, "mx-diff", "numpy", 32)
    )


def test_the_reference_interpreter_runs_a_tiled_step_as_the_generated_code_does():
    from pintac.runtime.numpy_target import interpret

    problem = _problem("poisson2d_small", batch=10)
    program = problem.compile(PIPELINES["smx-diff"][0] + ",tile-points{points=4}")
    state = program.initial_state(0)
    args = program.step_arguments(state, 0, program.batch(0, 0))
    tiles = []
    expected = interpret(
        program.functions["train_step"],
        args,
        lambda op, operands, results: (
            tiles.append(operands[0]) if op.name == "stein.sample" else None
        ),
    )
    assert [len(x) for x in tiles] == [4, 4, 2]  # the body ran once per tile
    got = program.train_step(*args)
    assert all(
        np.asarray(a).tobytes() == np.asarray(b).tobytes()
        for a, b in zip(expected, got, strict=True)
    )


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    cols=st.integers(1, 3),
    values=st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e30, -1e30, 3e-39]),
)
def test_a_running_column_sum_over_tiles_is_the_whole_column_sum(rows, cols, values):
    """Tiles of the given sizes (empty ones included), entries mixing signed zeros, large
    magnitudes that cancel and subnormals: the same bits as `train.column_sum` of all rows."""
    from pintac.runtime.kernels_core import column_sum
    from pintac.runtime.kernels_tile import accumulate_rows, zero

    rng = np.random.default_rng(sum(rows) * 7 + cols)
    pool = np.array([values, -values, 0.0, -0.0, 1.0, 2.0**-20], np.float32)
    x = rng.choice(pool, size=(sum(rows), cols)).astype(np.float32)
    acc = zero(shape=(cols,), exact=None)
    start = 0
    for n in rows:
        acc = accumulate_rows(acc, x[start : start + n])
        start += n
    if sum(rows) == 0:
        return  # an all-empty batch: one empty tile, as point_tiles makes it (below)
    assert acc.tobytes() == column_sum(x).tobytes()


def test_an_empty_batch_sums_to_plus_zero_as_untiled():
    from pintac.runtime.kernels_core import column_sum
    from pintac.runtime.kernels_tile import accumulate_rows, zero

    empty = np.zeros((0, 3), np.float32)
    got = accumulate_rows(zero(shape=(3,), exact=None), empty)
    assert got.tobytes() == column_sum(empty).tobytes()


def test_optional_tiling_leaves_a_step_it_cannot_tile_as_it_was():
    """The NumPy targets tile with optional=true: an inadmissible tile is no error there,
    and the step stays untiled, unchanged."""
    problem = _problem("poisson2d_small", batch=10)
    spec = PIPELINES["smx-diff"][0]
    plain = problem.compile(spec, target="numpy-exact").module
    kept = problem.compile(spec + ",tile-points{points=6 optional=true}", target="numpy-exact")
    assert not any(op.name == "tile.loop" for op in kept.module.walk())
    assert str(kept.module) == str(plain)


RETURNS_PER_POINT = """
func.func @train_step(%x: tensor<?x8xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<?x2xf32> {train.role = "term:t"}, tensor<f32> {train.role = "loss"}) {
  %t = train.permute %x shape [-1, 2, 4] perm [0, 2, 1] : tensor<?x8xf32> -> tensor<?x2xf32>
  %loss = train.mean_square %x : tensor<?x8xf32> -> tensor<f32>
  func.return %t, %loss : tensor<?x2xf32>, tensor<f32>
}
"""


def _tiled(text: str, spec: str):
    from xdsl.parser import Parser

    from pintac.passes.tile_points import TilePointsPass
    from pintac.registry import make_context

    ctx = make_context()
    module = Parser(ctx, text).parse_module()
    TilePointsPass(**spec).apply(ctx, module)
    module.verify()
    return module


def test_a_per_point_value_the_step_returns_is_gathered_from_the_tiles():
    module = _tiled(RETURNS_PER_POINT, {"points": 2})
    loop = next(op for op in module.walk() if op.name == "tile.loop")
    ret = next(op for op in module.walk() if op.name == "func.return")
    assert ret.operands[0] in loop.gathered_results


def test_a_permute_that_moves_the_batch_axis_is_not_split_over_tiles():
    text = RETURNS_PER_POINT.replace(
        "shape [-1, 2, 4] perm [0, 2, 1]", "shape [-1, 2, 4] perm [1, 0, 2]"
    )
    with pytest.raises(Exception, match="combines the points of 'pde'"):
        _tiled(text, {"points": 2})
    untiled = _tiled(text, {"points": 2, "optional": True})
    assert not any(op.name == "tile.loop" for op in untiled.walk())
