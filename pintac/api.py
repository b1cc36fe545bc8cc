"""The Python API of pintac: load a problem, compile it, train it, evaluate it.

    import pintac.api as pt

    problem = pt.load("examples/poisson2d_small.mlir")
    program = problem.compile("fp32")              # a named pipeline or a pipeline string
    trainer = pt.Trainer(program, seed=0)
    trainer.train(200, callback=lambda s, m: print(s, m["loss"]))
    print(trainer.evaluate().rel_l2)
    trainer.save("run/checkpoint.npz")

`pintac run` is built on exactly this.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp, i64
from xdsl.printer import Printer

from pintac.diagnostics import ParsedModule, Source, parse_source, read_source, verify
from pintac.dialects import pinn, stein, train
from pintac.pass_manager import Instrumentation, parse_pipeline_spec, run_pipeline
from pintac.pipelines import DEFAULT_PIPELINE, pipeline_spec
from pintac.registry import available_passes, make_context
from pintac.runtime import rng
from pintac.runtime.checkpoint import load_checkpoint, save_checkpoint
from pintac.runtime.errors import UserError
from pintac.runtime.init import init_params
from pintac.runtime.sampling import DomainSpec, sample_points
from pintac.runtime.targets import functions_of, get_target

CHECKPOINT_FORMAT = 1
DEFAULT_BATCH = 100  # points per loss term when pinn.train gives no batch sizes


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
        parsed = parse_source(ctx, src)
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

    def config(self, key: str, default: Any = None) -> Any:
        train = self.train
        return default if train is None else train.get(key, default)

    def compile(
        self,
        pipeline: str = DEFAULT_PIPELINE,
        *,
        steps: int | None = None,
        instrumentation: Instrumentation | None = None,
        target: str = "numpy",
    ) -> Program:
        """Run a named pipeline (or a pipeline string) on a copy of the problem and build the
        result for a target (`pintac.runtime.targets`).

        `steps` overrides the training configuration's number of steps (which sets the
        length of a linear-decay schedule).
        """
        spec = pipeline_spec(pipeline)
        module: ModuleOp = self.parsed.module.clone()
        parsed = ParsedModule(module, self.parsed.source, {}, 0)
        if steps is not None:
            _set_steps(module, steps)
        ctx = make_context()
        passes = parse_pipeline_spec(spec, available_passes())
        run_pipeline(ctx, parsed, passes, instrumentation)
        return Program(module, pipeline, spec, self.parsed.source.name, target)


def _set_steps(module: ModuleOp, steps: int) -> None:
    if steps < 1:
        raise UserError(f"error: the number of steps must be positive, got {steps}")
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


class Program:
    """A compiled problem: its functions built for a target, plus what the runtime needs to
    feed them."""

    def __init__(
        self, module: ModuleOp, pipeline: str, spec: str, source_name: str, target: str = "numpy"
    ):
        self.module = module
        self.pipeline = pipeline
        self.spec = spec
        self.source_name = source_name
        self.problem: pinn.ProblemOp = next(
            op for op in module.ops if isinstance(op, pinn.ProblemOp)
        )
        funcs = functions_of(module)
        if "train_step" not in funcs:
            raise UserError(
                f"error: the pipeline '{pipeline}' does not produce a @train_step function; "
                "a training pipeline ends with pinn-build-loss, pinn-autodiff, optimizer-lower"
            )
        self.functions = funcs
        self.target = target
        self.executable = get_target(target).build(
            module, f"Training step of problem {self.name}, pipeline {pipeline}: {spec}"
        )
        built = self.executable.functions
        self.train_step = built["train_step"]
        self.predict = built["predict"]
        self.exact = built.get("exact")
        self.arg_roles = train.arg_roles(funcs["train_step"])
        self.result_roles = train.result_roles(funcs["train_step"])
        self.predict_roles = train.arg_roles(funcs["predict"])
        self.terms = self._terms()
        step_ir = StringIO()
        Printer(stream=step_ir, print_generic_format=True).print_op(funcs["train_step"])
        self.fingerprint = hashlib.sha256(step_ir.getvalue().encode()).hexdigest()[:16]

    # -- configuration
    def config(self, key: str, default: Any = None) -> Any:
        train = self.problem.train
        return default if train is None else train.get(key, default)

    @property
    def name(self) -> str:
        return self.problem.sym_name.data

    @property
    def steps(self) -> int:
        return int(self.config("steps", 1000))

    def _terms(self) -> list[Term]:
        batch = self.config("batch", {}) or {}
        terms = []
        for i, t in enumerate(self.problem.terms):
            name = t.sym_name.data
            dom = pinn.lookup(t, t.domain)
            on = "interior" if isinstance(t, pinn.ResidualOp) else t.on.data
            size = int(batch.get(name, DEFAULT_BATCH))
            terms.append(Term(name, i, DomainSpec.from_op(dom), on, size))
        return terms

    def write(self, output: str | None) -> None:
        """Write the target's artifact (`pintac compile --target`) to `output` or stdout."""
        self.executable.write(output)

    # -- training
    def initial_state(self, seed: int) -> TrainState:
        params = init_params(self.problem, seed)
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
        residuals = [t for t in self.terms if t.on == "interior"] or self.terms
        return sample_points(residuals[0].domain, "interior", n, seed, 0, rng.STREAM_EVAL)

    def predict_values(self, params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
        args = [params[r.removeprefix("param:")] for r in self.predict_roles[:-1]]
        return self.predict(*args, x)[0]

    def evaluate(
        self, state: TrainState, points: int = 10_000, seed: int = 0, smoothed: bool = False
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
            u = np.concatenate(
                [
                    self.predict_values(state.params, c)
                    for c in np.array_split(x, max(1, len(x) // 4096))
                ]
            )
        ref = self.exact(x)[0]
        u, ref = u.astype(np.float64), np.broadcast_to(ref, u.shape).astype(np.float64)
        err = float(np.linalg.norm(u - ref) / max(np.linalg.norm(ref), 1e-300))
        return Evaluation(err, points, smoothed)

    def smoothed_values(self, params, x: np.ndarray, seed: int) -> np.ndarray:
        """The Gaussian-smoothed network E[u(x+δ)], by the mean over K antithetic pairs."""
        pairs = int(self.config("pairs", stein.DEFAULT_PAIRS))
        sigma = float(self.config("sigma", stein.DEFAULT_SIGMA))
        sigma_t = float(self.config("sigma_t", sigma))
        has_time = self.terms[0].domain.has_time if self.terms else False
        scale = np.full(x.shape[1], sigma, dtype=np.float32)
        if has_time:
            scale[-1] = sigma_t
        out = np.empty((len(x), 1), dtype=np.float32)
        chunk = max(1, 65536 // (2 * pairs))
        for start in range(0, len(x), chunk):
            xs = x[start : start + chunk]
            d = rng.normal(seed, start, rng.STREAM_EVAL + 1, (len(xs), pairs, x.shape[1])) * scale
            batch = np.concatenate([xs[:, None] + d, xs[:, None] - d], axis=1)
            u = self.predict_values(params, batch.reshape(-1, x.shape[1]))
            out[start : start + len(xs)] = u.reshape(len(xs), 2 * pairs, -1).mean(axis=1)
        return out


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


@dataclass
class Trainer:
    """Runs training steps of a Program, with checkpoints that resume bit-identically."""

    program: Program
    seed: int | None = None
    state: TrainState | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    last_checkpoint: Path | None = None

    def __post_init__(self) -> None:
        if self.seed is None:
            self.seed = int(self.program.config("seed", 0))
        if self.state is None:
            self.state = self.program.initial_state(self.seed)

    @property
    def step(self) -> int:
        return self.state.step

    def train(
        self,
        steps: int,
        callback: Callable[[int, dict[str, float]], None] | None = None,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = 0,
    ) -> dict[str, float]:
        """Run `steps` more steps; returns the last metrics. Stops on a NaN/Inf loss."""
        metrics: dict[str, float] = {}
        for _ in range(steps):
            start = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                new_state, metrics = self.program.step(self.state, self.seed)
            self.step_seconds.append(time.perf_counter() - start)
            if not all(math.isfinite(v) for v in metrics.values()):
                where = (
                    f"the last good checkpoint is {self.last_checkpoint}"
                    if self.last_checkpoint is not None
                    else "no checkpoint was written (use --checkpoint DIR)"
                )
                raise TrainingDiverged(
                    f"error: the loss became {metrics.get('loss')} at step {self.state.step}; "
                    f"training stopped ({where}). Try a smaller learning rate."
                )
            self.state = new_state
            record = {"step": float(self.state.step), **metrics}
            self.history.append(record)
            if callback is not None:
                callback(self.state.step, metrics)
            if (
                checkpoint is not None
                and checkpoint_every
                and self.state.step % checkpoint_every == 0
            ):
                self.save(checkpoint)
        return metrics

    def evaluate(self, points: int | None = None, smoothed: bool = False) -> Evaluation:
        n = int(points or self.program.config("eval_points", 10_000))
        return self.program.evaluate(self.state, n, self.seed, smoothed)

    # -- checkpoints
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        arrays = {f"param:{k}": v for k, v in self.state.params.items()}
        arrays.update(self.state.slots)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "problem": self.program.name,
            "pipeline": self.program.spec,
            "fingerprint": self.program.fingerprint,
            "seed": self.seed,
            "step": self.state.step,
            "history": self.history,
        }
        save_checkpoint(path, arrays, meta)
        self.last_checkpoint = path
        return path

    @classmethod
    def resume(cls, program: Program, path: str | Path) -> Trainer:
        arrays, meta = load_checkpoint(path)
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise UserError(f"{path}: error: unsupported checkpoint format {meta.get('format')!r}")
        if meta.get("problem") != program.name or meta.get("fingerprint") != program.fingerprint:
            raise UserError(
                f"{path}: error: this checkpoint belongs to problem '{meta.get('problem')}' "
                f"compiled with '{meta.get('pipeline')}'; it cannot resume '{program.name}' "
                f"compiled with '{program.spec}' (the training step differs)"
            )
        params = {k.removeprefix("param:"): v for k, v in arrays.items() if k.startswith("param:")}
        slots = {k: v for k, v in arrays.items() if k.startswith("state:")}
        expected = program.initial_state(int(meta["seed"]))
        if params.keys() != expected.params.keys() or slots.keys() != expected.slots.keys():
            raise UserError(f"{path}: error: the checkpoint's tensors do not match the problem")
        state = TrainState(int(meta["step"]), params, slots)
        trainer = cls(program, int(meta["seed"]), state, list(meta.get("history", [])))
        trainer.last_checkpoint = Path(path)
        return trainer
