"""The timing and energy model of each PINTA instruction class.

`cycles(ins, cfg)` is the instruction's occupancy of its queue's unit, from its fields and the
hardware configuration (the formulas are in docs/pinta-isa.md); `events(ins, cfg)` counts the
named compute actions it performs, which `energy_of` prices with the configuration's energy
table. Memory traffic (SPM, ACC, constant buffer, DRAM) is counted from the instruction's
accesses (`pintac.runtime.pinta.access`). The simulator adds what depends on other
instructions: waits for dependency tokens and for the shared DRAM channel.

Event names: `mac.<a>x<b>` (multiply-adds at the operand precisions, e.g. `mac.int8xint8`,
`mac.f32`), `fp.add`, `fp.mult`, `fp.div` (float32 vector arithmetic; `fp.div` also counts
square roots), `sfu.<fn>` and `sfu.<fn>.grad` (function and derivative evaluations),
`quant.element`, `rng.word`, `rng.normal`.
"""

from __future__ import annotations

from collections import Counter

from pintac.runtime.pinta.access import stein_shapes
from pintac.runtime.pinta.codes import dma_bytes, precision_bits


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------------------------ DMA


def dma_cycles(ins, cfg) -> int:
    """dram.latency + ceil(bytes / dram.bytes_per_cycle): the instruction alone (an on-chip
    copy: memory.copy_latency + ceil(words / memory.copy_words_per_cycle))."""
    if ins.local:
        return cfg.memory.copy_latency + _ceil(ins.rows * ins.cols, cfg.memory.copy_words_per_cycle)
    return cfg.dram.latency + _ceil(
        dma_bytes(ins.fmt, ins.rows, ins.cols), cfg.dram.bytes_per_cycle
    )


