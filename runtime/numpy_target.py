"""The NumPy target: a compiled module as one Python module of straight-line code.

The driver first tiles the training step by points (`tile-points` with its default budget,
unless the pipeline tiled it). Each function's execution plan (`pintac.runtime.plan`) becomes
a Python function that calls one kernel per op (`pintac.runtime.kernels`) with the op's
static parameters inlined as literals, so per-op dispatch costs a Python call and nothing
else; a `tile.loop` becomes a `for` over tiles of points. A bias add whose result only the
activation overwriting it reads runs with it as one kernel, each chunk of rows added to and
activated while in cache, with the same arithmetic. A value is released right
after its last use, and an elementwise result is written into a dead operand's buffer where the
plan allows, so the peak memory of a training step is what the data flow needs.

The generated module imports its kernels from `pintac.runtime` by name: the text
`pintac compile --target numpy` writes can be imported and called with nothing but pintac
installed, and it is the very code `pintac run` executes. `interpret` runs the same kernels
op by op: the reference path, used to check the generated one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from pprint import pformat
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from pintac.dialects import stein, tile, train
from pintac.dialects.activations import activation_of
from pintac.runtime.kernels import kernel_for, run_op
from pintac.runtime.plan import Plan, Step, build_plan
from pintac.runtime.targets import Executable, Target, functions_of

#: The module of the kernels the generated code calls besides each op's own (a bias add fused
#: with its activation, activations on the pool).
_CORE = "pintac.runtime.kernels_core"


class _Imports:
    """The import lines of the generated module and the local name of each kernel."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[tuple[str, str], str] = {}

    def kernel_name(self, op) -> str:
        if activation_of(type(op)) is not None:
            # the table entry's `fn` on the pool in row chunks (`activation=` names it)
            return self.helper(_CORE, "activation")
        fn = kernel_for(op)
        key = (fn.__module__, fn.__name__)
        if key not in self.names:
            self.names[key] = f"k_{fn.__name__}"
            self.lines.append(f"from {fn.__module__} import {fn.__name__} as k_{fn.__name__}")
        return self.names[key]

    def helper(self, module: str, function: str) -> str:
        """The local name of a runtime function the generated code calls besides kernels."""
        key = (module, function)
        if key not in self.names:
            self.names[key] = f"k_{function}"
            self.lines.append(f"from {module} import {function} as k_{function}")
        return self.names[key]

    def text(self) -> str:
        return "\n".join(sorted(self.lines)) + "\n"


def _kept_for_vjp(steps: Sequence[Step]) -> dict[int, int]:
    """{forward step: VJP step} for each `stein.diff_activation` whose VJP runs in the same
    block: the forward keeps the value φ' is computed from (an extra array held until
    the VJP) rather than the VJP evaluating φ again, which costs as much as the forward."""
    forward: dict[tuple, int] = {}
    pairs: dict[int, int] = {}
    for step in steps:
        key = (*step.inputs[:2], step.params.get("activation"))
        if isinstance(step.op, stein.DiffActivationOp):
            forward[key] = step.index
        elif isinstance(step.op, stein.DiffActivationVjpOp) and key in forward:
            pairs[forward.pop(key)] = step.index
    return pairs


def _bias_activations(steps: Sequence[Step]) -> dict[int, Step]:
    """{bias step: activation step} for each `train.bias_add` whose result only the next step
    reads, an activation overwriting it: the pair runs as one kernel
    (`kernels_core.bias_activation`), each chunk of rows added to and activated in cache."""
    return {
        bias.index: act
        for bias, act in zip(steps, steps[1:], strict=False)
        if isinstance(bias.op, train.BiasAddOp)
        and activation_of(type(act.op)) is not None
        and act.inplace == 0
        and act.inputs[0] == bias.outputs[0]
        and bias.outputs[0] in act.dies
    }


