"""Where a step's values live on PINTA: homes in the SPM or in DRAM, and SPM/ACC staging.

Every value of the step has a home (`Home`). Parameters, optimizer state, points and losses
have fixed DRAM homes the host reads and writes between steps (`HostTensor`). The working
values of the function's block go in the first part of the SPM where they fit, in order of
preference, each at the lowest address free over its whole lifetime (`place_on_chip`); a
loop body's values go by first fit over the body's own lifetimes, in the SPM above what is
live there during the loop, else in a DRAM block that lives for the loop (`place_body`); the
rest go in DRAM by first fit over their lifetimes (`place`), so a buffer is reused once its
value is dead. A value shares the home of the value the lowering says holds it (views:
reshapes, permutes that move no data, dequantize; results the plan computes in place; a
loop's accumulators).

Each op works through the SPM in tiles (`Staging`), above the homes there: buffers that stay
for the whole op (weights of a GEMM, running sums) first, then two halves that successive
tiles use in turn, so that the DMA of one tile overlaps the compute of the other.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from pintac.core.errors import PassError
from pintac.runtime.pinta.codes import ADDRESS_BITS
from pintac.runtime.pinta.config import HardwareConfig
from pintac.runtime.plan import Loop, Plan

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Home:
    """A value in DRAM: row-major words at `addr`, DMA'd in format `fmt` (f32 or an SMX
    storage format), read by a GEMM in multiplier mode `prec`."""

    addr: int
    shape: Shape
    fmt: str = "f32"
    prec: str = "f32"
    local: bool = False  # in the SPM (a value kept on chip), not in DRAM

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def units(self) -> int:
        """Entries along the leading dimension (1 for scalars and vectors)."""
        return self.shape[0] if len(self.shape) >= 2 else 1

    @property
    def unit_words(self) -> int:
        """Words per entry of the leading dimension."""
        return self.size // self.units if self.units else 0

    @property
    def line(self) -> int:
        """Words per row of the matrix a DMA sees (the last dimension)."""
        return self.shape[-1] if self.shape else 1

    def rows_of(self, units: int) -> int:
        """Matrix rows in `units` entries of the leading dimension."""
        return units * self.unit_words // self.line if self.line else 0


class FirstFit:
    """Addresses for blocks that come and go: the lowest gap that fits, above `base`."""

    def __init__(self, base: int):
        self.base = base
        self.starts: list[int] = []  # sorted
        self.sizes: dict[int, int] = {}
        self.high = base

    def allocate(self, size: int, limit: int | None = None) -> int | None:
        """The block's address; None (nothing allocated) when it would end above `limit`."""
        at = self.base
        for start in self.starts:
            if start - at >= size:
                break
            at = max(at, start + self.sizes[start])
        if limit is not None and at + size > limit:
            return None
        bisect.insort(self.starts, at)
        self.sizes[at] = size
        self.high = max(self.high, at + size)
        return at

    def free(self, at: int) -> None:
        self.starts.remove(at)
        del self.sizes[at]


@dataclass(frozen=True)
class HostTensor:
    """A value the host reads or writes between steps: `kind` param/state/points/loss."""

    name: str
    kind: str
    key: str
    home: Home


@dataclass
class Placement:
    """Every value's home (by plan index), the host's tensors, and the DRAM words used."""

    homes: dict[int, Home]
    host: list[HostTensor]
    words: int
    loop_base: dict[int, int] = field(default_factory=dict)  # by loop step: its block's address


def loop_values(loop: Loop) -> list[int]:
    """The values of a loop body: its arguments and what its steps compute, the bodies of
    the loops nested in it included."""
    values = [loop.first, loop.rows, *loop.carried]
    for step in loop.steps:
        values.extend(step.outputs)
        if step.body is not None:
            values.extend(loop_values(step.body))
    return values


def loop_steps(loop: Loop) -> Iterator:
    """The steps of a loop body, those of the loops nested in it included (after theirs)."""
    for step in loop.steps:
        yield step
        if step.body is not None:
            yield from loop_steps(step.body)


