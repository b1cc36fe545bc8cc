"""Order a step's instructions for PINTA's three queues and add the dependency tokens.

1. The dependency DAG (networkx): an instruction depends on the last writer of every word it
   reads and, when it writes, on the last writer and the readers since then (SPM, ACC and
   DRAM words, from the ISA table's memory accesses).
2. List scheduling: the queues and the compute queue's units are simulated with each
   instruction's cycles (the ISA's formulas); whenever a queue (a compute unit) is free, it
   takes the ready instruction with the longest path of cycles to the end of the step, the
   compute queue issuing in order. Loads of later tiles thus move ahead of the compute they
   feed, and a GEMM of the next tile of streams ahead of the SFU work of the last one, as
   far as the buffers they overwrite allow.
3. Tokens, in the final order. Each queue issues in order and the compute queue retires in
   order (its tokens are sent when every earlier compute instruction has completed), so an
   instruction knows, of every queue, the last instruction certainly complete when it
   starts (through its queue's previous instruction and the tokens it pops). A dependency
   not covered so becomes a token from the producer to the consumer when their queues are
   neighbours (load-compute, compute-store), and otherwise is relayed by a compute-queue NOP
   placed just before the consumer. A producer pushes at most one token per neighbour and
   tokens are consumed in order, so the k-th push of a channel always meets its k-th pop.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

import networkx as nx

from pintac.passes.pinta.lowering import Emitted
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.codes import QUEUES, UNITS
from pintac.runtime.pinta.config import HardwareConfig

_TRACKED = ("spm", "acc", "dram")


@dataclass
class _Segment:
    writer: int | None = None
    readers: list[int] = field(default_factory=list)


class _Words:
    """Who last wrote, and who read since, each word of one memory: disjoint segments."""

    def __init__(self):
        self.starts = [0]
        self.segments = [_Segment()]

    def _split(self, at: int) -> int:
        """Index of the segment starting at `at` (splitting the one containing it)."""
        i = bisect.bisect_right(self.starts, at) - 1
        if self.starts[i] == at:
            return i
        old = self.segments[i]
        self.starts.insert(i + 1, at)
        self.segments.insert(i + 1, _Segment(old.writer, list(old.readers)))
        return i + 1

    def access(self, start: int, end: int, node: int, write: bool, deps: set[int]) -> None:
        lo = self._split(start)
        hi = self._split(end)
        touched = self.segments[lo:hi]
        for s in touched:
            if s.writer is not None:
                deps.add(s.writer)
            if write:
                deps.update(s.readers)
        if write:
            self.starts[lo:hi] = [start]
            self.segments[lo:hi] = [_Segment(node)]
        else:
            for s in touched:
                s.readers.append(node)


def dependency_graph(code: list[Emitted], cfg: HardwareConfig) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(code)))
    words = {m: _Words() for m in _TRACKED}
    for node, e in enumerate(code):
        deps: set[int] = set()
        accesses = e.ins.spec.accesses(e.ins, cfg)
        for a in sorted(accesses, key=lambda a: a.write):  # reads first: in-place updates
            if a.memory in words and a.extent:
                words[a.memory].access(a.start, a.start + a.extent, node, a.write, deps)
        deps.discard(node)
        graph.add_edges_from((d, node) for d in deps)
    return graph


def list_schedule(code: list[Emitted], graph: nx.DiGraph, cfg: HardwareConfig) -> list[int]:
    """A topological order of the instructions from simulating the queues and the compute
    queue's units (as `pintac.runtime.pinta.schedule` times them)."""
    cycles = [max(1, e.ins.spec.cycles(e.ins, cfg)) for e in code]
    # an instruction waits in the lane of its queue, a compute instruction in that of its units
    lane: list[tuple | None] = []
    for e in code:
        q = e.ins.dispatch_queue
        lane.append((q, e.ins.spec.units_of(e.ins)) if q is not None else None)
    # priority: the longest path of cycles from an instruction to the end of the step
    rank = [0] * len(code)
    for node in reversed(list(nx.topological_sort(graph))):
        rank[node] = cycles[node] + max((rank[s] for s in graph.successors(node)), default=0)
    missing = [graph.in_degree(n) for n in range(len(code))]
    earliest = [0] * len(code)
    pending: dict[tuple, list] = {}  # lane -> heap of (earliest start, program order, node)
    ready: dict[tuple, list] = {}  # lane -> heap of (-rank, program order, node)
    free = dict.fromkeys((*QUEUES, *UNITS), 0)
    halts = []

    def lane_free(key: tuple) -> int:
        q, units = key
        return max([free[q], *(free[u] for u in units)])

    def arrive(node: int) -> None:
        if lane[node] is None:
            halts.append(node)
        else:
            heapq.heappush(pending.setdefault(lane[node], []), (earliest[node], node, node))

    for node in range(len(code)):
        if missing[node] == 0:
            arrive(node)
    order: list[int] = []
    while True:
        best = None
        for key in pending:  # every lane, in the order it was first seen (deterministic)
            if ready.get(key):  # their earliest starts have passed
                start, top = lane_free(key), ready[key][0][0]
            elif pending.get(key):
                start, top = max(lane_free(key), pending[key][0][0]), 0
            else:
                continue
            if best is None or (start, top) < best[:2]:
                best = (start, top, key)
        if best is None:
            break
        start, _, key = best
        waiting = pending.get(key, [])
        while waiting and waiting[0][0] <= start:
            _, _, node = heapq.heappop(waiting)
            heapq.heappush(ready.setdefault(key, []), (-rank[node], node, node))
        _, _, node = heapq.heappop(ready[key])
        finish = start + cycles[node]
        q, units = key
        if q == "compute":
            free[q] = start + 1  # in-order issue, one instruction per cycle
            for u in units:
                free[u] = finish
        else:
            free[q] = finish
        order.append(node)
        for s in graph.successors(node):
            earliest[s] = max(earliest[s], finish)
            missing[s] -= 1
            if missing[s] == 0:
                arrive(s)
    order.extend(halts)
    if len(order) != len(code):
        raise AssertionError("the dependency graph has a cycle")
    return order


