"""The enumerations of the PINTA ISA: what each code of an enumerated field means.

Every enumerated field of the instruction table (`pintac.runtime.pinta.isa`) takes its names
and codes from here; the functional and timing models dispatch on the names. The order of a
tuple is its encoding (code = index) unless a table says otherwise.
"""

from __future__ import annotations

import math

from pintac.core.training import SCHEDULES
from pintac.runtime import smx

# ------------------------------------------------------------------------------- queues

#: The three instruction queues, in pipeline order (a queue's "prev" is the one before it).
QUEUES = ("load", "compute", "store")
#: The compute queue's functional units. The queue issues its instructions in order, one per
#: cycle, each to the units it occupies; units work concurrently, and a scoreboard holds an
#: instruction until the in-flight instructions whose SPM or ACC words it shares (one of them
#: writing) have completed.
UNITS = ("array", "acc", "quant", "sfu", "vector", "rng")

# ------------------------------------------------------------------------------- DMA formats

#: Block shapes of a quantized DRAM format: square b x b, 1 x b runs along a row, b x 1 runs
#: down a column.
BLOCK_SHAPES = {"b": 0, "r": 1, "c": 2}
#: Block edges (powers of two, encoded by their log2).
BLOCK_EDGES = (1, 2, 4, 8, 16, 32, 64)
CODE_BITS = range(smx.BITS_MIN, smx.BITS_MAX + 1)


def _formats() -> tuple[dict[str, int], dict[str, tuple[int, int, int]]]:
    codes, blocks = {"f32": 0}, {}
    for bits in CODE_BITS:
        for edge in BLOCK_EDGES:
            for shape, code in BLOCK_SHAPES.items():
                if edge == 1 and shape != "b":
                    continue  # a 1 x 1 block is square
                name = f"q{bits}{shape}{edge}"
                codes[name] = bits | (int(math.log2(edge)) << 5) | (code << 8)
                blocks[name] = (bits, *{"b": (edge, edge), "r": (1, edge), "c": (edge, 1)}[shape])
    return codes, blocks


#: DRAM storage formats of a DMA: `f32`, or `q{bits}{b|r|c}{edge}`: signed codes of `bits` bits
#: plus one 8-bit exponent per block (b: edge x edge, r: 1 x edge, c: edge x 1). Encoded as
#: bits | log2(edge) << 5 | shape << 8.
FORMATS, _FORMAT_BLOCKS = _formats()


def format_block(fmt: str) -> tuple[int, int, int] | None:
    """(bits, block rows, block cols) of a quantized format; None for f32."""
    return _FORMAT_BLOCKS.get(fmt)


def dma_bytes(fmt: str, rows: int, cols: int) -> int:
    """Bytes a DMA of a rows x cols region moves in DRAM format `fmt`.

    f32: 4 per element. Quantized: the codes packed, ceil(n * bits / 8), plus one exponent byte
    per block, ceil(rows / block rows) * ceil(cols / block cols).
    """
    n = rows * cols
    block = format_block(fmt)
    if block is None:
        return 4 * n
    bits, br, bc = block
    blocks = -(-rows // br) * -(-cols // bc)
    return -(-n * bits // 8) + blocks


# ------------------------------------------------------------------------------- GEMM

#: Multiplier modes of a GEMM operand: float32, or signed integers of 2..16 bits (code = bits).
PRECISIONS: dict[str, int] = {"f32": 0} | {f"int{b}": b for b in CODE_BITS}


def precision_bits(name: str) -> int | None:
    """Integer width of a precision; None for f32."""
    return None if name == "f32" else int(name[3:])


# ------------------------------------------------------------------------------- sub-ops

#: VEC: float32 elementwise operations over a rows x cols region.
VEC_OPS = ("add", "sub", "mul", "div", "neg", "copy", "fill", "scale", "bias_add")
#: VCOL: per-row column helpers of the training graph.
VCOL_OPS = ("colrange_sum", "colslice", "expand_columns")
#: SFU functions, by fixed id: an activation of `pintac.dialects.activations` runs on PINTA
#: once it has an id here (and cycle costs in the hardware config).
SFU_FUNCTIONS = ("tanh", "sin", "cos", "exp", "log", "sqrt")
#: SFU operations on an activation.
SFU_KINDS = ("apply", "grad", "diff", "diff_vjp")
#: RED: reductions and the loss.
RED_KINDS = ("colsum", "meansq", "meansq_grad", "wsum")
#: STEIN: Stein-estimator weighting over a block of points.
STEIN_KINDS = (
    "perturb",
    "grad",
    "laplacian",
    "grad_vjp",
    "laplacian_vjp",
    "center",
    "center_vjp",
    "smoothed",
    "smoothed_vjp",
    "difference_streams",
)
#: RNG: what the generator draws (normal: Stein's Gaussian perturbations; onehot: coordinates
#: uniform on [0, coords) by the multiply-shift rule, each written as a one-hot row).
RNG_KINDS = ("normal", "onehot")
#: UPDATE: optimizers (`pintac.core.training.OPTIMIZERS`).
UPDATE_KINDS = ("adam", "sgd")
#: QUANT rounding modes (`pintac.runtime.smx.ROUNDINGS`).
ROUNDINGS = tuple(smx.ROUNDINGS)
#: Learning-rate schedules, by code, in a hyperparameter block.
SCHEDULE_CODES = tuple(SCHEDULES)
#: The entries of an UPDATE hyperparameter block, in order (one constant-pool entry each).
HYPER_FIELDS = ("lr", "beta1", "beta2", "eps", "schedule", "steps")

# ------------------------------------------------------------------------------- field widths

#: Widths of the address fields, which bound the memories a configuration may declare:
#: SPM and ACC addresses are word indices, DRAM addresses 4-byte word indices, constant-pool
#: addresses entry indices.
ADDRESS_BITS = {"spm": 20, "acc": 20, "dram": 32, "const": 12}
