"""The Python API of pintac: load a problem, compile it, train it, evaluate it.

    import pintac.api as pt

    problem = pt.load("examples/poisson2d_small.mlir")
    program = problem.compile("fp32")              # a named pipeline or a pipeline string
    trainer = pt.Trainer(program, seed=0)
    trainer.train(200, callback=lambda s, m: print(s, m["loss"]))
    print(trainer.evaluate().rel_l2)
    trainer.save("run/checkpoint.npz")

`pintac run` is built on exactly this.

Checkpoints (`Trainer.save`, `Trainer.resume`) record what resuming checks: the problem's
identity (its name and the SHA-256 of its canonical IR: comments, layout, SSA value names and
the `steps` / `eval_points` of `pinn.train` do not count, everything else does), the pipeline,
every tensor's name, shape and dtype, the step, the RNG position (seed and step: every random
number is a function of (seed, step, stream)), and the loss history. The problem's source text
is kept too, so `pintac predict` and `pintac plot` can rebuild the model from the checkpoint.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.printer import Printer
from xdsl.rewriter import Rewriter

from pintac.core.errors import UserError
from pintac.core.limits import MAX_EVAL_POINTS, MAX_SEED, MAX_STEPS
from pintac.core.training import DEFAULT_SCHEDULE, learning_rate
from pintac.diagnostics import ParsedModule, Source, parse_source, read_source, verify
from pintac.dialects import pinn, train
from pintac.frontend import build_pde, is_pde
from pintac.pass_manager import Instrumentation, parse_pipeline_spec, run_pipeline
from pintac.passes import derivative_strategies
from pintac.pipelines import DEFAULT_PIPELINE, pipeline_spec
from pintac.registry import available_passes, make_context
from pintac.runtime import rng
from pintac.runtime.checkpoint import describe_array, load_checkpoint, save_checkpoint
from pintac.runtime.init import init_params
from pintac.runtime.sampling import DomainSpec, sample_points
from pintac.runtime.targets import Target, functions_of, get_target

if TYPE_CHECKING:
    from pintac.runtime.pinta.target import HardwareOptions

DEFAULT_BATCH = pinn.DEFAULT_BATCH
DEFAULT_STEPS = 1000  # training steps when pinn.train gives none (and no schedule needs them)
DEFAULT_EVAL_POINTS = 10_000

PREDICT_CHUNK = 4096  # rows per call of @predict


def check_int(value: Any, what: str, low: int, high: int) -> int:
    """`value` as an int in [low, high], or a UserError naming `what`."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not low <= value <= high
    ):
        raise UserError(
            f"error: {what} must be an integer from {low} to {high}, got {_shown(value)}"
        )
    return int(value)


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return "an integer of thousands of digits"
    return text if len(text) <= 60 else text[:60] + "..."


def load(path: str | Path) -> Problem:
    """Parse and verify a problem file (`-` reads standard input)."""
    return Problem.from_source(read_source(str(path)))


def loads(text: str, name: str = "<string>") -> Problem:
    return Problem.from_source(Source(name, text))


