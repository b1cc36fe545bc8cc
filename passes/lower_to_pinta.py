"""`lower-to-pinta`: a compiled training step becomes a program for the PINTA accelerator.

    pintac opt step.mlir -p 'lower-to-pinta{config="my.toml" set="gemm.pes=32" batch="pde=64"}'

Input: a module after a training pipeline (`@train_step` of `train`/`stein`/`smx` ops). The
pass fixes the batch sizes (the `batch` option, else `pinn.train`'s) and with them every
value's shape (`passes/pinta/shapes.py`), then `passes/pinta/lowering.py` places every value
in DRAM (`place` of `passes/pinta/memory.py`) and tiles each op through the SPM and ACC, and
`passes/pinta/schedule.py` orders the instructions for the load, compute and store queues
with their dependency tokens. `@train_step` is replaced by a `pinta.program` of the same name;
other functions stay.

Options: `config`, a hardware TOML (default: the bundled defaults); `set`, overrides
`section.key=value` separated by commas; `batch`, `term=size` pairs separated by commas.
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
from pintac.passes.pinta.lowering import StepLowering
from pintac.passes.pinta.schedule import schedule
from pintac.passes.tile_points import TilePointsPass
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.config import load_config

STEP = "train_step"
# the least per-point budget (bytes) tried when the step must be tiled to fit in the DRAM
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


def _tiled_to_fit(
    ctx: Context, module: builtin.ModuleOp, batch: dict[str, int], cfg
) -> tuple[func.FuncOp, StepLowering] | None:
    """A step whose values do not fit in the DRAM whole, tiled by points (`tile-points`)
    with the largest per-point budget, halving from the DRAM's size, whose values fit; the
    step and its lowering, or None when no tiling fits (the lowering then says how much DRAM
    the untiled step needs)."""
    budget = cfg.dram_words * 4
    while budget >= SMALLEST_TILE_BUDGET:
        trial = module.clone()
        TilePointsPass(bytes=budget, optional=True).apply(ctx, trial)
        lowering = StepLowering(_step_of(trial), batch, cfg)
        if lowering.plan.has_loops and lowering.values_fit_dram():
            TilePointsPass(bytes=budget, optional=True).apply(ctx, module)
            step = _step_of(module)
            return step, StepLowering(step, batch, cfg)
        budget //= 2
    return None


@dataclass(frozen=True)
class LowerToPintaPass(ModulePass):
    """Lower @train_step to a pinta.program: tiles, buffers, schedule and tokens."""

    name = "lower-to-pinta"

    config: str = ""
    set: str = ""
    batch: str = ""

    def __post_init__(self) -> None:
        _pairs(self.set, "set")
        _batch_sizes(self.batch)

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
        lowering = StepLowering(step, batch, cfg)
        if not lowering.plan.has_loops and not lowering.values_fit_dram():
            tiled = _tiled_to_fit(ctx, op, batch, cfg)
            if tiled is not None:
                step, lowering = tiled
        _, dram_words, code = lowering.run()
        code = schedule(code, cfg)
        program = program_op(STEP, lowering, code, dram_words)
        tiles = tile.tiles_by_term(step)
        if tiles:  # what the step was tiled by, for reports
            program.attributes["tiles"] = DictionaryAttr(
                {term: IntegerAttr(points, i64) for term, points in tiles.items()}
            )
        op.body.block.insert_op_before(program, step)
        step.detach()
        step.erase()
