"""The tt dialect: `tt.linear` built from Python, its verifier and symbol resolution, and that
the passes produce every op of the dialect.

The layer's numerics (merges, contractions, the index formula of the TT-matrix) are
`pintac.runtime.tt`'s, tested in tests/runtime/test_tt_numerics.py; its lowering in
tests/passes/test_tt_layers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, ModuleOp, StringAttr, TensorType, f32
from xdsl.ir import Block, Region
from xdsl.irdl import IRDLOperation, irdl_op_definition, prop_def, traits_def
from xdsl.traits import SymbolOpInterface
from xdsl.utils.exceptions import VerifyException

import pintac.api as pt
from pintac.dialects.pinn import NetworkOp, ParamOp, ProblemOp, ReturnOp
from pintac.dialects.tt import TT, LinearOp, TTMatrixShape, lookup_param_type
from pintac.runtime import tt as tt_numerics

SMALL = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"

# The paper-scale hidden layer: 256 x 256 as n = m = (4, 8, 8), ranks (1, 8, 8, 1).
PAPER_CORES = tt_numerics.core_shapes((4, 8, 8), (4, 8, 8), (1, 8, 8, 1))


def test_shape_of_a_chain_of_cores():
    shape = TTMatrixShape.from_core_shapes(PAPER_CORES)
    assert shape == TTMatrixShape(in_factors=(4, 8, 8), out_factors=(4, 8, 8), ranks=(1, 8, 8, 1))
    assert (shape.in_width, shape.out_width) == (256, 256)


# ---------------------------------------------------------------------------------------------
# tt.linear: symbol resolution
# ---------------------------------------------------------------------------------------------


def tt_problem(core_shapes, bias_shape=None, width_in=256, width_out=256) -> LinearOp:
    """A pinn.problem with params @G0.. (and @b), and a network applying one tt.linear."""
    params = [ParamOp(f"G{k}", TensorType(f32, list(s))) for k, s in enumerate(core_shapes)]
    if bias_shape is not None:
        params.append(ParamOp("b", TensorType(f32, list(bias_shape)), init="zeros"))
    x_type = TensorType(f32, [DYNAMIC_INDEX, width_in])
    y_type = TensorType(f32, [DYNAMIC_INDEX, width_out])
    body = Block(arg_types=[x_type])
    linear = LinearOp(
        body.args[0],
        [f"G{k}" for k in range(len(core_shapes))],
        y_type,
        bias=None if bias_shape is None else "b",
    )
    body.add_ops([linear, ReturnOp(linear.output)])
    net = NetworkOp("u", y_type, Region(body))
    problem = ProblemOp("p", Region(Block([*params, net])))
    ModuleOp([problem])
    return linear


def test_linear_in_a_problem_resolves_and_verifies():
    linear = tt_problem(PAPER_CORES, bias_shape=[256])
    linear.verify()
    assert [t.get_shape() for t in linear.core_types()] == PAPER_CORES
    assert lookup_param_type(linear, linear.bias) == TensorType(f32, [256])


@pytest.mark.parametrize(
    ("cores", "bias", "message"),
    [
        (
            [(1, 4, 4, 8), (4, 8, 8, 8), (8, 8, 8, 1)],
            None,
            "core @G0 has output rank 8 but core @G1",
        ),
        ([(1, 4, 4, 8), (8, 8, 8, 8), (8, 8, 8, 2)], None, "last TT core must have output rank 1"),
        ([(1, 4, 4, 8), (8, 8, 8, 1)], None, r"input factors \[4, 8\] multiply to 32"),
        (PAPER_CORES, [128], "bias @b must be tensor<256xf32>"),
    ],
)
def test_linear_in_a_problem_rejects(cores, bias, message):
    linear = tt_problem(cores, bias_shape=bias)
    with pytest.raises(VerifyException, match=message):
        linear.verify()


def test_linear_unresolved_outside_a_problem_is_not_checked():
    """No symbol table, or a builtin.module without the symbols: the core checks are skipped."""
    x_type = TensorType(f32, [DYNAMIC_INDEX, 256])
    f = func.FuncOp("f", ([x_type], []))
    linear = LinearOp(f.body.block.args[0], ["G0", "G1"], x_type, bias="b")
    linear.verify()  # detached: no symbol table at all
    assert linear.core_types() == [None, None]
    f.body.block.add_ops([linear, func.ReturnOp()])
    ModuleOp([f]).verify()


@irdl_op_definition
class TensorSymbolOp(IRDLOperation):
    """Not a pinn op: any symbol with a tensor `type` property serves as a parameter."""

    name = "testtt.tensor_symbol"
    sym_name = prop_def(StringAttr)
    type = prop_def(TensorType)
    traits = traits_def(SymbolOpInterface())


def test_linear_accepts_any_symbol_with_a_tensor_type():
    def build(core_shapes):
        syms = [
            TensorSymbolOp.create(
                properties={"sym_name": StringAttr(f"G{k}"), "type": TensorType(f32, list(s))}
            )
            for k, s in enumerate(core_shapes)
        ]
        x_type = TensorType(f32, [4, 6])
        f = func.FuncOp("f", ([x_type], [x_type]))
        linear = LinearOp(f.body.block.args[0], [f"G{k}" for k in range(len(core_shapes))], x_type)
        f.body.block.add_ops([linear, func.ReturnOp(linear.output)])
        return ModuleOp([*syms, f])

    build([(1, 2, 3, 2), (2, 3, 2, 1)]).verify()
    with pytest.raises(VerifyException, match="output factors \\[3, 3\\] multiply to 9"):
        build([(1, 2, 3, 2), (2, 3, 3, 1)]).verify()


# ---------------------------------------------------------------------------------------------
# Every op of the dialect is one the passes make
# ---------------------------------------------------------------------------------------------


def test_the_tt_passes_produce_every_op_of_the_dialect():
    """An op no pass produces would be documentation of a computation that never happens."""
    module = pt.load(SMALL).transformed("tt-compress,tt-partial-reconstruct{groups=2}")
    produced = {op.name for op in module.walk() if op.name.startswith("tt.")}
    assert produced == {op.name for op in TT.operations}
