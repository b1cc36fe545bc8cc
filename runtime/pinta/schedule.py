"""The timing model of a PINTA program: three in-order queues, dependency tokens, one DRAM
channel, and the compute queue's concurrent units.

The dispatcher sends each instruction of the program, in order, to its queue (queues are
unbounded, so dispatch never stalls). The load and store queues run their instructions one
at a time, in order. The compute queue issues its instructions in order, at most one per
cycle, each to the functional units it occupies (`codes.UNITS`: the PE array, the ACC
reader, the quantizer, the SFU, the vector unit, the RNG); an instruction issues when its
units are free and the scoreboard clears it: no instruction still in flight on another unit
touches an SPM or ACC word it touches, one of the two writing. Units thus overlap
independent work (a GEMM beside the SFU work of an earlier tile), and the results are those
of program order. For the dependency tokens, compute instructions retire in order: a token
is sent when its instruction and every earlier compute instruction have completed.

Every instruction also waits, for each of its `pop_*` flags, for a token from that neighbour
queue (tokens are consumed in FIFO order); it completes `cycles` after it starts (its class's
formula). DMAs (LOAD, STORE) share one DRAM channel: after the latency, a DMA's data phase
waits until the channel is free. Instructions are simulated in the order they can start
(ties by program order), so the channel serves DMAs in the order they ask for it.

The timing is static (it depends on the instructions only), so it is computed once per
program. Besides the cycles it checks the token protocol:

- deadlock: no queue can proceed while instructions remain (a pop that is never satisfied);
- unconsumed tokens at HALT (a step must leave every token FIFO empty);
- races: two instructions of different queues touching the same SPM or DRAM words, one of
  them writing, where the later one in program order starts before the earlier one
  completes. The functional model runs in program order; a race means the hardware could
  compute something else, so the token flags are missing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from pintac.runtime.pinta.access import Access
from pintac.runtime.pinta.codes import QUEUES, UNITS
from pintac.runtime.pinta.errors import PintaTrap
from pintac.runtime.pinta.timing import DramChannel


@dataclass
class Slot:
    """When one instruction ran."""

    pc: int
    queue: str
    start: int
    finish: int
    token_wait: int  # cycles its queue waited for its tokens
    channel_wait: int  # cycles its data phase waited for the DRAM channel (DMAs)
    units: tuple[str, ...] = ()  # the compute units it occupied

    @property
    def busy(self) -> int:
        return self.finish - self.start - self.channel_wait


@dataclass
class Schedule:
    slots: list[Slot]  # by pc (HALT excluded)
    cycles: int
    waits: list[tuple[int, int, str]] = field(default_factory=list)


def _neighbour(queue: str, direction: str) -> str:
    i = QUEUES.index(queue) + (1 if direction == "next" else -1)
    return QUEUES[i]


def _conflict(mine: list[Access], theirs: list[Access]) -> bool:
    """Whether two instructions touch a common SPM or ACC word, one of them writing."""
    for a in mine:
        for b in theirs:
            if (
                a.memory == b.memory
                and a.memory in ("spm", "acc")
                and (a.write or b.write)
                and _overlap(a, b)
            ):
                return True
    return False


class _ComputeQueue:
    """The compute queue's in-order issue, its units and its scoreboard."""

    def __init__(self, instructions, accesses):
        self.instructions, self.accesses = instructions, accesses
        self.issue = 0  # the earliest cycle the next instruction can issue
        self.free = dict.fromkeys(UNITS, 0)
        self.last: dict[str, tuple[int, int]] = {}  # unit -> (pc, finish) of its last
        self.retired = 0  # the cycle every instruction issued so far has completed

    def ready(self, pc: int) -> int:
        """The earliest cycle `pc` (the queue's head) can issue, tokens aside."""
        ins = self.instructions[pc]
        units = ins.spec.units_of(ins)
        at = max([self.issue, *(self.free[u] for u in units)])
        mine = self.accesses[pc]
        if mine:
            for other, finish in sorted(self.last.values(), key=lambda t: t[1]):
                if finish > at and _conflict(mine, self.accesses[other]):
                    at = finish
        return at

    def issued(self, pc: int, start: int, finish: int) -> int:
        """Record `pc` running [start, finish); the cycle its tokens are sent."""
        ins = self.instructions[pc]
        for u in ins.spec.units_of(ins):
            self.free[u] = finish
            self.last[u] = (pc, finish)
        self.issue = start + 1
        self.retired = max(self.retired, finish)
        return self.retired


