"""What quantization does in a compiled step: the plan (from the IR) and its numbers (one step).

`quantization_plan(f)` lists every quantized copy of a training function: the tensor, what it is
(`smx.use`: activation, weight or gradient), its format, and how many copies of that tensor
there are (one in SMX; two for a tensor read both ways in 1-D MX).

`measure(f, args)` runs the function once op by op and, per kind of tensor, adds up the bytes
held in quantized copies (codes of `bits` bits plus one 8-bit exponent per block, as stored)
and the signal-to-quantization-noise ratio 10·log10(Σ x² / Σ (x − Q(x))²) over all its copies.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects import func

from pintac.dialects import smx
from pintac.runtime import smx as numerics
from pintac.runtime.numpy_target import interpret

USE_ATTR = "smx.use"


@dataclass(frozen=True)
class QuantizedCopy:
    tensor: str
    use: str
    format: str
    copies: int  # copies of this tensor in any format


def _use(op: smx.QuantizeOp) -> str:
    attr = op.attributes.get(USE_ATTR)
    return attr.data if attr is not None else "tensor"


def _name(value) -> str:
    return f"%{value.name_hint}" if value.name_hint else "(unnamed)"


def quantization_plan(f: func.FuncOp) -> list[QuantizedCopy]:
    quantizes = [op for op in f.walk() if isinstance(op, smx.QuantizeOp)]
    copies = Counter(op.input for op in quantizes)
    out = []
    for op in quantizes:
        fmt = op.format
        rows, cols = fmt.block_shape
        out.append(
            QuantizedCopy(
                _name(op.input),
                _use(op),
                f"{fmt.element_kind}, block {rows}x{cols}",
                copies[op.input],
            )
        )
    return out


def format_plan(plan: Sequence[QuantizedCopy]) -> str:
    if not plan:
        return "no quantized copies (an f32 pipeline)\n"
    width = max(len(c.tensor) for c in plan)
    lines = [f"  {'tensor':<{width}}  {'use':<10}  {'format':<22}  copies"]
    for c in plan:
        lines.append(f"  {c.tensor:<{width}}  {c.use:<10}  {c.format:<22}  {c.copies}")
    uses = Counter(c.use for c in plan)
    tensors = round(sum(1 / c.copies for c in plan))
    lines.append(
        f"  {len(plan)} quantized copies of {tensors} tensors ("
        + ", ".join(f"{n} {use}" for use, n in sorted(uses.items()))
        + ")"
    )
    return "\n".join(lines) + "\n"


@dataclass
class _Totals:
    bytes: int = 0
    copies: int = 0
    signal: float = 0.0
    noise: float = 0.0


@dataclass
class Measurement:
    """Per kind of tensor: bytes in quantized copies per step, copies, SQNR in dB."""

    per_use: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, dict[str, float]]:
        return self.per_use


def stored_bytes(elements: int, fmt: smx.FormatAttr) -> int:
    """Bytes of a quantized copy as stored: `bits`-bit codes and an 8-bit exponent per block."""
    rows, cols = fmt.block_shape
    blocks = math.ceil(elements / (rows * cols))
    return math.ceil(elements * fmt.bits / 8) + blocks * smx.SCALE_BITS // 8


def measure(f: func.FuncOp, args: Sequence[Any]) -> Measurement:
    totals: dict[str, _Totals] = defaultdict(_Totals)

    def observe(op, operands, results) -> None:
        if not isinstance(op, smx.QuantizeOp):
            return
        x = np.asarray(operands[0], dtype=np.float64)
        q = results[0]
        q = np.asarray(q.values if isinstance(q, numerics.Quantized) else q, dtype=np.float64)
        t = totals[_use(op)]
        t.bytes += stored_bytes(x.size, op.format)
        t.copies += 1
        t.signal += float(np.sum(x * x))
        t.noise += float(np.sum((x - q) ** 2))

    interpret(f, args, observe)
    result = Measurement()
    for use, t in sorted(totals.items()):
        sqnr = math.inf if t.noise == 0 else 10 * math.log10(t.signal / t.noise)
        result.per_use[use] = {"bytes": t.bytes, "copies": t.copies, "sqnr_db": sqnr}
    return result
