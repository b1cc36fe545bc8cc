"""The report of a PINTA training step: cycles, queue activity, traffic, energy, a trace.

`StepReport` holds what the timing and energy model computed for one step. It renders as a
text table (`to_text`), as JSON (`to_json`, the same content as `to_dict`) and as a
Chrome/Perfetto trace (`trace`, `write_trace`: `traceEvents` with one track per queue, an
event per instruction and one per token wait; open it in ui.perfetto.dev or
chrome://tracing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pintac.runtime.files import write_text
from pintac.runtime.pinta.codes import QUEUES

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


@dataclass
class QueueStats:
    instructions: int = 0
    busy: int = 0  # cycles executing
    stall: int = 0  # cycles waiting for tokens or the DRAM channel with an instruction at head
    idle: int = 0  # the rest of the step


@dataclass
class StepReport:
    """What one training step cost on PINTA."""

    seed: int
    step: int
    cycles: int
    clock_mhz: float
    instructions: int
    queues: dict[str, QueueStats]
    macs: dict[str, int]  # by precision pair ("int8xint8", "f32")
    pe_utilization: float  # sum over GEMMs of MACs / peak MACs per cycle, over the cycles
    bytes: dict[str, dict[str, int]]  # memory -> {"read", "write"}
    energy_pj: dict[str, dict[str, float]]  # category -> item -> pJ
    events: dict[str, int] = field(default_factory=dict)  # compute events by name
    # makes the trace's events (instruction and token-wait slices), on demand
    trace_source: Callable[[], list[dict[str, Any]]] | None = field(default=None, repr=False)

    @property
    def time_us(self) -> float:
        return self.cycles / self.clock_mhz

    @property
    def total_energy_pj(self) -> float:
        return sum(sum(items.values()) for items in self.energy_pj.values())

    def energy_by_category(self) -> dict[str, float]:
        return {c: sum(self.energy_pj.get(c, {}).values()) for c in CATEGORIES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "step": self.step,
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

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_text(self) -> str:
        out = [
            f"PINTA step {self.step} (seed {self.seed}): {self.cycles} cycles, "
            f"{self.time_us:.3f} us at {self.clock_mhz:g} MHz, {self.instructions} instructions",
            "",
            f"{'queue':<10}{'instr':>8}{'busy':>12}{'stall':>12}{'idle':>12}{'busy %':>9}",
        ]
        for q in QUEUES:
            s = self.queues[q]
            share = 100.0 * s.busy / self.cycles if self.cycles else 0.0
            out.append(
                f"{q:<10}{s.instructions:>8}{s.busy:>12}{s.stall:>12}{s.idle:>12}{share:>8.1f}%"
            )
        out += ["", f"{'MACs':<22}{'count':>16}"]
        for name, count in sorted(self.macs.items()):
            out.append(f"  {name:<20}{count:>16}")
        out.append(f"PE utilization {100.0 * self.pe_utilization:.2f}%")
        out += ["", f"{'memory':<10}{'read bytes':>16}{'write bytes':>16}"]
        for memory, rw in self.bytes.items():
            out.append(f"{memory:<10}{rw['read']:>16}{rw['write']:>16}")
        total = self.total_energy_pj
        out += ["", f"{'energy':<22}{'pJ':>18}{'share':>9}"]
        for c in CATEGORIES:
            items = self.energy_pj.get(c, {})
            value = sum(items.values())
            share = 100.0 * value / total if total else 0.0
            out.append(f"{_CATEGORY_TITLES[c]:<22}{value:>18.3f}{share:>8.1f}%")
            for name, v in sorted(items.items()):
                out.append(f"  {name:<20}{v:>18.3f}")
        out.append(f"{'total':<22}{total:>18.3f}")
        return "\n".join(out) + "\n"

    def trace(self) -> dict[str, Any]:
        """The Chrome/Perfetto trace: one track (thread) per queue, times in microseconds."""
        meta = [
            {"name": "process_name", "ph": "M", "pid": 0, "args": {"name": "PINTA"}},
            *(
                {"name": "thread_name", "ph": "M", "pid": 0, "tid": i, "args": {"name": q}}
                for i, q in enumerate(QUEUES)
            ),
        ]
        events = self.trace_source() if self.trace_source is not None else []
        return {"traceEvents": meta + events, "displayTimeUnit": "ns"}

    def write_trace(self, path: str | Path) -> None:
        """Write the trace atomically (missing directories are created; a `UserError` names a
        path that cannot be written)."""
        write_text(Path(path), json.dumps(self.trace()) + "\n", "trace")