class DramChannel:
    """The DRAM channel the LOAD and STORE DMAs share, in the simulator's timing: after
    `dram.latency`, a DMA's data phase waits until the channel is free, then moves its
    bytes at `dram.bytes_per_cycle`. An on-chip copy (`local`) does not use it."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.free = 0  # the cycle the channel is next free

    @staticmethod
    def uses(ins) -> bool:
        return ins.mnemonic in ("LOAD", "STORE") and ins.rows * ins.cols > 0 and not ins.local

    def transfer(self, ins, start: int) -> tuple[int, int]:
        """(finish, cycles its data phase waited for the channel) of a DMA issued at
        `start`; the channel is busy until that finish."""
        ask = start + self.cfg.dram.latency
        begin = max(ask, self.free)
        data = dma_bytes(ins.fmt, ins.rows, ins.cols)
        self.free = begin + _ceil(data, self.cfg.dram.bytes_per_cycle)
        return self.free, begin - ask


def no_events(ins, cfg) -> dict[str, int]:
    return {}


# ----------------------------------------------------------------------------------- GEMM


def gemm_rate(prec_a: str, prec_b: str, cfg) -> tuple[int, int]:
    """(cycles, multiply-adds) per lane: a lane does `macs` MACs every `cycles` cycles."""
    bits_a, bits_b = precision_bits(prec_a), precision_bits(prec_b)
    if bits_a is None or bits_b is None:
        return cfg.gemm.f32_cycles_per_mac, 1
    return _ceil(bits_a, 4) * _ceil(bits_b, 4), cfg.gemm.slices


def gemm_cycles(ins, cfg) -> int:
    """latency + waves * per_tile (see docs/pinta-isa.md)."""
    g = cfg.gemm
    tiles = _ceil(ins.m, g.pe_rows) * _ceil(ins.n, g.pe_cols)
    waves = _ceil(tiles, g.pes)
    slices, per = gemm_rate(ins.prec_a, ins.prec_b, cfg)
    per_tile = _ceil(ins.k * slices, per)
    return g.latency + waves * per_tile


def mac_name(prec_a: str, prec_b: str) -> str:
    if "f32" in (prec_a, prec_b):
        return "mac.f32"
    return f"mac.{prec_a}x{prec_b}"


def gemm_events(ins, cfg) -> dict[str, int]:
    return {mac_name(ins.prec_a, ins.prec_b): ins.m * ins.k * ins.n}


def peak_macs_per_cycle(prec_a: str, prec_b: str, cfg) -> float:
    """Multiply-adds per cycle of the whole array at a precision pair."""
    cycles, macs = gemm_rate(prec_a, prec_b, cfg)
    return cfg.lanes * macs / cycles


def accrd_cycles(ins, cfg) -> int:
    return cfg.memory.acc_latency + _ceil(ins.m * ins.n, cfg.memory.acc_words_per_cycle)


# ---------------------------------------------------------------------------------- QUANT


def quant_cycles(ins, cfg) -> int:
    n = ins.rows * ins.cols
    one_pass = _ceil(n, cfg.quant.lanes)
    draws = _ceil(n, cfg.rng.words_per_cycle) if ins.rounding == "stochastic" else 0
    return cfg.quant.latency + one_pass + max(one_pass, draws)


def quant_events(ins, cfg) -> dict[str, int]:
    n = ins.rows * ins.cols
    out = {"quant.element": n}
    if ins.rounding == "stochastic":
        out["rng.word"] = n
    return out


# ------------------------------------------------------------------------------------ VEC


def vec_cycles(ins, cfg) -> int:
    groups = _ceil(ins.rows * ins.cols, cfg.vector.lanes)
    return cfg.vector.latency + groups * (cfg.vector.div_cycles if ins.op == "div" else 1)


_VEC_EVENT = {
    "add": "fp.add",
    "sub": "fp.add",
    "bias_add": "fp.add",
    "mul": "fp.mult",
    "scale": "fp.mult",
    "div": "fp.div",
}


def vec_events(ins, cfg) -> dict[str, int]:
    event = _VEC_EVENT.get(ins.op)
    return {event: ins.rows * ins.cols} if event else {}


def vcol_cycles(ins, cfg) -> int:
    return cfg.vector.latency + _ceil(ins.rows * ins.cols, cfg.vector.lanes)


def vcol_events(ins, cfg) -> dict[str, int]:
    if ins.op == "colrange_sum":
        return {"fp.add": ins.rows * (ins.hi - ins.lo)}
    return {}


def perm_cycles(ins, cfg) -> int:
    """vector.latency + the SPM lines of the longer side: the source read in runs along its
    last axis, the result written in runs along its last axis (source axis p3), each line at
    most vector.lanes words of one run, one line each way per cycle."""
    extents = (ins.n0, ins.n1, ins.n2, ins.n3)
    n = extents[0] * extents[1] * extents[2] * extents[3]
    if n == 0:
        return cfg.vector.latency
    lanes = cfg.vector.lanes

    def lines(run: int) -> int:
        return n // run * _ceil(run, lanes)

    return cfg.vector.latency + max(lines(extents[3]), lines(extents[ins.p3]))


# ------------------------------------------------------------------------------------ SFU


def sfu_evaluations(ins) -> int:
    """Function (apply, diff) or derivative (grad, diff_vjp) evaluations."""
    full = ins.rows * ins.streams * ins.cols
    return full if ins.kind in ("apply", "grad") else full + ins.rows * ins.cols


def sfu_cycles(ins, cfg) -> int:
    table = cfg.sfu.cycles if ins.kind in ("apply", "diff") else cfg.sfu.grad_cycles
    return cfg.sfu.latency + _ceil(sfu_evaluations(ins), cfg.sfu.lanes) * table[ins.fn]


def sfu_events(ins, cfg) -> dict[str, int]:
    n = sfu_evaluations(ins)
    full = ins.rows * ins.streams * ins.cols
    if ins.kind == "apply":
        return {f"sfu.{ins.fn}": n}
    if ins.kind == "grad":
        return {f"sfu.{ins.fn}.grad": n, "fp.mult": n}
    if ins.kind == "diff":
        return {f"sfu.{ins.fn}": n, "fp.add": 2 * full}
    return {f"sfu.{ins.fn}.grad": n, "fp.mult": n, "fp.add": 3 * full}


# ------------------------------------------------------------------------------------ RED


def red_cycles(ins, cfg) -> int:
    if ins.kind == "wsum":
        return cfg.vector.latency + ins.cols
    return cfg.vector.latency + _ceil(ins.rows * ins.cols, cfg.vector.lanes)


def red_events(ins, cfg) -> dict[str, int]:
    n = ins.rows * ins.cols
    if ins.kind == "colsum":
        return {"fp.add": n}
    if ins.kind == "meansq":
        return {"fp.mult": n, "fp.add": n, "fp.div": 1}
    if ins.kind == "meansq_grad":
        return {"fp.mult": n + 1, "fp.div": 1}
    return {"fp.mult": ins.cols, "fp.add": ins.cols}


# ---------------------------------------------------------------------------------- STEIN


def stein_work(ins) -> dict[str, int]:
    """float32 operations of a STEIN instruction (adds, mults, divs)."""
    n, k = ins.points, ins.pairs
    a, b, dst = stein_shapes(ins)
    w = ins.hi - ins.lo
    kind = ins.kind
    if kind == "grad":
        return {"fp.add": n * k * (w + 1), "fp.mult": n * k * w, "fp.div": n * w}
    if kind == "laplacian":
        return {"fp.add": n * k * (w + 4), "fp.mult": n * k * (w + 1), "fp.div": n}
    if kind == "grad_vjp":
        return {"fp.add": n * k * w, "fp.mult": n * k * w, "fp.div": n * k}
    if kind == "laplacian_vjp":
        return {"fp.add": n * k * (w + 2), "fp.mult": n * k * (w + 1), "fp.div": n * k}
    if kind == "perturb":
        return {"fp.add": dst - a}
    if kind in ("smoothed",):
        return {"fp.add": a + (n if ins.diff else 0), "fp.div": n}
    if kind == "smoothed_vjp":
        return {"fp.div": n}
    if kind == "difference_streams":
        return {"fp.add": dst // 2}
    return {}  # center, center_vjp: data movement


def stein_cycles(ins, cfg) -> int:
    a, b, dst = stein_shapes(ins)
    work = max(sum(stein_work(ins).values()), a + b, dst)
    return cfg.vector.latency + _ceil(work, cfg.vector.lanes)


def stein_events(ins, cfg) -> dict[str, int]:
    return {k: v for k, v in stein_work(ins).items() if v}


# ------------------------------------------------------------------------------------ RNG


def rng_cycles(ins, cfg) -> int:
    count = ins.points * ins.pairs * ins.coords
    if ins.kind == "onehot":
        draws = _ceil(ins.points * ins.pairs, cfg.rng.words_per_cycle)
        return cfg.rng.latency + max(draws, _ceil(count, cfg.vector.lanes))
    return cfg.rng.latency + _ceil(count, cfg.rng.normals_per_cycle)


def rng_events(ins, cfg) -> dict[str, int]:
    count = ins.points * ins.pairs * ins.coords
    if not count:
        return {}
    if ins.kind == "onehot":
        return {"rng.word": ins.points * ins.pairs}
    first = ins.point_offset * ins.pairs * ins.coords
    pairs = (first + count - 1) // 2 - first // 2 + 1
    return {"rng.word": 2 * pairs, "rng.normal": count, "fp.mult": count}


# --------------------------------------------------------------------------------- UPDATE


def update_cycles(ins, cfg) -> int:
    per = cfg.vector.adam_cycles if ins.kind == "adam" else 1
    return cfg.vector.latency + _ceil(ins.count, cfg.vector.lanes) * per


def update_events(ins, cfg) -> dict[str, int]:
    n = ins.count
    if ins.kind == "sgd":
        return {"fp.mult": n, "fp.add": n}
    return {"fp.mult": 7 * n, "fp.add": 4 * n, "fp.div": 4 * n}


def one_cycle(ins, cfg) -> int:
    return 1


def zero_cycles(ins, cfg) -> int:
    return 0


# ---------------------------------------------------------------------------------- energy


def event_energy(name: str, count: int, cfg) -> tuple[str, str, float]:
    """(category, item, pJ) of `count` events called `name`."""
    e = cfg.energy
    if name.startswith("mac."):
        kind = name[4:]
        if kind == "f32":
            return "mac", kind, count * (e.fp32_mult + e.fp32_add)
        a, b = (precision_bits(p) for p in kind.split("x"))
        return "mac", kind, count * (e.int8_mult * a * b / 64 + e.int32_add)
    if name.startswith("sfu."):
        fn = name.split(".")[1]
        ops = cfg.sfu.grad_ops[fn] if name.endswith(".grad") else cfg.sfu.ops[fn]
        return "vector_sfu", name, count * ops * (e.fp32_mult + e.fp32_add)
    unit = {
        "fp.add": e.fp32_add,
        "fp.mult": e.fp32_mult,
        "fp.div": e.fp32_div,
        "quant.element": e.quant_element,
        "rng.word": e.rng_word,
        "rng.normal": e.rng_normal,
    }[name]
    category = "rng" if name.startswith("rng.") else "vector_sfu"
    return category, name, count * unit


def traffic_energy(memory: str, nbytes: int, cfg) -> tuple[str, str, float]:
    """(category, item, pJ) of moving `nbytes` to or from `memory`."""
    e = cfg.energy
    per64 = {"spm": e.spm_64b, "acc": e.acc_64b, "const": e.const_64b, "dram": e.dram_64b}[memory]
    category = "dram" if memory == "dram" else "sram"
    return category, memory, nbytes / 8 * per64


def merge(into: Counter, events: dict[str, int]) -> None:
    for k, v in events.items():
        into[k] += v
