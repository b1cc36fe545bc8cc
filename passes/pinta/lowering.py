"""The instructions of a training step, op by op, in tiles (before scheduling and tokens).

The values get their homes first, in the SPM where they fit, else in DRAM (`memory`; this
module decides which ops are views that share their operand's home). Then each op of the
step's execution plan (`pintac.runtime.plan`) streams its operands from their homes through
the SPM in tiles along their leading dimension (rows, or points for the per-point Stein
tensors), computes each tile with one or a few instructions, and stores the result tiles to
the result's home; a home in the SPM is read and written by on-chip copies (LOAD and STORE
with `local`). A loop over tiles of points (`tile.loop`) is unrolled, its exact sums kept in
ACC regions across the tiles. What must be whole for an op (a GEMM's weights, the residual
of a mean square) is loaded once and stays for the op's tiles. The result is the
instructions in a valid sequential order; `schedule.py` reorders them and adds the tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from xdsl.dialects import arith, func
from xdsl.ir import Operation, OpResult

from pintac.core.errors import PassError
from pintac.core.training import OPTIMIZERS
from pintac.dialects import pinn, smx, stein, train
from pintac.dialects import tile as tile_ops
from pintac.dialects.activations import ACTIVATIONS, activation_of
from pintac.passes.pinta.memory import (
    BodyPlacement,
    FirstFit,
    Home,
    HostTensor,
    Staging,
    Tile,
    body_lifetimes,
    body_values,
    capacities,
    loop_steps,
    loop_values,
    place,
    place_body,
    place_on_chip,
    stream_tile_lifetimes,
)
from pintac.passes.pinta.shapes import body_shapes, concrete_shapes
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.codes import FORMATS
from pintac.runtime.pinta.config import HardwareConfig
from pintac.runtime.pinta.program import ConstantPool
from pintac.runtime.plan import Plan, Step, all_values, build_plan


def _top(*fields: str) -> int:
    """The largest value every one of `fields` ("MNEMONIC.field") holds: the ISA table's."""
    return min(isa.INSTRUCTIONS[m].by_name[f].top for m, f in (x.split(".") for x in fields))


# Field limits the tiling respects, from the ISA table's field widths.
MAX_DMA_ROWS = _top("LOAD.rows", "STORE.rows")
MAX_DMA_COLS = _top("LOAD.cols", "STORE.cols")
MAX_PERM_EXTENT = _top(*(f"PERM.n{i}" for i in range(isa.PERM_AXES)))
MAX_VECTOR_ROWS = _top("VEC.rows", "VCOL.rows", "RED.rows")
MAX_QUANT_ROWS = _top("QUANT.rows")
MAX_STEIN_POINTS = _top("STEIN.points")
MAX_SFU_ROWS = _top("SFU.rows")
MAX_SFU_STREAMS = _top("SFU.streams")
MAX_SFU_COLS = _top("SFU.cols")
MAX_RNG_POINTS = _top("RNG.points")
MAX_UPDATE = _top("UPDATE.count")
MAX_GEMM_MK = _top("GEMM.m", "GEMM.k", "ACCRD.m")
MAX_GEMM_N = _top("GEMM.n", "ACCRD.n")

# The shares of the SPM values may take as their homes, the rest staging the ops: most of it
# (ops whose operands are on chip stage little; a loop over streams keeps two blocks of its
# values), else half, where ops of a step whose values take that much need more room to stage.
ONCHIP_SHARE = 0.8
HALF_SHARE = 0.5


@dataclass
class Emitted:
    """An instruction of the step, what it is for, and the plan step it belongs to."""

    ins: isa.Instruction
    note: str
    step: int


@dataclass(frozen=True)
class StreamBlock:
    """Where a loop over streams keeps its own values: a block of the point loop's body
    (storage root `key`) of two halves of `words`, the values at `offsets` (by storage root)
    in the half of a tile's parity."""

    key: int
    offsets: dict[int, int]
    words: int


def _name(plan: Plan, index: int) -> str:
    return plan.values[index].name


def _format_of(t, what: str) -> tuple[str, str]:
    """(DMA format, GEMM precision) of a value's type."""
    if not isinstance(t, smx.QuantizedTensorType):
        return "f32", "f32"
    fmt = t.format
    if not fmt.is_int:
        raise PassError(
            f"{what}: PINTA quantizes to integer SMX formats; {fmt.element_kind} has no "
            "quantizer on PINTA (use format=smx or an intN format)"
        )
    rows, cols = fmt.block_shape
    shape = "b" if rows == cols else ("r" if rows == 1 else "c")
    name = f"q{fmt.bits}{shape}{max(rows, cols)}"
    if name not in FORMATS:
        raise PassError(f"{what}: no PINTA storage format for {fmt.bits}-bit blocks {rows}x{cols}")
    return name, f"int{fmt.bits}"


