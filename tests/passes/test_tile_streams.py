"""`tile-streams`: a step whose points' Stein streams run in tiles (forward for the residual,
then forward again and backward) equals the untiled step bit for bit under the arithmetic
contract, for every admissible tile of streams, and refuses an inadmissible one."""

from __future__ import annotations

import numpy as np
import pytest
from test_lower_to_pinta import (
    SMALL,
    check_module_on_both,
    lowered,
    program_op,
    run_both,
    tiles_of,
)
from test_tile_points import _assert_same_bits, _problem, _run, _steps

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.pipelines import PIPELINES

PAIRS = 8  # 16 difference streams a point: tiles of 4, 8 and 16 are admissible


def _tiled(problem: pt.Problem, pipeline: str, target: str, points: int, streams: int):
    spec = PIPELINES[pipeline][0]
    spec += f",tile-points{{points={points}}},tile-streams{{streams={streams}}}"
    program = problem.compile(spec, target=target)
    stream_loops = [op for op in program.module.walk() if getattr(op, "axis_index", 0) == 1]
    assert len(stream_loops) == 2  # the forward, then the forward again and the backward
    return program


@pytest.mark.parametrize(
    ("example", "pipeline"),
    [
        ("poisson2d_small", "smx-diff"),
        ("poisson2d_small", "full"),
        ("heat10d_small", "smx-diff"),
        ("heat10d_small", "full"),
    ],
)
@pytest.mark.parametrize(("points", "streams"), [(4, 4), (8, 8), (4, 16)])
def test_tiles_of_streams_change_no_bit(example, pipeline, points, streams):
    problem = _problem(example, 10, pairs=PAIRS)
    untiled = _run(problem, pipeline, "numpy", None)
    tiled = _steps(_tiled(problem, pipeline, "numpy", points, streams))
    _assert_same_bits(untiled, tiled)


def test_an_inadmissible_tile_of_streams_is_refused_with_the_admissible_ones():
    problem = _problem("poisson2d_small", 10, pairs=PAIRS)
    spec = PIPELINES["smx-diff"][0] + ",tile-points{points=4},tile-streams{streams=6}"
    with pytest.raises(UserError) as error:
        problem.compile(spec, target="numpy")
    assert (
        "a tile of 6 streams does not divide a point's 16 streams into whole 4-row blocks; "
        "admissible: 4, 8, 16" in str(error.value)
    )


@pytest.mark.parametrize("pipeline", ["smx-diff", "full"])
@pytest.mark.parametrize("example", ["poisson2d_small", "heat10d_small"])
def test_pinta_runs_tiles_of_streams_as_the_runtime_does(example, pipeline):
    """20 steps of the step in tiles of 8 points and 4 streams: PINTA's unrolled loops (each
    tile of streams copied in and its gathered values out, point by point; the sums over the
    streams by RED colsums) give every result the runtime's loops give, bit for bit."""
    program = _problem(example, 10, pairs=PAIRS).compile(
        PIPELINES[pipeline][0] + ",tile-points{points=8},tile-streams{streams=4}",
        target="numpy-exact",
    )
    run_both(program, lowered(program), steps=20)


# A loop over streams reading a per-point value computed before it (%e, by tile.slice) and
# its source (%d) in every tile, its GEMMs carried on into the point loop's exact sum.
STREAMS_OF_A_POINT = """func.func @train_step(%x: tensor<?x27xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<3x3xf32> {train.role = "term:w"}, tensor<?x8x3xf32> {train.role = "term:g"}, tensor<f32> {train.role = "loss"}) {
  %z0 = tile.zero : !tile.exact<3x3>
  %w, %g = tile.loop (%first, %xt) over %x : tensor<?x27xf32> by 2 carry (%a = %z0) : (!tile.exact<3x3>) gather (tensor<?x8x3xf32>) {
    %rest = pinn.slice %xt dims 3 to 27 : tensor<?x27xf32> -> tensor<?x24xf32>
    %d = train.permute %rest shape [-1, 8, 3] perm [0, 1, 2] : tensor<?x24xf32> -> tensor<?x8x3xf32>
    %e = arith.mulf %d, %d : tensor<?x8x3xf32>
    %a2, %gg = tile.loop (%sf, %dt) over %d : tensor<?x8x3xf32> axis 1 by 4 carry (%as = %a) : (!tile.exact<3x3>) gather (tensor<?x8x3xf32>) {
      %et = tile.slice %e at %sf : tensor<?x8x3xf32> -> tensor<?x4x3xf32>
      %r = train.flatten %dt : tensor<?x4x3xf32> -> tensor<?x3xf32>
      %q = train.flatten %et : tensor<?x4x3xf32> -> tensor<?x3xf32>
      %as1 = tile.accumulate_gemm %as, %r, %q role wgrad transpose_a : !tile.exact<3x3>, tensor<?x3xf32>, tensor<?x3xf32>
      tile.yield %as1, %et : !tile.exact<3x3>, tensor<?x4x3xf32>
    }
    tile.yield %a2, %gg : !tile.exact<3x3>, tensor<?x8x3xf32>
  }
  %wr = tile.round %w : !tile.exact<3x3> -> tensor<3x3xf32>
  %l = train.mean_square %wr : tensor<3x3xf32> -> tensor<f32>
  func.return %wr, %g, %l : tensor<3x3xf32>, tensor<?x8x3xf32>, tensor<f32>
}
"""


def test_pinta_keeps_a_stream_loops_operands_for_all_of_its_tiles():
    """The values a loop over streams reads in every tile (its source, what it slices) keep
    their SPM homes until its last tile: the weight sum and the gathered slices are the
    runtime's, bit for bit."""
    x = np.random.default_rng(0).standard_normal((6, 27), np.float32)
    check_module_on_both(STREAMS_OF_A_POINT, "pde=6", [x])


def test_pinta_tiles_the_streams_when_a_tile_of_points_does_not_fit_on_chip():
    """poisson2d_small (64 pairs) on a 128 KiB SPM: a tile of 4 points' values do not fit in
    the share of the SPM that holds values, so the lowering tiles each point's 128 streams too
    (by 16, the largest tiles whose values for a point take at most the SPM's size; the
    tiles alternate two blocks of their values) and the program trains bit for bit like the
    runtime's step."""
    from pintac.runtime.pinta.config import load_config
    from pintac.runtime.pinta.lowered import LoweredStep

    program = pt.load(SMALL).compile("smx-diff", target="numpy-exact")
    setting = "memory.spm_bytes=131072"
    op = program_op(program.module, set=setting)
    assert tiles_of(op, "stream_tiles") == {"pde": 16}
    run_both(program, LoweredStep.of(op), steps=2, config=load_config(None, [setting]))