@dataclass
class Problem:
    """A verified module holding one `pinn.problem`."""

    parsed: ParsedModule

    @staticmethod
    def from_source(src: Source) -> Problem:
        ctx = make_context()
        parsed = build_pde(src) if is_pde(src) else parse_source(ctx, src)
        verify(parsed)
        problems = [op for op in parsed.module.ops if isinstance(op, pinn.ProblemOp)]
        if len(problems) != 1:
            raise UserError(
                f"{src.name}: error: expected one pinn.problem in the file, found {len(problems)}"
            )
        return Problem(parsed)

    @property
    def name(self) -> str:
        return self.op.sym_name.data

    @property
    def op(self) -> pinn.ProblemOp:
        return next(op for op in self.parsed.module.ops if isinstance(op, pinn.ProblemOp))

    @property
    def train(self) -> pinn.TrainOp | None:
        return self.op.train

    @property
    def source(self) -> Source:
        return self.parsed.source

    def config(self, key: str, default: Any = None) -> Any:
        train = self.train
        return default if train is None else train.get(key, default)

    def with_config(self, **options: Any) -> Problem:
        """A copy of the problem with these `pinn.train` options set (`pairs=64`,
        `lr=3e-3`, `derivatives="taylor"`), verified: a bad value is an error located at the
        problem's `pinn.train` (or at the problem, when it has none)."""
        module = self.parsed.module.clone()
        offsets = {
            new: self.parsed.op_offsets[old]
            for new, old in zip(module.walk(), self.parsed.module.walk(), strict=True)
            if old in self.parsed.op_offsets
        }
        problem = next(op for op in module.ops if isinstance(op, pinn.ProblemOp))
        old = problem.train
        config = dict(old.config.data) if old is not None else {}
        for key, value in options.items():
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise UserError(f"error: training option '{key}' takes a number or a string")
            if isinstance(value, str):
                config[key] = StringAttr(value)
            elif isinstance(value, int):
                config[key] = IntegerAttr(value, i64)
            else:
                config[key] = FloatAttr(value, f64)
        train = pinn.TrainOp(config)
        if old is not None:
            offsets[train] = offsets.get(old, offsets.get(problem, 0))
            Rewriter.replace_op(old, train)
        else:
            problem.body.block.add_op(train)
        parsed = ParsedModule(module, self.parsed.source, offsets, self.parsed.line_offset)
        verify(parsed)
        return Problem(parsed)

    def identity(self) -> dict[str, str]:
        """The problem's name and the SHA-256 of its canonical IR (`canonical_text`)."""
        text = canonical_text(self.op)
        return {"name": self.name, "sha256": hashlib.sha256(text.encode()).hexdigest()}

    def _transform(
        self,
        ctx,
        passes,
        instrumentation: Instrumentation | None = None,
        steps: int | None = None,
    ) -> ParsedModule:
        """`passes` applied to a copy of the problem's module."""
        module: ModuleOp = self.parsed.module.clone()
        # The clone's ops map to the same source offsets, so failures in passes are located.
        offsets = dict(zip(module.walk(), self.parsed.module.walk(), strict=True))
        op_offsets = {
            new: self.parsed.op_offsets[old]
            for new, old in offsets.items()
            if old in self.parsed.op_offsets
        }
        parsed = ParsedModule(module, self.parsed.source, op_offsets, self.parsed.line_offset)
        if steps is not None:
            _set_steps(module, steps)
        run_pipeline(ctx, parsed, passes, instrumentation)
        return parsed

    def transformed(self, pipeline: str) -> ModuleOp:
        """A copy of the problem's module after a pipeline string (a part of a pipeline,
        e.g. `tt-compress` to see the layers it makes); the problem is left as it is."""
        passes = parse_pipeline_spec(pipeline_spec(pipeline), available_passes())
        return self._transform(make_context(), passes).module

    def compile(
        self,
        pipeline: str = DEFAULT_PIPELINE,
        *,
        steps: int | None = None,
        instrumentation: Instrumentation | None = None,
        target: str = "numpy",
        hw: HardwareOptions | None = None,
    ) -> Program:
        """Run a named pipeline (or a pipeline string) on a copy of the problem and build the
        result for a target (`pintac.runtime.targets`).

        `steps` overrides the training configuration's number of steps (which sets the
        length of a linear-decay schedule). `hw` configures the PINTA targets' hardware.
        """
        if steps is not None:
            check_int(steps, "steps", 1, MAX_STEPS)
        spec = pipeline_spec(pipeline)
        passes = parse_pipeline_spec(spec, available_passes())
        if not self.op.terms:
            raise self.parsed.error_at(
                self.op,
                f"'pinn.problem' op @{self.name} has no loss terms (pinn.residual or "
                "pinn.boundary): there is nothing to train",
            )
        ctx = make_context()
        parsed = self._transform(ctx, passes, instrumentation, steps)
        module, op_offsets = parsed.module, parsed.op_offsets
        built_for = get_target(target, hw)
        lowered = None
        batch = self.config("batch", {}) or {}
        sizes = {
            t.sym_name.data: int(batch.get(t.sym_name.data, DEFAULT_BATCH)) for t in self.op.terms
        }
        lowering = built_for.lowering(sizes)
        if lowering:  # the target's own passes, on a copy (the program keeps the step's IR)
            lowered = module.clone()
            offsets = dict(zip(lowered.walk(), module.walk(), strict=True))
            lowered_parsed = ParsedModule(
                lowered,
                parsed.source,
                {new: op_offsets[old] for new, old in offsets.items() if old in op_offsets},
                parsed.line_offset,
            )
            run_pipeline(
                ctx,
                lowered_parsed,
                parse_pipeline_spec(lowering, available_passes()),
                instrumentation,
            )
        return Program(
            module,
            pipeline,
            spec,
            self.parsed.source.name,
            target,
            problem=self,
            pipeline_id=",".join(str(p) for p in passes),
            built_for=built_for,
            lowered=lowered,
        )