class StepLowering:
    """Lower `@train_step` for a batch: `run()` gives the host tensors, the constant pool,
    the DRAM size and the instructions in a sequential order."""

    def __init__(
        self,
        f: func.FuncOp,
        batch: dict[str, int],
        cfg: HardwareConfig,
        onchip: bool = True,
        share: float = ONCHIP_SHARE,
    ):
        """`onchip` False: every value in DRAM (the streaming lowering, for comparison);
        `share`: of the SPM, what values may take as their homes."""
        self.f, self.batch, self.cfg = f, batch, cfg
        self.onchip = onchip
        self.share = share
        self.plan = build_plan(f)
        self.shapes = concrete_shapes(f, batch)
        self.roles = train.arg_roles(f)
        self.result_roles = train.result_roles(f)
        self.pool = ConstantPool()
        self.hyper_blocks: dict[tuple, int] = {}
        self.code: list[Emitted] = []
        self.homes: dict[int, Home] = {}
        self.host: list[HostTensor] = []
        self.parity = 0
        self.memories = capacities(cfg)
        self.step_index = 0
        self.ssa = all_values(f.body.block)
        self.shape_of = {i: self.shapes[v] for i, v in enumerate(self.ssa) if v in self.shapes}
        self.producer_op = {
            i: (v.owner if isinstance(v, OpResult) else None) for i, v in enumerate(self.ssa)
        }
        # integers the program knows when it is lowered: tile.rows, a tile's first row
        self.known: dict[int, int] = {}
        self.in_loop = False
        self.first_tile = True
        self.first_stream_tile = True
        self.index = {v: i for i, v in enumerate(self.ssa)}
        # the ACC regions of a loop's exact accumulators, by storage root, live across tiles
        self.acc_regions: dict[int, int] = {}
        self.acc_alloc = FirstFit(0)
        self.storage: dict[int, int] = {}
        self.loop_blocks: dict[int, BodyPlacement] = {}  # by loop step
        # by (loop over points, loop over streams in its body): their steps' indices
        self.stream_blocks: dict[tuple[int, int], StreamBlock] = {}
        self.point_step: Step | None = None  # the loop over points being lowered
        self.stream_parity: int | None = None  # of the tile of streams being lowered
        self.spm_reserved = 0  # SPM words [0, n) hold the body values of the loop lowered
        self.top_spm: list[int] = []  # by step: SPM words [0, n) hold values kept on chip
        self.shadows: dict[tuple[int, int], int] = {}

    # ------------------------------------------------------------------------------ homes

    def _type(self, index: int):
        return self.plan.values[index].type

    def _home_for(self, index: int, addr: int, local: bool = False) -> Home:
        fmt, prec = _format_of(self._type(index), f"%{_name(self.plan, index)}")
        return Home(addr, self.shape_of[index], fmt, prec, local)

    def _storage(self) -> dict[int, int]:
        """The value whose home each value shares: the plan's storage, except that only the
        ops lowered as views (`VIEWS`) share their operand's home; the plan's other views
        (column slices, permutes that move data) are copies here."""
        storage = {i: i for i in range(len(self.plan.values))}
        for step in self.plan.steps:
            if step.body is not None:
                self._link_loop(step, storage)
            else:
                self._link(step, storage)
        return storage

    def _link(self, step: Step, storage: dict[int, int]) -> None:
        if step.view and (type(step.op) in VIEWS or is_reshape(self, step)):
            storage[step.outputs[0]] = storage[step.inputs[0]]
        elif step.inplace is not None:
            storage[step.outputs[0]] = storage[step.inputs[step.inplace]]
        elif isinstance(step.op, _ACCUMULATIONS):
            storage[step.outputs[0]] = storage[step.inputs[0]]  # a sum kept where it is

    def _link_loop(self, step: Step, storage: dict[int, int]) -> None:
        """A loop's accumulators (its carried arguments and results) stay in their initial
        value's place; its body's views and in-place results as at the top."""
        loop = step.body
        inits = step.inputs[1:]
        for arg, init, out in zip(loop.carried, inits, step.outputs, strict=False):
            storage[arg] = storage[out] = storage[init]
        if not step.body.axis:  # a nested loop's shapes come with its outer loop's
            self._set_tile_shapes(step, self._tile_rows(step)[0][1])
        for inner in loop.steps:
            if inner.body is not None:
                self._link_loop(inner, storage)
            else:
                self._link(inner, storage)

    def _place(self) -> int:
        """Homes for every value (`memory.place`); the DRAM words used. What the loops read
        from before them (weights, their quantized copies, running sums) stays in the SPM
        while it fits, then the loops' own values (`_place_body`)."""
        self.storage = self._storage()
        members = self._members()
        spans = {
            r: (
                min(self.plan.live_range(m)[0] for m in values),
                max(self.plan.live_range(m)[1] for m in values),
            )
            for r, values in members.items()
        }
        # host tensors a loop reads (parameters): a copy in the SPM for the loop's tiles
        shadows = {
            ("shadow", step.index, i): i
            for step in self.plan.steps
            if step.body is not None
            for i in self._host_tensors_read(step)
        }
        spans |= {key: (key[1], key[1]) for key in shadows}
        placed, self.top_spm = place_on_chip(
            spans,
            [*shadows, *self._on_chip_candidates(members, spans)],
            lambda r: math.prod(self.shape_of[shadows.get(r, r)]),
            self.onchip_words,
            len(self.plan.steps),
        )
        spm_homes = {r: at for r, at in placed.items() if r not in shadows}
        self.shadows = {
            key[1:]: at for key, at in placed.items() if key in shadows
        }  # (loop step, value): SPM address
        loop_words = {}
        for step in self.plan.steps:
            if step.body is not None:
                self.loop_blocks[step.index] = self._place_body(step)
                loop_words[step.index] = self.loop_blocks[step.index].dram_words
        placement = place(
            self.plan,
            self.storage,
            self.roles,
            self.result_roles,
            self.shape_of,
            self._home_for,
            loop_words,
            spm_homes,
        )
        self.homes, self.host = placement.homes, placement.host
        self.loop_base = placement.loop_base
        return placement.words

    # ------------------------------------------------------------------------------ loops

    def _tile_rows(self, step: Step) -> list[tuple[int, int]]:
        """(first row, rows) of each tile of a loop step."""
        batch = self.shape_of[step.inputs[0]][0]
        size = step.body.tile
        if batch == 0:
            raise PassError(f"{self._describe(step)}: a loop over an empty batch", step.op)
        return [(first, min(size, batch - first)) for first in range(0, batch, size)]

    def _set_tile_shapes(self, step: Step, rows: int) -> None:
        """The body values' shapes for a tile of `rows` points."""
        shapes = body_shapes(step.op, rows, self.shapes)
        for i in loop_values(step.body):
            self.shape_of[i] = shapes[self.ssa[i]]

    def _local_roots(self, step: Step) -> tuple[set[int], dict[int, int]]:
        """The storage roots a loop's body places in its own block, and those of its gathered
        values (by root: the loop's result they are rows of)."""
        loop = step.body
        gathered = {
            self.storage[y]: out
            for y, out in zip(loop.gathered, step.outputs[len(loop.carried) :], strict=True)
        }
        inner = set(loop_values(loop))
        local = {self.storage[i] for i in inner if self.storage[i] in inner}
        local -= set(gathered) | {self.storage[loop.rows]} | _tile_positions(loop)
        return local, gathered

    @property
    def onchip_words(self) -> int:
        """The SPM words values may take as their homes."""
        return int(self.memories["spm"].words * self.share) if self.onchip else 0

    def _members(self) -> dict[int, list[int]]:
        """The values of the function's block by storage root."""
        inner = body_values(self.plan)
        members: dict[int, list[int]] = {}
        for v in self.plan.values:
            if v.index not in inner:
                members.setdefault(self.storage[v.index], []).append(v.index)
        return members

    def _on_chip_candidates(
        self, members: dict[int, list[int]], spans: dict[int, tuple[int, int]]
    ) -> list[int]:
        """The storage roots of the function's block that may live in the SPM, in order of
        preference: what the loops read from before them (in every tile), then the other
        working values, each group by first step. Not host tensors nor what the step
        returns (the host reads and writes DRAM)."""
        results = {self.storage[r] for r in self.plan.results}
        working = [
            r
            for r in members
            if self.plan.values[r].producer is not None
            and r not in results
            and r in self.shape_of
            and not isinstance(self._type(r), tile_ops.ExactType)
        ]
        by_loops = self._read_by_loops()
        return sorted(working, key=lambda r: (r not in by_loops, spans[r][0]))

    def _host_tensors_read(self, step: Step) -> list[int]:
        """The host's tensors (parameters) a loop body reads, but its points."""
        inner = set(loop_values(step.body))
        return sorted(
            {
                i
                for s in loop_steps(step.body)
                for i in s.inputs
                if i not in inner
                and self.plan.values[i].producer is None
                and i != step.inputs[0]
                and i in self.shape_of
                and self.shape_of[i]
            }
        )

    def _read_by_loops(self) -> set[int]:
        """Storage roots of the values loops read from before them: what their bodies read
        from outside, and their running column sums."""
        inner = body_values(self.plan)
        roots = set()
        for step in self.plan.steps:
            if step.body is None:
                continue
            for s in loop_steps(step.body):
                roots.update(self.storage[i] for i in s.inputs if i not in inner)
            roots.update(
                self.storage[i]
                for i in step.inputs[1:]
                if not isinstance(self._type(i), tile_ops.ExactType)
            )
        return roots

    def _place_body(self, step: Step) -> BodyPlacement:
        """The body's own values by first fit over its steps, at the largest tile: on chip
        in the SPM's first `share` where they fit, else in DRAM. A loop over streams
        in it keeps its values in one block of two halves, which its tiles alternate: a tile
        writes nothing the previous one reads, so the compute units can overlap them."""
        local, _ = self._local_roots(step)
        self._set_tile_shapes(step, self._tile_rows(step)[0][1])
        base = self.top_spm[step.index]
        words = {r: math.prod(self.shape_of[r]) for r in local}
        storage = dict(self.storage)
        blocks = {}
        for inner in step.body.steps:
            if inner.body is None:
                continue
            own = self._stream_tile_roots(step, inner, local)
            tile = place_body(
                stream_tile_lifetimes(inner.body), self.storage, own, words.__getitem__, 1 << 62
            )
            key = -1 - inner.index  # the block, a storage root of no value
            self.stream_blocks[step.index, inner.index] = StreamBlock(key, tile.spm, tile.spm_words)
            storage[key] = key
            words[key] = 2 * tile.spm_words
            local = (local - own) | {key}
            blocks[inner.index] = key
        block = place_body(
            body_lifetimes(step.body, blocks),
            storage,
            local,
            words.__getitem__,
            max(0, self.onchip_words - base),
        )
        block.spm = {r: base + at for r, at in block.spm.items()}
        block.spm_words += base
        return block

    def _stream_tile_roots(self, step: Step, inner: Step, local: set[int]) -> set[int]:
        """The storage roots of the point loop `step`'s body that only the loop over streams
        `inner` uses, within one of its tiles."""
        inside = {self.storage[i] for i in loop_values(inner.body)}
        others = {*inner.inputs, *inner.outputs, *step.body.yields}
        for s in step.body.steps:
            if s is not inner:
                others.update((*s.inputs, *s.outputs))
                if s.body is not None:
                    others.update(loop_values(s.body))
        return (inside & local) - {self.storage[i] for i in others}

    def _home_stream_tile(self, step: Step, first: int) -> None:
        """Homes of a loop over streams' own values for its tile from stream `first`: the
        half of its block of the tile's parity."""
        loop = step.body
        block = self.stream_blocks[self.point_step.index, step.index]
        outer = self.loop_blocks[self.point_step.index]
        parity = (first // loop.tile) % 2
        if block.key in outer.spm:
            at, local = outer.spm[block.key], True
        else:
            at, local = self.loop_base[self.point_step.index] + outer.dram[block.key], False
        at += parity * block.words
        for i in loop_values(loop):
            offset = block.offsets.get(self.storage[i])
            if offset is not None:
                self.homes[i] = self._home_for(i, at + offset, local)

    def _home_tile(self, step: Step, first: int) -> None:
        """Homes of the body values for the tile from row `first` (shapes already set)."""
        loop = step.body
        local, gathered = self._local_roots(step)
        base = self.loop_base[step.index]
        block = self.loop_blocks[step.index]
        points = self.homes[step.inputs[0]]
        batch = points.units
        positions = _tile_positions(loop)
        streams = {r for b in self.stream_blocks.values() for r in b.offsets}
        for i in loop_values(loop):
            r = self.storage[i]
            if r in positions or r in streams:
                continue  # a machine register, known for each tile; a stream tile's own
            if r == loop.rows:
                addr = points.addr + first * points.unit_words
            elif r in gathered:  # its rows of the whole batch's value
                out = self.homes[gathered[r]]
                addr = out.addr + first * (out.size // batch)
                self.homes[i] = self._home_for(i, addr, out.local)
                continue
            elif r in block.spm:
                self.homes[i] = self._home_for(i, block.spm[r], local=True)
                continue
            elif r in local:
                addr = base + block.dram[r]
            else:  # an accumulator kept where its initial value is
                outer = self.homes[r]
                self.homes[i] = self._home_for(i, outer.addr, outer.local)
                continue
            self.homes[i] = self._home_for(i, addr)

    def _loop(self, step: Step) -> None:
        """A `tile.loop`, unrolled: its body lowered once per tile of points, the body's
        values at the same homes in every tile (its rows in the gathered values and the
        points), the exact accumulators in ACC regions that live across the tiles."""
        loop = step.body
        self.in_loop = True
        self.point_step = step
        self.spm_reserved = self.loop_blocks[step.index].spm_words
        in_dram = {}
        for (at_step, i), at in self.shadows.items():
            if at_step == step.index:  # read once into the SPM for every tile
                in_dram[i] = self.homes[i]
                self.load(i, 0, in_dram[i].units, at)
                self.homes[i] = replace(in_dram[i], addr=at, local=True)
        for first, rows in self._tile_rows(step):
            self._set_tile_shapes(step, rows)
            self._home_tile(step, first)
            self.known[loop.first] = first
            self.first_tile = first == 0
            for inner in loop.steps:
                if inner.body is not None:
                    self._stream_loop(inner)
                else:
                    self._lower(inner)
        self.homes |= in_dram
        self.in_loop = False
        self.spm_reserved = 0

    def _stream_loop(self, step: Step) -> None:
        """A loop over tiles of each point's streams, in a point tile's body, unrolled: per
        tile, its streams of every point copied into the body's tile (`copy_streams`), the
        body, and the gathered tiles copied into their streams of the results. Its body's
        values have the same homes in every tile (placed with the point loop's)."""
        loop = step.body
        self.what = self._describe(step)
        source, streams = step.inputs[0], self.shape_of[step.inputs[0]][1]
        gathered = step.outputs[len(loop.carried) :]
        first_point_tile = self.first_tile
        for first in range(0, streams, loop.tile):
            self._home_stream_tile(step, first)
            self.stream_parity = (first // loop.tile) % 2
            self.known[loop.first] = first
            self.first_stream_tile = first == 0
            self.first_tile = first_point_tile and first == 0
            self.copy_streams(source, loop.rows, first, into_tile=True)
            for inner in loop.steps:
                self._lower(inner)
            self.what = self._describe(step)
            for tile_value, whole in zip(loop.gathered, gathered, strict=True):
                self.copy_streams(whole, tile_value, first, into_tile=False)
        self.first_tile = first_point_tile
        self.first_stream_tile = True
        self.stream_parity = None

    def copy_streams(self, whole: int, part: int, first: int, *, into_tile: bool) -> None:
        """Copy streams `first`.. of every point between a per-point value `whole` (N, M, ..)
        and its tile `part` (N, S, ..): one run of words a point, through the SPM's staging
        unless the destination is on chip."""
        points, size, *rest = self.shape_of[part]
        streams = self.shape_of[whole][1]
        words = size * math.prod(rest)
        row = math.prod(rest)
        staging = self.staging()
        buffer = staging.resident(words, f"%{_name(self.plan, part)}: a point's streams")
        for p in range(points):
            w0 = (p * streams + first) * row
            span = (w0, w0 + words)
            tile_span = (p * words, (p + 1) * words)
            src, src_span = (whole, span) if into_tile else (part, tile_span)
            dst, dst_span = (part, tile_span) if into_tile else (whole, span)
            self.dma_words("LOAD", src, *src_span, buffer)
            self.dma_words("STORE", dst, *dst_span, buffer)

    # ------------------------------------------------------------------------------ emitting

    def emit(self, mnemonic: str, note: str, **fields) -> None:
        ins = isa.make(mnemonic, **fields)
        problems = isa.problems(ins)
        if problems:
            field, message = problems[0]
            raise PassError(
                f"{self.what}: cannot express {mnemonic} field '{field}': {message} "
                "(a limit of the PINTA ISA)"
            )
        self.code.append(Emitted(ins, note, self.step_index))

    def dma(self, direction: str, home: Home, u0: int, u1: int, spm: int, note: str) -> None:
        """LOAD or STORE units [u0, u1) of `home`, in chunks of at most MAX_DMA_ROWS rows."""
        line = home.line
        rows = home.rows_of(u1 - u0)
        first_row = home.rows_of(u0)
        done = 0
        while done < rows:
            n = min(rows - done, MAX_DMA_ROWS)
            dram = home.addr + (first_row + done) * line
            sram = spm + done * line
            fields = {"fmt": home.fmt, "rows": n, "cols": line, "stride": line}
            fields["local"] = int(home.local)
            if direction == "LOAD":
                self.emit("LOAD", note, dst=sram, src=dram, **fields)
            else:
                self.emit("STORE", note, dst=dram, src=sram, **fields)
            done += n

    def dma_words(self, direction: str, index: int, w0: int, w1: int, spm: int) -> None:
        """LOAD or STORE words [w0, w1) of a value's home (row-major, contiguous): in rows of
        its last dimension when the range holds whole rows, else in runs of at most
        MAX_DMA_COLS words."""
        home = self.homes[index]
        name = f"%{_name(self.plan, index)}"
        if home.fmt != "f32":
            raise PassError(f"{self.what}: {name} is quantized; PINTA moves it in whole blocks")
        unit = home.unit_words
        if (w0, w1) == (0, home.size):
            note = name
        elif unit and w0 % unit == 0 and w1 % unit == 0:
            note = f"{name}[{w0 // unit}:{w1 // unit}]"
        else:
            note = f"{name} words {w0}:{w1}"
        line = home.line
        if w0 % line or w1 % line or line > MAX_DMA_COLS:
            line = MAX_DMA_COLS  # single rows
        done, total = 0, w1 - w0
        while done < total:
            rows = max(1, min((total - done) // line, MAX_DMA_ROWS))
            cols = min(line, total - done)
            dram, sram = home.addr + w0 + done, spm + done
            fields = {"fmt": "f32", "rows": rows, "cols": cols, "stride": cols}
            fields["local"] = int(home.local)
            if direction == "LOAD":
                self.emit("LOAD", note, dst=sram, src=dram, **fields)
            else:
                self.emit("STORE", note, dst=dram, src=sram, **fields)
            done += rows * cols

    def load(self, index: int, u0: int, u1: int, spm: int) -> None:
        self.dma("LOAD", self.homes[index], u0, u1, spm, self._rows_note(index, u0, u1))

    def on_chip(self, index: int) -> bool:
        """Whether a value's home is in the SPM, where instructions read and write it."""
        return self.homes[index].local

    def at(self, index: int, u0: int) -> int:
        """The SPM address of unit `u0` of a value kept on chip."""
        home = self.homes[index]
        return home.addr + home.rows_of(u0) * home.line

    def operand(self, index: int, u0: int, u1: int, spm: int) -> int:
        """Where an instruction reads units [u0, u1) of a value: in place on chip, else
        loaded into the staging buffer `spm`."""
        if self.on_chip(index):
            return self.at(index, u0)
        self.load(index, u0, u1, spm)
        return spm

    def result_at(self, index: int, u0: int, spm: int) -> int:
        """Where an instruction writes units from `u0` of a value: in place on chip, else
        the staging buffer `spm` (then `keep`)."""
        return self.at(index, u0) if self.on_chip(index) else spm

    def keep(self, index: int, u0: int, u1: int, spm: int) -> None:
        """Store units [u0, u1) of a value from `spm` unless they were written in place."""
        if not (self.on_chip(index) and spm == self.at(index, u0)):
            self.store(index, u0, u1, spm)

    def store(self, index: int, u0: int, u1: int, spm: int) -> None:
        self.dma("STORE", self.homes[index], u0, u1, spm, self._rows_note(index, u0, u1))

    def _rows_note(self, index: int, u0: int, u1: int) -> str:
        home = self.homes[index]
        name = f"%{_name(self.plan, index)}"
        if home.units <= 1 or (u0 == 0 and u1 == home.units):
            return name
        return f"{name}[{u0}:{u1}]"

    def const(self, value: float) -> int:
        return self.pool.add(value)

    # ------------------------------------------------------------------------------ tiling

    def tiles(
        self,
        units: int,
        staging: Staging,
        per_unit: dict[str, int],
        *,
        per_tile: dict[str, int] | None = None,
        align: int = 1,
        max_units: int | None = None,
        acc_per_unit: int = 0,
    ) -> list[Tile]:
        """Split [0, units) into tiles whose buffers (`per_tile` words, then `per_unit` words
        a unit, in order) fit in a half of the SPM, successive tiles alternating halves
        (double buffering); when one unit does not fit in a half, tiles take the whole free
        SPM one after the other."""
        per_tile = per_tile or {}
        fixed = sum(per_tile.values())
        words = sum(per_unit.values())

        def fitting(space: int, acc_space: int) -> int:
            space -= fixed
            limit = space // words if words else units
            if acc_per_unit:
                limit = min(limit, acc_space // acc_per_unit)
            if max_units is not None:
                limit = min(limit, max_units)
            if limit < units:
                limit -= limit % align
            return limit if limit >= 1 and (limit >= units or limit >= align) else 0

        double = True
        limit = fitting(staging.half, staging.acc_half)
        if not limit:
            double = False
            limit = fitting(2 * staging.half, 2 * staging.acc_half)
        if not limit:
            smallest = min(units, align)
            raise staging.too_small(fixed + words * smallest, acc_per_unit * smallest)
        out = []
        u0 = 0
        while u0 < units:
            u1 = min(units, u0 + limit)
            parity = self.parity if double else 0
            base = staging.half_base(parity)
            spm = {}
            for name, w in (*per_tile.items(), *((n, w * (u1 - u0)) for n, w in per_unit.items())):
                spm[name] = base
                base += w
            acc = staging.acc_base(parity)
            out.append(Tile(u0, u1, spm, acc, first=u0 == 0, last=u1 >= units))
            if double:
                self.parity ^= 1
            u0 = u1
        return out

    def resident_load(self, staging: Staging, index: int) -> int:
        """A whole value for the op: in place on chip, else loaded into a buffer that stays
        for the op; its SPM address."""
        home = self.homes[index]
        if home.local:
            return home.addr
        at = staging.resident(max(1, home.size), f"%{_name(self.plan, index)}")
        self.load(index, 0, home.units, at)
        return at

    # ------------------------------------------------------------------------------ the step

    def run(self) -> tuple[list[HostTensor], int, list[Emitted]]:
        dram_words = self._place()
        self._check_accumulators()
        for step in self.plan.steps:
            self.step_index = step.index
            if step.body is not None:
                self._loop(step)
            else:
                self._lower(step)
        self.step_index = len(self.plan.steps)
        self.code.append(Emitted(isa.make("HALT"), "end of the step", self.step_index))
        self._check_capacity(dram_words)
        return self.host, dram_words, self.code

    def values_fit_dram(self) -> bool:
        """Whether the step's values have room in the DRAM (the constant pool aside)."""
        return self._place() <= self.memories["dram"].words

    def body_values_on_chip(self) -> bool:
        """Whether every loop body keeps all its values in the SPM (after `_place`)."""
        return all(not block.dram for block in self.loop_blocks.values())

    def body_dram_words(self) -> int:
        """The DRAM words the loop bodies keep values in (after `_place`)."""
        return sum(block.dram_words for block in self.loop_blocks.values())

    def accumulators_fit(self) -> bool:
        return self._accumulator_peak()[0] <= self.memories["acc"].words

    def _accumulator_peak(self) -> tuple[int, Step | None]:
        """The most accumulators the loops' exact sums take at once, each in the ACC from its
        `tile.zero` to its `tile.round`, and the step where that is reached."""
        live = peak = 0
        where = None
        for step in self.plan.steps:
            if isinstance(step.op, tile_ops.ZeroOp) and isinstance(
                self._type(step.outputs[0]), tile_ops.ExactType
            ):
                live += math.prod(self.shape_of[step.outputs[0]])
                if live > peak:
                    peak, where = live, step
            elif isinstance(step.op, tile_ops.RoundOp):
                live -= math.prod(self.shape_of[step.outputs[0]])
        return peak, where

    def _check_accumulators(self) -> None:
        """The loops' exact sums fit in the ACC together: else the error names the most at
        once."""
        peak, where = self._accumulator_peak()
        acc = self.memories["acc"]
        if peak > acc.words:
            raise PassError(
                f"@{self.plan.name}: the exact sums carried across the tiles of its loops need "
                f"{peak} accumulators ({acc.size_of(peak)} bytes) of the ACC at once but PINTA "
                f"has {acc.words} ({acc.size} bytes); " + acc.remedy(peak),
                where.op,
            )

    def _lower(self, step: Step) -> None:
        """The instructions of one step (of the function, or of a loop body for one tile)."""
        self.what = self._describe(step)
        rule = RULES.get(type(step.op))
        if rule is None and activation_of(type(step.op)) is not None:
            rule = _activation
        if rule is None:
            raise PassError(
                f"lower-to-pinta: no PINTA lowering for '{step.op.name}' ({self.what})",
                step.op,
            )
        if not self.in_loop and _reads_tile_position(step.op):
            raise PassError(
                f"lower-to-pinta: {self.what} works on a tile of a larger batch (its "
                "'at' or 'over' operand) outside a tile.loop",
                step.op,
            )
        try:
            rule(self, step)
        except PassError as e:
            if e.op is None:
                e.op = step.op  # locate the message at the op in the source
            raise

    def staging(self) -> Staging:
        """The SPM and ACC an op has: the ACC above the loops' live accumulators."""
        staging = Staging(self.memories["spm"], self.memories["acc"], self.what)
        staging.spm_used = self.spm_reserved if self.in_loop else self.top_spm[self.step_index]
        staging.acc_used = max(
            (at + self.acc_alloc.sizes[at] for at in self.acc_alloc.starts), default=0
        )
        if self.stream_parity is not None:
            # tiles of streams alternate halves: a tile's buffers are not the previous one's
            staging.part(self.stream_parity, 2)
        return staging

    def reserve_accumulators(self, root: int, words: int) -> int:
        """An ACC region for a loop's exact accumulator, kept until `release_accumulators`."""
        at = self.acc_alloc.allocate(max(1, words))  # fits: `_check_accumulators`
        self.acc_regions[root] = at
        return at

    def position(self, value) -> int:
        """The number an op's `at` or `over` operand holds (a tile's first row, a batch's rows)."""
        return self.known[self.index[value]]

    def release_accumulators(self, root: int) -> None:
        self.acc_alloc.free(self.acc_regions.pop(root))

    def _check_capacity(self, dram_words: int) -> None:
        """The constant pool fits the constant buffer, and the values with the pool after
        them fit the DRAM."""
        const, dram = self.memories["const"], self.memories["dram"]
        if len(self.pool) > const.words:
            raise PassError(
                f"@{self.plan.name}: the constant pool has {len(self.pool)} entries but the "
                f"constant buffer holds {const.words}; " + const.remedy(len(self.pool))
            )
        need = dram_words + self.pool.words().size
        if need > dram.words:
            raise PassError(
                f"@{self.plan.name}: the program's values and constant pool need "
                f"{dram.size_of(need)} bytes of DRAM but PINTA has {dram.size}; "
                + dram.remedy(need)
            )

    def _describe(self, step: Step) -> str:
        outs = ", ".join(f"%{_name(self.plan, o)}" for o in step.outputs)
        return f"'{step.op.name}' computing {outs}" if outs else f"'{step.op.name}'"

    def home(self, index: int) -> Home:
        return self.homes[index]


def _tile_positions(loop) -> set[int]:
    """The first rows (streams) of the tiles of a loop and of the loops nested in it."""
    firsts = {loop.first}
    for step in loop.steps:
        if step.body is not None:
            firsts |= _tile_positions(step.body)
    return firsts


def _reads_tile_position(op: Operation) -> bool:
    """Whether `op` takes its tile's place in a batch (`at %first`, `over %n`)."""
    if isinstance(op, stein.SampleOp | train.SampleCoordinatesOp | smx.QuantizeOp):
        return op.first is not None
    return isinstance(op, train.MeanSquareGradOp) and op.count is not None


Rule = Callable[[StepLowering, Step], None]
RULES: dict[type[Operation], Rule] = {}


def rule(*op_types: type[Operation]):
    def register(fn: Rule) -> Rule:
        for t in op_types:
            RULES[t] = fn
        return fn

    return register


# ---------------------------------------------------------------------------------- helpers


def _rowwise(
    lo: StepLowering,
    step: Step,
    tiled_inputs: Sequence[int],
    resident_inputs: Sequence[int],
    outputs: Sequence[int],
    body: Callable[[Tile, dict[int, int], dict[int, int]], None],
    *,
    scratch: int = 0,
    align: int = 1,
    max_units: int | None = None,
    acc_per_unit: int = 0,
    inplace: dict[int, int] | None = None,
) -> None:
    """An op whose outputs' units depend on the same units of `tiled_inputs` only: load
    the residents once, then per tile load the inputs, run `body(tile, spm of inputs and
    residents, spm of outputs)` and store the outputs. `inplace` maps outputs to the tiled
    input whose buffer they overwrite (elementwise instructions)."""
    inplace = inplace or {}
    staging = lo.staging()
    resident = {i: lo.resident_load(staging, i) for i in dict.fromkeys(resident_inputs)}
    # values on chip are read and written in place, but for an input an output overwrites
    # whose home it does not share (it gets a copy to overwrite)
    overwritten = {i for o, i in inplace.items() if lo.storage[o] != lo.storage[i]}
    staged_in = [i for i in tiled_inputs if not lo.on_chip(i) or i in overwritten]
    staged_out = [o for o in outputs if o not in inplace and not lo.on_chip(o)]
    units = lo.home(outputs[0]).units
    per_unit = {
        f"in{k}": lo.home(i).unit_words for k, i in enumerate(tiled_inputs) if i in staged_in
    }
    per_unit |= {f"out{k}": lo.home(o).unit_words for k, o in enumerate(outputs) if o in staged_out}
    if scratch:
        per_unit["scratch"] = scratch
    # the vector unit's instructions take at most MAX_VECTOR_ROWS rows of the output
    out = lo.home(outputs[0])
    rows_limit = max(1, MAX_VECTOR_ROWS * out.line // max(1, out.unit_words))
    max_units = rows_limit if max_units is None else min(max_units, rows_limit)
    for tile in lo.tiles(
        units, staging, per_unit, align=align, max_units=max_units, acc_per_unit=acc_per_unit
    ):
        spm_in = dict(resident)
        for k, i in enumerate(tiled_inputs):
            if i in staged_in:
                spm_in[i] = tile.spm[f"in{k}"]
                lo.load(i, tile.u0, tile.u1, spm_in[i])
            else:
                spm_in[i] = lo.at(i, tile.u0)
        spm_out = {
            o: spm_in[inplace[o]] if o in inplace else tile.spm[f"out{k}"]
            for k, o in enumerate(outputs)
            if o in inplace or o in staged_out
        }
        spm_out |= {o: lo.at(o, tile.u0) for o in outputs if o not in spm_out}
        body(tile, spm_in, spm_out)
        for o in outputs:
            lo.keep(o, tile.u0, tile.u1, spm_out[o])


def _sfu_dims(rows: int, cols: int) -> tuple[int, int, int]:
    """rows x cols elements as SFU (rows, streams, cols) within the field limits."""
    width = next(c for c in range(min(cols, MAX_SFU_COLS), 0, -1) if cols % c == 0)
    lines = rows * (cols // width)
    streams = next(
        (s for s in range(1, MAX_SFU_STREAMS + 1) if lines % s == 0 and lines // s <= MAX_SFU_ROWS),
        None,
    )
    if streams is None:
        raise ValueError(f"{rows} x {cols} elements do not fit one SFU instruction")
    return lines // streams, streams, width


def _sfu_max_rows(cols: int) -> int:
    width = next(c for c in range(min(cols, MAX_SFU_COLS), 0, -1) if cols % c == 0)
    return max(1, MAX_SFU_ROWS * MAX_SFU_STREAMS // (cols // width))


# ---------------------------------------------------------------------------------- rules


VIEWS = (train.FlattenOp, train.UnflattenOp, smx.DequantizeOp)
_ACCUMULATIONS = (
    tile_ops.AccumulateGemmOp,
    tile_ops.AccumulateRowsOp,
    tile_ops.AccumulateStreamsOp,
)


def permute_axes(
    size: int, shape: Sequence[int], perm: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The data movement of `train.permute` on `size` elements viewed as `shape` (a -1: the
    rest) with axes `perm`, on the fewest axes: (extents of the source's axes, the source
    axis each result axis runs along). Axes of extent 1 go, and result axes that run along
    consecutive source axes in order merge into one; the identity means a reshape."""
    known = math.prod(d for d in shape if d != -1)
    full = [size // known if d == -1 else d for d in shape]
    kept = {old: new for new, old in enumerate(i for i, d in enumerate(full) if d != 1)}
    extent = [d for d in full if d != 1]
    groups: list[list[int]] = []  # runs of consecutive source axes, in result order
    for axis in (kept[p] for p in perm if p in kept):
        if groups and groups[-1][-1] + 1 == axis:
            groups[-1].append(axis)
        else:
            groups.append([axis])
    by_source = sorted(range(len(groups)), key=lambda g: groups[g][0])
    extents = tuple(math.prod(extent[a] for a in groups[g]) for g in by_source)
    position = {g: i for i, g in enumerate(by_source)}
    return extents or (1,), tuple(position[g] for g in range(len(groups))) or (0,)


def _permute_of(lo: StepLowering, step: Step) -> tuple[tuple[int, ...], tuple[int, ...]]:
    size = math.prod(lo.shape_of[step.inputs[0]])
    return permute_axes(size, step.params["shape"], step.params["perm"])


def is_reshape(lo: StepLowering, step: Step) -> bool:
    """A `train.permute` that moves no data: a view of its row-major operand."""
    if not isinstance(step.op, train.PermuteOp):
        return False
    _, axes = _permute_of(lo, step)
    return axes == tuple(range(len(axes)))


@rule(*VIEWS)
def _view(lo: StepLowering, step: Step) -> None:
    """A view: the result shares its operand's home (see `memory.py`); no instructions."""


@rule(train.PermuteOp)
def _permute(lo: StepLowering, step: Step) -> None:
    """A reshape is a view (no instructions); a transpose of axes streams through the SPM in
    tiles along the result's leading axis, one PERM per tile. A tile's source is one block of
    that axis: contiguous when it is the source's leading axis, else one strided LOAD."""
    if is_reshape(lo, step):
        return
    (x,), (out,) = step.inputs, step.outputs
    extents, axes = _permute_of(lo, step)
    if len(extents) > isa.PERM_AXES:
        raise PassError(
            f"{lo.what}: the permutation moves {len(extents)} separate axes "
            f"(extents {list(extents)}, order {list(axes)}); a PINTA PERM moves at most "
            f"{isa.PERM_AXES}"
        )
    a = axes[0]  # the source axis the result's leading axis runs along
    outer, inner = math.prod(extents[:a]), math.prod(extents[a + 1 :])
    unit = outer * inner  # words per index along axis a, in the source and in the result
    hx, hout = lo.home(x), lo.home(out)
    staging = lo.staging()
    # tiles of whole rows of the result (and of the source when it is read contiguously),
    # where such tiles fit in half the SPM; other tiles take more, shorter DMAs
    rows = math.lcm(hx.line, hout.line) if a == 0 else hout.line
    align = rows // math.gcd(rows, unit)
    if align * 2 * unit > staging.half:
        align = 1
    max_units = MAX_PERM_EXTENT if a == 0 else min(MAX_PERM_EXTENT, MAX_DMA_COLS // inner)
    note = f"%{_name(lo.plan, out)}"
    pad = isa.PERM_AXES - len(extents)
    for tile in lo.tiles(
        extents[a], staging, {"x": unit, "y": unit}, align=align, max_units=max(1, max_units)
    ):
        if outer == 1:  # a contiguous block of the source
            lo.dma_words("LOAD", x, tile.u0 * inner, tile.u1 * inner, tile.spm["x"])
        elif tile.n == extents[a]:  # the whole source
            lo.dma_words("LOAD", x, 0, hx.size, tile.spm["x"])
        else:  # the block's runs, one per index of the axes before a
            stride = extents[a] * inner
            _load_columns(lo, x, outer, stride, tile.u0 * inner, tile.n * inner, tile.spm["x"])
        block = (*extents[:a], tile.n, *extents[a + 1 :])
        fields = {f"n{i}": e for i, e in enumerate((1,) * pad + block)}
        fields |= {f"p{i}": p for i, p in enumerate((*range(pad), *(pad + q for q in axes)))}
        lo.emit("PERM", note, dst=tile.spm["y"], src=tile.spm["x"], **fields)
        lo.dma_words("STORE", out, tile.u0 * unit, tile.u1 * unit, tile.spm["y"])


def _load_columns(
    lo: StepLowering, index: int, rows: int, stride: int, start: int, cols: int, spm: int
) -> None:
    """LOAD columns [start, start + cols) of a home viewed as a rows x stride matrix."""
    home = lo.home(index)
    note = f"%{_name(lo.plan, index)} as {rows}x{stride}, columns {start}:{start + cols}"
    done = 0
    while done < rows:
        n = min(rows - done, MAX_DMA_ROWS)
        lo.emit(
            "LOAD",
            note,
            fmt="f32",
            dst=spm + done * cols,
            src=home.addr + start + done * stride,
            rows=n,
            cols=cols,
            stride=stride,
            local=int(home.local),
        )
        done += n


@rule(pinn.ConstantOp)
def _constant(lo: StepLowering, step: Step) -> None:
    (out,) = step.outputs
    home = lo.home(out)
    staging = lo.staging()
    at = staging.resident(max(1, home.size), f"%{_name(lo.plan, out)}")
    rows, cols = max(1, home.rows_of(home.units)), home.line
    entry = lo.const(step.params["value"])
    lo.emit("VEC", f"%{_name(lo.plan, out)}", op="fill", dst=at, rows=rows, cols=cols, const=entry)
    lo.store(out, 0, home.units, at)


_VEC_BINARY = {arith.AddfOp: "add", arith.SubfOp: "sub", arith.MulfOp: "mul", arith.DivfOp: "div"}


@rule(arith.AddfOp, arith.SubfOp, arith.MulfOp, arith.DivfOp, arith.NegfOp)
def _elementwise(lo: StepLowering, step: Step) -> None:
    """VEC per tile. An operand with one entry of the leading dimension broadcasts along it, as
    in NumPy: a `pinn.constant` is filled per tile, another value (computed from constants) is
    its one entry repeated by a LOAD of stride 0."""
    (out,) = step.outputs
    shape = lo.shape_of[out]
    home = lo.home(out)
    note = f"%{_name(lo.plan, out)}"
    tiled, broadcast = [], []
    for i in step.inputs:
        if lo.shape_of[i] == shape:
            tiled.append(i)
        elif isinstance(lo.producer_op[i], pinn.ConstantOp) or lo.shape_of[i] == (1, *shape[1:]):
            broadcast.append(i)
        else:
            raise PassError(
                f"{lo.what}: operands of shapes {lo.shape_of[i]} and {shape}; PINTA's vector "
                "unit broadcasts only a pinn.constant or one entry of the leading dimension"
            )
    if home.unit_words > MAX_DMA_COLS and any(
        not isinstance(lo.producer_op[i], pinn.ConstantOp) for i in broadcast
    ):
        raise PassError(
            f"{lo.what}: an entry of {home.unit_words} words to broadcast; a PINTA LOAD "
            f"repeats at most {MAX_DMA_COLS}"
        )
    op = _VEC_BINARY.get(type(step.op), "neg")

    def body(tile: Tile, spm_in: dict[int, int], spm_out: dict[int, int]) -> None:
        rows, cols = home.rows_of(tile.n), home.line
        addr = dict(spm_in)
        for k, i in enumerate(dict.fromkeys(broadcast)):
            addr[i] = tile.spm["scratch"] + k * tile.n * home.unit_words
            producer = lo.producer_op[i]
            if isinstance(producer, pinn.ConstantOp):
                value = producer.value.value.data
                lo.emit(
                    "VEC",
                    f"{note}: constant {value}",
                    op="fill",
                    dst=addr[i],
                    rows=rows,
                    cols=cols,
                    const=lo.const(value),
                )
            else:
                source = lo.home(i)
                lo.emit(
                    "LOAD",
                    f"{note}: %{_name(lo.plan, i)} repeated",
                    fmt=source.fmt,
                    dst=addr[i],
                    src=source.addr,
                    rows=tile.n,
                    cols=home.unit_words,
                    stride=0,
                    local=int(source.local),
                )
        a = addr[step.inputs[0]]
        b = addr[step.inputs[1]] if len(step.inputs) > 1 else 0
        lo.emit("VEC", note, op=op, dst=spm_out[out], a=a, b=b, rows=rows, cols=cols)

    scratch = home.unit_words * len(dict.fromkeys(broadcast))
    _rowwise(lo, step, tiled, [], [out], body, scratch=scratch)


@rule(train.ScaleOp)
def _scale(lo: StepLowering, step: Step) -> None:
    (x,), (out,) = step.inputs, step.outputs
    home = lo.home(out)
    factor = lo.const(step.params["factor"])

    def body(tile, spm_in, spm_out):
        lo.emit(
            "VEC",
            f"%{_name(lo.plan, out)}",
            op="scale",
            dst=spm_out[out],
            a=spm_in[x],
            rows=home.rows_of(tile.n),
            cols=home.line,
            const=factor,
        )

    _rowwise(lo, step, [x], [], [out], body)


@rule(train.BiasAddOp)
def _bias_add(lo: StepLowering, step: Step) -> None:
    (x, bias), (out,) = step.inputs, step.outputs
    home = lo.home(out)

    def body(tile, spm_in, spm_out):
        lo.emit(
            "VEC",
            f"%{_name(lo.plan, out)}",
            op="bias_add",
            dst=spm_out[out],
            a=spm_in[x],
            b=spm_in[bias],
            rows=home.rows_of(tile.n),
            cols=home.line,
        )

    _rowwise(lo, step, [x], [bias], [out], body)


def _activation(lo: StepLowering, step: Step) -> None:
    (x,), (out,) = step.inputs, step.outputs
    home = lo.home(out)
    fn = activation_of(type(step.op)).name

    def body(tile, spm_in, spm_out):
        rows, streams, cols = _sfu_dims(home.rows_of(tile.n), home.line)
        lo.emit(
            "SFU",
            f"%{_name(lo.plan, out)}",
            fn=fn,
            kind="apply",
            dst=spm_out[out],
            a=spm_in[x],
            rows=rows,
            streams=streams,
            cols=cols,
        )

    _rowwise(lo, step, [x], [], [out], body, max_units=_sfu_max_rows(home.line))


@rule(train.ActivationGradOp)
def _activation_grad(lo: StepLowering, step: Step) -> None:
    (saved, dy), (out,) = step.inputs, step.outputs
    home = lo.home(out)

    def body(tile, spm_in, spm_out):
        rows, streams, cols = _sfu_dims(home.rows_of(tile.n), home.line)
        lo.emit(
            "SFU",
            f"%{_name(lo.plan, out)}",
            fn=step.params["activation"],
            kind="grad",
            dst=spm_out[out],
            a=spm_in[saved],
            b=spm_in[dy],
            rows=rows,
            streams=streams,
            cols=cols,
        )

    _rowwise(lo, step, [saved, dy], [], [out], body, max_units=_sfu_max_rows(home.line))


@rule(pinn.SumOp, pinn.SliceOp, train.ExpandColumnsOp)
def _columns(lo: StepLowering, step: Step) -> None:
    (x,), (out,) = step.inputs, step.outputs
    p = step.params
    if isinstance(step.op, train.ExpandColumnsOp):
        op, cols = "expand_columns", p["width"]
        if lo.home(x).line == 1 and p["hi"] - p["lo"] > 1:
            _expand_one_column(lo, step)
            return
    else:
        op = "colrange_sum" if isinstance(step.op, pinn.SumOp) else "colslice"
        cols = lo.home(x).line

    def body(tile, spm_in, spm_out):
        lo.emit(
            "VCOL",
            f"%{_name(lo.plan, out)}",
            op=op,
            dst=spm_out[out],
            a=spm_in[x],
            rows=tile.n,
            cols=cols,
            lo=p["lo"],
            hi=p["hi"],
        )

    _rowwise(lo, step, [x], [], [out], body)


def _expand_one_column(lo: StepLowering, step: Step) -> None:
    """`train.expand_columns` of one column, which it broadcasts across columns [lo, hi) (the
    gradient of `pinn.sum`). Per tile of n rows: a LOAD of stride 0 repeats the column's n
    words as hi - lo rows, a PERM transposes them to n rows of hi - lo copies, and a VCOL
    places those in the result's columns (the PERM writes the result itself when the range
    is all of it). Values are moved, never computed, as NumPy's broadcast moves them."""
    (x,), (out,) = step.inputs, step.outputs
    p = step.params
    width, cols = p["hi"] - p["lo"], p["width"]
    hx = lo.home(x)
    note = f"%{_name(lo.plan, out)}"
    if hx.fmt != "f32":
        raise PassError(f"{lo.what}: %{_name(lo.plan, x)} is quantized; PINTA moves it in blocks")
    if width > MAX_DMA_ROWS or width > MAX_PERM_EXTENT:
        raise PassError(
            f"{lo.what}: one column broadcast across {width} columns; a PINTA LOAD repeats it "
            f"at most {min(MAX_DMA_ROWS, MAX_PERM_EXTENT)} times"
        )
    whole = width == cols
    scratch = width if whole else 2 * width
    max_units = min(MAX_DMA_COLS, MAX_PERM_EXTENT)  # the LOAD's columns, the PERM's n1

    def body(tile, spm_in, spm_out):
        repeated = tile.spm["scratch"]
        copies = spm_out[out] if whole else repeated + tile.n * width
        lo.emit(
            "LOAD",
            f"{note}: %{_name(lo.plan, x)}[{tile.u0}:{tile.u1}] repeated {width} times",
            fmt="f32",
            dst=repeated,
            src=hx.addr + tile.u0,
            rows=width,
            cols=tile.n,
            stride=0,
            local=int(hx.local),
        )
        lo.emit("PERM", note, dst=copies, src=repeated, n0=width, n1=tile.n, p0=1, p1=0)
        if not whole:
            lo.emit(
                "VCOL",
                note,
                op="expand_columns",
                dst=spm_out[out],
                a=copies,
                rows=tile.n,
                cols=cols,
                lo=p["lo"],
                hi=p["hi"],
            )

    _rowwise(lo, step, [], [], [out], body, scratch=scratch, max_units=max_units)


@rule(smx.QuantizeOp)
def _quantize(lo: StepLowering, step: Step) -> None:
    x, out = step.inputs[0], step.outputs[0]
    home = lo.home(out)
    p = step.params
    brows, bcols = p["block"]
    rows_total, cols = home.rows_of(home.units), home.line
    if len(home.shape) != 2:
        raise PassError(f"{lo.what}: PINTA quantizes matrices, got shape {home.shape}")
    fields = {}
    if p["rounding"] == "stochastic":
        transposed = bcols == 1 and brows > 1
        fields = {"stream": p["stream"], "tensor_cols": rows_total if transposed else cols}
    # a tile of a larger batch draws from its first point's elements on
    op = step.op
    first = 0 if op.first is None else lo.position(op.first) * p["per_point"]
    staging = lo.staging()
    per_unit = {} if lo.on_chip(out) else {"x": cols}
    for tile in lo.tiles(home.units, staging, per_unit, align=brows, max_units=MAX_QUANT_ROWS):
        # QUANT works in place: the tile of x, copied where q lives, becomes the tile of q
        buf = lo.result_at(out, tile.u0, tile.spm.get("x", 0))
        lo.load(x, tile.u0, tile.u1, buf)
        if fields:
            fields["elem_offset"] = first + (tile.u0 if transposed else tile.u0 * cols)
        lo.emit(
            "QUANT",
            f"%{_name(lo.plan, out)}",
            addr=buf,
            rows=tile.n,
            cols=cols,
            bits=p["bits"],
            brows=brows,
            bcols=bcols,
            rounding=p["rounding"],
            **fields,
        )
        lo.keep(out, tile.u0, tile.u1, buf)


@rule(train.GemmOp)
def _gemm(lo: StepLowering, step: Step) -> None:
    (a, b), (out,) = step.inputs, step.outputs
    ta, tb = step.params["transpose_a"], step.params["transpose_b"]
    ha, hb, hout = lo.home(a), lo.home(b), lo.home(out)
    m, n = hout.shape
    k = ha.shape[0] if ta else ha.shape[1]
    note = f"%{_name(lo.plan, out)}"
    if n > MAX_GEMM_N:
        raise PassError(f"{lo.what}: {n} output columns; a PINTA GEMM has at most {MAX_GEMM_N}")
    prec = {"prec_a": ha.prec, "prec_b": hb.prec}
    staging = lo.staging()
    if not ta:
        # rows of A and of the result in tiles; B stays
        b_at = lo.resident_load(staging, b)
        per_unit = {} if lo.on_chip(a) else {"a": k}
        per_unit |= {} if lo.on_chip(out) else {"out": n}
        for tile in lo.tiles(m, staging, per_unit, acc_per_unit=n, max_units=MAX_GEMM_MK):
            a_at = lo.operand(a, tile.u0, tile.u1, tile.spm.get("a", 0))
            lo.emit(
                "GEMM",
                note,
                acc=tile.acc,
                a=a_at,
                b=b_at,
                m=tile.n,
                k=k,
                n=n,
                ta=0,
                tb=int(tb),
                init=1,
                **prec,
            )
            out_at = lo.result_at(out, tile.u0, tile.spm.get("out", 0))
            lo.emit("ACCRD", note, dst=out_at, acc=tile.acc, m=tile.n, n=n)
            lo.keep(out, tile.u0, tile.u1, out_at)
        return
    if tb:
        raise PassError(f"{lo.what}: a GEMM with both operands transposed has no PINTA tiling")
    # the reduction runs along the rows of A and B: accumulate their tiles in the ACC
    acc = staging.resident_acc(m * n, note)
    out_at = lo.at(out, 0) if lo.on_chip(out) else staging.resident(m * n, note)
    _accumulate_rows_product(lo, staging, a, b, (m, n), acc, note, start=True)
    lo.emit("ACCRD", note, dst=out_at, acc=acc, m=m, n=n)
    lo.keep(out, 0, hout.units, out_at)


def _accumulate_rows_product(
    lo: StepLowering,
    staging: Staging,
    a: int,
    b: int,
    shape: tuple[int, int],
    acc: int,
    note: str,
    *,
    start: bool,
) -> None:
    """GEMMs adding aᵀ·b, in tiles of their common rows, to the m x n ACC region at `acc`;
    the first starts the region when `start`."""
    m, n = shape
    ha, hb = lo.home(a), lo.home(b)
    prec = {"prec_a": ha.prec, "prec_b": hb.prec}
    per_unit = {name: w for name, v, w in (("a", a, m), ("b", b, n)) if not lo.on_chip(v)}
    for tile in lo.tiles(ha.shape[0], staging, per_unit, max_units=MAX_GEMM_MK):
        a_at = lo.operand(a, tile.u0, tile.u1, tile.spm.get("a", 0))
        b_at = lo.operand(b, tile.u0, tile.u1, tile.spm.get("b", 0))
        lo.emit(
            "GEMM",
            f"{note} += rows {tile.u0}:{tile.u1}",
            acc=acc,
            a=a_at,
            b=b_at,
            m=m,
            k=tile.n,
            n=n,
            ta=1,
            tb=0,
            init=int(start and tile.first),
            **prec,
        )


@rule(train.ColumnSumOp)
def _column_sum(lo: StepLowering, step: Step) -> None:
    (x,), (out,) = step.inputs, step.outputs
    _running_column_sum(lo, x, out, None)


def _running_column_sum(lo: StepLowering, x: int, out: int, running: int | None) -> None:
    """out = the column sum of x's rows added in order, continuing the sum in `running`
    (unless None, or this is a loop's first tile: then x's rows alone)."""
    rows, cols = lo.home(x).shape
    _running_sums(lo, x, out, running, running is None or lo.first_tile, 1, rows, cols)


def _running_sums(
    lo: StepLowering,
    x: int,
    out: int,
    running: int | None,
    start: bool,
    groups: int,
    rows: int,
    cols: int,
) -> None:
    """out (groups x cols) = each group's column sum of its `rows` rows of x (groups x rows
    x cols), added in order by RED colsums reading x in place on chip, continuing `running`
    unless `start`."""
    note = f"%{_name(lo.plan, out)}"
    staging = lo.staging()
    total = staging.resident(groups * cols, note)
    if not start:
        lo.load(running, 0, lo.home(running).units, total)
    per_unit = {} if lo.on_chip(x) else {"x": cols}
    for group in range(groups):
        for tile in lo.tiles(rows, staging, per_unit, max_units=MAX_VECTOR_ROWS):
            w0 = (group * rows + tile.u0) * cols
            if lo.on_chip(x):
                src = lo.home(x).addr + w0
            else:
                src = tile.spm["x"]
                lo.dma_words("LOAD", x, w0, w0 + tile.n * cols, src)
            lo.emit(
                "RED",
                note if groups == 1 else f"{note}: point {group}",
                kind="colsum",
                dst=total + group * cols,
                src=src,
                rows=tile.n,
                cols=cols,
                init=int(start and tile.first),
            )
    lo.store(out, 0, lo.home(out).units, total)


# ------------------------------------------------------------------------------ tile


@rule(tile_ops.RowsOp)
def _rows(lo: StepLowering, step: Step) -> None:
    """A batch's rows: a number the program knows; no instructions."""
    lo.known[step.outputs[0]] = lo.shape_of[step.inputs[0]][0]


@rule(tile_ops.ZeroOp)
def _zero(lo: StepLowering, step: Step) -> None:
    """An exact accumulator takes an ACC region until it is rounded. A running column sum
    needs nothing: the loop's first tile starts it (the −0.0 start adds nothing)."""
    (out,) = step.outputs
    if isinstance(lo._type(out), tile_ops.ExactType):
        lo.reserve_accumulators(lo.storage[out], math.prod(lo.shape_of[out]))


@rule(tile_ops.AccumulateGemmOp)
def _accumulate_gemm(lo: StepLowering, step: Step) -> None:
    """aᵀ·b of a tile added to the accumulator's ACC region, started by the first tile."""
    (acc, a, b), (out,) = step.inputs, step.outputs
    if not step.params["transpose_a"] or step.params["transpose_b"]:
        raise PassError(
            f"{lo.what}: PINTA accumulates across tiles products reduced over the tile's "
            "rows (transpose_a) only"
        )
    region = lo.acc_regions[lo.storage[acc]]
    shape = lo.shape_of[out]
    note = f"%{_name(lo.plan, out)}"
    _accumulate_rows_product(lo, lo.staging(), a, b, shape, region, note, start=lo.first_tile)


@rule(tile_ops.RoundOp)
def _round(lo: StepLowering, step: Step) -> None:
    """The exact sum rounded once (ACCRD); its ACC region is free again."""
    (acc,), (out,) = step.inputs, step.outputs
    root = lo.storage[acc]
    m, n = lo.shape_of[out]
    note = f"%{_name(lo.plan, out)}"
    out_at = lo.staging().resident(m * n, note)
    lo.emit("ACCRD", note, dst=out_at, acc=lo.acc_regions[root], m=m, n=n)
    lo.store(out, 0, lo.home(out).units, out_at)
    lo.release_accumulators(root)


@rule(tile_ops.AccumulateRowsOp)
def _accumulate_rows(lo: StepLowering, step: Step) -> None:
    (acc, x), (out,) = step.inputs, step.outputs
    _running_column_sum(lo, x, out, acc)


@rule(tile_ops.AccumulateStreamsOp)
def _accumulate_streams(lo: StepLowering, step: Step) -> None:
    """Each point's running sum over its streams: a RED colsum of its streams' rows in order,
    continuing the point's row of the sum (started by the first tile of streams)."""
    (acc, x), (out,) = step.inputs, step.outputs
    points, streams, cols = lo.shape_of[x]
    _running_sums(lo, x, out, acc, lo.first_stream_tile, points, streams, cols)


@rule(tile_ops.SliceOp)
def _slice(lo: StepLowering, step: Step) -> None:
    """A tile of each point's streams of a per-point value, copied point by point."""
    (whole, first), (out,) = step.inputs, step.outputs
    lo.copy_streams(whole, out, lo.known[first], into_tile=True)


def _whole(lo: StepLowering, inputs: Sequence[int]) -> tuple[Staging, dict[int, int]]:
    staging = lo.staging()
    return staging, {i: lo.resident_load(staging, i) for i in dict.fromkeys(inputs)}


@rule(train.MeanSquareOp)
def _mean_square(lo: StepLowering, step: Step) -> None:
    (x,), (out,) = step.inputs, step.outputs
    staging, at = _whole(lo, [x])
    dst = staging.resident(1, f"%{_name(lo.plan, out)}")
    hx = lo.home(x)
    lo.emit(
        "RED",
        f"%{_name(lo.plan, out)}",
        kind="meansq",
        dst=dst,
        src=at[x],
        rows=hx.rows_of(hx.units),
        cols=hx.line,
    )
    lo.store(out, 0, 1, dst)


@rule(train.MeanSquareGradOp)
def _mean_square_grad(lo: StepLowering, step: Step) -> None:
    (x, dl, *_), (out,) = step.inputs, step.outputs  # then the count of a tiled batch
    staging, at = _whole(lo, [x, dl])
    hx = lo.home(x)
    dst = staging.resident(hx.size, f"%{_name(lo.plan, out)}")
    count = step.op.count
    lo.emit(
        "RED",
        f"%{_name(lo.plan, out)}",
        kind="meansq_grad",
        dst=dst,
        src=at[x],
        b=at[dl],
        rows=hx.rows_of(hx.units),
        cols=hx.line,
        count=0 if count is None else lo.position(count),
    )
    lo.store(out, 0, lo.home(out).units, dst)


@rule(train.WeightedSumOp)
def _weighted_sum(lo: StepLowering, step: Step) -> None:
    (out,) = step.outputs
    staging = lo.staging()
    src = staging.resident(len(step.inputs), "the losses")
    for k, i in enumerate(step.inputs):
        lo.load(i, 0, 1, src + k)
    dst = staging.resident(1, "the loss")
    weights = lo.pool.add_block(step.params["weights"])
    lo.emit(
        "RED",
        f"%{_name(lo.plan, out)}",
        kind="wsum",
        dst=dst,
        src=src,
        rows=1,
        cols=len(step.inputs),
        const=weights,
    )
    lo.store(out, 0, 1, dst)


@rule(train.UpdateOp)
def _update(lo: StepLowering, step: Step) -> None:
    p = dict(step.params)
    optimizer = p.pop("optimizer")
    spec = OPTIMIZERS[optimizer]
    hyper = {**spec.hyperparameters, **p}
    key = tuple(sorted(hyper.items()))
    block = lo.hyper_blocks.get(key)
    if block is None:  # parameters with the same settings share one block
        block = lo.hyper_blocks[key] = lo.pool.hyperparameters(**hyper)
    param, grad, *state = step.inputs[:-1]
    new_param, *new_state = step.outputs
    home = lo.home(param)
    line = home.size // home.units
    names = ["p", "g"] + ["m", "v"][: len(state)]
    staging = lo.staging()
    for tile in lo.tiles(
        home.units, staging, dict.fromkeys(names, line), max_units=MAX_UPDATE // line
    ):
        for name, i in zip(names, [param, grad, *state], strict=True):
            lo.load(i, tile.u0, tile.u1, tile.spm[name])
        lo.emit(
            "UPDATE",
            f"%{_name(lo.plan, param)}",
            kind=optimizer,
            p=tile.spm["p"],
            g=tile.spm["g"],
            m=tile.spm.get("m", 0),
            v=tile.spm.get("v", 0),
            count=tile.n * line,
            hyper=block,
        )
        for name, o in zip(["p", "m", "v"], [new_param, *new_state], strict=False):
            lo.store(o, tile.u0, tile.u1, tile.spm[name])


# ------------------------------------------------------------------------------ stein


@rule(stein.SampleOp)
def _sample(lo: StepLowering, step: Step) -> None:
    (out,) = step.outputs
    n, k, d = lo.shape_of[out]
    p = step.params
    staging = lo.staging()
    fields = {"pairs": k, "coords": d, "stream": p["stream"], "sigma": lo.const(p["sigma"])}
    if p["sigma_t"] is not None:
        fields |= {"sigma_t": lo.const(p["sigma_t"]), "has_sigma_t": 1}
    first = 0 if step.op.first is None else lo.position(step.op.first)
    for tile in lo.tiles(n, staging, {"delta": k * d}, max_units=MAX_RNG_POINTS):
        lo.emit(
            "RNG",
            lo._rows_note(out, tile.u0, tile.u1),
            dst=tile.spm["delta"],
            points=tile.n,
            point_offset=first + tile.u0,
            **fields,
        )
        lo.store(out, tile.u0, tile.u1, tile.spm["delta"])


def _stein(sl: StepLowering, step: Step, kind: str, inputs: Sequence[int], **fields) -> None:
    """A STEIN kernel over blocks of points; `inputs` go to fields a and b in order."""
    (out,) = step.outputs
    note = f"%{_name(sl.plan, out)}"

    def body(tile, spm_in, spm_out):
        slots = dict(zip("ab", (spm_in[i] for i in inputs), strict=False))
        sl.emit("STEIN", note, kind=kind, dst=spm_out[out], points=tile.n, **slots, **fields)

    _rowwise(sl, step, list(dict.fromkeys(inputs)), [], [out], body, max_units=MAX_STEIN_POINTS)


def _delta_fields(lo: StepLowering, delta: int) -> dict:
    _, k, d = lo.shape_of[delta]
    return {"pairs": k, "coords": d}


@rule(stein.PerturbOp)
def _perturb(lo: StepLowering, step: Step) -> None:
    x, delta = step.inputs
    _stein(lo, step, "perturb", [x, delta], **_delta_fields(lo, delta))


@rule(stein.DifferenceStreamsOp)
def _difference_streams(lo: StepLowering, step: Step) -> None:
    (delta,) = step.inputs
    _stein(lo, step, "difference_streams", [delta], **_delta_fields(lo, delta))


_ESTIMATORS = {
    stein.GradOp: "grad",
    stein.LaplacianOp: "laplacian",
    stein.GradVjpOp: "grad_vjp",
    stein.LaplacianVjpOp: "laplacian_vjp",
}


@rule(*_ESTIMATORS)
def _estimator(lo: StepLowering, step: Step) -> None:
    first, delta = step.inputs
    p = step.params
    _stein(
        lo,
        step,
        _ESTIMATORS[type(step.op)],
        [first, delta],
        diff=int(p["differences"]),
        lo=p["lo"],
        hi=p["hi"],
        sigma=lo.const(p["sigma"]),
        **_delta_fields(lo, delta),
    )


def _pairs_of_values(lo: StepLowering, values: int, differences: bool) -> int:
    width = lo.shape_of[values][1]
    return width // 2 if differences else (width - 1) // 2


@rule(stein.CenterOp)
def _center(lo: StepLowering, step: Step) -> None:
    (values,) = step.inputs
    _stein(lo, step, "center", [values], pairs=_pairs_of_values(lo, values, False))


@rule(stein.SmoothedOp)
def _smoothed(lo: StepLowering, step: Step) -> None:
    differences = len(step.inputs) > 1
    pairs = _pairs_of_values(lo, step.inputs[0], differences)
    _stein(lo, step, "smoothed", step.inputs, pairs=pairs, diff=int(differences))


@rule(stein.CenterVjpOp)
def _center_vjp(lo: StepLowering, step: Step) -> None:
    _stein(lo, step, "center_vjp", step.inputs, pairs=step.params["pairs"])


@rule(stein.SmoothedVjpOp)
def _smoothed_vjp(lo: StepLowering, step: Step) -> None:
    p = step.params
    _stein(lo, step, "smoothed_vjp", step.inputs, pairs=p["pairs"], diff=int(p["differences"]))


@rule(stein.DiffActivationOp)
def _diff_activation(lo: StepLowering, step: Step) -> None:
    (zb, zd), (out,) = step.inputs, step.outputs
    _, streams, cols = lo.shape_of[zd]
    _check_sfu_width(lo, streams, cols)

    def body(tile, spm_in, spm_out):
        lo.emit(
            "SFU",
            f"%{_name(lo.plan, out)}",
            fn=step.params["activation"],
            kind="diff",
            dst=spm_out[out],
            a=spm_in[zb],
            b=spm_in[zd],
            rows=tile.n,
            streams=streams,
            cols=cols,
        )

    # the result where it lives on chip, else over a staged copy of z_d (half the staging)
    inplace = {} if lo.on_chip(out) else {out: zd}
    _rowwise(lo, step, [zb, zd], [], [out], body, max_units=MAX_SFU_ROWS, inplace=inplace)


@rule(stein.DiffActivationVjpOp)
def _diff_activation_vjp(lo: StepLowering, step: Step) -> None:
    (zb, zd, dout), (dzb, dzd) = step.inputs, step.outputs
    _, streams, cols = lo.shape_of[zd]
    if streams > MAX_SFU_STREAMS or cols * (2 + 2 * streams) > lo.memories["spm"].words:
        _diff_activation_vjp_by_streams(lo, step)
        return
    _diff_vjp(lo, step, zb, zd, dout, dzb, dzd)


@rule(stein.DiffActivationVjpStreamsOp)
def _diff_activation_vjp_streams(lo: StepLowering, step: Step) -> None:
    """A tile of the streams' dzd: SFU diff_vjp as for the whole, its dzb left unstored."""
    (zb, zd, dout), (dzd,) = step.inputs, step.outputs
    _diff_vjp(lo, step, zb, zd, dout, None, dzd)


def _diff_vjp(lo, step, zb: int, zd: int, dout: int, dzb: int | None, dzd: int) -> None:
    """SFU diff_vjp over tiles of points: dzb (stored unless None), then dzd over z_d."""
    _, streams, cols = lo.shape_of[zd]
    # dzb, then dzd right after it: dzd overwrites z_d, read by the same instruction
    per_unit = {"zb": cols, "dzb": cols, "zd": streams * cols, "dout": streams * cols}
    if streams > MAX_SFU_STREAMS or sum(per_unit.values()) > lo.memories["spm"].words:
        raise PassError(
            f"{lo.what}: a point's {streams} streams of width {cols} do not fit in an SFU "
            "instruction or the SPM; tile them with smaller tiles of streams (tile-streams)"
        )
    _check_sfu_width(lo, streams, cols)
    staging = lo.staging()
    names = [f"%{_name(lo.plan, v)}" for v in (dzb, dzd) if v is not None]
    for tile in lo.tiles(lo.home(zb).units, staging, per_unit, max_units=MAX_SFU_ROWS):
        for name, i in (("zb", zb), ("zd", zd), ("dout", dout)):
            lo.load(i, tile.u0, tile.u1, tile.spm[name])
        dst = tile.spm["dzb"]
        lo.emit(
            "SFU",
            ", ".join(names),
            fn=step.params["activation"],
            kind="diff_vjp",
            dst=dst,
            a=tile.spm["zb"],
            b=tile.spm["zd"],
            c=tile.spm["dout"],
            rows=tile.n,
            streams=streams,
            cols=cols,
        )
        if dzb is not None:
            lo.store(dzb, tile.u0, tile.u1, dst)
        lo.store(dzd, tile.u0, tile.u1, dst + tile.n * cols)


@rule(stein.DiffActivationVjpCenterOp)
def _diff_activation_vjp_center(lo: StepLowering, step: Step) -> None:
    """dzb = Σ dzd − φ'(z_b)·Σ dout point by point (`_finish_center`)."""
    (zb, sum_dzd, sum_dout), (dzb,) = step.inputs, step.outputs
    points, cols = lo.shape_of[zb]
    fn = step.params["activation"]
    _check_sfu_width(lo, 1, cols)
    note = f"%{_name(lo.plan, dzb)}"
    staging = lo.staging()
    at = {i: staging.resident(cols, f"%{_name(lo.plan, i)} of a point") for i in step.inputs}
    product = staging.resident(cols, f"{fn}'(z_b)·Σ dout of a point")
    for point in range(points):
        for i in step.inputs:
            lo.dma_words("LOAD", i, point * cols, (point + 1) * cols, at[i])
        _finish_center(lo, note, fn, cols, at[zb], at[sum_dzd], at[sum_dout], product)
        lo.dma_words("STORE", dzb, point * cols, (point + 1) * cols, at[sum_dzd])


def _finish_center(lo, note, fn, cols, zb_at, sum_dzd_at, sum_dout_at, product) -> None:
    """One point's dzb = Σ dzd − φ'(z_b)·Σ dout over Σ dzd, the kernel's own arithmetic: SFU
    apply (φ(z_b) over the copy of z_b, for an activation whose φ' is taken from its
    output), SFU grad (φ' from the activation's table entry, times Σ dout), VEC sub."""
    sfu = {"fn": fn, "rows": 1, "streams": 1, "cols": cols}
    if ACTIVATIONS[fn].saves == "output":
        lo.emit("SFU", f"{note}: {fn}(z_b)", **sfu, kind="apply", dst=zb_at, a=zb_at)
    lo.emit(
        "SFU", f"{note}: {fn}'(z_b)·Σ dout", **sfu, kind="grad", dst=product, a=zb_at, b=sum_dout_at
    )
    lo.emit("VEC", note, op="sub", dst=sum_dzd_at, a=sum_dzd_at, b=product, rows=1, cols=cols)


def _diff_activation_vjp_by_streams(lo: StepLowering, step: Step) -> None:
    """`stein.diff_activation_vjp` for points too large for the SPM (or an SFU instruction):
    point by point, in chunks of its streams. Per chunk, an SFU diff_vjp gives the chunk's dzd
    (p·dout, element by element) and RED colsums carry Σ p·dout and Σ dout on over the
    chunks, adding the streams in order as NumPy's sum over them does; then per point
    `_finish_center` gives dzb."""
    (zb, zd, dout), (dzb, dzd) = step.inputs, step.outputs
    points, streams, cols = lo.shape_of[zd]
    fn = step.params["activation"]
    note = f"%{_name(lo.plan, dzb)}, %{_name(lo.plan, dzd)}"
    if cols < 2 or cols > MAX_SFU_COLS:
        # NumPy sums one column's streams pairwise, not in order
        raise PassError(
            f"{lo.what}: one point's {streams} streams of width {cols} do not fit in the SPM "
            f"({lo.memories['spm'].size} bytes) or an SFU instruction, and PINTA splits them "
            f"only for widths 2 to {MAX_SFU_COLS}"
        )
    staging = lo.staging()
    zb_at = staging.resident(cols, f"%{_name(lo.plan, zb)} of a point")
    sums = staging.resident(2 * cols, "Σ p·dout and Σ dout of a point")  # in that order
    product = staging.resident(cols, f"{fn}'(z_b)·Σ dout of a point")
    words = streams * cols  # of a point in z_d, dout and dzd
    sfu = {"fn": fn, "rows": 1, "streams": 1, "cols": cols}
    for point in range(points):
        lo.dma_words("LOAD", zb, point * cols, (point + 1) * cols, zb_at)
        for tile in lo.tiles(
            streams,
            staging,
            {"zd": cols, "dout": cols},  # dzd over z_d, right after the chunk's dzb
            per_tile={"dzb": cols},
            max_units=min(MAX_SFU_STREAMS, MAX_VECTOR_ROWS),
        ):
            w0, w1 = point * words + tile.u0 * cols, point * words + tile.u1 * cols
            lo.dma_words("LOAD", zd, w0, w1, tile.spm["zd"])
            lo.dma_words("LOAD", dout, w0, w1, tile.spm["dout"])
            lo.emit(
                "SFU",
                f"{note}: point {point}, streams {tile.u0}:{tile.u1}",
                **(sfu | {"streams": tile.n}),
                kind="diff_vjp",
                dst=tile.spm["dzb"],
                a=zb_at,
                b=tile.spm["zd"],
                c=tile.spm["dout"],
            )
            lo.dma_words("STORE", dzd, w0, w1, tile.spm["zd"])
            for k, chunk in enumerate((tile.spm["zd"], tile.spm["dout"])):
                lo.emit(
                    "RED",
                    f"{note}: Σ over streams {tile.u0}:{tile.u1}",
                    kind="colsum",
                    dst=sums + k * cols,
                    src=chunk,
                    rows=tile.n,
                    cols=cols,
                    init=int(tile.first),
                )
        _finish_center(lo, note, fn, cols, zb_at, sums, sums + cols, product)
        lo.dma_words("STORE", dzb, point * cols, (point + 1) * cols, sums)


def _check_sfu_width(lo: StepLowering, streams: int, cols: int) -> None:
    if streams > MAX_SFU_STREAMS or cols > MAX_SFU_COLS:
        raise PassError(
            f"{lo.what}: {streams} streams of width {cols}; a PINTA SFU instruction takes at "
            f"most {MAX_SFU_STREAMS} streams of width {MAX_SFU_COLS}"
        )


# ------------------------------------------------------------------------------ Taylor-mode jets


@rule(train.UnitDirectionsOp)
def _unit_directions(lo: StepLowering, step: Step) -> None:
    """The unit vectors of [first, last) at every point: a constant pattern. One point's
    W x D block is made once: VEC fills W ones and VCOL expand_columns sets them as column
    `first` of W rows of D + 1 words, whose first W·D words are the block (the one of row k
    lies at k(D + 1) + first = k·D + first + k). Each tile of points is the block repeated:
    VEC fill 0, then VEC bias_add of the block as one row (0 + 1 and 0 + 0 are exact)."""
    (out,) = step.outputs
    _, w, d = lo.shape_of[out]
    first = step.params["lo"]
    note = f"%{_name(lo.plan, out)}"
    staging = lo.staging()
    ones = staging.resident(w, f"{note}: ones")
    block = staging.resident(w * (d + 1), f"{note}: the directions of a point")
    lo.emit("VEC", f"{note}: ones", op="fill", dst=ones, rows=1, cols=w, const=lo.const(1.0))
    lo.emit(
        "VCOL",
        f"{note}: the directions of a point",
        op="expand_columns",
        dst=block,
        a=ones,
        rows=w,
        cols=d + 1,
        lo=first,
        hi=first + 1,
    )
    zero = lo.const(0.0)
    for tile in lo.tiles(lo.home(out).units, staging, {"e": w * d}, max_units=MAX_VECTOR_ROWS):
        at, shape = tile.spm["e"], {"rows": tile.n, "cols": w * d}
        lo.emit("VEC", note, op="fill", dst=at, const=zero, **shape)
        lo.emit("VEC", note, op="bias_add", dst=at, a=at, b=block, **shape)
        lo.store(out, tile.u0, tile.u1, at)


@rule(train.SampleCoordinatesOp)
def _sample_coordinates(lo: StepLowering, step: Step) -> None:
    """S coordinates drawn from [first, last) per point: RNG onehot draws them from
    [0, W) as rows of W words (the multiply-shift rule of the runtime's kernel), and VCOL
    expand_columns places the rows at columns [first, last) of the D coordinates, unless
    they are all of them."""
    (out,) = step.outputs
    _, s, d = lo.shape_of[out]
    p = step.params
    first, last = p["lo"], p["hi"]
    w = last - first
    placed = w != d
    per_unit = {"e": s * d} | ({"draws": s * w} if placed else {})
    staging = lo.staging()
    max_units = max(1, min(MAX_RNG_POINTS, MAX_VECTOR_ROWS // s))
    offset = 0 if step.op.first is None else lo.position(step.op.first)
    for tile in lo.tiles(lo.home(out).units, staging, per_unit, max_units=max_units):
        note = lo._rows_note(out, tile.u0, tile.u1)
        draws = tile.spm["draws"] if placed else tile.spm["e"]
        lo.emit(
            "RNG",
            note,
            kind="onehot",
            dst=draws,
            points=tile.n,
            pairs=s,
            coords=w,
            stream=p["stream"],
            point_offset=offset + tile.u0,
        )
        if placed:
            lo.emit(
                "VCOL",
                note,
                op="expand_columns",
                dst=tile.spm["e"],
                a=draws,
                rows=tile.n * s,
                cols=d,
                lo=first,
                hi=last,
            )
        lo.store(out, tile.u0, tile.u1, tile.spm["e"])
