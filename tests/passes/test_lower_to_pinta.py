"""lower-to-pinta: the simulator runs the lowered step bit for bit like the NumPy runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdsl.parser import Parser

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.dialects import pinta
from pintac.passes.lower_to_pinta import LowerToPintaPass
from pintac.passes.pinta.lowering import permute_axes
from pintac.pipelines import PIPELINES
from pintac.registry import make_context
from pintac.runtime.numpy_target import NumpyExactTarget
from pintac.runtime.pinta.config import load_config
from pintac.runtime.pinta.lowered import LoweredStep, PintaStep

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"


def lowered(program: pt.Program, **options) -> LoweredStep:
    return lowered_module(program.module, **options)


def lowered_module(module, **options) -> LoweredStep:
    return LoweredStep.of(program_op(module, **options))


def program_op(module, **options) -> pinta.ProgramOp:
    """The `pinta.program` `lower-to-pinta` makes of a copy of `module`."""
    module = module.clone()
    LowerToPintaPass(**options).apply(make_context(), module)
    return next(o for o in module.ops if isinstance(o, pinta.ProgramOp))


def tiles_of(op: pinta.ProgramOp, key: str = "tiles") -> dict[str, int]:
    """A program's points (or streams, key "stream_tiles") a tile, by loss term."""
    return {k: v.value.data for k, v in op.attributes[key].data.items()}


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def run_both(program: pt.Program, step: LoweredStep, steps: int, config=None):
    """Train `steps` steps with the runtime and with the simulator from the same state; the
    roles whose values differ in any bit, per step."""
    sim = PintaStep(step, config)
    state = program.initial_state(0)
    for _ in range(steps):
        args = program.step_arguments(state, 0, program.batch(0, state.step))
        expected = program.train_step(*args)
        got = sim(*args)
        differ = [
            r
            for r, a, b in zip(program.result_roles, expected, got, strict=True)
            if not same_bits(a, b)
        ]
        assert not differ, f"step {state.step}: {differ}"
        state, _ = program.step(state, 0)
    return sim


def check_module_on_both(text: str, batch: str, args, overrides=()) -> LoweredStep:
    """Lower the @train_step of `text` for `batch` with hardware `overrides`, run it on the
    simulator and on the runtime with `args` (then seed 0, step 0): every result bit for bit.
    The lowered step."""
    module = Parser(make_context(), text).parse_module()
    expected = NumpyExactTarget().build(module, "test").functions["train_step"](*args, 0, 0)
    step = lowered_module(module, batch=batch, set=",".join(overrides))
    got = PintaStep(step, load_config(None, list(overrides)))(*args, 0, 0)
    for role, a, b in zip(step.result_roles, expected, got, strict=True):
        assert same_bits(a, b), role
    return step


@pytest.mark.parametrize("pipeline", ["fp32", "smx-diff", "full"])
@pytest.mark.parametrize("example", ["poisson2d_small", "heat10d_small"])
def test_the_step_in_tiles_of_points_trains_alike_on_the_runtime_and_the_simulator(
    example, pipeline
):
    """20 steps of the step tiled by 8 points (4 tiles of the batch of 32, or 2 of 16): the
    runtime's loop and PINTA's unrolled one (its exact sums in ACC regions across the
    tiles) give every result bit for bit."""
    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    tiled = problem.compile(
        f"{PIPELINES[pipeline][0]},tile-points{{points=8}}", target="numpy-exact"
    )
    assert any(op.name == "tile.loop" for op in tiled.module.walk())
    run_both(tiled, lowered(tiled), steps=20)


def test_a_step_too_large_for_the_dram_whole_is_tiled_by_points_to_fit():
    """1.93 MB of values untiled against 600 kB of DRAM: the lowering tiles the step by
    points (here 4 points a tile of the residual) and the program trains bit for bit like the
    runtime's step."""
    program = pt.load(SMALL).compile("smx-diff", target="numpy-exact")
    setting = "memory.dram_bytes=600000"
    op = program_op(program.module, set=setting)
    assert tiles_of(op)["pde"] < 32
    run_both(program, LoweredStep.of(op), steps=2, config=load_config(None, [setting]))


