"""stein-expand: structure of the expanded IR, options, streams, errors; the result verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.dialects.builtin import DYNAMIC_INDEX, ModuleOp, TensorType, f32
from xdsl.ir import Operation

from pintac.cli import main
from pintac.core.errors import UserError
from pintac.diagnostics import Source, parse_source, verify
from pintac.dialects import pinn, stein
from pintac.pass_manager import parse_pipeline_spec, run_pipeline
from pintac.passes.derivative_strategies import chooses_other_than_stein
from pintac.passes.stein_expand import SteinExpandPass, SteinSettings
from pintac.registry import available_passes, make_context

ROOT = Path(__file__).resolve().parents[2]

NETWORKS = """
  pinn.param @W0 : tensor<{d}x4xf32> init xavier_normal
  pinn.param @W1 : tensor<4x1xf32> init xavier_normal
  pinn.param @V0 : tensor<{d}x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x{d}xf32>) -> tensor<?x1xf32> {{
    %z = pinn.dense %x, @W0 : tensor<?x{d}xf32> -> tensor<?x4xf32>
    %h = math.tanh %z : tensor<?x4xf32>
    %y = pinn.dense %h, @W1 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }}
  pinn.network @v(%x : tensor<?x{d}xf32>) -> tensor<?x1xf32> {{
    %y = pinn.dense %x, @V0 : tensor<?x{d}xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }}
