"""What pintac's tools know: the dialects a context can load and the passes a pipeline can use."""

from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect
from xdsl.passes import ModulePass

# Upstream dialects pintac IR is written with: the containers and elementwise math on tensors.
UPSTREAM_DIALECTS = ("builtin", "func", "arith", "math")

# Upstream passes pintac pipelines use besides its own, with the one-line description
# `pintac opt --list-passes` shows (not all of them carry a docstring upstream).
UPSTREAM_PASSES = {
    "canonicalize": "Apply every op's canonicalization patterns and fold constants.",
    "cse": "Eliminate common subexpressions: identical pure ops computed once.",
    "dce": "Remove dead code: pure ops whose results are unused.",
}


def all_dialects() -> dict[str, Callable[[], Dialect]]:
    from xdsl.dialects import get_all_dialects as xdsl_dialects

    from pintac.dialects import get_all_dialects

    upstream = xdsl_dialects()
    return {**{name: upstream[name] for name in UPSTREAM_DIALECTS}, **get_all_dialects()}


def make_context(allow_unregistered: bool = False) -> Context:
    """A context with every dialect pintac IR may use registered (loaded on first use)."""
    ctx = Context(allow_unregistered=allow_unregistered)
    for name, factory in all_dialects().items():
        ctx.register_dialect(name, factory)
    return ctx


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    from xdsl.transforms import get_all_passes as xdsl_passes

    from pintac.passes import get_all_passes

    upstream = xdsl_passes()
    return {**{name: upstream[name] for name in UPSTREAM_PASSES}, **get_all_passes()}