@dataclass(frozen=True)
class Lifetime:
    """A step of a loop body for first fit: what it reads and what it makes, at `index`."""

    index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def body_lifetimes(loop: Loop, blocks: Mapping[int, int] | None = None) -> list[Lifetime]:
    """A loop body's steps in order, each nested loop as its steps between two marks: at its
    start it makes its arguments and results (a gathered value is filled tile by tile); at
    its end it reads its operands, what its body reads from outside and what it yields, which
    so live through all of its tiles. A nested loop in `blocks` (by its step index) keeps its
    own values in one block, the value `blocks[index]` made at its start, instead of its steps.
    """
    out: list[Lifetime] = []
    blocks = blocks or {}

    def visit(steps) -> None:
        for step in steps:
            nested = step.body
            if nested is None:
                out.append(Lifetime(len(out), step.inputs, step.outputs))
                continue
            made = (*step.outputs, nested.first, nested.rows, *nested.carried)
            if step.index in blocks:
                made = (*made, blocks[step.index])
            out.append(Lifetime(len(out), step.inputs, made))
            if step.index not in blocks:
                visit(nested.steps)
            inside = set(loop_values(nested))
            read = {i for s in loop_steps(nested) for i in s.inputs if i not in inside}
            # the loop's own operands too: each tile copies its streams from the first
            kept = (*step.inputs, *sorted(read), *nested.yields, *made)
            out.append(Lifetime(len(out), kept, ()))

    visit(loop.steps)
    return out


def stream_tile_lifetimes(loop: Loop) -> list[Lifetime]:
    """One tile of a loop over streams: its streams copied in (the body's rows), the body's
    steps, its gathered tiles copied out."""
    out = [Lifetime(0, (), (loop.rows,))]
    out += [Lifetime(s.index + 1, s.inputs, s.outputs) for s in body_lifetimes(loop)]
    out.append(Lifetime(len(out), loop.gathered, ()))
    return out


def body_values(plan: Plan) -> set[int]:
    """The values of the plan's loop bodies."""
    return {v for step in plan.steps if step.body is not None for v in loop_values(step.body)}


@dataclass
class BodyPlacement:
    """Where a loop body keeps its values: offsets by storage root in the SPM (from address
    0) or in the loop's DRAM block, and the words each takes."""

    spm: dict[int, int]
    dram: dict[int, int]
    spm_words: int
    dram_words: int


def place_body(
    steps: Sequence,
    storage: Mapping[int, int],
    roots: set[int],
    words_of: Callable[[int], int],
    spm_words: int,
) -> BodyPlacement:
    """Homes of a loop body's storage `roots`, by first fit over the body's step lifetimes:
    in the first `spm_words` words of the SPM when a value fits there at its birth, else in
    the loop's DRAM block."""
    spm, dram = FirstFit(0), FirstFit(0)
    born: dict[int, int] = {}
    dies: dict[int, int] = {}
    for step in steps:
        for o in step.outputs:
            r = storage[o]
            if r in roots:
                born.setdefault(r, step.index)
                dies[r] = max(dies.get(r, step.index), step.index)
        for i in step.inputs:
            r = storage.get(i)
            if r in roots:
                dies[r] = max(dies.get(r, step.index), step.index)
    placement = BodyPlacement({}, {}, 0, 0)
    live: list[int] = []
    by_birth = sorted(born, key=born.__getitem__)
    cursor = 0
    for index in range(len(steps)):
        for r in [r for r in live if dies[r] < index]:
            if r in placement.spm:
                spm.free(placement.spm[r])
            else:
                dram.free(placement.dram[r])
            live.remove(r)
        while cursor < len(by_birth) and born[by_birth[cursor]] <= index:
            r = by_birth[cursor]
            cursor += 1
            size = max(1, words_of(r))
            at = spm.allocate(size, limit=spm_words)
            if at is None:
                placement.dram[r] = dram.allocate(size)
            else:
                placement.spm[r] = at
            live.append(r)
    placement.spm_words, placement.dram_words = spm.high, dram.high
    return placement


