"""Bounds of a PINTA training step: what no schedule of its work can beat, beside what it does.

`step_bounds(step, report, cfg)` reads a lowered step (its GEMM instructions and host
tensors), the step's report (cycles, DRAM bytes) and the hardware configuration:

- MACs by precision pair (`m * k * n` of each GEMM), and the cycles they take at the array's
  peak rate for their pair (`timing.peak_macs_per_cycle`): their sum is the compute bound;
- the compulsory DRAM bytes: what the host's tensors make the step move however it is
  scheduled: parameters and optimizer state read and written once, the points read once,
  the losses written once (float32 words in DRAM); at the DRAM channel's rate they take the
  DRAM bound;
- a roofline: MACs per DRAM byte at the achieved and at the compulsory traffic, the MACs per
  cycle attainable at each (the peak, or the DRAM rate times the intensity, whichever is
  lower) and which of the two limits it.

The step cannot take fewer cycles than the larger of the compute and DRAM bounds. The
compute bound over the achieved cycles is the report's PE utilization.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pintac.runtime.pinta.codes import dma_bytes
from pintac.runtime.pinta.timing import mac_name, peak_macs_per_cycle

#: What a step must do with the words of each kind of host tensor: read them, write them.
COMPULSORY_MOVES = {
    "param": ("read", "write"),
    "state": ("read", "write"),
    "points": ("read",),
    "loss": ("write",),
}


def _round(x: float) -> float:
    return round(float(x), 6)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


@dataclass(frozen=True)
class PrecisionMacs:
    """The MACs of a step's GEMMs at one precision pair, and the array's peak rate at it."""

    macs: int
    peak: float  # MACs per cycle of the whole array

    @property
    def cycles_at_peak(self) -> float:
        return self.macs / self.peak


@dataclass(frozen=True)
class Roofline:
    """The roofline at one DRAM traffic: MACs per DRAM byte, and the MACs per cycle that
    the peak and the DRAM rate allow together."""

    intensity: float | None  # MACs per DRAM byte; None without traffic
    attainable: float  # MACs per cycle
    limit: str  # "compute" or "DRAM"

    def to_dict(self) -> dict[str, Any]:
        return {
            "macs_per_dram_byte": None if self.intensity is None else _round(self.intensity),
            "attainable_macs_per_cycle": _round(self.attainable),
            "limit": self.limit,
        }


@dataclass(frozen=True)
class StepBounds:
    """The bounds of one step (see the module doc), with the achieved cycles and traffic."""

    precisions: dict[str, PrecisionMacs]
    compulsory: dict[str, dict[str, int]]  # tensor kind -> {"read", "write"} bytes
    dram_bytes_per_cycle: int
    cycles: int  # achieved
    dram_bytes: int  # achieved, read and written

    @property
    def macs(self) -> int:
        return sum(p.macs for p in self.precisions.values())

    @property
    def compute_cycles(self) -> float:
        """Cycles of the GEMMs at the array's peak rate for each one's precision pair."""
        return sum(p.cycles_at_peak for p in self.precisions.values())

    @property
    def peak(self) -> float | None:
        """MACs per cycle of the array at the step's mix of precisions; None without GEMMs."""
        return _ratio(self.macs, self.compute_cycles)

    @property
    def compulsory_read(self) -> int:
        return sum(rw["read"] for rw in self.compulsory.values())

    @property
    def compulsory_write(self) -> int:
        return sum(rw["write"] for rw in self.compulsory.values())

    @property
    def compulsory_bytes(self) -> int:
        return self.compulsory_read + self.compulsory_write

    @property
    def dram_cycles(self) -> float:
        """Cycles of the DRAM channel moving the compulsory bytes."""
        return self.compulsory_bytes / self.dram_bytes_per_cycle

    @property
    def cycle_bound(self) -> int:
        """The fewest cycles the step can take: the larger of the compute and DRAM bounds."""
        return math.ceil(max(self.compute_cycles, self.dram_cycles))

    @property
    def compute_fraction(self) -> float | None:
        """The compute bound over the achieved cycles (the PE utilization)."""
        return _ratio(self.compute_cycles, self.cycles)

    @property
    def traffic_ratio(self) -> float | None:
        """The DRAM bytes moved over the compulsory bytes."""
        return _ratio(self.dram_bytes, self.compulsory_bytes)

    @property
    def achieved_macs_per_cycle(self) -> float | None:
        return _ratio(self.macs, self.cycles)

    def roofline(self, dram_bytes: int) -> Roofline | None:
        """The roofline at `dram_bytes` of traffic; None without GEMMs."""
        peak = self.peak
        if peak is None:
            return None
        intensity = _ratio(self.macs, dram_bytes)
        if intensity is None:
            return Roofline(None, peak, "compute")
        by_dram = self.dram_bytes_per_cycle * intensity
        return Roofline(intensity, min(peak, by_dram), "compute" if peak <= by_dram else "DRAM")

    def to_dict(self) -> dict[str, Any]:
        achieved, compulsory = self.roofline(self.dram_bytes), self.roofline(self.compulsory_bytes)
        return {
            "macs": {
                name: {
                    "macs": p.macs,
                    "peak_macs_per_cycle": _round(p.peak),
                    "cycles_at_peak": _round(p.cycles_at_peak),
                }
                for name, p in self.precisions.items()
            },
            "macs_total": self.macs,
            "compute_bound_cycles": _round(self.compute_cycles),
            "cycles": self.cycles,
            "compute_bound_fraction": _maybe_round(self.compute_fraction),
            "compulsory_bytes": {
                **{kind: dict(rw) for kind, rw in self.compulsory.items()},
                "total": self.compulsory_bytes,
            },
            "dram_bytes": self.dram_bytes,
            "dram_bytes_over_compulsory": _maybe_round(self.traffic_ratio),
            "dram_bytes_per_cycle": self.dram_bytes_per_cycle,
            "dram_bound_cycles": _round(self.dram_cycles),
            "cycle_bound": self.cycle_bound,
            "peak_macs_per_cycle": _maybe_round(self.peak),
            "achieved_macs_per_cycle": _maybe_round(self.achieved_macs_per_cycle),
            "roofline": {
                "achieved": None if achieved is None else achieved.to_dict(),
                "compulsory": None if compulsory is None else compulsory.to_dict(),
            },
        }

    def to_text(self) -> str:
        """The bounds as a report's lines: MACs by precision, then the bounds."""
        return "\n".join(self.precision_lines() + ["", *self.bound_lines()]) + "\n"

    def precision_lines(self) -> list[str]:
        """The table of MACs by precision pair: count, the array's peak rate, the cycles at
        it; and their sum (the compute bound)."""
        out = [
            f"{'MACs by precision':<20}{'count':>16}{'peak MACs/cycle':>17}{'cycles at peak':>16}"
        ]
        for name, p in self.precisions.items():
            out.append(f"  {name:<18}{p.macs:>16}{p.peak:>17.1f}{p.cycles_at_peak:>16.1f}")
        peak = "-" if self.peak is None else f"{self.peak:.1f}"
        out.append(f"  {'all':<18}{self.macs:>16}{peak:>17}{self.compute_cycles:>16.1f}")
        return out

    def bound_lines(self) -> list[str]:
        """Each bound beside what the step achieves, then the roofline."""
        peak = self.peak
        compulsory = ", ".join(
            f"{_KIND_TITLES[kind]} {rw['read'] + rw['write']}"
            for kind, rw in self.compulsory.items()
        )
        limit = "compute" if self.compute_cycles >= self.dram_cycles else "DRAM"
        out = [
            "bounds of the step",
            f"  cycles       {self.cycles} achieved; compute bound "
            f"{math.ceil(self.compute_cycles)} at the array's peak: "
            f"{_percent(self.compute_fraction)} of achieved",
            f"  DRAM bytes   {self.dram_bytes} moved; compulsory {self.compulsory_bytes}: "
            f"{_times(self.traffic_ratio)}",
            f"  compulsory   {compulsory} (read {self.compulsory_read}, write "
            f"{self.compulsory_write})",
            f"  DRAM bound   {math.ceil(self.dram_cycles)} cycles (the compulsory bytes at "
            f"{self.dram_bytes_per_cycle} bytes/cycle)",
            f"  step bound   {self.cycle_bound} cycles (the larger: {limit})",
        ]
        rows = [
            ("achieved traffic", self.roofline(self.dram_bytes)),
            ("compulsory traffic", self.roofline(self.compulsory_bytes)),
        ]
        if peak is not None:
            out += [
                "",
                f"{'roofline':<20}{'MACs/DRAM byte':>16}{'attainable MACs/cycle':>23}{'limit':>9}",
            ]
            for title, roof in rows:
                out.append(
                    f"  {title:<18}{_number(roof.intensity):>16}{_number(roof.attainable):>23}"
                    f"{roof.limit:>9}"
                )
            out.append(
                f"  peak {_number(peak)} MACs/cycle; achieved "
                f"{_number(self.achieved_macs_per_cycle)} MACs/cycle"
            )
        return out