def test_a_whole_step_whose_ops_lack_room_to_stage_keeps_its_values_in_half_the_spm():
    """A 32 KiB SPM and a 4 KiB ACC (too small for the loops' exact sums: the step stays
    whole): with its values in 80 % of the SPM, an op has too little left to stage its tiles;
    with them in half of it the step lowers, and trains bit for bit like the runtime's."""
    from pintac.core.errors import PassError
    from pintac.passes.lower_to_pinta import _problem_batch, _step_of
    from pintac.passes.pinta.lowering import StepLowering

    program = pt.load(SMALL).compile("smx-diff", target="numpy-exact")
    setting = ["memory.spm_bytes=32768", "memory.acc_bytes=4096"]
    cfg = load_config(None, setting)
    module = program.module.clone()
    with pytest.raises(PassError, match="one tile needs"):
        StepLowering(_step_of(module), _problem_batch(module), cfg).run()
    op = program_op(module, set=",".join(setting))
    assert "tiles" not in op.attributes
    run_both(program, LoweredStep.of(op), steps=2, config=cfg)


def test_a_loop_whose_exact_sums_do_not_fit_in_the_acc_names_the_key():
    problem = pt.load(SMALL)
    tiled = problem.compile(PIPELINES["smx-diff"][0] + ",tile-points{points=8}")
    with pytest.raises(
        UserError,
        match=r"@train_step: the exact sums carried across the tiles of its loops need 592 "
        r"accumulators \(4736 bytes\) of the ACC at once but PINTA has 64 \(512 bytes\); give "
        r"PINTA a larger ACC \(--hw-set memory.acc_bytes=N with N >= 4736\)",
    ):
        lowered(tiled, set="memory.acc_bytes=512")


@pytest.mark.parametrize("pipeline", ["fp32", "smx-diff", "full"])
@pytest.mark.parametrize("example", ["poisson2d_small", "heat10d_small"])
def test_small_problems_train_bit_for_bit_on_the_simulator(example, pipeline):
    """20 steps: parameters, optimizer state and losses equal bit for bit (for fp32, to the
    runtime following the arithmetic contract, exact GEMMs). `full` adds tensor-train layers
    with partial reconstruction: their permutes run as PERM instructions or views."""
    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    program = problem.compile(pipeline, target="numpy-exact")
    run_both(program, lowered(program), steps=20)


def test_tiles_and_both_halves_of_the_buffers_give_the_same_bits():
    """A small SPM and ACC: every big op runs in many tiles alternating between the halves,
    GEMMs accumulate over row tiles, loads run ahead of compute."""
    program = pt.load(SMALL).compile("smx-diff", target="numpy-exact")
    overrides = "memory.spm_bytes=65536,memory.acc_bytes=16384"
    step = lowered(program, set=overrides)
    gemms = [i for i in step.instructions if i.mnemonic == "GEMM"]
    assert any(not g.init for g in gemms), "weight gradients accumulate over tiles"
    assert len(gemms) > 40
    run_both(program, step, steps=1, config=load_config(None, overrides.split(",")))


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            "memory.acc_bytes=64",
            r"'train.gemm' computing %\w+: one tile needs \d+ accumulators \(\d+ bytes\) of "
            r"the ACC but the op has 8 \(64 bytes in all\); give PINTA a larger ACC "
            r"\(--hw-set memory.acc_bytes=N with N >= \d+\)",
        ),
        (
            "memory.spm_bytes=1024",
            r"'stein.perturb' computing %batch: one tile needs \d+ bytes of the SPM but the op "
            r"has 1024 \(1024 bytes in all\); give PINTA a larger SPM "
            r"\(--hw-set memory.spm_bytes=N with N >= \d+\)",
        ),
        (
            "memory.const_entries=3",
            r"@train_step: the constant pool has 12 entries but the constant buffer holds 3; "
            r"give PINTA a larger constant buffer \(--hw-set memory.const_entries=N with N >= 12\)",
        ),
        (
            "memory.dram_bytes=4096",
            r"@train_step: the program's values and constant pool need \d+ bytes of DRAM but "
            r"PINTA has 4096; give PINTA a larger DRAM \(--hw-set memory.dram_bytes=N with N >= "
            r"\d+\)",
        ),
    ],
)
def test_a_buffer_too_small_is_named_with_its_key(setting, message):
    """Each of the memories the lowering fills: the message names it and the key to raise,
    at compile time."""
    program = pt.load(SMALL).compile("fp32", target="numpy-exact")
    with pytest.raises(UserError, match=message):
        lowered(program, set=setting)