class _FunctionWriter:
    """The lines of one plan's Python function."""

    def __init__(self, plan: Plan, imports: _Imports, gemms: str):
        self.plan = plan
        self.imports = imports
        self.gemms = gemms
        self.name = [v.name for v in plan.values]
        self.taken = set(self.name)
        self.lines: list[str] = []

    def fresh(self, base: str) -> str:
        """A local name no value has: `base`, or `base` with underscores appended."""
        while base in self.taken:
            base += "_"
        self.taken.add(base)
        return base

    def function(self) -> str:
        plan, name = self.plan, self.name
        self.lines.append(f"def {plan.name}({', '.join(name[a] for a in plan.arguments)}):")
        self.block(plan.steps, "    ")
        results = ", ".join(name[r] for r in plan.results)
        self.lines.append(f"    return ({results}{',' if len(plan.results) == 1 else ''})")
        return "\n".join(self.lines) + "\n"

    def block(self, steps: Sequence[Step], indent: str) -> None:
        name = self.name
        # the array each forward keeps (keeps[forward step]) and its VJP reads (kept[VJP step])
        keeps: dict[int, str] = {}
        kept: dict[int, str] = {}
        for fwd, vjp in _kept_for_vjp(steps).items():
            keeps[fwd] = kept[vjp] = self.fresh(f"{name[steps[fwd].outputs[0]]}_for_vjp")
        fused = _bias_activations(steps)
        activations = {act.index for act in fused.values()}
        for step in steps:
            if step.index in activations:
                continue  # written with its bias step
            if step.body is not None:
                self.loop(step, indent)
            elif step.index in fused:
                self.bias_activation(step, fused[step.index], indent)
            else:
                args = [name[i] for i in step.inputs]
                if step.inplace is not None:
                    args.append(f"out={name[step.inputs[step.inplace]]}")
                params = _gemm_params(step.params, self.gemms)
                if (act := activation_of(type(step.op))) is not None:
                    params["activation"] = act.name
                args += [f"{key}={value!r}" for key, value in params.items()]
                targets = ", ".join(name[o] for o in step.outputs)
                if step.index in keeps:
                    args.append("keep=True")
                    targets += f", {keeps[step.index]}"
                if step.index in kept:
                    args.append(f"saved={kept[step.index]}")
                kernel = self.imports.kernel_name(step.op)
                self.lines.append(f"{indent}{targets} = {kernel}({', '.join(args)})  # {step.name}")
            dies = [name[v] for v in step.dies] + ([kept[step.index]] if step.index in kept else [])
            if step.index in fused:  # the sum, never assigned, needs no `del`
                dies += [name[v] for v in fused[step.index].dies if v != step.outputs[0]]
            if dies:
                self.lines.append(f"{indent}del {', '.join(dies)}")

    def bias_activation(self, bias: Step, act: Step, indent: str) -> None:
        """One line for a bias step and the activation that overwrites its result."""
        name = self.name
        args = [name[i] for i in bias.inputs]
        if bias.inplace is not None:
            args.append(f"out={name[bias.inputs[bias.inplace]]}")
        args.append(f"activation={activation_of(type(act.op)).name!r}")
        kernel = self.imports.helper(_CORE, "bias_activation")
        self.lines.append(
            f"{indent}{name[act.outputs[0]]} = {kernel}({', '.join(args)})  "
            f"# {bias.name}, {act.name}"
        )

    def loop(self, step: Step, indent: str) -> None:
        """A `tile.loop`: the accumulators as loop variables, the gathered tiles in lists."""
        name, loop, lines = self.name, step.body, self.lines
        points, *inits = (name[i] for i in step.inputs)
        carried_results = step.outputs[: len(loop.carried)]
        gathered_results = step.outputs[len(loop.carried) :]
        parts = [self.fresh(f"{name[r]}_tiles") for r in gathered_results]
        for arg, init in zip(loop.carried, inits, strict=True):
            lines.append(f"{indent}{name[arg]} = {init}")
        for part in parts:
            lines.append(f"{indent}{part} = []")
        tiles = self.imports.helper("pintac.runtime.kernels_tile", "point_tiles")
        lines.append(
            f"{indent}for {name[loop.first]}, {name[loop.rows]} in "
            f"{tiles}({points}, {loop.tile}{f', axis={loop.axis}' if loop.axis else ''}):"
            f"  # {step.name}"
        )
        inner = indent + "    "
        self.block(loop.steps, inner)
        for arg, value in zip(loop.carried, loop.yields, strict=False):
            if arg != value:
                lines.append(f"{inner}{name[arg]} = {name[value]}")
        for part, value in zip(parts, loop.gathered, strict=True):
            lines.append(f"{inner}{part}.append({name[value]})")
        for result, arg in zip(carried_results, loop.carried, strict=True):
            lines.append(f"{indent}{name[result]} = {name[arg]}")
        if parts:
            concat = self.imports.helper("pintac.runtime.kernels_tile", "concatenate_rows")
            for result, part in zip(gathered_results, parts, strict=True):
                axis = f", axis={loop.axis}" if loop.axis else ""
                lines.append(f"{indent}{name[result]} = {concat}({part}{axis})")
        leftovers = [name[a] for a in loop.carried] + parts
        leftovers += [name[v] for v in dict.fromkeys(loop.yields)]
        # (the tile's first row and rows are views and ints, and may have died in the body)
        lines.append(f"{indent}del {', '.join(leftovers)}")


