"""The fast path of the NumPy runtime: a `func.func` compiled once into straight-line Python.

Each op becomes one call of its kernel (`pintac.runtime.kernels`) with its static parameters
inlined as literals, so per-op dispatch costs a Python call and nothing else; a value is
released right after its last use, so the peak memory of a training step is what the data
flow needs. `interpret` runs the same kernels op by op: the reference path, used to check
the compiled one.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xdsl.dialects import func
from xdsl.ir import SSAValue

from pintac.runtime.kernels import kernel_for, run_op


@dataclass
class CompiledFunction:
    """A function of the IR as Python: `fn(*args) -> tuple of results`; `source` shows it."""

    name: str
    source: str
    fn: Callable[..., tuple[Any, ...]]
    arg_names: list[str] = field(default_factory=list)

    def __call__(self, *args: Any) -> tuple[Any, ...]:
        return self.fn(*args)


class _Names:
    """Readable, unique Python identifiers for SSA values."""

    def __init__(self) -> None:
        self.names: dict[SSAValue, str] = {}
        self.used: set[str] = set()

    def __getitem__(self, value: SSAValue) -> str:
        name = self.names.get(value)
        if name is None:
            base = re.sub(r"\W", "_", value.name_hint or "v")
            if not base or base[0].isdigit() or keyword.iskeyword(base):
                base = f"v_{base}"
            name, n = base, 1
            while name in self.used:
                name, n = f"{base}_{n}", n + 1
            self.used.add(name)
            self.names[value] = name
        return name


def generate_source(f: func.FuncOp) -> tuple[str, dict[str, Any]]:
    """Python source of `f` and the namespace (kernel functions) it needs."""
    names = _Names()
    namespace: dict[str, Any] = {}
    kernel_names: dict[Callable[..., Any], str] = {}
    ops = list(f.body.block.ops)
    last_use: dict[SSAValue, int] = {}
    for i, op in enumerate(ops):
        for v in op.operands:
            last_use[v] = i

    # Buffers a kernel may overwrite once their value dies: results of kernels that return
    # fresh arrays, never function arguments (the caller's) nor anything a view was taken of.
    owned: set[SSAValue] = set()
    viewed: set[SSAValue] = set()
    for op in ops:
        if isinstance(op, func.ReturnOp):
            continue
        k = kernel_for(op)
        if k.view:
            viewed.add(op.operands[0])
        else:
            owned.update(op.results)

    args = [names[a] for a in f.args]
    lines = [f"def {f.sym_name.data}({', '.join(args)}):"]
    for i, op in enumerate(ops):
        if isinstance(op, func.ReturnOp):
            results = ", ".join(names[v] for v in op.arguments)
            lines.append(f"    return ({results}{',' if len(op.arguments) == 1 else ''})")
            continue
        k = kernel_for(op)
        kname = kernel_names.get(k.fn)
        if kname is None:
            kname = kernel_names[k.fn] = f"{k.fn.__name__}_k{len(kernel_names)}"
            namespace[kname] = k.fn
        call_args = [names[v] for v in op.operands]
        if k.inplace is not None:
            target = op.operands[k.inplace]
            reused = target in owned and target not in viewed and last_use.get(target) == i
            if reused and op.operands.count(target) == 1 and target.type == op.results[0].type:
                call_args.append(f"out={names[target]}")
        call_args += [f"{key}={value!r}" for key, value in k.params(op).items()]
        targets = ", ".join(names[r] for r in op.results)
        lines.append(f"    {targets} = {kname}({', '.join(call_args)})  # {op.name}")
        dead = sorted({names[v] for v in op.operands if last_use.get(v) == i})
        dead += [names[r] for r in op.results if r not in last_use]  # unused results
        if dead:
            lines.append(f"    del {', '.join(dead)}")
    return "\n".join(lines) + "\n", namespace


def compile_function(f: func.FuncOp) -> CompiledFunction:
    source, namespace = generate_source(f)
    code = compile(source, f"<pintac:{f.sym_name.data}>", "exec")
    exec(code, namespace)
    return CompiledFunction(
        f.sym_name.data, source, namespace[f.sym_name.data], [a.name_hint or "" for a in f.args]
    )


def interpret(f: func.FuncOp, args: Sequence[Any]) -> tuple[Any, ...]:
    """Run `f` op by op with the kernels: the reference semantics, no code generation."""
    env: dict[SSAValue, Any] = dict(zip(f.args, args, strict=True))
    for op in f.body.block.ops:
        if isinstance(op, func.ReturnOp):
            return tuple(env[v] for v in op.arguments)
        for r, value in zip(op.results, run_op(op, *(env[v] for v in op.operands)), strict=True):
            env[r] = value
    raise ValueError(f"@{f.sym_name.data} has no func.return")