def place_on_chip(
    spans: Mapping[int, tuple[int, int]],
    order: Sequence[int],
    words_of: Callable[[int], int],
    spm_words: int,
    steps: int,
) -> tuple[dict[int, int], list[int]]:
    """SPM homes (from address 0) for values that live over `spans[r]` (first and last step,
    -1 to `steps`), taken in `order`: each at the lowest address free over its whole span, if
    it ends within `spm_words` (else it stays in DRAM); and, for each step 0..`steps`, the SPM
    words the placed ones live then take (the highest end)."""
    placed: dict[int, int] = {}
    used = [0] * (steps + 1)
    for r in order:
        first, last = spans[r]
        # the lowest address free over the whole span: above every placed block it overlaps
        busy = sorted(
            (placed[o], placed[o] + max(1, words_of(o)))
            for o in placed
            if not (spans[o][1] < first or last < spans[o][0])
        )
        at, size = 0, max(1, words_of(r))
        for begin, end in busy:
            if begin - at >= size:
                break
            at = max(at, end)
        if at + size > spm_words:
            continue  # stays in DRAM
        placed[r] = at
        for step in range(max(first, 0), min(last, steps) + 1):
            used[step] = max(used[step], at + size)
    return placed, used


def place(
    plan: Plan,
    storage: Mapping[int, int],
    roles: Sequence[str],
    result_roles: Sequence[str],
    shape_of: Mapping[int, Shape],
    home_for: Callable[[int, int, bool], Home],
    loop_words: Mapping[int, int] | None = None,
    spm_homes: Mapping[int, int] | None = None,
) -> Placement:
    """Homes for every value of `plan` outside loop bodies: the host's tensors from address 0
    (parameters, state and points, then the losses), then the working values by first fit over
    their lifetimes, and for each loop step a block of `loop_words[step]` words that lives
    for the step (its body's values, which the lowering places in it: `Placement.loop_base`).
    `storage[i]` is the value whose home value i shares; `home_for(i, addr, local)` is
    value i's home at `addr` (in the SPM when `local`: the roots in `spm_homes`)."""
    placement = Placement({}, [], 0)
    inner = body_values(plan)
    by_role = _place_arguments(plan, roles, home_for, placement)
    result_homes = _place_results(plan, storage, result_roles, shape_of, by_role, placement)
    spm_homes = spm_homes or {}
    placed, placement.words = _place_working(
        plan, storage, shape_of, placement, result_homes, inner, loop_words or {}, spm_homes
    )
    placement.loop_base = {s: placed[("loop", s)] for s in loop_words or {}}
    for v in plan.values:
        if v.index in placement.homes or v.index in inner:
            continue
        root = storage[v.index]
        if root in spm_homes:
            placement.homes[v.index] = home_for(v.index, spm_homes[root], True)
            continue
        if root in result_homes:
            addr = result_homes[root].addr
        elif root in placement.homes:
            addr = placement.homes[root].addr
        else:
            addr = placed[root]
        placement.homes[v.index] = home_for(v.index, addr, False)
    return placement


def _place_arguments(
    plan: Plan,
    roles: Sequence[str],
    home_for: Callable[[int, int, bool], Home],
    placement: Placement,
) -> dict[str, int]:
    """Parameters, state and points from address 0; the value of each role."""
    by_role: dict[str, int] = {}
    for i, role in zip(plan.arguments, roles, strict=True):
        kind, _, key = role.partition(":")
        if kind not in ("param", "state", "points"):
            continue  # seed and step are machine registers
        home = placement.homes[i] = home_for(i, placement.words, False)
        placement.host.append(HostTensor(plan.values[i].name, kind, key, home))
        by_role[role] = i
        placement.words += max(1, home.size)
    return by_role