def run(instructions, cycles: list[int], cfg, text, accesses: list[list[Access]]) -> Schedule:
    """Simulate the queues; `cycles[pc]` is each instruction's own cycle count, `accesses[pc]`
    the words it touches, `text(pc)` its disassembly for trap messages."""
    queues: dict[str, list[int]] = {q: [] for q in QUEUES}
    for pc, ins in enumerate(instructions):
        q = ins.dispatch_queue
        if q is not None:
            queues[q].append(pc)
    head = dict.fromkeys(QUEUES, 0)
    free = dict.fromkeys(QUEUES, 0)
    compute = _ComputeQueue(instructions, accesses)
    fifo: dict[tuple[str, str], deque] = {
        (a, b): deque()
        for a in QUEUES
        for b in QUEUES
        if abs(QUEUES.index(a) - QUEUES.index(b)) == 1
    }
    slots: list[Slot | None] = [None] * len(instructions)
    channel = DramChannel(cfg)
    while True:
        best = None
        blocked = []
        for q in QUEUES:
            if head[q] >= len(queues[q]):
                continue
            pc = queues[q][head[q]]
            ins = instructions[pc]
            base = compute.ready(pc) if q == "compute" else free[q]
            ready, missing = base, []
            for direction in ("prev", "next"):
                if getattr(ins, f"pop_{direction}"):
                    tokens = fifo[(_neighbour(q, direction), q)]
                    if tokens:
                        ready = max(ready, tokens[0][0])
                    else:
                        missing.append(_neighbour(q, direction))
            if missing:
                blocked.append((pc, q, missing))
            elif best is None or (ready, pc) < (best[0], best[1]):
                best = (ready, pc, q, base)
        if best is None:
            if blocked:
                _deadlock(blocked, text)
            break
        start, pc, q, base = best
        ins = instructions[pc]
        for direction in ("prev", "next"):
            if getattr(ins, f"pop_{direction}"):
                fifo[(_neighbour(q, direction), q)].popleft()
        channel_wait = 0
        if channel.uses(ins):
            finish, channel_wait = channel.transfer(ins, start)
        else:
            finish = start + cycles[pc]
        units: tuple[str, ...] = ()
        if q == "compute":
            units = ins.spec.units_of(ins)
            sent = compute.issued(pc, start, finish)
        else:
            sent = free[q] = finish
        for direction in ("prev", "next"):
            if getattr(ins, f"push_{direction}"):
                fifo[(q, _neighbour(q, direction))].append((sent, pc))
        slots[pc] = Slot(pc, q, start, finish, start - base, channel_wait, units)
        head[q] += 1
    for (src, dst), tokens in fifo.items():
        if tokens:
            _, pc = tokens[0]
            raise PintaTrap(
                pc,
                f"unbalanced tokens: {len(tokens)} token(s) from the {src} queue to the {dst} "
                f"queue are never consumed by the end of the step (the first pushed here)",
                text(pc),
            )
    done = [s for s in slots if s is not None]
    return Schedule(slots, max((s.finish for s in done), default=0))


def _deadlock(blocked, text) -> None:
    blocked.sort()
    pc = blocked[0][0]
    waits = "; ".join(
        f"the {q} queue waits at PC {p} for a token from the {' and '.join(m)} queue"
        for p, q, m in blocked
    )
    raise PintaTrap(
        pc,
        f"dependency deadlock: no queue can proceed ({waits}), and no instruction left will "
        "send those tokens",
        text(pc),
    )


# ------------------------------------------------------------------------------------ races


def _words(a: Access) -> np.ndarray:
    rows = np.arange(a.rows, dtype=np.int64)[:, None] * a.stride
    return (a.start + rows + np.arange(a.cols, dtype=np.int64)).reshape(-1)


def _overlap(a: Access, b: Access) -> bool:
    if a.extent == 0 or b.extent == 0:
        return False
    if a.start >= b.start + b.extent or b.start >= a.start + a.extent:
        return False
    dense_a = a.rows <= 1 or a.stride == a.cols
    dense_b = b.rows <= 1 or b.stride == b.cols
    if dense_a and dense_b:
        return True
    return bool(np.intersect1d(_words(a), _words(b)).size)


def check_races(instructions, accesses: list[list[Access]], schedule: Schedule, text) -> None:
    """Trap at the first instruction (in program order) that races with an earlier one."""
    slots = schedule.slots
    n = len(instructions)
    future_start = [0] * (n + 1)
    low = schedule.cycles
    future_start[n] = low
    for pc in range(n - 1, -1, -1):
        if slots[pc] is not None:
            low = min(low, slots[pc].start)
        future_start[pc] = low
    live: list[tuple[Access, Slot]] = []
    for pc in range(n):
        slot = slots[pc]
        if slot is None:
            continue
        horizon = future_start[pc]
        if live and any(s.finish <= horizon for _, s in live):
            live = [(a, s) for a, s in live if s.finish > horizon]
        mine = [a for a in accesses[pc] if a.memory in ("spm", "dram") and a.extent]
        for a in mine:
            for b, other in live:
                if (
                    other.queue != slot.queue
                    and b.memory == a.memory
                    and (a.write or b.write)
                    and slot.start < other.finish
                    and _overlap(a, b)
                ):
                    kind = "writes" if a.write else "reads"
                    theirs = "writes" if b.write else "reads"
                    lo, hi = max(a.start, b.start), min(a.start + a.extent, b.start + b.extent)
                    raise PintaTrap(
                        pc,
                        f"race: this {slot.queue} instruction {kind} {a.memory.upper()}"
                        f"[{lo}, {hi}) ({a.field}), which PC {other.pc} ({other.queue}) "
                        f"{theirs}, but starts at cycle {slot.start} before PC {other.pc} "
                        f"completes at cycle {other.finish}: order them with dependency tokens",
                        text(pc),
                    )
        live.extend((a, slot) for a in mine)
