"""What every target needs to know about each op of a compiled step, besides how to compute it.

For each op class: its static parameters as plain Python values (σ, coordinate ranges,
transpose flags, ...), which operand's buffer its result may take over when that operand dies
there (elementwise ops), and whether its result is a view of its first operand (reshapes and
column slices). The execution plan (`pintac.runtime.plan`) reads this table; the NumPy kernels
take the parameters as keyword arguments, and the accelerator lowering reads the same ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xdsl.dialects import arith
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from pintac.dialects import pinn, smx, stein, tile, train
from pintac.dialects.activations import activation_of
from pintac.dialects.support import floats_of

Params = dict[str, Any]


@dataclass(frozen=True)
class OpInfo:
    params: Callable[[Operation], Params]
    # The operand whose buffer the result may take when that operand dies at this op.
    inplace: int | None = None
    # The result shares memory with operand 0, which must then outlive it unchanged.
    view: bool = False


OPS: dict[type[Operation], OpInfo] = {}


def _none(op: Operation) -> Params:
    return {}


def register(
    op_type: type[Operation],
    params: Callable[[Operation], Params] = _none,
    *,
    inplace: int | None = None,
    view: bool = False,
) -> None:
    if op_type in OPS:
        raise ValueError(f"two entries for {op_type.name}")
    OPS[op_type] = OpInfo(params, inplace, view)


def info(op: Operation) -> OpInfo | None:
    """The op's entry; activations (`pintac.dialects.activations`) have one implicitly."""
    found = OPS.get(type(op))
    if found is None and activation_of(type(op)) is not None:
        return _ACTIVATION
    return found


_ACTIVATION = OpInfo(_none, inplace=0)


def _in_quantized_step(op: Operation) -> bool:
    """Whether `op`'s function has quantized GEMMs (in loop bodies too): a quantized step
    follows the arithmetic contract in all its GEMMs, the f32 ones (weight-side TT merges)
    too, on every target."""
    root = op
    while (parent := root.parent_op()) is not None and not isinstance(parent, ModuleOp):
        root = parent
    return any(
        isinstance(other, train.GemmOp | tile.AccumulateGemmOp) and other.is_quantized
        for other in root.walk()
    )


def _column_range(op: pinn.SumOp | pinn.SliceOp) -> Params:
    lo, hi = op.dim_range()
    return {"lo": lo, "hi": hi}


def _static_shape(t) -> tuple[int, ...]:
    """A tensor type's shape with `?` dims as 1, so the value broadcasts along them."""
    return tuple(1 if d < 0 else d for d in t.get_shape())


def _estimator(op: stein.GradOp | stein.LaplacianOp | stein.GradVjpOp | stein.LaplacianVjpOp):
    lo, hi = op.dims
    return {"sigma": op.sigma.value.data, "lo": lo, "hi": hi, "differences": op.is_difference_form}


def _sample(op: stein.SampleOp) -> Params:
    return {
        "pairs": op.pairs.value.data,
        "sigma": op.sigma.value.data,
        "sigma_t": None if op.sigma_t is None else op.sigma_t.value.data,
        "stream": op.stream.value.data,
    }


for _op in (arith.AddfOp, arith.SubfOp, arith.MulfOp, arith.DivfOp, arith.NegfOp):
    register(_op)
register(
    pinn.ConstantOp,
    lambda op: {"value": op.value.value.data, "shape": _static_shape(op.result.type)},
)
register(pinn.SumOp, _column_range)
register(pinn.SliceOp, _column_range, view=True)