def _place_results(
    plan: Plan,
    storage: Mapping[int, int],
    result_roles: Sequence[str],
    shape_of: Mapping[int, Shape],
    by_role: Mapping[str, int],
    placement: Placement,
) -> dict[int, Home]:
    """The results' homes by storage root: a new parameter or state value in its old one's
    home (updated in place), the losses after the arguments."""
    root_home: dict[int, Home] = {}
    for i, role in zip(plan.results, result_roles, strict=True):
        root = storage[i]
        if role in by_role:
            source = by_role[role]
            if plan.values[source].last_use is not None and (
                plan.values[source].last_use > (plan.values[i].producer or 0)
            ):
                raise PassError(
                    f"@{plan.name}: %{plan.values[source].name} is read after its new value "
                    "is computed; PINTA updates parameters in place"
                )
            home = placement.homes[source]
            earlier = root_home.get(root)
            if earlier is not None and earlier.addr != home.addr:
                # an earlier result is a view of this new value: it reads these words
                placement.host = [
                    replace(t, home=Home(home.addr, t.home.shape))
                    if t.kind == "loss" and t.home.addr == earlier.addr
                    else t
                    for t in placement.host
                ]
            root_home[root] = home
        else:
            key = role.partition(":")[2] if role.startswith("term:") else role
            if root in root_home:  # a view of another result: the same words
                home = Home(root_home[root].addr, shape_of[i])
            else:
                home = root_home[root] = Home(placement.words, shape_of[i])
                placement.words += max(1, home.size)
            placement.host.append(HostTensor(plan.values[i].name, "loss", key or "loss", home))
    return root_home


def _place_working(
    plan: Plan,
    storage: Mapping[int, int],
    shape_of: Mapping[int, Shape],
    placement: Placement,
    result_homes: Mapping[int, Home],
    inner: set[int],
    loop_words: Mapping[int, int],
    spm_homes: Mapping[int, int],
) -> tuple[dict, int]:
    """Addresses of the other storage roots, by first fit over their lifetimes, and of each
    loop's block (key ("loop", step)); with the DRAM words used in all."""
    alloc = FirstFit(placement.words)
    roots: dict = {}
    for v in plan.values:
        if v.index not in inner:
            roots.setdefault(storage[v.index], []).append(v.index)
    first_step = {
        r: min(-1 if plan.values[m].producer is None else plan.values[m].producer for m in members)
        for r, members in roots.items()
    }
    last_step = {r: max(plan.live_range(m)[1] for m in members) for r, members in roots.items()}
    size = {r: math.prod(shape_of[r]) for r in roots}
    for step, words in loop_words.items():
        key = ("loop", step)
        roots[key], first_step[key], last_step[key], size[key] = [], step, step, words
    placed: dict = {}
    live: list[int] = []
    order = sorted(roots, key=lambda r: first_step[r])
    cursor = 0
    for step in range(-1, len(plan.steps) + 1):
        for r in [r for r in live if last_step[r] < step]:
            alloc.free(placed[r])
            live.remove(r)
        while cursor < len(order) and first_step[order[cursor]] <= step:
            r = order[cursor]
            cursor += 1
            if r in placement.homes or r in result_homes or r in spm_homes:
                continue
            placed[r] = alloc.allocate(max(1, size[r]))
            live.append(r)
    return placed, alloc.high


@dataclass
class Tile:
    """One tile of an op: units [u0, u1) of its leading dimension and its SPM buffers."""

    u0: int
    u1: int
    spm: dict[str, int]
    acc: int
    first: bool
    last: bool

    @property
    def n(self) -> int:
        return self.u1 - self.u0


@dataclass(frozen=True)
class Capacity:
    """A memory the lowering fills: its size in words (entries) as configured, the hardware
    key that sets it (in `per_word` units a word) and the words its address fields reach."""

    name: str
    key: str
    words: int
    per_word: int
    address_bits: int

    @property
    def size(self) -> int:
        """The configured size in the key's unit."""
        return self.size_of(self.words)

    def size_of(self, words: int) -> int:
        return words * self.per_word

    def remedy(self, words: int) -> str:
        """What gives this memory `words` words: the key to raise, or, beyond what its
        addresses reach, a smaller problem."""
        largest = 1 << self.address_bits
        if words > largest:
            return (
                f"that is more than any {self.name} PINTA can address ({largest} words): make "
                "the problem smaller (batch sizes, pairs, layer widths)"
            )
        least = self.size_of(words)
        return f"give PINTA a larger {self.name} (--hw-set {self.key}=N with N >= {least})"