def test_fp32_tensor_train_layers_give_the_runtimes_exact_bits():
    """fp32-tt: f32 TT layers against the runtime under the arithmetic contract (one step:
    exact f32 GEMMs are slow on both sides)."""
    problem = pt.load(ROOT / "examples" / "heat10d_small.mlir")
    program = problem.compile("fp32-tt", target="numpy-exact")
    run_both(program, lowered(program), steps=1)


def test_tensor_train_layers_in_tiles_give_the_same_bits():
    """full-noprs (core by core: 3-axis permutes) in a small SPM, so that the permutes of the
    activations run in many tiles alternating between the halves of the SPM."""
    problem = pt.load(ROOT / "examples" / "heat10d_small.mlir")
    program = problem.compile("full-noprs", target="numpy-exact")
    overrides = "memory.spm_bytes=65536,memory.acc_bytes=16384"
    step = lowered(program, set=overrides)
    perms = [i for i in step.instructions if i.mnemonic == "PERM"]
    assert len(perms) > 60
    assert {(p.p0, p.p1, p.p2, p.p3) for p in perms} == {(0, 1, 3, 2)}
    run_both(program, step, steps=2, config=load_config(None, overrides.split(",")))


@pytest.mark.parametrize(
    "size, shape, perm, extents, axes",
    [
        (64, (-1, 16), (0, 1), (64,), (0,)),  # a reshape
        (96, (-1, 1, 4), (0, 2, 1), (96,), (0,)),  # moving an axis of 1 moves nothing
        (192, (-1, 8, 8), (0, 2, 1), (3, 8, 8), (0, 2, 1)),
        (256, (4, 2, 2, 4, 4), (0, 1, 3, 2, 4), (8, 2, 4, 4), (0, 2, 1, 3)),
        (512, (-1, 2, 4, 16), (0, 1, 3, 2), (8, 4, 16), (0, 2, 1)),
        (105, (3, 5, 7), (2, 0, 1), (15, 7), (1, 0)),
        (32, (2, 2, 2, 2, 2), (4, 3, 2, 1, 0), (2, 2, 2, 2, 2), (4, 3, 2, 1, 0)),
    ],
)
def test_permutes_merge_the_axes_that_move_together(size, shape, perm, extents, axes):
    assert permute_axes(size, shape, perm) == (extents, axes)


PERMUTES = """
func.func @train_step(%W: tensor<3x5x7xf32> {train.role = "param:W"}, %x: tensor<?x8xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<?x2xf32> {train.role = "term:t"}, tensor<7x15xf32> {train.role = "term:w"}, tensor<?x8xf32> {train.role = "term:v"}, tensor<f32> {train.role = "loss"}) {
  %t = train.permute %x shape [-1, 2, 4] perm [0, 2, 1] : tensor<?x8xf32> -> tensor<?x2xf32>
  %w = train.permute %W shape [3, 5, 7] perm [2, 0, 1] : tensor<3x5x7xf32> -> tensor<7x15xf32>
  %u = train.permute %x shape [-1, 2, 2, 2] perm [2, 0, 3, 1] : tensor<?x8xf32> -> tensor<?x4xf32>
  %v = train.permute %u shape [-1, 8] perm [0, 1] : tensor<?x4xf32> -> tensor<?x8xf32>
  %loss = train.mean_square %t : tensor<?x2xf32> -> tensor<f32>
  func.return %t, %w, %v, %loss : tensor<?x2xf32>, tensor<7x15xf32>, tensor<?x8xf32>, tensor<f32>
}
"""