register(
    train.GemmOp,
    lambda op: {
        "transpose_a": op.is_transposed_a,
        "transpose_b": op.is_transposed_b,
        "exact": op.is_quantized or _in_quantized_step(op),
    },
)
register(train.BiasAddOp, inplace=0)
register(train.ColumnSumOp)
register(train.ActivationGradOp, lambda op: {"activation": op.activation.data}, inplace=1)
register(train.FlattenOp, view=True)
register(train.UnflattenOp, view=True)
register(
    train.ExpandColumnsOp,
    lambda op: {
        "lo": op.dim_lo.value.data,
        "hi": op.dim_hi.value.data,
        "width": op.output.type.get_shape()[1],
    },
)
register(
    train.PermuteOp,
    lambda op: {
        "shape": op.shape_values,
        "perm": op.perm_values,
        "out_shape": tuple(-1 if d < 0 else d for d in op.output.type.get_shape()),
    },
    view=True,  # NumPy returns a view when it can; the plan treats the result as one
)
register(train.MeanSquareOp)
register(train.MeanSquareGradOp)
register(train.WeightedSumOp, lambda op: {"weights": tuple(floats_of(op.weights))})
register(train.ScaleOp, lambda op: {"factor": op.factor.value.data})
register(train.UpdateOp, lambda op: {"optimizer": op.optimizer.data, **op.hyperparameters()})

register(stein.SampleOp, _sample)
register(stein.PerturbOp)
register(stein.GradOp, _estimator)
register(stein.LaplacianOp, _estimator)
register(stein.CenterOp)
register(stein.SmoothedOp)
register(stein.GradVjpOp, _estimator)
register(stein.LaplacianVjpOp, _estimator)
register(stein.CenterVjpOp, lambda op: {"pairs": op.pairs.value.data})
register(
    stein.SmoothedVjpOp,
    lambda op: {"pairs": op.pairs.value.data, "differences": op.is_difference_form},
)
register(stein.DifferenceStreamsOp)
register(stein.DiffActivationOp, lambda op: {"activation": op.activation.data})
register(stein.DiffActivationVjpOp, lambda op: {"activation": op.activation.data})
register(stein.DiffActivationVjpStreamsOp, lambda op: {"activation": op.activation.data})
register(stein.DiffActivationVjpCenterOp, lambda op: {"activation": op.activation.data})
register(
    train.UnitDirectionsOp,
    lambda op: {"lo": op.dim_lo.value.data, "hi": op.dim_hi.value.data},
)
register(
    train.SampleCoordinatesOp,
    lambda op: {
        "lo": op.dim_lo.value.data,
        "hi": op.dim_hi.value.data,
        "samples": op.samples.value.data,
        "stream": op.stream.value.data,
    },
)


def _quantize(op: smx.QuantizeOp) -> Params:
    fmt = op.format
    hint = op.input.name_hint
    return {
        "element": fmt.element_kind,
        "bits": fmt.bits,
        "block": fmt.block_shape,
        "rounding": str(op.rounding_mode),
        "stream": None if op.stream is None else op.stream.value.data,
        "per_point": None if op.per_point is None else op.per_point.value.data,
        "name": f"%{hint}" if hint else "a tensor",
    }


register(smx.QuantizeOp, _quantize)
register(smx.DequantizeOp, view=True)


def _zero(op: tile.ZeroOp) -> Params:
    """An exact accumulator is exact in a step under the contract; a running column sum
    (an f32 tensor) has no `exact` choice (None)."""
    t = op.result.type
    if isinstance(t, tile.ExactType):
        return {"shape": t.get_shape(), "exact": _in_quantized_step(op)}
    return {"shape": tuple(t.get_shape()), "exact": None}


register(tile.RowsOp)
register(tile.ZeroOp, _zero)
register(tile.RoundOp)
register(
    tile.AccumulateGemmOp,
    lambda op: {
        "transpose_a": op.is_transposed_a,
        "transpose_b": op.is_transposed_b,
        "exact": op.is_quantized or _in_quantized_step(op),
    },
)
register(tile.AccumulateRowsOp)
register(tile.AccumulateStreamsOp)
register(tile.SliceOp, lambda op: {"size": op.result.type.get_shape()[1]}, view=True)
