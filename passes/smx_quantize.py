"""Pass `smx-quantize`: fully quantized training — every GEMM operand quantized by its role.

Rewrites each `train.gemm` on f32 operands into the same GEMM on quantized operands,

    %z = train.gemm %h, %W role fwd : tensor<?x256xf32>, tensor<256x256xf32> -> ...
    ->
    %qh = smx.quantize %h {smx.use = "activation"} : ... -> !smx.tensor<?x256, int8, block 4x4>
    %qW = smx.quantize %W {smx.use = "weight"} : ... -> !smx.tensor<256x256, int8, block 4x4>
    %z = train.gemm %qh, %qW role fwd : !smx.tensor<...>, !smx.tensor<...> -> ...

so the forward and both backward GEMMs of the training functions (those computing the loss)
run quantized; master weights and optimizer state stay f32, and `@predict` evaluates them in
f32. What an operand is follows from the GEMM's role and the operand's place:

| role | left operand | right operand |
|---|---|---|
| `fwd` (X·W) | activation | weight |
| `dgrad` (dY·Wᵀ) | gradient | weight |
| `wgrad` (Xᵀ·dY) | activation | gradient |

except that an operand computed from parameters alone (no dependence on the points, the
seed or the step: a TT core, a reshaped core, a super-core merged from cores) is a weight
whatever its place. A GEMM of two such operands — merging TT cores into a super-core
(`tt-partial-reconstruct`) — computes a weight, like the master weights it starts from: it
stays f32 (exact and rounded once, as every GEMM of a quantized step on every target, see
docs/numerics.md), and the super-core is quantized once where activations meet it. That is
what partial reconstruction is for: g quantized contractions per layer instead of one per
core. Bit widths follow from the options `act`, `weight`, `grad`. With `format=smx` (square `block`×`block` tiles) a tensor
is quantized once, right after it is computed, and that copy feeds every GEMM that reads it
in either orientation: Q(X)ᵀ = Q(Xᵀ). With `format=mx`
(1-D blocks of 32 along the reduction axis, integer elements of the same widths) a tensor read
both ways gets a second copy blocked along the other axis, as 1-D MX requires.

Stochastic rounding (`rounding=stochastic`) draws from the step's RNG key (the function's
`seed` and `step` arguments), a distinct stream per quantized copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.ir import Block, BlockArgument, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from pintac.core.errors import PassError
from pintac.dialects import smx, train
from pintac.dialects.smx import FormatAttr, QuantizeOp, Rounding

# The kind of tensor each operand of a GEMM is, by role: (left operand, right operand).
OPERAND_USES: dict[train.GemmRole, tuple[str, str]] = {
    train.GemmRole.FWD: ("activation", "weight"),
    train.GemmRole.DGRAD: ("gradient", "weight"),
    train.GemmRole.WGRAD: ("activation", "gradient"),
}
USE_ATTR = "smx.use"
FORMATS = ("smx", "mx")


class _QuantizeOperands(RewritePattern):
    """A train.gemm on f32 operands -> the same GEMM on quantized copies (made once each)."""

    def __init__(self, options: SmxQuantizePass, weights: set[SSAValue]):
        self.options = options
        self.weights = weights
        self.copies: dict[tuple[SSAValue, FormatAttr], SSAValue] = {}
        self.next_stream = 0

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: train.GemmOp, rewriter: PatternRewriter) -> None:
        if op.is_quantized or all(value in self.weights for value in op.operands):
            return
        uses = [
            "weight" if value in self.weights else use
            for value, use in zip(op.operands, OPERAND_USES[op.gemm_role], strict=True)
        ]
        reduction_axes = op.reduction_axes()
        quantized = [
            self._copy(value, use, axis, rewriter)
            for value, use, axis in zip(op.operands, uses, reduction_axes, strict=True)
        ]
        new = train.GemmOp(
            quantized[0],
            quantized[1],
            op.gemm_role,
            op.result.type,
            op.is_transposed_a,
            op.is_transposed_b,
        )
        new.result.name_hint = op.result.name_hint
        rewriter.replace(op, new)

    def _format(self, use: str, reduction_axis: int) -> FormatAttr:
        bits = {"activation": self.options.act, "weight": self.options.weight}.get(
            use, self.options.grad
        )
        if self.options.format == "smx":
            return FormatAttr.smx(bits, self.options.block)
        # 1-D blocks along the axis the GEMM reduces over
        return FormatAttr(f"int{bits}", (32, 1) if reduction_axis == 0 else (1, 32))

    def _copy(
        self, value: SSAValue, use: str, reduction_axis: int, rewriter: PatternRewriter
    ) -> SSAValue:
        fmt = self._format(use, reduction_axis)
        found = self.copies.get((value, fmt))
        if found is not None:
            return found
        rounding = Rounding(self.options.rounding)
        stream, key = None, ()
        if rounding is Rounding.STOCHASTIC:
            stream, key = self.next_stream, _rng_key(value)
            self.next_stream += 1
        q = QuantizeOp(value, fmt, rounding, stream, key)
        q.attributes[USE_ATTR] = builtin.StringAttr(use)
        if value.name_hint:
            q.result.name_hint = f"q_{value.name_hint}"
        if isinstance(value, BlockArgument):
            where = InsertPoint.at_start(value.block)
        else:
            where = InsertPoint.after(value.owner)
        rewriter.insert(q, where)
        self.copies[(value, fmt)] = q.result
        return q.result


def parameter_values(f: func.FuncOp) -> set[SSAValue]:
    """The values of `f` computed from its parameter arguments alone: depending on at least
    one `param:` argument and on no other argument (points, seed, step)."""
    roles = train.arg_roles(f)
    params = {a for a, r in zip(f.args, roles, strict=True) if r.startswith("param:")}
    data = {a for a in f.args if a not in params}
    for op in f.body.block.ops:
        if any(o in data for o in op.operands):
            data.update(op.results)
        elif any(o in params for o in op.operands):
            params.update(op.results)
    return params


def _rng_key(value: SSAValue) -> tuple[SSAValue, SSAValue]:
    """The `seed` and `step` arguments of the function computing `value`."""
    block: Block | None = value.block if isinstance(value, BlockArgument) else value.owner.parent
    f = block.parent_op() if block is not None else None
    if not isinstance(f, func.FuncOp):
        raise PassError("stochastic rounding needs the GEMM inside a training function")
    roles = dict(zip(train.arg_roles(f), f.args, strict=True))
    if "seed" not in roles or "step" not in roles:
        raise PassError(
            f"stochastic rounding needs the step's RNG key, but @{f.sym_name.data} has no "
            "'seed' and 'step' arguments",
            f,
        )
    return roles["seed"], roles["step"]


@dataclass(frozen=True)
class SmxQuantizePass(ModulePass):
    """Quantize every GEMM operand by its role (SMX square tiles, or 1-D MX for comparison)."""

    name = "smx-quantize"

    act: int = 8
    weight: int = 8
    grad: int = 12
    block: int = 4
    rounding: str = "rne"
    format: str = "smx"

    def __post_init__(self) -> None:
        for key in ("act", "weight", "grad"):
            bits = getattr(self, key)
            if not smx.INT_BITS_MIN <= bits <= smx.INT_BITS_MAX:
                raise ValueError(
                    f"{key} must be a bit width from {smx.INT_BITS_MIN} to "
                    f"{smx.INT_BITS_MAX}, got {bits}"
                )
        if self.block not in smx.SMX_BLOCK_SIZES:
            sizes = ", ".join(map(str, smx.SMX_BLOCK_SIZES))
            raise ValueError(f"block must be one of {sizes}, got {self.block}")
        if self.rounding not in [r.value for r in Rounding]:
            raise ValueError(f"rounding must be rne, away or stochastic, got {self.rounding!r}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be smx or mx, got {self.format!r}")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        # The training functions (those computing the loss); @predict and @exact stay f32,
        # evaluating the master weights.
        for f in op.ops:
            if isinstance(f, func.FuncOp) and "loss" in train.result_roles(f):
                pattern = _QuantizeOperands(self, parameter_values(f))
                walker = PatternRewriteWalker(pattern, apply_recursively=False)
                walker.rewrite_region(f.body)