def canonical_text(problem: pinn.ProblemOp) -> str:
    """The problem's IR in generic form without what does not change training: comments and
    layout (gone once parsed), SSA value names, and the `steps` (a run may be extended) and
    `eval_points` (evaluation only) of `pinn.train`."""
    op = problem.clone()
    for inner in op.walk():
        for value in inner.results:
            value.name_hint = None
        for region in inner.regions:
            for block in region.blocks:
                for arg in block.args:
                    arg.name_hint = None
        if isinstance(inner, pinn.TrainOp):
            config = {
                k: v for k, v in inner.config.data.items() if k not in ("steps", "eval_points")
            }
            inner.config = DictionaryAttr(config)
    out = StringIO()
    Printer(stream=out, print_generic_format=True).print_op(op)
    return out.getvalue()


def _first_difference(old: str, new: str, width: int = 90) -> str:
    """`...old...` became `...new...` around the first character where the texts differ."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for i in range(max(len(old_lines), len(new_lines))):
        a = old_lines[i] if i < len(old_lines) else ""
        b = new_lines[i] if i < len(new_lines) else ""
        if a != b:
            col = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            start = max(0, col - width // 3)
            return f"`{_excerpt(a, start, width)}` became `{_excerpt(b, start, width)}`"
    return "the texts differ"


def _excerpt(line: str, start: int, width: int) -> str:
    piece = line[start : start + width].strip()
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(line) else "")


def _set_steps(module: ModuleOp, steps: int) -> None:
    problem = next(op for op in module.ops if isinstance(op, pinn.ProblemOp))
    train = problem.train
    if train is None:
        train = pinn.TrainOp({})
        problem.body.block.add_op(train)
    config = dict(train.config.data)
    config["steps"] = IntegerAttr(steps, i64)
    train.config = DictionaryAttr(config)


@dataclass(frozen=True)
class Term:
    """How the runtime feeds one loss term: where its points come from and how many."""

    name: str
    index: int
    domain: DomainSpec
    on: str
    batch: int
    weight: float = 1.0


@dataclass(frozen=True)
class TensorSpec:
    """A tensor a training step carries: `param:W0` or `state:W0:m`, its shape and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None  # a NumPy dtype name; None where the IR type has none

    def describe(self) -> str:
        return describe_array(self.shape, self.dtype or "float32").rsplit(" ", 1)[0]


@dataclass
class TrainState:
    """Everything a training run carries from one step to the next."""

    step: int  # steps done so far
    params: dict[str, np.ndarray]
    slots: dict[str, np.ndarray]  # optimizer state, by role ("state:W0:m")

    def copy(self) -> TrainState:
        return TrainState(
            self.step,
            {k: v.copy() for k, v in self.params.items()},
            {k: v.copy() for k, v in self.slots.items()},
        )


@dataclass(frozen=True)
class Evaluation:
    rel_l2: float
    points: int
    smoothed: bool


_DTYPES = {"f16": "float16", "f32": "float32", "f64": "float64", "i32": "int32", "i64": "int64"}


