"""`tile-streams`: a step whose points' Stein streams run in tiles (forward for the residual,
then forward again and backward) equals the untiled step bit for bit under the arithmetic
contract, for every admissible tile of streams, and refuses an inadmissible one."""

from __future__ import annotations

import pytest
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


def test_pinta_refuses_a_step_with_tiles_of_streams():
    problem = _problem("poisson2d_small", 10, pairs=PAIRS)
    spec = PIPELINES["smx-diff"][0] + ",tile-points{points=4},tile-streams{streams=4}"
    with pytest.raises(UserError, match="tiles of a point's streams"):
        problem.compile(spec, target="pinta")