"""


def problem(body: str, *, domain: str, d: int, train: str = "", name: str = "p") -> str:
    return f"pinn.problem @{name} {{\n  {domain}\n{NETWORKS.format(d=d)}{body}\n{train}\n}}\n"


# HJB-like: ∂t, Δ and ∇ of @u at the same points, plus u itself; a terminal condition.
SPACETIME = problem(
    """
  pinn.residual @pde on @q weight 1.0 (%x : tensor<?x3xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x3xf32> -> tensor<?x1xf32>
    %ut = pinn.partial @u(%x) dim 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %du = pinn.grad @u(%x) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x2xf32>
    %s = pinn.sum %du : tensor<?x2xf32> -> tensor<?x1xf32>
    %a = arith.addf %ut, %lap : tensor<?x1xf32>
    %b = arith.addf %a, %s : tensor<?x1xf32>
    %r = arith.addf %b, %u : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @tc on final(@q) weight 1.0 (%x : tensor<?x3xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }""",
    domain="pinn.domain @q box [0.0] to [1.0] dim 2 time [0.0, 1.0]",
    d=3,
    train='pinn.train {optimizer = "adam", batch = {pde = 4, tc = 4}, pairs = 6, sigma = 0.05, '
    "sigma_t = 0.02}",
)

# Several groups: @u and @v at %x, @u at computed points %y, a Neumann term.
SPACE = problem(
    """
  pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %vx = pinn.partial @v(%x) dim 0 : tensor<?x2xf32> -> tensor<?x1xf32>
    %ux = pinn.partial @u(%x) dim 0 : tensor<?x2xf32> -> tensor<?x1xf32>
    %y = arith.mulf %x, %x : tensor<?x2xf32>
    %lapy = pinn.laplacian @u(%y) : tensor<?x2xf32> -> tensor<?x1xf32>
    %a = arith.addf %lap, %vx : tensor<?x1xf32>
    %b = arith.addf %a, %ux : tensor<?x1xf32>
    %r = arith.addf %b, %lapy : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@omega) weight 10.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.boundary @neumann on boundary(@omega) weight 1.0 (%x : tensor<?x2xf32>) {
    %un = pinn.grad @u(%x) dims 1 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %un : tensor<?x1xf32>
  }""",
    domain="pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]",
    d=2,
)


def parse(text: str) -> ModuleOp:
    parsed = parse_source(make_context(), Source("test.mlir", text))
    verify(parsed)
    return parsed.module


def expand(text: str, **options) -> ModuleOp:
    module = parse(text)
    SteinExpandPass(**options).apply(make_context(), module)
    module.verify()
    return module


def ops_of(module: Operation, kind) -> list:
    return [o for o in module.walk() if isinstance(o, kind)]


def term(module: ModuleOp, name: str) -> pinn.ResidualOp | pinn.BoundaryOp:
    return next(
        o
        for o in module.walk()
        if isinstance(o, pinn.ResidualOp | pinn.BoundaryOp) and o.sym_name.data == name
    )


def t(*shape: int) -> TensorType:
    return TensorType(f32, shape)


Q = DYNAMIC_INDEX


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------


def test_one_sample_set_for_all_derivatives_of_a_point():
    module = expand(SPACETIME, pairs=4, sigma=0.01)
    pde = term(module, "pde")
    assert not ops_of(module, pinn.GradOp | pinn.LaplacianOp | pinn.PartialOp)
    (key,) = ops_of(pde, pinn.RngKeyOp)
    (sample,) = ops_of(pde, stein.SampleOp)
    (perturb,) = ops_of(pde, stein.PerturbOp)
    x = pde.body.block.args[0]
    assert sample.x is x and sample.seed is key.seed and sample.step is key.step
    assert sample.pairs.value.data == 4 and sample.stream.value.data == 0
    assert sample.sigma.value.data == 0.01 and sample.sigma_t.value.data == 0.02  # from train
    assert perturb.x is x and perturb.delta is sample.delta
    evals = [e for e in ops_of(pde, pinn.EvalOp) if e.input is perturb.batch]
    assert len(evals) == 1
    (g,) = evals
    assert g.network.string_value() == "u" and g.output.type == t(Q, 9, 1)
    estimators = ops_of(pde, stein.GradOp | stein.LaplacianOp)
    assert len(estimators) == 3
    assert all(e.values is g.output and e.delta is sample.delta for e in estimators)
    by_name = {e.result.name_hint: e for e in estimators}
    assert set(by_name) == {"ut", "lap", "du"}
    assert isinstance(by_name["ut"], stein.GradOp) and by_name["ut"].dims == (2, 3)
    assert by_name["ut"].sigma.value.data == 0.02  # time: σ_t
    assert isinstance(by_name["lap"], stein.LaplacianOp) and by_name["lap"].dims == (0, 2)
    assert by_name["lap"].sigma.value.data == 0.01
    assert by_name["du"].dims == (0, 2) and by_name["du"].result.type == t(Q, 2)
    # Generated values have readable names.
    assert (sample.delta.name_hint, perturb.batch.name_hint, g.output.name_hint) == (
        "delta",
        "batch",
        "g",
    )
    assert (key.seed.name_hint, key.step.name_hint) == ("seed", "step")
    # The sample set comes right before the first derivative, after the plain evaluation.
    ops = list(pde.body.block.ops)
    first = ops.index(key)
    assert [type(o) for o in ops[first : first + 5]] == [
        pinn.RngKeyOp,
        stein.SampleOp,
        stein.PerturbOp,
        pinn.EvalOp,
        stein.GradOp,
    ]
    assert isinstance(ops[first - 1], pinn.EvalOp) and ops[first - 1].input is x
    # The terminal condition has no derivative: untouched (no key, no sample).
    tc = term(module, "tc")
    assert [o.name for o in tc.body.block.ops] == ["pinn.eval", "pinn.yield"]


def test_groups_and_stream_numbering():
    module = expand(SPACE, pairs=2, sigma=0.1)
    samples = ops_of(module, stein.SampleOp)
    assert [s.stream.value.data for s in samples] == [0, 1, 2, 3]  # walk order
    pde = term(module, "pde")
    x = pde.body.block.args[0]
    nets = []
    for s in samples:
        (batch,) = [u.operation for u in s.delta.uses if isinstance(u.operation, stein.PerturbOp)]
        (g,) = [u.operation for u in batch.batch.uses]
        nets.append(g.network.string_value())
    assert nets == ["u", "v", "u", "u"]
    assert samples[0].x is x and samples[1].x is x
    assert isinstance(samples[2].x.owner, Operation) and samples[2].x.owner.name == "arith.mulf"
    # @u at %x: ∂x and Δ share stream 0 although @v's derivative comes in between.
    users0 = {
        u.operation.result.name_hint
        for u in samples[0].delta.uses
        if u.operation.name != "stein.perturb"
    }
    assert users0 == {"lap", "ux"}
    # One rng key per term with derivatives, shared by its groups.
    assert len(ops_of(pde, pinn.RngKeyOp)) == 1
    assert {s.seed for s in samples[:3]} == {ops_of(pde, pinn.RngKeyOp)[0].seed}
    assert len(ops_of(term(module, "neumann"), pinn.RngKeyOp)) == 1
    assert not ops_of(term(module, "bc"), pinn.RngKeyOp)


def test_streams_continue_after_existing_samples_and_across_problems():
    two = SPACE + problem(
        """
  pinn.residual @r on @omega weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }""",
        domain="pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]",
        d=2,
        name="second",
    )
    module = expand(two, pairs=2)
    assert [s.stream.value.data for s in ops_of(module, stein.SampleOp)] == [0, 1, 2, 3, 4]
    # A second run finds nothing to expand.
    SteinExpandPass().apply(make_context(), module)
    assert len(ops_of(module, stein.SampleOp)) == 5
    # Samples already in the module keep their streams; new ones come after the largest.
    existing = SPACE.replace(
        "    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>\n",
        "    %k0, %k1 = pinn.rng_key : i64, i64\n"
        "    %d7 = stein.sample %x, %k0, %k1 pairs 2 sigma 0.1 stream 7 : "
        "tensor<?x2xf32> -> tensor<?x2x2xf32>\n"
        "    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>\n",
    )
    streams = [s.stream.value.data for s in ops_of(expand(existing, pairs=2), stein.SampleOp)]
    assert sorted(streams) == [7, 8, 9, 10, 11]


def test_options_from_train_then_defaults():
    module = parse(SPACETIME)
    (prob,) = ops_of(module, pinn.ProblemOp)
    assert SteinExpandPass().settings_for(prob) == SteinSettings(6, 0.05, 0.02)
    assert SteinExpandPass(pairs=3).settings_for(prob) == SteinSettings(3, 0.05, 0.02)
    assert SteinExpandPass(sigma=0.1, sigma_t=0.3).settings_for(prob) == SteinSettings(6, 0.1, 0.3)
    bare = parse(SPACE)
    (prob,) = ops_of(bare, pinn.ProblemOp)
    assert SteinExpandPass().settings_for(prob) == SteinSettings(512, 0.01, 0.01)
    assert SteinExpandPass(sigma=0.2).settings_for(prob) == SteinSettings(512, 0.2, 0.2)
    # Through the IR: K and σ of pinn.train.
    (sample,) = ops_of(term(expand(SPACETIME), "pde"), stein.SampleOp)
    assert (sample.pairs.value.data, sample.sigma.value.data, sample.sigma_t.value.data) == (
        6,
        0.05,
        0.02,
    )
    assert sample.delta.type == t(Q, 6, 3)


def test_sigma_t_only_with_a_time_coordinate():
    module = expand(SPACE, pairs=2, sigma=0.1, sigma_t=0.5)
    assert all(s.sigma_t is None for s in ops_of(module, stein.SampleOp))
    # Points of a time domain sliced to space only: no time coordinate, no sigma_t.
    sliced = problem(
        """
  pinn.residual @pde on @q weight 1.0 (%x : tensor<?x3xf32>) {
    %s = pinn.slice %x dims 0 to 2 : tensor<?x3xf32> -> tensor<?x2xf32>
    %lap = pinn.laplacian @u(%s) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }""",
        domain="pinn.domain @q box [0.0] to [1.0] dim 2 time [0.0, 1.0]",
        d=2,
    )
    (sample,) = ops_of(expand(sliced, pairs=2, sigma_t=0.5), stein.SampleOp)
    assert sample.sigma_t is None and sample.x.owner.name == "pinn.slice"


def test_static_point_counts_and_result_types_are_kept():
    text = SPACE.replace("tensor<?x2xf32>) {", "tensor<8x2xf32>) {").replace(
        "@u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>", "@u(%x) : tensor<8x2xf32> -> tensor<8x1xf32>"
    )
    text = (
        text.replace(
            """    %vx = pinn.partial @v(%x) dim 0 : tensor<?x2xf32> -> tensor<?x1xf32>
    %ux = pinn.partial @u(%x) dim 0 : tensor<?x2xf32> -> tensor<?x1xf32>
    %y = arith.mulf %x, %x : tensor<?x2xf32>
    %lapy = pinn.laplacian @u(%y) : tensor<?x2xf32> -> tensor<?x1xf32>
    %a = arith.addf %lap, %vx : tensor<?x1xf32>
    %b = arith.addf %a, %ux : tensor<?x1xf32>
    %r = arith.addf %b, %lapy : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>""",
            """    pinn.yield %lap : tensor<8x1xf32>""",
        )
        .replace(
            "%un = pinn.grad @u(%x) dims 1 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>\n"
            "    pinn.yield %un : tensor<?x1xf32>",
            "%un = pinn.grad @u(%x) dims 1 to 2 : tensor<8x2xf32> -> tensor<8x1xf32>\n"
            "    pinn.yield %un : tensor<8x1xf32>",
        )
        .replace("    pinn.yield %u : tensor<?x1xf32>", "    pinn.yield %u : tensor<8x1xf32>")
    )
    module = expand(text, pairs=3)
    assert {s.delta.type for s in ops_of(module, stein.SampleOp)} == {t(8, 3, 2)}
    assert {p.batch.type for p in ops_of(module, stein.PerturbOp)} == {t(8, 7, 2)}
    assert {e.result.type for e in ops_of(module, stein.LaplacianOp | stein.GradOp)} == {t(8, 1)}


# ---------------------------------------------------------------------------------------------
# The rng key
# ---------------------------------------------------------------------------------------------


def test_an_existing_rng_key_is_reused_and_moved_up_if_needed():
    late = SPACE.replace(
        "    %r = arith.addf %b, %lapy : tensor<?x1xf32>\n",
        "    %r = arith.addf %b, %lapy : tensor<?x1xf32>\n    %k0, %k1 = pinn.rng_key : i64, i64\n",
    )
    module = expand(late, pairs=2)
    pde = term(module, "pde")
    (key,) = ops_of(pde, pinn.RngKeyOp)
    assert key.seed.name_hint == "k0"  # the user's key, not a new one
    first_sample = ops_of(pde, stein.SampleOp)[0]
    assert key.is_before_in_block(first_sample)
    assert all(s.seed is key.seed and s.step is key.step for s in ops_of(pde, stein.SampleOp))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

MIXED = problem(
    """
  pinn.residual @pde on @q weight 1.0 (%x : tensor<?x3xf32>) {
    %ut = pinn.partial @u(%x) dim 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 1 to 3 : tensor<?x3xf32> -> tensor<?x1xf32>
    %r = arith.addf %ut, %lap : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }""",
    domain="pinn.domain @q box [0.0] to [1.0] dim 2 time [0.0, 1.0]",
    d=3,
)


def test_a_range_mixing_space_and_time_needs_one_sigma():
    module = parse(MIXED)
    before = module.clone()
    with pytest.raises(UserError) as err:
        SteinExpandPass(pairs=2, sigma=0.01, sigma_t=0.02).apply(make_context(), module)
    message = str(err.value)
    assert "'pinn.laplacian' of @u in pinn.residual @pde covers dims 1 to 3" in message
    assert "sampled with sigma 0.01" in message and "sampled with sigma_t 0.02" in message
    assert "set sigma-t equal to sigma" in message
    assert "split the range into dims 1 to 2 and dims 2 to 3" in message
    # Planned before rewriting: the IR is untouched.
    assert module.is_structurally_equivalent(before)
    # With σ_t = σ (given, or by default) the same range is fine.
    for options in [dict(sigma_t=0.01), {}]:
        (lap,) = ops_of(expand(MIXED, pairs=2, sigma=0.01, **options), stein.LaplacianOp)
        assert lap.dims == (1, 3) and lap.sigma.value.data == 0.01


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(pairs=0), "option pairs must be an integer >= 1, got 0"),
        (dict(pairs=-3), "option pairs must be an integer >= 1, got -3"),
        (dict(sigma=-0.5), "option sigma must be a positive number, got -0.5"),
        (dict(sigma=0.0), "option sigma must be a positive number, got 0.0"),
        (dict(sigma_t=float("nan")), "option sigma-t must be a positive number, got nan"),
        (dict(sigma_t=float("inf")), "option sigma-t must be a positive number, got inf"),
    ],
)
def test_bad_options(options, message):
    module = parse(SPACE)
    with pytest.raises(UserError, match=message):
        SteinExpandPass(**options).apply(make_context(), module)


def test_the_pass_manager_reports_errors_with_the_pass_name(tmp_path, capsys):
    src = tmp_path / "mixed.mlir"
    src.write_text(MIXED)
    repro = tmp_path / "repro.mlir"
    code = main(["opt", str(src), "-p", "stein-expand{sigma-t=0.5}", "--reproducer", str(repro)])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: pass 'stein-expand{sigma_t=0.5}' failed: 'pinn.laplacian' of @u" in err
    code = main(["opt", str(src), "-p", "stein-expand{pairs=0}", "--reproducer", str(repro)])
    err = capsys.readouterr().err
    assert code == 1
    # a bad option is reported before any pass runs
    assert "bad options for pass 'stein-expand': option pairs must be an integer >= 1" in err


def test_registered_with_a_description():
    cls = available_passes()["stein-expand"]()
    assert cls is SteinExpandPass
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    assert doc.startswith("Replace pinn.grad/laplacian/partial by Stein's estimators")
    (p,) = parse_pipeline_spec("stein-expand{pairs=8 sigma=0.02 sigma-t=0.03}", available_passes())
    assert p == SteinExpandPass(8, 0.02, 0.03)


# ---------------------------------------------------------------------------------------------
# The examples expand into IR that verifies (as pintac opt checks after each pass)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.mlir")), ids=lambda p: p.name)
def test_examples_expand_and_verify(path: Path):
    ctx = make_context()
    parsed = parse_source(ctx, Source(str(path), path.read_text()))
    verify(parsed)
    run_pipeline(ctx, parsed, parse_pipeline_spec("stein-expand", available_passes()))
    module = parsed.module
    (prob,) = ops_of(module, pinn.ProblemOp)
    if chooses_other_than_stein(prob):  # left to pinn-build-loss, by the problem's strategy
        assert not ops_of(module, stein.SampleOp)
        return
    assert not ops_of(module, pinn.GradOp | pinn.LaplacianOp | pinn.PartialOp)
    settings = SteinExpandPass().settings_for(prob)
    samples = ops_of(module, stein.SampleOp)
    assert samples and [s.stream.value.data for s in samples] == list(range(len(samples)))
    for s in samples:
        assert s.pairs.value.data == settings.pairs
        has_time = any(d.has_time for d in ops_of(module, pinn.DomainOp))
        assert (s.sigma_t is not None) == has_time
