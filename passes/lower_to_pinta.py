"""`lower-to-pinta`: a compiled training step becomes a program for the PINTA accelerator.

    pintac opt step.mlir -p 'lower-to-pinta{config="my.toml" set="gemm.pes=32" batch="pde=64"}'

Input: a module after a training pipeline (`@train_step` of `train`/`stein`/`smx` ops). The
pass fixes the batch sizes (the `batch` option, else `pinn.train`'s) and with them every
value's shape (`passes/pinta/shapes.py`). Unless the pipeline tiled the step by points, it
tiles it (`tile-points`) where the loops' exact sums fit in the ACC, with tiles whose values
stay on chip where possible, and when a tile of points does not fit on chip, each point's
Stein streams too (`tile-streams`; `_choose_tiling`); tiles whose values would still go
through DRAM are taken only when the whole step does not fit in it. Then
`passes/pinta/lowering.py` gives every value a home, in the SPM where it fits (in 80 % of it,
or in half where the ops of a whole step then lack room to stage) or in DRAM
(`passes/pinta/memory.py`), and tiles each op through the SPM and ACC, and
`passes/pinta/schedule.py` orders the instructions for the load, compute and store queues and
the compute queue's units, with their dependency tokens. `@train_step` is replaced by a
`pinta.program` of the same name; other functions stay.

Options: `config`, a hardware TOML (default: the bundled defaults); `set`, overrides
`section.key=value` separated by commas; `batch`, `term=size` pairs separated by commas;
`placement`, `onchip` (the default) or `dram`: every value in DRAM and the step as the
pipeline left it, the streaming lowering, for comparison.
The field widths come from the ISA table (`runtime/pinta/isa.py`), the sizes of the SPM, ACC,
constant buffer and DRAM from the configuration; a step that does not fit them fails naming
the op and the value, and the configuration key to raise where raising it can help.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, i64
from xdsl.passes import ModulePass

from pintac.core.errors import PassError
from pintac.dialects import pinn, pinta, tile
from pintac.passes.pinta.lowering import HALF_SHARE, StepLowering
from pintac.passes.pinta.schedule import schedule
from pintac.passes.tile_points import TilePointsPass
from pintac.passes.tile_streams import TileStreamsPass
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.config import load_config

STEP = "train_step"
# onchip: values in the SPM where they fit, the step tiled by points where that fits;
# dram: every value in DRAM and the step as the pipeline left it (for comparison)
PLACEMENTS = ("onchip", "dram")
# the least per-point budget (bytes) tried when choosing the tiles of a step
SMALLEST_TILE_BUDGET = 1 << 16


def _pairs(text: str, what: str) -> list[tuple[str, str]]:
    out = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise ValueError(f"{what} takes key=value pairs separated by commas, got '{item}'")
        out.append((key.strip(), value.strip()))
    return out


def _batch_sizes(text: str) -> dict[str, int]:
    sizes = {}
    for key, value in _pairs(text, "batch"):
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"batch size of '{key}' must be a positive integer, got '{value}'")
        sizes[key] = int(value)
    return sizes


def _problem_batch(module: builtin.ModuleOp) -> dict[str, int]:
    for op in module.walk():
        if isinstance(op, pinn.TrainOp):
            batch = op.get("batch")
            if batch:
                return {k: int(v) for k, v in batch.items()}
    return {}


def program_op(name: str, lowering: StepLowering, code, dram_words: int) -> pinta.ProgramOp:
    constants = lowering.pool.values
    roles = (lowering.roles, lowering.result_roles)
    program = pinta.ProgramOp(name, roles, constants, dram_words, dram_words + 2 * len(constants))
    block = program.body.block
    for t in lowering.host:
        block.add_op(pinta.TensorOp(t.name, t.kind, t.key, t.home.addr, t.home.shape))
    for e in code:
        values = e.ins._asdict()
        fields = {f.name: values[f.name] for f in e.ins.spec.fields}
        fields |= {flag: 1 for flag in isa.FLAGS if values[flag]}
        block.add_op(pinta.instruction(e.ins.mnemonic, e.note, **fields))
    return program


def _step_of(module: builtin.ModuleOp) -> func.FuncOp | None:
    return next(
        (f for f in module.ops if isinstance(f, func.FuncOp) and f.sym_name.data == STEP), None
    )


def _choose_tiling(
    ctx: Context, module: builtin.ModuleOp, batch: dict[str, int], cfg
) -> StepLowering | None:
    """An untiled step tiled by points (`tile-points`) when its loops' exact sums fit in the
    ACC: with the largest tiles whose body values all stay on chip, else the smallest ones
    whose values fit in the DRAM (the most of them on chip), and then, if those are not all
    on chip, each point's streams in tiles that are (`_tile_streams`). Tiles come from
    halving the per-point budget from the DRAM's size. The lowering of the tiled step (in a
    copy of `module`), or None: no tiling fits (the step stays whole)."""
    budget, chosen, seen = cfg.dram_words * 4, None, set()
    while budget >= SMALLEST_TILE_BUDGET:
        trial = module.clone()
        TilePointsPass(bytes=budget, optional=True).apply(ctx, trial)
        tiles = tuple(tile.tiles_by_term(_step_of(trial)).items())
        if not tiles:
            return None  # the step cannot be tiled
        if tiles not in seen:
            seen.add(tiles)
            lowering = StepLowering(_step_of(trial), batch, cfg)
            if not lowering.accumulators_fit():
                return None  # the sums are the parameters' size whatever the tiles
            if lowering.values_fit_dram():
                chosen = trial, lowering
                if lowering.body_values_on_chip():
                    break
        budget //= 2
    if chosen is None:
        return None
    trial, lowering = chosen
    if not lowering.body_values_on_chip():
        streamed = _tile_streams(ctx, trial, batch, cfg)
        if streamed is not None and streamed.body_dram_words() < lowering.body_dram_words():
            return streamed
    return lowering


def _tile_streams(
    ctx: Context, module: builtin.ModuleOp, batch: dict[str, int], cfg
) -> StepLowering | None:
    """The step of `module` (tiled by points) with each point's Stein streams in tiles too:
    the largest tiles whose body values all stay on chip, halving the per-point budget from
    the SPM's size, else the tiles that keep the fewest of them in DRAM; None when the step
    has no streams to tile."""
    budget, seen, best = cfg.memory.spm_bytes, set(), None
    while True:
        trial = module.clone()
        try:
            TileStreamsPass(bytes=budget).apply(ctx, trial)
        except PassError:
            return None  # the step's streams cannot be tiled
        streams = tuple(
            op.tile_points
            for op in _step_of(trial).walk()
            if isinstance(op, tile.LoopOp) and op.axis_index
        )
        if not streams or streams in seen:
            return best  # nothing to tile, or the smallest tiles are tried
        seen.add(streams)
        lowering = StepLowering(_step_of(trial), batch, cfg)
        if lowering.values_fit_dram():
            if lowering.body_values_on_chip():
                return lowering
            if best is None or lowering.body_dram_words() < best.body_dram_words():
                best = lowering
        budget //= 2


def _lower_whole(lowering: StepLowering):
    """(lowering, its instructions) of the step as it is: its values in the SPM's share for
    values, or where its ops then lack room to stage, in half of the SPM."""
    try:
        return lowering, lowering.run()
    except PassError:
        if not lowering.onchip or lowering.share <= HALF_SHARE:
            raise
    half = StepLowering(lowering.f, lowering.batch, lowering.cfg, share=HALF_SHARE)
    return half, half.run()


def _run_if_fits(lowering: StepLowering | None):
    """The instructions of `lowering` (`StepLowering.run`), or None when there is none or a
    tile's ops do not fit in the memories beside the loops' sums."""
    if lowering is None:
        return None
    try:
        return lowering.run()
    except PassError:
        return None


@dataclass(frozen=True)
class LowerToPintaPass(ModulePass):
    """Lower @train_step to a pinta.program: tiles, buffers, schedule and tokens."""

    name = "lower-to-pinta"

    config: str = ""
    set: str = ""
    batch: str = ""
    placement: str = "onchip"

    def __post_init__(self) -> None:
        _pairs(self.set, "set")
        _batch_sizes(self.batch)
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement is one of {', '.join(PLACEMENTS)}, got '{self.placement}'")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        step = _step_of(op)
        if step is None:
            raise PassError(
                "lower-to-pinta needs a compiled @train_step (run a training pipeline first: "
                "pintac compile FILE --pipeline smx-diff --target mlir writes one)"
            )
        batch = _problem_batch(op) | _batch_sizes(self.batch)
        overrides = [f"{k}={v}" for k, v in _pairs(self.set, "set")]
        cfg = load_config(self.config or None, overrides)
        onchip = self.placement == "onchip"
        lowering = StepLowering(step, batch, cfg, onchip)
        lowered = None
        if onchip and not lowering.plan.has_loops:
            tiled = _choose_tiling(ctx, op, batch, cfg)
            if tiled is not None and not tiled.body_values_on_chip() and lowering.values_fit_dram():
                # tiles whose values still go through DRAM only add work to the whole step
                tiled = None
            lowered = _run_if_fits(tiled)
            if lowered is not None:  # the tiled step replaces the whole one
                tiled.f.detach()
                op.body.block.insert_op_before(tiled.f, step)
                step.detach()
                step.erase()
                step, lowering = tiled.f, tiled
        if lowered is None:
            lowering, lowered = _lower_whole(lowering)
        _, dram_words, code = lowered
        code = schedule(code, cfg)
        program = program_op(STEP, lowering, code, dram_words)
        tiles = tile.tiles_by_term(step)
        if tiles:  # the points of a tile (at most the batch), for reports
            program.attributes["tiles"] = DictionaryAttr(
                {
                    term: IntegerAttr(min(points, batch.get(term, points)), i64)
                    for term, points in tiles.items()
                }
            )
        streams = tile.stream_tiles_by_term(step)
        if streams:  # the streams of a tile of them, for reports
            program.attributes["stream_tiles"] = DictionaryAttr(
                {term: IntegerAttr(n, i64) for term, n in streams.items()}
            )
        op.body.block.insert_op_before(program, step)
        step.detach()
        step.erase()