@pytest.mark.parametrize("spm_bytes", [None, 256])
def test_permutes_equal_the_runtime_whole_and_in_tiles(spm_bytes):
    """A batched transpose, a 3-D permute whose result's leading axis is the source's last
    one (strided loads of its columns), a 4-axis permute and a reshape (a view, no
    instructions); with a 64-word SPM every permute runs in tiles."""
    overrides = [f"memory.spm_bytes={spm_bytes}"] if spm_bytes else []
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((3, 5, 7), np.float32), rng.standard_normal((5, 8), np.float32))
    step = check_module_on_both(PERMUTES, "pde=5", args, overrides)
    perms = [i for i in step.instructions if i.mnemonic == "PERM"]
    assert len(perms) == (3 if spm_bytes is None else 12)


@pytest.mark.parametrize("view_first", [False, True])
def test_a_result_and_a_reshape_of_it_are_the_same_words(view_first):
    """A step that returns a value and a reshape of it (a view: no copy), in either order,
    gives both host tensors the same DRAM words, so both read the value the step computed."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import FunctionType

    from pintac.dialects import train

    program = pt.load(SMALL).compile("fp32", target="numpy-exact")
    module = program.module.clone()
    f = next(
        op
        for op in module.walk()
        if isinstance(op, func.FuncOp) and op.sym_name.data == "train_step"
    )
    ret = f.body.block.last_op
    roles = train.result_roles(f)
    new_w = ret.operands[roles.index("param:W0")]
    rows, cols = new_w.type.get_shape()
    flat = train.PermuteOp(new_w, [rows, cols], [0, 1], [rows * cols])
    f.body.block.insert_op_before(flat, ret)

    def add(items, item):
        return [item, *items] if view_first else [*items, item]

    ret.operands = add(list(ret.operands), flat.output)
    f.function_type = FunctionType.from_lists(
        f.function_type.inputs.data, add(list(f.function_type.outputs.data), flat.output.type)
    )
    new_roles = add(roles, "term:W0_flat")
    f.res_attrs = train.role_attrs(new_roles)
    step = lowered_module(module)
    assert step.tensor("loss", "W0_flat").address == step.tensor("param", "W0").address

    state = program.initial_state(0)
    args = program.step_arguments(state, 0, program.batch(0, state.step))
    new_w0 = program.train_step(*args)[program.result_roles.index("param:W0")]
    got = PintaStep(step)(*args)
    assert same_bits(got[new_roles.index("param:W0")], new_w0)
    assert same_bits(got[new_roles.index("term:W0_flat")], new_w0.reshape(-1))


BROADCASTS = """
func.func @train_step(%x: tensor<?x3xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<?x3xf32> {train.role = "term:k"}, tensor<?x3xf32> {train.role = "term:s"}, tensor<?x3xf32> {train.role = "term:d"}, tensor<f32> {train.role = "loss"}) {
  %k = pinn.constant 0.1 : tensor<?x3xf32>
  %kx = arith.mulf %k, %x : tensor<?x3xf32>
  %s = math.sin %k : tensor<?x3xf32>
  %sx = arith.subf %s, %kx : tensor<?x3xf32>
  %d = arith.divf %x, %s : tensor<?x3xf32>
  %loss = train.mean_square %sx : tensor<?x3xf32> -> tensor<f32>
  func.return %kx, %sx, %d, %loss : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<f32>
}
"""


@pytest.mark.parametrize("spm_bytes", [None, 128])
def test_operands_broadcast_along_the_batch_as_in_the_runtime(spm_bytes):
    """A constant (filled per tile) and a value computed from one (one row repeated by a
    stride-0 LOAD) broadcast against the batch, as either operand; whole and in tiles."""
    overrides = [f"memory.spm_bytes={spm_bytes}"] if spm_bytes else []
    x = np.random.default_rng(0).standard_normal((7, 3), np.float32)
    step = check_module_on_both(BROADCASTS, "pde=7", [x], overrides)
    repeats = [i for i in step.instructions if i.mnemonic == "LOAD" and i.stride == 0]
    assert repeats, "%s is loaded as one row repeated"


EXPAND_COLUMNS = """
func.func @train_step(%x: tensor<?x3xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<?x5xf32> {train.role = "term:inside"}, tensor<?x4xf32> {train.role = "term:whole"}, tensor<?x5xf32> {train.role = "term:columns"}, tensor<f32> {train.role = "loss"}) {
  %s = pinn.sum %x : tensor<?x3xf32> -> tensor<?x1xf32>
  %inside = train.expand_columns %s dims 1 to 4 : tensor<?x1xf32> -> tensor<?x5xf32>
  %whole = train.expand_columns %s dims 0 to 4 : tensor<?x1xf32> -> tensor<?x4xf32>
  %columns = train.expand_columns %x dims 2 to 5 : tensor<?x3xf32> -> tensor<?x5xf32>
  %loss = train.mean_square %s : tensor<?x1xf32> -> tensor<f32>
  func.return %inside, %whole, %columns, %loss : tensor<?x5xf32>, tensor<?x4xf32>, tensor<?x5xf32>, tensor<f32>
}
"""


@pytest.mark.parametrize("spm_bytes", [None, 256])
def test_one_column_expands_across_the_range_as_in_the_runtime(spm_bytes):
    """`train.expand_columns` of one column (the gradient of `pinn.sum`) broadcasts it across
    the range, as NumPy does; of as many columns as the range, places them. Whole and in
    tiles."""
    overrides = [f"memory.spm_bytes={spm_bytes}"] if spm_bytes else []
    x = np.random.default_rng(0).standard_normal((9, 3), np.float32)
    x[0, :] = -0.0  # a negative zero is moved, not computed
    check_module_on_both(EXPAND_COLUMNS, "pde=9", [x], overrides)


DIFF_ACTIVATION_VJP = """
func.func @train_step(%zb: tensor<?x3xf32> {train.role = "points:pde"}, %zd: tensor<?x18xf32> {train.role = "points:d"}, %dout: tensor<?x18xf32> {train.role = "points:o"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<?x3xf32> {train.role = "term:dzb"}, tensor<?x6x3xf32> {train.role = "term:dzd"}, tensor<f32> {train.role = "loss"}) {
  %d = train.permute %zd shape [-1, 6, 3] perm [0, 1, 2] : tensor<?x18xf32> -> tensor<?x6x3xf32>
  %o = train.permute %dout shape [-1, 6, 3] perm [0, 1, 2] : tensor<?x18xf32> -> tensor<?x6x3xf32>
  %dzb, %dzd = stein.diff_activation_vjp ACT %zb, %d, %o : tensor<?x3xf32>, tensor<?x6x3xf32>, tensor<?x6x3xf32> -> tensor<?x3xf32>, tensor<?x6x3xf32>
  %loss = train.mean_square %dzb : tensor<?x3xf32> -> tensor<f32>
  func.return %dzb, %dzd, %loss : tensor<?x3xf32>, tensor<?x6x3xf32>, tensor<f32>
}
"""


@pytest.mark.parametrize("activation", ["tanh", "sin"])
@pytest.mark.parametrize("spm_bytes", [None, 160])
def test_a_point_larger_than_the_spm_goes_in_chunks_of_streams(activation, spm_bytes):
    """`stein.diff_activation_vjp` of points whose 6 streams do not fit in a 40-word SPM:
    each point in chunks of streams, the sums over the streams running in order, as NumPy
    adds them; φ' from the output (tanh) or the input (sin)."""
    overrides = [f"memory.spm_bytes={spm_bytes}"] if spm_bytes else []
    rng = np.random.default_rng(0)
    zb, zd, dout = (rng.standard_normal((4, w), np.float32) for w in (3, 18, 18))
    text = DIFF_ACTIVATION_VJP.replace("ACT", activation)
    step = check_module_on_both(text, "pde=4,d=4,o=4", [zb, zd, dout], overrides)
    sfu = [i for i in step.instructions if i.mnemonic == "SFU" and i.kind == "diff_vjp"]
    assert len(sfu) == (1 if spm_bytes is None else 4 * 6)


DIRECTIONS = """
func.func @train_step(%x: tensor<?x5xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<?x3x5xf32> {train.role = "term:inside"}, tensor<?x5x5xf32> {train.role = "term:all"}, tensor<?x4x5xf32> {train.role = "term:sampled"}, tensor<?x2x5xf32> {train.role = "term:sampled_all"}, tensor<f32> {train.role = "loss"}) {
  %inside = train.unit_directions %x dims 1 to 4 : tensor<?x5xf32> -> tensor<?x3x5xf32>
  %all = train.unit_directions %x dims 0 to 5 : tensor<?x5xf32> -> tensor<?x5x5xf32>
  %sampled = train.sample_coordinates %x, %seed, %step dims 1 to 4 samples 4 stream 2 : tensor<?x5xf32> -> tensor<?x4x5xf32>
  %sampled_all = train.sample_coordinates %x, %seed, %step dims 0 to 5 samples 2 stream 3 : tensor<?x5xf32> -> tensor<?x2x5xf32>
  %loss = train.mean_square %x : tensor<?x5xf32> -> tensor<f32>
  func.return %inside, %all, %sampled, %sampled_all, %loss : tensor<?x3x5xf32>, tensor<?x5x5xf32>, tensor<?x4x5xf32>, tensor<?x2x5xf32>, tensor<f32>
}
"""


@pytest.mark.parametrize("spm_bytes", [None, 1024])
def test_input_jets_equal_the_runtime_whole_and_in_tiles(spm_bytes):
    """The unit directions of a coordinate range (a pattern of VEC and VCOL instructions) and
    sampled coordinates (RNG onehot, placed in the range by VCOL expand_columns where it is
    not all of the coordinates), whole and in tiles of points."""
    overrides = [f"memory.spm_bytes={spm_bytes}"] if spm_bytes else []
    x = np.random.default_rng(0).standard_normal((9, 5), np.float32)
    step = check_module_on_both(DIRECTIONS, "pde=9", [x], overrides)
    draws = [i for i in step.instructions if i.mnemonic == "RNG"]
    assert {i.kind for i in draws} == {"onehot"}
    assert sum(i.points for i in draws) == 2 * 9
    if spm_bytes:
        assert len(draws) > 2


@pytest.mark.parametrize(
    "example, pipeline",
    [
        ("poisson2d_small", "fp32-taylor"),
        (
            "heat10d_small",
            "pinn-build-loss{derivatives=stde samples=3},pinn-autodiff,optimizer-lower,cse,dce",
        ),
    ],
)
def test_taylor_mode_steps_train_bit_for_bit_in_tiles(example, pipeline):
    """Exact jets and STDE (3 of the 10 space coordinates drawn per point) in a small SPM:
    the input jets and every op on them run in many tiles."""
    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    program = problem.compile(pipeline, target="numpy-exact")
    overrides = "memory.spm_bytes=65536,memory.acc_bytes=16384"
    step = lowered(program, set=overrides)
    run_both(program, step, steps=2, config=load_config(None, overrides.split(",")))