def capacities(cfg: HardwareConfig) -> dict[str, Capacity]:
    """The SPM, ACC, DRAM and constant buffer of a configuration, by ISA memory name."""
    m = cfg.memory
    return {
        "spm": Capacity("SPM", "memory.spm_bytes", cfg.spm_words, 4, ADDRESS_BITS["spm"]),
        "acc": Capacity(
            "ACC", "memory.acc_bytes", cfg.acc_words, m.acc_word_bytes, ADDRESS_BITS["acc"]
        ),
        "dram": Capacity("DRAM", "memory.dram_bytes", cfg.dram_words, 4, ADDRESS_BITS["dram"]),
        "const": Capacity(
            "constant buffer", "memory.const_entries", m.const_entries, 1, ADDRESS_BITS["const"]
        ),
    }


class Staging:
    """The SPM and ACC of one op: resident buffers from `spm_used` (`acc_used`), then two
    halves, below `spm_top` (`acc_top`)."""

    def __init__(self, spm: Capacity, acc: Capacity, what: str):
        self.spm = spm
        self.acc = acc
        self.what = what
        self.spm_used = 0
        self.acc_used = 0
        self.spm_top = spm.words
        self.acc_top = acc.words

    def part(self, index: int, parts: int) -> None:
        """Keep to the `index`-th of `parts` equal parts of what is free."""
        spm, acc = (self.spm_top - self.spm_used) // parts, (self.acc_top - self.acc_used) // parts
        self.spm_used += index * spm
        self.acc_used += index * acc
        self.spm_top, self.acc_top = self.spm_used + spm, self.acc_used + acc

    def resident(self, words: int, name: str) -> int:
        at = self.spm_used
        self.spm_used += words
        if self.spm_used > self.spm_top:
            raise PassError(
                f"{self.what}: {name} ({self.spm.size_of(words)} bytes) does not fit in the SPM "
                f"({self.spm.size} bytes) next to the op's other buffers; "
                + self.spm.remedy(self.spm_used)
            )
        return at

    def resident_acc(self, words: int, name: str) -> int:
        at = self.acc_used
        self.acc_used += words
        if self.acc_used > self.acc_top:
            raise PassError(
                f"{self.what}: {name} ({words} accumulators) does not fit in the ACC "
                f"({self.acc.size} bytes) next to the op's other buffers; "
                + self.acc.remedy(self.acc_used)
            )
        return at

    def too_small(self, spm_words: int, acc_words: int) -> PassError:
        """The error for a tile of `spm_words` SPM words and `acc_words` accumulators that
        fits in neither half nor the whole of what the op has left: naming the SPM when the
        tile does not fit in it, else the ACC."""
        free_spm, free_acc = self.spm_top - self.spm_used, self.acc_top - self.acc_used
        if spm_words > free_spm:
            return PassError(
                f"{self.what}: one tile needs {self.spm.size_of(spm_words)} bytes of the SPM but "
                f"the op has {self.spm.size_of(free_spm)} ({self.spm.size} bytes in all); "
                + self.spm.remedy(self.spm_used + spm_words)
            )
        return PassError(
            f"{self.what}: one tile needs {acc_words} accumulators "
            f"({self.acc.size_of(acc_words)} bytes) of the ACC but the op has {free_acc} "
            f"({self.acc.size} bytes in all); " + self.acc.remedy(self.acc_used + acc_words)
        )

    @property
    def half(self) -> int:
        return (self.spm_top - self.spm_used) // 2

    @property
    def acc_half(self) -> int:
        return (self.acc_top - self.acc_used) // 2

    def half_base(self, parity: int) -> int:
        return self.spm_used + parity * self.half

    def acc_base(self, parity: int) -> int:
        return self.acc_used + parity * self.acc_half