#: How a target computes its GEMMs: as each op says (exact where the step is quantized),
#: all exactly (the contract), or all by BLAS in float32 on the operands' values.
GEMM_MODES = ("contract", "exact", "fast")


def _gemm_params(params: dict, gemms: str) -> dict:
    """An op's parameters with its GEMM (or exact accumulator) made as `gemms` says."""
    if "exact" not in params or params["exact"] is None or gemms == "contract":
        return dict(params)
    if gemms == "exact":
        return {**params, "exact": True}
    fast = {**params, "exact": False}
    if "transpose_a" in params:  # a product: BLAS on quantized operands' values too
        fast["fast"] = True
    return fast


def function_source(plan: Plan, imports: _Imports, gemms: str = "contract") -> str:
    """One plan as a Python function, its GEMMs computed as `gemms` (`GEMM_MODES`) says."""
    return _FunctionWriter(plan, imports, gemms).function()


def module_source(functions: dict[str, func.FuncOp], title: str, gemms: str = "contract") -> str:
    """The generated Python module: a docstring, imports, the role tables and the functions."""
    imports = _Imports()
    bodies = [function_source(build_plan(f), imports, gemms) for f in functions.values()]
    arg_roles = {n: train.arg_roles(f) for n, f in functions.items()}
    res_roles = {n: train.result_roles(f) for n, f in functions.items()}
    doc = (
        f'"""{title}\n\nGenerated by pintac. Functions: '
        + ", ".join(f"{n}()" for n in functions)
        + ".\nARGUMENT_ROLES and RESULT_ROLES give the `train.role` of each argument and "
        "result\n(`param:W0`, `state:W0:m`, `points:pde`, `seed`, `step`, `loss`, ...); "
        'arrays are float32.\n"""\n\n'
    )
    tables = (
        f"ARGUMENT_ROLES = {pformat(arg_roles, width=100, compact=True)}\n"
        f"RESULT_ROLES = {pformat(res_roles, width=100, compact=True)}\n"
    )
    return doc + imports.text() + "\n" + tables + "\n\n" + "\n\n".join(bodies)


class NumpyExecutable(Executable):
    def __init__(self, source: str, name: str):
        self.source = source
        namespace: dict[str, Any] = {"__name__": name}
        exec(compile(source, f"<pintac:{name}>", "exec"), namespace)
        self.functions: dict[str, Callable[..., tuple[Any, ...]]] = {
            fname: namespace[fname] for fname in namespace["ARGUMENT_ROLES"]
        }

    def write(self, output: str | None) -> None:
        from pintac.runtime.files import write_text

        if output is None or output == "-":
            sys.stdout.write(self.source)
        else:
            write_text(Path(output), self.source, "generated step")