def _direction(consumer: str, producer: str) -> tuple[str, str] | None:
    """(consumer's pop flag, producer's push flag) between neighbour queues."""
    c, p = QUEUES.index(consumer), QUEUES.index(producer)
    if p == c - 1:
        return "pop_prev", "push_next"
    if p == c + 1:
        return "pop_next", "push_prev"
    return None


def add_tokens(code: list[Emitted], graph: nx.DiGraph, order: list[int]) -> list[Emitted]:
    """The instructions in `order` with their token flags, relay NOPs inserted."""
    out: list[Emitted] = []
    flags: list[dict[str, int]] = []
    # per emitted instruction: queue -> the last position in that queue certainly complete
    known: list[dict[str, int]] = []
    in_queue: dict[str, list[int]] = {q: [] for q in QUEUES}  # position -> index in `out`
    where: dict[int, tuple[str | None, int]] = {}  # node -> (queue, position)

    def emit(e: Emitted, q: str | None, deps: dict[str, int]) -> int:
        """Append `e` to queue q after the positions `deps` (queue -> position) complete;
        its position in q."""
        k = dict.fromkeys(QUEUES, -1)
        if q is not None and in_queue[q]:
            k = dict(known[in_queue[q][-1]])
            k[q] = len(in_queue[q]) - 1
        # tokens from neighbour queues first; what they make certain may cover the rest
        pops: dict[str, int] = {}
        for pq, position in deps.items():
            if q is not None and pq != q and position > k[pq] and _direction(q, pq):
                pops[pq] = position
        certain = dict(k)
        for pq, position in pops.items():
            for qq, v in known[in_queue[pq][position]].items():
                certain[qq] = max(certain[qq], v)
            certain[pq] = max(certain[pq], position)
        for pq, position in deps.items():
            if q is not None and pq != q and position > certain[pq] and not _direction(q, pq):
                # load <-> store: relay through the compute queue
                relay = Emitted(isa.make("NOP", queue="compute"), "relay a token", e.step)
                pops["compute"] = emit(relay, "compute", {pq: position})
        f: dict[str, int] = {}
        for pq, position in pops.items():
            pop, push = _direction(q, pq)
            producer = in_queue[pq][position]
            assert push not in flags[producer], "a producer pushes one token per neighbour"
            flags[producer][push] = 1
            f[pop] = 1
            for qq, v in known[producer].items():
                k[qq] = max(k[qq], v)
            k[pq] = max(k[pq], position)
        out.append(e)
        flags.append(f)
        known.append(k)
        if q is None:
            return -1
        in_queue[q].append(len(out) - 1)
        return len(in_queue[q]) - 1

    for node in order:
        e = code[node]
        deps: dict[str, int] = {}
        for p in graph.predecessors(node):
            pq, position = where[p]
            if pq is not None:
                deps[pq] = max(deps.get(pq, -1), position)
        q = e.ins.dispatch_queue
        where[node] = (q, emit(e, q, deps))
    return [Emitted(e.ins._replace(**f), e.note, e.step) for e, f in zip(out, flags, strict=True)]


def schedule(code: list[Emitted], cfg: HardwareConfig) -> list[Emitted]:
    graph = dependency_graph(code, cfg)
    order = list_schedule(code, graph, cfg)
    return add_tokens(code, graph, order)
