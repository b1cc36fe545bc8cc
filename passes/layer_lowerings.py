"""How each kind of network layer becomes training-graph ops: one lowering per layer op class.

`pinn-build-loss` inlines a network wherever it is evaluated by walking the network's body:
an op whose class has an entry in `LAYER_LOWERINGS` is replaced by what its lowering builds;
any other op (elementwise `arith` / `math`, `pinn.constant`) is cloned. A layer names its
parameters by symbol (`pinn.dense %x, @W0, @b0`); its lowering reads them as the function's
parameter arguments. Adding a layer kind (a TT-matrix layer, say) is adding one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from xdsl.builder import Builder
from xdsl.dialects.builtin import ArrayAttr, SymbolRefAttr
from xdsl.ir import Operation, SSAValue

from pintac.dialects import pinn, train

# A lowering gets a builder placed where the layer's ops go, the layer op, its operands
# (already lowered) and the function's parameter arguments by symbol; it returns the values
# that take the place of the layer's results.
Lowering = Callable[
    [Builder, Operation, Sequence[SSAValue], Mapping[str, SSAValue]], list[SSAValue]
]

LAYER_LOWERINGS: dict[type[Operation], Lowering] = {}


def layer_lowering(op_type: type[Operation]) -> Callable[[Lowering], Lowering]:
    """Register the lowering of a layer op class."""

    def register(fn: Lowering) -> Lowering:
        if op_type in LAYER_LOWERINGS:
            raise ValueError(f"two lowerings for {op_type.name}")
        LAYER_LOWERINGS[op_type] = fn
        return fn

    return register


def names_parameters(op: Operation) -> bool:
    """Whether an op refers to parameters by symbol, i.e. is a layer that needs a lowering."""
    for attr in op.properties.values():
        if isinstance(attr, SymbolRefAttr):
            return True
        if isinstance(attr, ArrayAttr) and any(isinstance(a, SymbolRefAttr) for a in attr):
            return True
    return False


@layer_lowering(pinn.DenseOp)
def lower_dense(
    b: Builder, op: pinn.DenseOp, operands: Sequence[SSAValue], params: Mapping[str, SSAValue]
) -> list[SSAValue]:
    """`y = x · W + b` as `train.gemm role fwd` and `train.bias_add`."""
    (x,) = operands
    z = b.insert(train.GemmOp(x, params[op.weight.string_value()], train.GemmRole.FWD)).result
    if op.bias is not None:
        z = b.insert(train.BiasAddOp(z, params[op.bias.string_value()])).output
    z.name_hint = op.output.name_hint
    return [z]