_KIND_TITLES = {"param": "params", "state": "state", "points": "points", "loss": "losses"}


def _maybe_round(x: float | None) -> float | None:
    return None if x is None else _round(x)


def _number(x: float | None) -> str:
    """Four significant digits, a whole number from 1000 on (never an exponent)."""
    if x is None:
        return "-"
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:#.4g}".rstrip(".")


def _percent(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _times(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def gemm_macs(instructions: Iterable, cfg) -> dict[str, PrecisionMacs]:
    """The MACs of the GEMM instructions by precision pair (the report's names, e.g.
    `int8xint8`, `f32`), each with the array's peak rate at the pair."""
    macs: dict[str, int] = {}
    peaks: dict[str, float] = {}
    for ins in instructions:
        if ins.mnemonic != "GEMM":
            continue
        name = mac_name(ins.prec_a, ins.prec_b)[len("mac.") :]
        macs[name] = macs.get(name, 0) + ins.m * ins.k * ins.n
        peaks[name] = peak_macs_per_cycle(ins.prec_a, ins.prec_b, cfg)
    return {name: PrecisionMacs(macs[name], peaks[name]) for name in sorted(macs)}


def compulsory_bytes(tensors: Iterable) -> dict[str, dict[str, int]]:
    """Bytes each kind of host tensor makes a step read and write (`COMPULSORY_MOVES`):
    each DRAM word once, though two tensors share it."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for t in tensors:
        spans.setdefault(t.kind, []).append((t.address, t.address + t.size))
    out = {}
    for kind, moves in COMPULSORY_MOVES.items():
        if kind not in spans:
            continue
        nbytes = dma_bytes("f32", 1, _covered(spans[kind]))
        out[kind] = {move: nbytes if move in moves else 0 for move in ("read", "write")}
    return out


def _covered(spans: list[tuple[int, int]]) -> int:
    """Words in the union of [start, end) spans."""
    words, reach = 0, 0
    for start, end in sorted(spans):
        start = max(start, reach)
        if end > start:
            words += end - start
            reach = end
    return words


def step_bounds(step, report, cfg) -> StepBounds:
    """The bounds of `step` (a `LoweredStep`: its instructions and host tensors) beside what
    its `report` (a `StepReport`) achieves on hardware `cfg`."""
    dram = report.bytes["dram"]
    return StepBounds(
        precisions=gemm_macs(step.instructions, cfg),
        compulsory=compulsory_bytes(step.tensors),
        dram_bytes_per_cycle=cfg.dram.bytes_per_cycle,
        cycles=report.cycles,
        dram_bytes=dram["read"] + dram["write"],
    )