class Program:
    """A compiled problem: its functions built for a target, plus what the runtime needs to
    feed them."""

    def __init__(
        self,
        module: ModuleOp,
        pipeline: str,
        spec: str,
        source_name: str,
        target: str = "numpy",
        *,
        problem: Problem | None = None,
        pipeline_id: str | None = None,
        built_for: Target | None = None,
        lowered: ModuleOp | None = None,
    ):
        self.module = module
        self.pipeline = pipeline
        self.spec = spec
        self.pipeline_id = pipeline_id or spec  # the passes with their options, normalized
        self.source_name = source_name
        self.source_problem = problem  # the problem as written (for identity and checkpoints)
        self.problem: pinn.ProblemOp = next(
            op for op in module.ops if isinstance(op, pinn.ProblemOp)
        )
        funcs = functions_of(module)
        missing = [f for f in ("train_step", "predict") if f not in funcs]
        if missing:
            raise UserError(
                f"error: the pipeline '{pipeline}' does not produce a @{missing[0]} function; "
                "a training pipeline ends with pinn-build-loss, pinn-autodiff, optimizer-lower"
            )
        self.functions = funcs
        self.target = target
        self.lowered = lowered  # the module after the target's lowering, if it has one
        self.executable = (built_for or get_target(target)).build(
            lowered or module,
            f"Training step of problem {self.name}, pipeline {pipeline}: {spec}",
            pipeline,
        )
        built = self.executable.functions
        self.train_step = built["train_step"]
        self.predict = built["predict"]
        self.exact = built.get("exact")
        self.arg_roles = train.arg_roles(funcs["train_step"])
        self.result_roles = train.result_roles(funcs["train_step"])
        self.predict_roles = train.arg_roles(funcs["predict"])
        self.terms = self._terms()
        self._update = next(
            (op for op in funcs["train_step"].walk() if isinstance(op, train.UpdateOp)), None
        )

    # -- configuration
    def config(self, key: str, default: Any = None) -> Any:
        train = self.problem.train
        return default if train is None else train.get(key, default)

    @property
    def name(self) -> str:
        return self.problem.sym_name.data

    @property
    def steps(self) -> int:
        """The number of training steps the program was compiled for."""
        steps = self.config("steps")
        if steps is None and self._update is not None:
            steps = self._update.hyperparameters().get("steps")
        return int(DEFAULT_STEPS if steps is None else steps)

    @property
    def schedule(self) -> str:
        """The learning-rate schedule of the compiled update: constant or linear_decay."""
        if self._update is None:
            return DEFAULT_SCHEDULE
        return str(self._update.hyperparameters().get("schedule", DEFAULT_SCHEDULE))

    @property
    def schedule_steps(self) -> int | None:
        """The length of a linear-decay schedule (it reaches 0 at this step), else None."""
        if self.schedule != "linear_decay" or self._update is None:
            return None
        return int(self._update.hyperparameters()["steps"])

    def learning_rate(self, step: int) -> float:
        """The learning rate of the 0-based `step`: lr · (1 − step/steps) for linear decay."""
        if self._update is None:
            return 0.0
        lr = float(self._update.hyperparameters()["lr"])
        return learning_rate(lr, step, self.schedule, self.schedule_steps)

    @property
    def term_weights(self) -> dict[str, float]:
        return {t.name: t.weight for t in self.terms}

    @property
    def domain(self) -> DomainSpec:
        """The domain of the first residual term (else the first term): where the held-out
        points, `pintac predict --grid` and the solution plots live."""
        residuals = [t for t in self.terms if t.on == "interior"] or self.terms
        if not residuals:
            raise UserError(f"{self.source_name}: error: the problem has no loss terms")
        return residuals[0].domain

    def _terms(self) -> list[Term]:
        batch = self.config("batch", {}) or {}
        terms = []
        for i, t in enumerate(self.problem.terms):
            name = t.sym_name.data
            dom = pinn.lookup(t, t.domain)
            on = "interior" if isinstance(t, pinn.ResidualOp) else t.on.data
            size = int(batch.get(name, DEFAULT_BATCH))
            weight = float(t.weight.value.data)
            terms.append(Term(name, i, DomainSpec.from_op(dom), on, size, weight))
        return terms

    def tensor_specs(self) -> list[TensorSpec]:
        """The tensors a training state holds — parameters, then optimizer state, in the order
        of @train_step's arguments — with the shapes and dtypes the step expects."""
        f: func.FuncOp = self.functions["train_step"]
        specs = {}
        for role, arg in zip(self.arg_roles, f.args, strict=True):
            kind, _, rest = role.partition(":")
            if kind not in ("param", "state"):
                continue
            name = f"param:{rest}" if kind == "param" else role
            if isinstance(arg.type, TensorType):
                shape = tuple(int(d) for d in arg.type.get_shape())
                dtype = _DTYPES.get(str(arg.type.get_element_type()))
            else:
                shape, dtype = (), None
            specs[name] = TensorSpec(name, shape, dtype)
        ordered = [s for n, s in specs.items() if n.startswith("param:")]
        return ordered + [s for n, s in specs.items() if not n.startswith("param:")]

    def write(self, output: str | None) -> None:
        """Write the target's artifact (`pintac compile --target`) to `output` or stdout."""
        self.executable.write(output)

    # -- training
    def initial_state(self, seed: int, given: Mapping[str, np.ndarray] | None = None) -> TrainState:
        """Step 0: parameters from their inits, or from `given` values by parameter name (a
        trained checkpoint's, say; TT cores initialized `tt_svd` then start from the TT-SVD
        of their source's given value); zero optimizer state."""
        params = init_params(self.problem, seed, given)
        slots = {}
        for role in self.arg_roles:
            if role.startswith("state:"):
                slots[role] = np.zeros_like(params[role.split(":")[1]])
        return TrainState(0, params, slots)

    def batch(self, seed: int, step: int) -> dict[str, np.ndarray]:
        """The collocation points of a step: a pure function of (seed, step)."""
        return {
            t.name: sample_points(
                t.domain, t.on, t.batch, seed, step, rng.STREAM_COLLOCATION + t.index
            )
            for t in self.terms
        }

    def step_arguments(
        self, state: TrainState, seed: int, points: dict[str, np.ndarray]
    ) -> list[Any]:
        """The arguments of @train_step, in order, from their `pinn.role`s."""
        args: list[Any] = []
        for role in self.arg_roles:
            kind, _, rest = role.partition(":")
            if kind == "param":
                args.append(state.params[rest])
            elif kind == "state":
                args.append(state.slots[role])
            elif kind == "points":
                args.append(points[rest])
            elif role == "seed":
                args.append(seed)
            elif role == "step":
                args.append(state.step)
            else:
                raise UserError(f"error: @train_step has an argument of unknown role '{role}'")
        return args

    def step(self, state: TrainState, seed: int) -> tuple[TrainState, dict[str, float]]:
        """One training step: the next state and the losses (`loss`, `loss_<term>`)."""
        args = self.step_arguments(state, seed, self.batch(seed, state.step))
        out = self.train_step(*args)
        params, slots, metrics = {}, {}, {}
        for role, value in zip(self.result_roles, out, strict=True):
            kind, _, rest = role.partition(":")
            if kind == "param":
                params[rest] = value
            elif kind == "state":
                slots[role] = value
            elif role == "loss":
                metrics["loss"] = float(value)
            elif kind == "term":
                metrics[f"loss_{rest}"] = float(value)
        return TrainState(state.step + 1, params, slots), metrics

    # -- evaluation
    def evaluation_points(self, n: int, seed: int) -> np.ndarray:
        """Held-out points: the interior of the first residual term's domain, fixed by the seed."""
        n = check_int(n, "the number of evaluation points", 1, MAX_EVAL_POINTS)
        return sample_points(self.domain, "interior", n, seed, 0, rng.STREAM_EVAL)

    def predict_values(self, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        args = [params[r.removeprefix("param:")] for r in self.predict_roles[:-1]]
        return self.predict(*args, x)[0]

    def predict_batched(self, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        """The network at the rows of `x`, evaluated in chunks of about PREDICT_CHUNK rows
        (as `evaluate` does, so the two agree bit for bit)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) == 0:
            return self.predict_values(params, np.zeros((1, x.shape[1]), np.float32))[:0]
        chunks = np.array_split(x, max(1, len(x) // PREDICT_CHUNK))
        return np.concatenate([self.predict_values(params, c) for c in chunks])

    def exact_values(self, x: np.ndarray) -> np.ndarray | None:
        """The exact solution at the rows of `x` (None if the problem has none)."""
        if self.exact is None:
            return None
        u = self.exact(np.ascontiguousarray(x, dtype=np.float32))[0]
        return np.broadcast_to(u, (len(x), np.shape(u)[-1] if np.ndim(u) else 1))

    def evaluate(
        self,
        state: TrainState,
        points: int = DEFAULT_EVAL_POINTS,
        seed: int = 0,
        smoothed: bool = False,
    ) -> Evaluation:
        """Relative L2 error against the exact solution on held-out points."""
        if self.exact is None:
            raise UserError(
                f"{self.source_name}: error: the problem has no pinn.exact solution, so its error "
                "cannot be measured (add `pinn.exact of @u (...)` or run without evaluation)"
            )
        x = self.evaluation_points(points, seed)
        if smoothed:
            u = self.smoothed_values(state.params, x, seed)
        else:
            u = self.predict_batched(state.params, x)
        ref = self.exact(x)[0]
        u, ref = u.astype(np.float64), np.broadcast_to(ref, u.shape).astype(np.float64)
        err = float(np.linalg.norm(u - ref) / max(np.linalg.norm(ref), 1e-300))
        return Evaluation(err, points, smoothed)

    def smoothed_values(self, params, x: np.ndarray, seed: int) -> np.ndarray:
        """The network the program's derivative strategy trains, at the rows of `x` (Stein's
        estimator: the Gaussian-smoothed network E[u(x+δ)]); a UserError for a strategy that
        trains the network itself."""
        has_time = self.terms[0].domain.has_time if self.terms else False
        return derivative_strategies.smoothed_values(
            self.functions["train_step"],
            lambda rows: self.predict_values(params, rows),
            x,
            seed,
            has_time,
        )


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


def default_eval_points(program: Program, points: int | None = None) -> int:
    """The number of held-out points of the final evaluation: given, else the problem's
    `eval_points`, else 10⁴."""
    n = points if points is not None else program.config("eval_points", DEFAULT_EVAL_POINTS)
    return check_int(n, "the number of evaluation points", 1, MAX_EVAL_POINTS)


@dataclass
class Trainer:
    """Runs training steps of a Program, with checkpoints that resume bit-identically."""

    program: Program
    seed: int | None = None
    state: TrainState | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    last_checkpoint: Path | None = None
    last_checkpoint_step: int | None = None
    #: Initial parameter values by name (`Program.initial_state`), when no state is given.
    initial_values: Mapping[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if self.seed is None:
            self.seed = self.program.config("seed", 0)
        self.seed = check_int(self.seed, "the seed", 0, MAX_SEED)
        if self.state is None:
            self.state = self.program.initial_state(self.seed, self.initial_values)

    @property
    def step(self) -> int:
        return self.state.step

    def check_steps(self, steps: int) -> int:
        """`steps` more steps are possible: a count in range, and not past the end of a
        linear-decay schedule (where the learning rate would turn negative)."""
        steps = check_int(steps, "the number of steps", 0, MAX_STEPS)
        end = self.program.schedule_steps
        if end is not None and self.step + steps > end:
            raise UserError(
                f"error: the program's linear-decay schedule ends at step {end} (the learning "
                f"rate is lr · (1 − t/{end})); training to step {self.step + steps} would make "
                "it negative. Compile with more steps (Problem.compile(..., steps=N)) and "
                "resume (Trainer.resume; pintac run --resume --steps N)"
            )
        return steps

    def train(
        self,
        steps: int,
        callback: Callable[[int, dict[str, float]], None] | None = None,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 0,
        *,
        eval_every: int = 0,
        eval_points: int = 1000,
        smoothed: bool = False,
    ) -> dict[str, float]:
        """Run `steps` more steps; returns the last metrics. Stops on a NaN/Inf loss.

        With `eval_every` N > 0, the relative L2 error on `eval_points` held-out points is
        measured after every N-th step and recorded in the history (and the metrics passed to
        `callback`) as `rel_l2`.
        """
        steps = self.check_steps(steps)
        if eval_every:
            check_int(eval_every, "eval_every", 0, MAX_STEPS)
            eval_points = check_int(
                eval_points, "the number of evaluation points", 1, MAX_EVAL_POINTS
            )
        metrics: dict[str, float] = {}
        for _ in range(steps):
            start = time.perf_counter()
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    new_state, metrics = self.program.step(self.state, self.seed)
            except UserError as e:  # a non-finite value reaching a quantizer, say
                what = str(e).removeprefix("error: ")
                raise TrainingDiverged(
                    f"error: at step {self.state.step}, {what}; training stopped "
                    f"({self._last_good()})"
                ) from None
            self.step_seconds.append(time.perf_counter() - start)
            if not all(math.isfinite(v) for v in metrics.values()):
                raise TrainingDiverged(
                    f"error: the loss became {metrics.get('loss')} at step {self.state.step}; "
                    f"training stopped ({self._last_good()}). Try a smaller learning rate."
                )
            self.state = new_state
            if eval_every and self.state.step % eval_every == 0 and self.program.exact is not None:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    evaluation = self.program.evaluate(self.state, eval_points, self.seed, smoothed)
                metrics = {**metrics, "rel_l2": evaluation.rel_l2}
            self.history.append({"step": self.state.step, **metrics})
            if callback is not None:
                callback(self.state.step, metrics)
            if (
                checkpoint is not None
                and checkpoint_every
                and self.state.step % checkpoint_every == 0
            ):
                self.save(checkpoint)
        return metrics

    def _last_good(self) -> str:
        if self.last_checkpoint is not None:
            return f"the last good checkpoint is {self.last_checkpoint}"
        return "no checkpoint was written (use --checkpoint DIR)"

    def evaluate(self, points: int | None = None, smoothed: bool = False) -> Evaluation:
        n = default_eval_points(self.program, points)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.program.evaluate(self.state, n, self.seed, smoothed)

    # -- checkpoints
    def save(self, path: str | Path) -> Path:
        """Write a checkpoint to `path` atomically (missing directories are created)."""
        path = Path(path)
        arrays = {f"param:{k}": v for k, v in self.state.params.items()}
        arrays.update(self.state.slots)
        program = self.program
        source = program.source_problem
        meta = {
            "problem": {
                "name": program.name,
                "file": _source_file(program.source_name),
                "sha256": source.identity()["sha256"] if source is not None else None,
                "source": source.source.text if source is not None else None,
            },
            "pipeline": {"name": program.pipeline, "spec": program.pipeline_id},
            "steps": program.steps,
            "step": self.state.step,
            "seed": self.seed,
            "rng": {"seed": self.seed, "step": self.state.step},
            "tensors": [
                {"name": k, "shape": list(np.shape(v)), "dtype": np.asarray(v).dtype.name}
                for k, v in arrays.items()
            ],
            "history": self.history,
        }
        save_checkpoint(path, arrays, meta)
        self.last_checkpoint = path
        self.last_checkpoint_step = self.state.step
        return path

    @classmethod
    def resume(cls, program: Program, path: str | Path) -> Trainer:
        """A trainer continuing the checkpoint at `path`, after checking that it belongs to
        `program`: same problem, same tensors, same pipeline (see the module doc)."""
        checkpoint = read_checkpoint(path)
        checkpoint.check(program)
        params = {
            k.removeprefix("param:"): v
            for k, v in checkpoint.arrays.items()
            if k.startswith("param:")
        }
        slots = {k: v for k, v in checkpoint.arrays.items() if k.startswith("state:")}
        state = TrainState(checkpoint.step, params, slots)
        order = ["step", "loss", *(f"loss_{t.name}" for t in program.terms)]
        history = [
            {**{k: h[k] for k in order if k in h}, **{k: v for k, v in h.items() if k not in order}}
            for h in checkpoint.history
        ]
        for record in history:
            record["step"] = int(record["step"])
        trainer = cls(program, checkpoint.seed, state, history)
        trainer.last_checkpoint = Path(path)
        trainer.last_checkpoint_step = checkpoint.step
        return trainer


def _source_file(name: str) -> str | None:
    path = Path(name)
    return str(path.resolve()) if name not in ("-", "<stdin>") and path.is_file() else None


@dataclass
class Checkpoint:
    """A checkpoint's arrays and its metadata, checked for completeness (`read_checkpoint`)."""

    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def fail(self, message: str) -> UserError:
        return UserError(f"{self.path}: error: {message}")

    @property
    def problem_name(self) -> str:
        return self.meta["problem"]["name"]

    @property
    def problem_source(self) -> str | None:
        return self.meta["problem"].get("source")

    @property
    def problem_file(self) -> str | None:
        return self.meta["problem"].get("file")

    @property
    def pipeline(self) -> str:
        return self.meta["pipeline"]["spec"]

    @property
    def pipeline_name(self) -> str:
        return self.meta["pipeline"]["name"]

    @property
    def step(self) -> int:
        return self.meta["step"]

    @property
    def steps(self) -> int:
        return self.meta["steps"]

    @property
    def seed(self) -> int:
        return self.meta["seed"]

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.meta["history"]

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {
            k.removeprefix("param:"): v for k, v in self.arrays.items() if k.startswith("param:")
        }

    def problem(self) -> Problem:
        """The problem the checkpoint was trained on, from the source text it keeps."""
        if self.problem_source is None:
            raise self.fail("the checkpoint does not keep its problem's source; give the problem")
        try:
            return loads(self.problem_source, self.problem_file or f"<{self.problem_name}>")
        except UserError as e:
            raise self.fail(f"the problem kept in the checkpoint no longer loads:\n{e}") from None

    def check_tensors(self, program: Program) -> None:
        """The checkpoint holds exactly the tensors of `program`, with their shapes and dtypes;
        otherwise name the first that differs."""
        expected = program.tensor_specs()
        names = {s.name for s in expected}
        for spec in expected:
            shown = spec.name.removeprefix("param:")
            value = self.arrays.get(spec.name)
            if value is None:
                raise self.fail(
                    f"the checkpoint does not fit the problem: it has no {shown}, which the "
                    f"problem has ({spec.describe()})"
                )
            got = TensorSpec(spec.name, tuple(value.shape), value.dtype.name)
            if got.shape != spec.shape:
                raise self.fail(
                    f"the checkpoint does not fit the problem: {shown} is {got.describe()} in "
                    f"the checkpoint but {spec.describe()} in the problem"
                )
            if spec.dtype is not None and got.dtype != spec.dtype:
                raise self.fail(
                    f"the checkpoint does not fit the problem: {shown} is {got.dtype} in the "
                    f"checkpoint but {spec.dtype} in the problem"
                )
        extra = [k for k in self.arrays if k not in names]
        if extra:
            raise self.fail(
                f"the checkpoint does not fit the problem: it holds {extra[0].removeprefix('param:')}, "
                "which the problem does not have"
            )

    def check(self, program: Program) -> None:
        """Everything resuming needs: problem, pipeline, tensors, identity, step."""
        if self.problem_name != program.name:
            raise self.fail(
                f"the checkpoint belongs to problem '{self.problem_name}', not '{program.name}'"
            )
        if self.pipeline != program.pipeline_id:
            raise self.fail(
                f"the checkpoint was trained with pipeline '{self.pipeline}', not "
                f"'{program.pipeline_id}'; resume with --pipeline '{self.pipeline}'"
            )
        self.check_tensors(program)
        source = program.source_problem
        sha = self.meta["problem"].get("sha256")
        if source is not None and sha is not None and sha != source.identity()["sha256"]:
            raise self.fail(
                f"problem '{program.name}' has changed since the checkpoint was written "
                f"({self._difference(source)}); only comments, layout, SSA names and the steps "
                "and eval_points of pinn.train may change. Restore the problem, or start over "
                "with --overwrite"
            )
        if self.step > program.steps:
            raise self.fail(
                f"the checkpoint is at step {self.step}, past the {program.steps} steps the "
                f"program was compiled for; give --steps {self.step} or more (the API: "
                f"Problem.compile(..., steps=N))"
            )

    def _difference(self, current: Problem) -> str:
        try:
            old = self.problem()
        except UserError:
            return "its canonical IR differs"
        return "first difference: " + _first_difference(
            canonical_text(old.op), canonical_text(current.op)
        )


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Load a checkpoint written by `Trainer.save` and check that its metadata is complete."""
    arrays, meta = load_checkpoint(path)
    checkpoint = Checkpoint(Path(path), arrays, meta)

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise checkpoint.fail(
                f"the checkpoint's metadata is incomplete or damaged ({what}); it was not "
                "written by Trainer.save"
            )

    def is_int(value, low=0, high=MAX_SEED) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    problem, pipeline = meta.get("problem"), meta.get("pipeline")
    need(isinstance(problem, dict) and isinstance(problem.get("name"), str), "problem")
    for key in ("file", "sha256", "source"):
        need(problem.get(key) is None or isinstance(problem.get(key), str), f"problem {key}")
    need(isinstance(pipeline, dict), "pipeline")
    need(
        isinstance(pipeline.get("spec"), str) and isinstance(pipeline.get("name"), str), "pipeline"
    )
    need(is_int(meta.get("steps"), 1, MAX_STEPS), "steps")
    need(is_int(meta.get("step"), 0, MAX_STEPS), "step")
    need(is_int(meta.get("seed")), "seed")
    need(meta.get("rng") == {"seed": meta["seed"], "step": meta["step"]}, "rng")
    history = meta.get("history")
    need(isinstance(history, list) and all(isinstance(h, dict) for h in history), "history")
    need(all(is_int(h.get("step"), 1, MAX_STEPS) for h in history), "history steps")
    return checkpoint
