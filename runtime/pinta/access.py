"""What memory each PINTA instruction reads and writes.

`accesses(ins, cfg)` of each class lists its regions as `Access`es. One list serves three
purposes: bounds checks (a region overflowing its buffer traps), traffic (bytes read and
written per memory, hence SRAM and DRAM energy), and the race check of the timing model (two
queues touching the same words without a token between them).

Every region is dense row-major except DRAM regions of DMAs, whose rows lie `stride` words
apart. Bytes moved are 4 per SPM or DRAM word, `memory.acc_word_bytes` per accumulator and 8
per constant entry, except DMAs of quantized DRAM formats (`codes.dma_bytes`) and GEMM operand
reads, which the PE array reads at their precision: ceil(elements * bits / 8) plus one
exponent byte per 16 elements (an SMX tile).
"""

from __future__ import annotations

from typing import NamedTuple

from pintac.runtime.pinta.codes import dma_bytes, precision_bits


class Access(NamedTuple):
    """`rows` x `cols` words of `memory` at `start`, rows `stride` apart; `nbytes` moved."""

    memory: str  # "spm" | "acc" | "dram" | "const"
    field: str  # the instruction field holding the address
    start: int
    rows: int
    cols: int
    stride: int
    write: bool
    nbytes: int

    @property
    def extent(self) -> int:
        """Words from the first to one past the last word touched."""
        if self.rows == 0 or self.cols == 0:
            return 0
        return (self.rows - 1) * self.stride + self.cols

    @property
    def words(self) -> int:
        return self.rows * self.cols


_WORD_BYTES = {"spm": 4, "dram": 4, "const": 8}


def _flat(memory: str, field: str, start: int, n: int, write: bool, cfg, nbytes=None) -> Access:
    if nbytes is None:
        unit = cfg.memory.acc_word_bytes if memory == "acc" else _WORD_BYTES[memory]
        nbytes = unit * n
    return Access(memory, field, start, 1, n, n, write, nbytes)


def _r(field, start, n, cfg, memory="spm", nbytes=None):
    return _flat(memory, field, start, n, False, cfg, nbytes)


def _w(field, start, n, cfg, memory="spm"):
    return _flat(memory, field, start, n, True, cfg)


def _far_side(ins, field: str, write: bool) -> Access:
    """The DRAM side of a DMA; of an on-chip copy (local), the same rows in the SPM."""
    addr = getattr(ins, field)
    if ins.local:
        n = ins.rows * ins.cols
        return Access("spm", field, addr, ins.rows, ins.cols, ins.stride, write, 4 * n)
    moved = dma_bytes(ins.fmt, ins.rows, ins.cols)
    return Access("dram", field, addr, ins.rows, ins.cols, ins.stride, write, moved)


def load(ins, cfg) -> list[Access]:
    return [_far_side(ins, "src", False), _w("dst", ins.dst, ins.rows * ins.cols, cfg)]


def store(ins, cfg) -> list[Access]:
    return [_r("src", ins.src, ins.rows * ins.cols, cfg), _far_side(ins, "dst", True)]