class NumpyTarget(Target):
    name = "numpy"
    description = "Python calling pintac's NumPy kernels (runs on the CPU)"
    gemms = "contract"

    def lowering(self, batch):
        """The step tiled by points for the cache (`tile-points`' budget), unless the
        pipeline tiled it or it cannot be tiled: a step's memory is then a tile's, not the
        batch's."""
        del batch
        return "tile-points{optional=true}"

    def build(self, module: ModuleOp, title: str, pipeline: str = "") -> NumpyExecutable:
        source = module_source(functions_of(module), title, self.gemms)
        return NumpyExecutable(source, "pintac_step")


class NumpyExactTarget(NumpyTarget):
    """The NumPy runtime under the accelerator's arithmetic contract: every GEMM, f32 ones
    included, is the exact sum of products rounded once (docs/numerics.md), so a run can be
    compared bit for bit with another target's. Slower than `numpy` on f32 GEMMs."""

    name = "numpy-exact"
    description = "as numpy, every GEMM exact (the arithmetic contract shared with PINTA)"
    gemms = "exact"


class NumpyFastTarget(NumpyTarget):
    """The NumPy runtime with every GEMM a float32 BLAS product of its operands' values: the
    same quantization of every operand (codes, exponents, stochastic draws) as `numpy`, the
    products summed as BLAS sums them, as quantization-aware training libraries do. Not bit
    for bit the contract's results (docs/numerics.md says by how much); faster on quantized
    steps."""

    name = "numpy-fast"
    description = "as numpy, every GEMM a float32 BLAS product of the quantized values"
    gemms = "fast"


def interpret(
    f: func.FuncOp,
    args: Sequence[Any],
    observe: Callable[[Any, Sequence[Any], Sequence[Any]], None] | None = None,
) -> tuple[Any, ...]:
    """Run `f` op by op with the kernels: the reference semantics, no code generation.

    `observe(op, operands, results)`, if given, sees every op's values as they are computed
    (in a loop body, once per tile).
    """
    env: dict[Any, Any] = dict(zip(f.args, args, strict=True))
    ret = f.body.block.last_op
    if not isinstance(ret, func.ReturnOp):
        raise ValueError(f"@{f.sym_name.data} has no func.return")
    _run_ops(list(f.body.block.ops)[:-1], env, observe)
    return tuple(env[v] for v in ret.arguments)


def _run_ops(ops, env: dict[Any, Any], observe) -> None:
    for op in ops:
        operands = [env[v] for v in op.operands]
        if isinstance(op, tile.LoopOp):
            results = _run_loop(op, operands, env, observe)
        else:
            results = run_op(op, *operands)
        if observe is not None:
            observe(op, operands, results)
        for r, value in zip(op.results, results, strict=True):
            env[r] = value


def _run_loop(op: tile.LoopOp, operands, env: dict[Any, Any], observe) -> tuple[Any, ...]:
    """A `tile.loop` as its definition says: the body once per tile, in order."""
    from pintac.runtime.kernels_tile import concatenate_rows, point_tiles

    points, *carried = operands
    body = list(op.body.block.ops)
    gathered: list[list[Any]] = [[] for _ in op.gathered_results]
    for first, rows in point_tiles(points, op.tile_points, op.axis_index):
        inner = dict(env)
        inner.update(zip(op.body.block.args, (first, rows, *carried), strict=True))
        _run_ops(body[:-1], inner, observe)
        yielded = [inner[v] for v in body[-1].operands]
        carried = yielded[: len(carried)]
        for parts, value in zip(gathered, yielded[len(carried) :], strict=True):
            parts.append(value)
    return (*carried, *(concatenate_rows(parts, op.axis_index) for parts in gathered))
