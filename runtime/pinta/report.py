"""The report of a PINTA training step: cycles, queue activity, traffic, energy, a trace.

`StepReport` holds what the timing and energy model computed for one step. It renders as a
text table (`to_text`: time and energy in the unit of their magnitude, `format_time` and
`format_energy`), as JSON (`to_json`, the same content as `to_dict`, with the raw figures:
cycles, microseconds, pJ) and as a Chrome/Perfetto trace (`trace`, `write_trace`:
`traceEvents` with one track per queue and per compute unit, an event per instruction and
one per token wait; open it in ui.perfetto.dev or chrome://tracing). Both label the step by
its number from 1 (the step register holds the steps done before it: 0 for step 1). A report
made `with_bounds` also shows the step's bounds beside what it achieves
(`pintac.runtime.pinta.bounds`): its table of MACs by precision gains their peak rates, and
the bounds and the roofline follow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pintac.runtime.files import write_text
from pintac.runtime.pinta.bounds import StepBounds, step_bounds
from pintac.runtime.pinta.codes import QUEUES, UNITS

#: Energy categories, in report order.
CATEGORIES = ("mac", "sram", "dram", "vector_sfu", "rng")
_CATEGORY_TITLES = {
    "mac": "MAC",
    "sram": "SRAM",
    "dram": "DRAM",
    "vector_sfu": "vector/SFU",
    "rng": "RNG",
}


def _round(x: float) -> float:
    return round(float(x), 6)


def _scaled(value: float, units: tuple[tuple[str, float], ...]) -> str:
    """`value` (in the first unit) in the largest unit in which it is at least 1, to four
    significant digits: `557.0 ms`."""
    if value == 0:
        return f"0 {units[0][0]}"
    index = max((i for i, (_, scale) in enumerate(units) if abs(value) >= scale), default=0)
    shown = f"{value / units[index][1]:#.4g}"
    if abs(float(shown)) >= 1000 and index + 1 < len(units):  # 999.96 rounds up to 1000.
        index += 1
        shown = f"{value / units[index][1]:#.4g}"
    return f"{shown.rstrip('.')} {units[index][0]}"


def format_energy(pj: float) -> str:
    """An energy given in pJ, in pJ, nJ, uJ, mJ or J by its magnitude: `648.0 mJ`."""
    return _scaled(pj, (("pJ", 1.0), ("nJ", 1e3), ("uJ", 1e6), ("mJ", 1e9), ("J", 1e12)))


def format_time(us: float) -> str:
    """A time given in microseconds, in ns, us, ms or s by its magnitude: `557.0 ms`."""
    return _scaled(us, (("ns", 1e-3), ("us", 1.0), ("ms", 1e3), ("s", 1e6)))


@dataclass
class QueueStats:
    instructions: int = 0
    busy: int = 0  # cycles executing
    stall: int = 0  # cycles waiting for tokens or the DRAM channel with an instruction at head
    idle: int = 0  # the rest of the step


#: The trace's tracks: the queues (the compute queue's NOPs), then the compute units.
TRACKS = (*QUEUES, *UNITS)


@dataclass
class UnitStats:
    """One functional unit of the compute queue."""

    instructions: int = 0
    busy: int = 0  # cycles it runs an instruction


@dataclass
class StepReport:
    """What one training step cost on PINTA."""

    seed: int
    step: int  # the step register: steps done before this one (0 for the first)
    cycles: int
    clock_mhz: float
    instructions: int
    queues: dict[str, QueueStats]  # the compute queue is busy while any of its units is
    units: dict[str, UnitStats]  # the compute queue's, by `codes.UNITS`
    macs: dict[str, int]  # by precision pair ("int8xint8", "f32")
    pe_utilization: float  # sum over GEMMs of MACs / peak MACs per cycle, over the cycles
    bytes: dict[str, dict[str, int]]  # memory -> {"read", "write"}
    energy_pj: dict[str, dict[str, float]]  # category -> item -> pJ
    events: dict[str, int] = field(default_factory=dict)  # compute events by name
    bounds: StepBounds | None = None  # what no schedule of the step can beat (`with_bounds`)
    # makes the trace's events (instruction and token-wait slices), on demand
    trace_source: Callable[[], list[dict[str, Any]]] | None = field(default=None, repr=False)

    @property
    def number(self) -> int:
        """The step's number, from 1."""
        return self.step + 1

    @property
    def time_us(self) -> float:
        return self.cycles / self.clock_mhz

    @property
    def total_energy_pj(self) -> float:
        return sum(sum(items.values()) for items in self.energy_pj.values())

    def energy_by_category(self) -> dict[str, float]:
        return {c: sum(self.energy_pj.get(c, {}).values()) for c in CATEGORIES}

    def with_bounds(self, step, cfg) -> StepReport:
        """This report with the bounds of `step` (the `LoweredStep` it reports) on `cfg`."""
        return replace(self, bounds=step_bounds(step, self, cfg))

    def to_dict(self) -> dict[str, Any]:
        out = {
            "seed": self.seed,
            "step": self.number,
            "cycles": self.cycles,
            "time_us": _round(self.time_us),
            "clock_mhz": self.clock_mhz,
            "instructions": self.instructions,
            "queues": {
                q: {
                    "instructions": s.instructions,
                    "busy": s.busy,
                    "stall": s.stall,
                    "idle": s.idle,
                }
                for q, s in self.queues.items()
            },
            "units": {
                u: {"instructions": s.instructions, "busy": s.busy} for u, s in self.units.items()
            },
            "macs": dict(self.macs),
            "pe_utilization": _round(self.pe_utilization),
            "bytes": {m: dict(rw) for m, rw in self.bytes.items()},
            "energy_pj": {
                "total": _round(self.total_energy_pj),
                **{
                    c: {
                        "total": _round(sum(self.energy_pj.get(c, {}).values())),
                        **{k: _round(v) for k, v in sorted(self.energy_pj.get(c, {}).items())},
                    }
                    for c in CATEGORIES
                },
            },
            "events": dict(sorted(self.events.items())),
        }
        if self.bounds is not None:
            out["bounds"] = self.bounds.to_dict()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_text(self) -> str:
        out = [
            f"PINTA step {self.number} (seed {self.seed}): {self.cycles} cycles, "
            f"{format_time(self.time_us)} at {self.clock_mhz:g} MHz, "
            f"{self.instructions} instructions",
            "",
            f"{'queue':<10}{'instr':>8}{'busy':>12}{'stall':>12}{'idle':>12}{'busy %':>9}",
        ]
        for q in QUEUES:
            s = self.queues[q]
            share = 100.0 * s.busy / self.cycles if self.cycles else 0.0
            out.append(
                f"{q:<10}{s.instructions:>8}{s.busy:>12}{s.stall:>12}{s.idle:>12}{share:>8.1f}%"
            )
        out += ["", f"{'unit':<10}{'instr':>8}{'busy':>12}{'busy %':>9}"]
        for u in UNITS:
            s = self.units[u]
            share = 100.0 * s.busy / self.cycles if self.cycles else 0.0
            out.append(f"{u:<10}{s.instructions:>8}{s.busy:>12}{share:>8.1f}%")
        if self.bounds is None:
            out += ["", f"{'MACs':<22}{'count':>16}"]
            out += [f"  {name:<20}{count:>16}" for name, count in sorted(self.macs.items())]
        else:
            out += ["", *self.bounds.precision_lines()]
        out.append(f"PE utilization {100.0 * self.pe_utilization:.2f}%")
        out += ["", f"{'memory':<10}{'read bytes':>16}{'write bytes':>16}"]
        for memory, rw in self.bytes.items():
            out.append(f"{memory:<10}{rw['read']:>16}{rw['write']:>16}")
        total = self.total_energy_pj
        out += ["", f"{'energy':<22}{'':>18}{'share':>9}"]
        for c in CATEGORIES:
            items = self.energy_pj.get(c, {})
            value = sum(items.values())
            share = 100.0 * value / total if total else 0.0
            out.append(f"{_CATEGORY_TITLES[c]:<22}{format_energy(value):>18}{share:>8.1f}%")
            for name, v in sorted(items.items()):
                out.append(f"  {name:<20}{format_energy(v):>18}")
        out.append(f"{'total':<22}{format_energy(total):>18}")
        if self.bounds is not None:
            out += ["", *self.bounds.bound_lines()]
        return "\n".join(out) + "\n"

    def trace(self) -> dict[str, Any]:
        """The Chrome/Perfetto trace: one track (thread) per queue and per compute unit,
        times in microseconds."""
        meta = [
            {"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "PINTA"}},
            *(
                {"name": "thread_name", "ph": "M", "pid": 0, "tid": i, "args": {"name": q}}
                for i, q in enumerate(TRACKS)
            ),
        ]
        events = self.trace_source() if self.trace_source is not None else []
        return {"traceEvents": meta + events, "displayTimeUnit": "ns"}

    def trace_json(self) -> str:
        """The trace as JSON text."""
        return json.dumps(self.trace()) + "\n"

    def write_trace(self, path: str | Path) -> None:
        """Write the trace atomically (missing directories are created; a `UserError` names a
        path that cannot be written)."""
        write_text(Path(path), self.trace_json(), "trace")
