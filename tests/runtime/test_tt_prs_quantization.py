"""The `full` pipeline's TT layer, compiled: every contraction reads SMX INT8 operands, the
merges of partial reconstruction stay f32 (exact, rounded once), and merging lowers the
layer's quantization error, because fewer quantized contractions lie between its input and
its output.

The compiled step's layer output is checked against `pintac.runtime.tt`'s contraction of the
same cores with the quantization applied by hand, bit for bit, and against the exact product
in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import pintac.api as pt
from pintac.dialects import tt as tt_dialect
from pintac.pipelines import pipeline_spec
from pintac.runtime import smx, tt
from pintac.runtime.numpy_target import interpret

# One paper-scale TT layer (256 x 256 as (4, 8, 8) x (4, 8, 8), rank 8), fitted to zero.
PROBLEM = """
pinn.problem @tt_layer {
  pinn.domain @d box [0.0] to [1.0] dim 256
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.2)
  pinn.param @G1 : tensor<8x8x8x8xf32> init normal(0.2)
  pinn.param @G2 : tensor<8x8x8x1xf32> init normal(0.2)
  pinn.network @u(%x : tensor<?x256xf32>) -> tensor<?x256xf32> {
    %y = tt.linear %x, [@G0, @G1, @G2] : tensor<?x256xf32> -> tensor<?x256xf32>
    pinn.return %y : tensor<?x256xf32>
  }
  pinn.residual @fit on @d weight 1.0 (%x : tensor<?x256xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x256xf32> -> tensor<?x256xf32>
    pinn.yield %u : tensor<?x256xf32>
  }
  pinn.train {batch = {fit = 64}}
}
"""
FULL_PRS = "tt-partial-reconstruct{groups=2}"


def compile_full(groups: int, order: str = "auto") -> pt.Program:
    """The `full` pipeline with the layer's cores merged into `groups` groups."""
    spec = pipeline_spec("full")
    assert FULL_PRS in spec
    prs = f"tt-partial-reconstruct{{groups={groups} order={order}}}"
    return pt.loads(PROBLEM).compile(spec.replace(FULL_PRS, prs))


def layer_output(program: pt.Program, cores: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The value of the layer's output `%y` in the compiled training step."""
    params = {f"G{k}": core for k, core in enumerate(cores)}
    state = pt.TrainState(0, params, program.initial_state(0).slots)
    seen: dict[str, np.ndarray] = {}

    def observe(op, operands, results):
        for result, value in zip(op.results, results, strict=True):
            if result.name_hint == "y":
                seen.setdefault("y", value)

    interpret(
        program.functions["train_step"], program.step_arguments(state, 0, {"fit": x}), observe
    )
    return seen["y"]


def int8_contractions_f32_merges(kind, lhs, rhs):
    """A GEMM of the `full` arithmetic: a merge of two cores exact in f32, a contraction of
    an activation with a (super-)core on SMX INT8 operands in 4x4 blocks."""
    if kind == tt.MERGE:
        return smx.gemm(lhs, rhs)
    return smx.gemm_quantized(
        smx.quantize_matrix(lhs, 8, (4, 4)), smx.quantize_matrix(rhs, 8, (4, 4))
    )


def grouping(program: pt.Program) -> tuple[tuple[int, ...], str]:
    (layer,) = [op for op in program.problem.walk() if isinstance(op, tt_dialect.LinearOp)]
    return layer.group_sizes, layer.contraction_order.value


def random_cores(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = tt.core_shapes((4, 8, 8), (4, 8, 8), (1, 8, 8, 1))
    return [(0.2 * rng.standard_normal(s)).astype(np.float32) for s in shapes]


def activations(seed: int) -> np.ndarray:
    return np.tanh(np.random.default_rng(seed).standard_normal((64, 256))).astype(np.float32)


@pytest.mark.parametrize(
    ("groups", "order", "expected"),
    [(3, "ltr", (1, 1, 1)), (2, "ltr", (2, 1)), (2, "rtl", (2, 1)), (1, "ltr", (3,))],
)
def test_compiled_layer_quantizes_every_contraction_and_no_merge(groups, order, expected):
    program = compile_full(groups, order)
    assert grouping(program) == (expected, order)
    cores, x = random_cores(1), activations(1)
    by_hand = tt.tt_matmul(x, cores, expected, order, int8_contractions_f32_merges)
    np.testing.assert_array_equal(layer_output(program, cores, x), by_hand)


def test_fewer_groups_fewer_quantization_errors():
    programs = {g: compile_full(g) for g in (3, 2, 1)}
    errors = dict.fromkeys(programs, 0.0)
    for seed in range(3):
        cores, x = random_cores(seed), activations(seed)
        exact = x.astype(np.float64) @ tt.reconstruct([c.astype(np.float64) for c in cores])
        for g, program in programs.items():
            y = layer_output(program, cores, x)
            errors[g] += np.linalg.norm(y - exact) / np.linalg.norm(exact) / 3
    assert errors[1] > 1e-3  # quantized: an f32 layer would be off by ~1e-7
    # 3 quantized contractions, then 2 (PRS), then 1 (the dense matrix)
    assert errors[2] < 0.9 * errors[3]
    assert errors[1] < 0.9 * errors[2]