def operand_bytes(elements: int, precision: str) -> int:
    """Bytes the PE array reads for a GEMM operand of `elements` at `precision`."""
    bits = precision_bits(precision)
    if bits is None:
        return 4 * elements
    return -(-elements * bits // 8) + -(-elements // 16)


def gemm(ins, cfg) -> list[Access]:
    out = ins.m * ins.n
    acc = [_w("acc", ins.acc, out, cfg, "acc")]
    if not ins.init:
        acc.insert(0, _r("acc", ins.acc, out, cfg, "acc"))
    a, b = ins.m * ins.k, ins.k * ins.n
    return [
        _r("a", ins.a, a, cfg, nbytes=operand_bytes(a, ins.prec_a)),
        _r("b", ins.b, b, cfg, nbytes=operand_bytes(b, ins.prec_b)),
        *acc,
    ]


def accrd(ins, cfg) -> list[Access]:
    n = ins.m * ins.n
    return [_r("acc", ins.acc, n, cfg, "acc"), _w("dst", ins.dst, n, cfg)]


def quant(ins, cfg) -> list[Access]:
    n = ins.rows * ins.cols
    return [_r("addr", ins.addr, n, cfg), _w("addr", ins.addr, n, cfg)]


def vec(ins, cfg) -> list[Access]:
    n = ins.rows * ins.cols
    op = ins.op
    out = []
    if op in ("fill", "scale"):
        out.append(_r("const", ins.const, 1, cfg, "const"))
    if op != "fill":
        out.append(_r("a", ins.a, n, cfg))
    if op in ("add", "sub", "mul", "div"):
        out.append(_r("b", ins.b, n, cfg))
    elif op == "bias_add":
        out.append(_r("b", ins.b, ins.cols, cfg))
    out.append(_w("dst", ins.dst, n, cfg))
    return out


def vcol(ins, cfg) -> list[Access]:
    width = ins.hi - ins.lo
    if ins.op == "expand_columns":
        return [_r("a", ins.a, ins.rows * width, cfg), _w("dst", ins.dst, ins.rows * ins.cols, cfg)]
    out_cols = 1 if ins.op == "colrange_sum" else width
    read = Access(
        "spm", "a", ins.a + ins.lo, ins.rows, width, ins.cols, False, 4 * ins.rows * width
    )
    return [read, _w("dst", ins.dst, ins.rows * out_cols, cfg)]


def perm(ins, cfg) -> list[Access]:
    n = ins.n0 * ins.n1 * ins.n2 * ins.n3
    return [_r("src", ins.src, n, cfg), _w("dst", ins.dst, n, cfg)]


def sfu(ins, cfg) -> list[Access]:
    base = ins.rows * ins.cols
    full = base * ins.streams
    if ins.kind == "apply":
        return [_r("a", ins.a, full, cfg), _w("dst", ins.dst, full, cfg)]
    if ins.kind == "grad":
        return [_r("a", ins.a, full, cfg), _r("b", ins.b, full, cfg), _w("dst", ins.dst, full, cfg)]
    reads = [_r("a", ins.a, base, cfg), _r("b", ins.b, full, cfg)]
    if ins.kind == "diff":
        return [*reads, _w("dst", ins.dst, full, cfg)]
    return [*reads, _r("c", ins.c, full, cfg), _w("dst", ins.dst, base + full, cfg)]


def red(ins, cfg) -> list[Access]:
    n = ins.rows * ins.cols
    kind = ins.kind
    if kind == "colsum":
        reads = [_r("src", ins.src, n, cfg)]
        if not ins.init:
            reads.append(_r("dst", ins.dst, ins.cols, cfg))
        return [*reads, _w("dst", ins.dst, ins.cols, cfg)]
    if kind == "meansq":
        return [_r("src", ins.src, n, cfg), _w("dst", ins.dst, 1, cfg)]
    if kind == "meansq_grad":
        return [_r("src", ins.src, n, cfg), _r("b", ins.b, 1, cfg), _w("dst", ins.dst, n, cfg)]
    return [
        _r("src", ins.src, ins.cols, cfg),
        _r("const", ins.const, ins.cols, cfg, "const"),
        _w("dst", ins.dst, 1, cfg),
    ]


def stein_shapes(ins) -> tuple[int, int, int]:
    """Words of (a, b, dst) of a STEIN instruction (0 where unused)."""
    n, k, d = ins.points, ins.pairs, ins.coords
    values = n * (2 * k + (0 if ins.diff else 1))
    delta = n * k * d
    width = n * (ins.hi - ins.lo)
    return {
        "perturb": (n * d, delta, n * (2 * k + 1) * d),
        "grad": (values, delta, width),
        "laplacian": (values, delta, n),
        "grad_vjp": (width, delta, values),
        "laplacian_vjp": (n, delta, values),
        "center": (n * (2 * k + 1), 0, n),
        "center_vjp": (n, 0, n * (2 * k + 1)),
        "smoothed": (values, n if ins.diff else 0, n),
        "smoothed_vjp": (n, 0, values),
        "difference_streams": (delta, 0, 2 * delta),
    }[ins.kind]


_SIGMA_KINDS = ("grad", "laplacian", "grad_vjp", "laplacian_vjp")


def stein(ins, cfg) -> list[Access]:
    a, b, dst = stein_shapes(ins)
    out = [_r("a", ins.a, a, cfg)]
    if b:
        out.append(_r("b", ins.b, b, cfg))
    if ins.kind in _SIGMA_KINDS:
        out.append(_r("sigma", ins.sigma, 1, cfg, "const"))
    return [*out, _w("dst", ins.dst, dst, cfg)]


def rng(ins, cfg) -> list[Access]:
    out = []
    if ins.kind == "normal":  # a onehot draw scales nothing
        out.append(_r("sigma", ins.sigma, 1, cfg, "const"))
        if ins.has_sigma_t:
            out.append(_r("sigma_t", ins.sigma_t, 1, cfg, "const"))
    return [*out, _w("dst", ins.dst, ins.points * ins.pairs * ins.coords, cfg)]


def update(ins, cfg) -> list[Access]:
    n = ins.count
    hyper = _r("hyper", ins.hyper, 6, cfg, "const")
    if ins.kind == "sgd":
        return [hyper, _r("p", ins.p, n, cfg), _r("g", ins.g, n, cfg), _w("p", ins.p, n, cfg)]
    reads = [_r(f, getattr(ins, f), n, cfg) for f in ("p", "g", "m", "v")]
    writes = [_w(f, getattr(ins, f), n, cfg) for f in ("p", "m", "v")]
    return [hyper, *reads, *writes]


def none(ins, cfg) -> list[Access]:
    return []
