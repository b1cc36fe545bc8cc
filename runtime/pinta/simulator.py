"""The PINTA simulator: the functional model, the timing and energy model, the report.

    sim = Simulator(program, config, dram_image, const_base=..., const_entries=...)
    report = sim.run_step(seed, step)     # executes the step, returns its StepReport
    sim.dram                              # the DRAM after the step (float32 words)

Constructing a simulator checks the program statically, trapping (`PintaTrap`, with the PC
and the disassembled instruction) on a word that does not decode (bad opcode, a field code
that means nothing, reserved bits), a field out of range, a region outside its buffer (SPM,
ACC, DRAM image, constant pool), a missing HALT, a dependency deadlock, unconsumed tokens and
races between queues. It then computes the timing, which depends on the program only.
`run_step` loads the registers (seed, step) and the constant buffer (from the constant pool
in DRAM, not timed: the host fills it like the registers), clears the ACC, and executes the
instructions up to HALT in program order; data problems (a non-finite GEMM or QUANT input, an
ACC region read before it is written) trap there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from pintac.core.errors import UserError
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.access import Access
from pintac.runtime.pinta.codes import QUEUES, UNITS
from pintac.runtime.pinta.config import HardwareConfig, load_config
from pintac.runtime.pinta.errors import Fault, PintaTrap
from pintac.runtime.pinta.machine import Machine
from pintac.runtime.pinta.program import Program, read_constants
from pintac.runtime.pinta.report import TRACKS, QueueStats, StepReport, UnitStats
from pintac.runtime.pinta.schedule import Schedule, run
from pintac.runtime.pinta.schedule import check_races as _check_races
from pintac.runtime.pinta.timing import event_energy, mac_name, peak_macs_per_cycle, traffic_energy


def decode_program(program) -> list[isa.Instruction]:
    """The instructions of a program up to and including its first HALT.

    `program`: a `Program`, the bytes of a program file, or a sequence of instructions or
    128-bit words. Traps on a word that does not decode and on a program without HALT.
    """
    if isinstance(program, Program | bytes | bytearray | memoryview):
        items: Iterable = Program.of(program).words
    else:
        items = program
    out: list[isa.Instruction] = []
    for pc, item in enumerate(items):
        ins = item if isinstance(item, isa.Instruction) else isa.decode(int(item), pc)
        out.append(ins)
        if ins.mnemonic == "HALT":
            return out
    raise PintaTrap(len(out), "the program ends without HALT")


class Simulator:
    """A PINTA running one program (see the module docstring).

    `program`: instructions, 128-bit words, a `Program` or a program file's bytes. `config`:
    a `HardwareConfig` (None: the bundled defaults). `dram_image`: the DRAM's float32 words;
    a contiguous float32 vector is used in place (the host sees the results in it, as in
    `sim.dram`), anything else is copied. The constant pool is `const_entries` 64-bit entries
    at DRAM word `const_base`. `check_races=False` skips the race check.
    """

    def __init__(
        self,
        program,
        config: HardwareConfig | None = None,
        dram_image: np.ndarray | None = None,
        *,
        const_base: int = 0,
        const_entries: int = 0,
        check_races: bool = True,
    ):
        self.config = cfg = config if config is not None else load_config()
        self.instructions = decode_program(program)
        image = np.zeros(0, np.float32) if dram_image is None else dram_image
        image = np.asarray(image)
        if image.dtype != np.float32 or image.ndim != 1 or not image.flags.c_contiguous:
            image = np.ascontiguousarray(image, dtype=np.float32).reshape(-1)
        if image.size > cfg.dram_words:
            raise cfg.key_error(
                "memory.dram_bytes",
                f"the program's DRAM image ({image.size} words) is larger than the configured "
                f"DRAM ({cfg.dram_words} words, memory.dram_bytes)",
            )
        if const_entries > cfg.memory.const_entries:
            raise cfg.key_error(
                "memory.const_entries",
                f"the program's constant pool has {const_entries} entries, more than the "
                f"constant buffer holds ({cfg.memory.const_entries}, memory.const_entries)",
            )
        if const_base < 0 or const_base + 2 * const_entries > image.size:
            raise UserError(
                f"error: the program's constant pool (DRAM words [{const_base}, "
                f"{const_base + 2 * const_entries})) lies outside its DRAM image "
                f"({image.size} words)"
            )
        self.const_base, self.const_entries = const_base, const_entries
        self.machine = Machine(cfg.spm_words, cfg.acc_words, image, np.zeros(0))
        sizes = {
            "spm": cfg.spm_words,
            "acc": cfg.acc_words,
            "dram": image.size,
            "const": const_entries,
        }
        self.accesses: list[list[Access]] = []
        for pc, ins in enumerate(self.instructions):
            isa.validate(ins, pc)
            found = ins.spec.accesses(ins, cfg)
            for a in found:
                if a.start + a.extent > sizes[a.memory]:
                    raise PintaTrap(
                        pc,
                        f"address out of bounds: field '{a.field}' addresses "
                        f"{a.memory.upper()}[{a.start}, {a.start + a.extent}), beyond the "
                        f"{_SIZE_NAMES[a.memory]} ({sizes[a.memory]} {_UNITS[a.memory]})",
                        ins.text(),
                    )
            self.accesses.append(found)
        self.cycles = [ins.spec.cycles(ins, cfg) for ins in self.instructions]
        self.schedule: Schedule = run(
            self.instructions, self.cycles, cfg, self._text, self.accesses
        )
        if check_races:
            _check_races(self.instructions, self.accesses, self.schedule, self._text)
        self._static = self._static_report()

    @property
    def dram(self) -> np.ndarray:
        return self.machine.dram

    @property
    def spm(self) -> np.ndarray:
        return self.machine.spm

    def _text(self, pc: int) -> str:
        return self.instructions[pc].text()

    # -------------------------------------------------------------------------- execution

    def run_step(self, seed: int, step: int) -> StepReport:
        """Execute one training step with the registers `seed` and `step`."""
        m = self.machine
        m.seed, m.step = int(seed) & (2**64 - 1), int(step) & (2**64 - 1)
        m.consts = read_constants(m.dram, self.const_base, self.const_entries)
        m.acc.clear()
        for pc, ins in enumerate(self.instructions):
            try:
                ins.spec.execute(m, ins)
            except Fault as fault:
                raise PintaTrap(pc, fault.reason, ins.text()) from None
        return self.report(seed, step)

    def report(self, seed: int = 0, step: int = 0) -> StepReport:
        """The step's report (the timing is the program's; `seed` and `step` label it)."""
        r = self._static
        return StepReport(
            seed=int(seed),
            step=int(step),
            cycles=r.cycles,
            clock_mhz=r.clock_mhz,
            instructions=r.instructions,
            queues=r.queues,
            units=r.units,
            macs=r.macs,
            pe_utilization=r.pe_utilization,
            bytes=r.bytes,
            energy_pj=r.energy_pj,
            events=r.events,
            trace_source=r.trace_source,
        )

    # ----------------------------------------------------------------------------- report

    def _static_report(self) -> StepReport:
        cfg = self.config
        sched = self.schedule
        cycles = sched.cycles
        queues = {q: QueueStats() for q in QUEUES}
        units = {u: UnitStats() for u in UNITS}
        covered = 0  # the compute queue is busy until then (its units overlap)
        events: Counter = Counter()
        macs: Counter = Counter()
        busy_fraction = 0.0
        traffic = {m: {"read": 0, "write": 0} for m in ("spm", "acc", "const", "dram")}
        for pc, ins in enumerate(self.instructions):
            slot = sched.slots[pc]
            if slot is None:
                continue
            stats = queues[slot.queue]
            stats.instructions += 1
            if slot.queue == "compute":  # starts in program order: a running union
                stats.busy += max(0, slot.finish - max(slot.start, covered))
                stats.stall += max(0, slot.start - max(slot.start - slot.token_wait, covered))
                covered = max(covered, slot.finish)
                for u in slot.units:
                    units[u].instructions += 1
                    units[u].busy += slot.finish - slot.start
            else:
                stats.busy += slot.busy
                stats.stall += slot.token_wait + slot.channel_wait
            for name, count in ins.spec.events(ins, cfg).items():
                events[name] += count
            if ins.mnemonic == "GEMM":
                count = ins.m * ins.k * ins.n
                macs[mac_name(ins.prec_a, ins.prec_b)[4:]] += count
                busy_fraction += count / peak_macs_per_cycle(ins.prec_a, ins.prec_b, cfg)
            for a in self.accesses[pc]:
                traffic[a.memory]["write" if a.write else "read"] += a.nbytes
        for stats in queues.values():
            stats.idle = cycles - stats.busy - stats.stall
        energy: dict[str, dict[str, float]] = {}
        for name, count in events.items():
            category, item, pj = event_energy(name, count, cfg)
            energy.setdefault(category, {})[item] = energy.get(category, {}).get(item, 0.0) + pj
        for memory, rw in traffic.items():
            total = rw["read"] + rw["write"]
            if total:
                category, item, pj = traffic_energy(memory, total, cfg)
                energy.setdefault(category, {})[item] = pj
        return StepReport(
            seed=0,
            step=0,
            cycles=cycles,
            clock_mhz=cfg.clock.mhz,
            instructions=len(self.instructions),
            queues=queues,
            units=units,
            macs=dict(sorted(macs.items())),
            pe_utilization=busy_fraction / cycles if cycles else 0.0,
            bytes=traffic,
            energy_pj=energy,
            events=dict(events),
            trace_source=self._trace_events,
        )

    def _trace_events(self) -> list[dict]:
        """Chrome-trace slices: one per instruction, one per token wait (times in us)."""
        us = 1.0 / self.config.clock.mhz
        trace: list[dict] = []
        for pc, ins in enumerate(self.instructions):
            slot = self.schedule.slots[pc]
            if slot is None:
                continue
            # a compute instruction on its unit's track: the units overlap
            tid = TRACKS.index(slot.units[0] if slot.units else slot.queue)
            if slot.token_wait:
                trace.append(
                    {
                        "name": "wait (tokens)",
                        "cat": "stall",
                        "ph": "X",
                        "pid": 0,
                        "tid": tid,
                        "ts": (slot.start - slot.token_wait) * us,
                        "dur": slot.token_wait * us,
                        "args": {"pc": pc},
                    }
                )
            trace.append(
                {
                    "name": ins.mnemonic,
                    "cat": slot.queue,
                    "ph": "X",
                    "pid": 0,
                    "tid": tid,
                    "ts": slot.start * us,
                    "dur": (slot.finish - slot.start) * us,
                    "args": {
                        "pc": pc,
                        "instruction": ins.text(),
                        "cycles": slot.finish - slot.start,
                        "channel_wait": slot.channel_wait,
                    },
                }
            )
        return trace


_SIZE_NAMES = {"spm": "SPM", "acc": "ACC", "dram": "DRAM image", "const": "constant pool"}
_UNITS = {"spm": "words", "acc": "accumulators", "dram": "words", "const": "entries"}
