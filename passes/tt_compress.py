"""Pass `tt-compress`: dense layers become tensor-train (TT-matrix) layers.

Problem-level IR in, problem-level IR out. Each selected `pinn.dense %x, @W, @b` (W : N x M)
becomes `tt.linear %x, [@W_G0, .., @W_G{d-1}], @b` with d new core parameters
G_k : r_{k-1} x n_k x m_k x r_k (see docs/dialects/tt.md for the convention):

- factorizations: `in-modes` / `out-modes` when given (they must multiply to N and M, and
  have the same length d), else the balanced factorizations of N and M into d = `cores`
  factors (default 3): `pintac.runtime.tt.choose_factorizations`, 256 -> (4, 8, 8);
- ranks: `ranks` is one inner rank for every bond, or the d - 1 inner ranks; a rank above
  the largest W's unfoldings admit (`pintac.runtime.tt.max_ranks`) is lowered to it;
- `layers=hidden` (default) compresses every dense layer of a network but its first and its
  last (in program order); `layers=all` compresses them all;
- `init=normal` (default): each core gets `init normal(std)` with std such that W's entries
  have the variance of W's own init (`pintac.core.inits.tt_core_std`: for Glorot,
  std = (2 / (N + M) / (r_1 .. r_{d-1}))^(1 / 2d), written to 6 significant digits); W is
  removed;
- `init=svd`: the cores get `init tt_svd {source = @W}`: their values are the TT-SVD of W's
  initial values (its own init, or given ones such as a dense checkpoint's) with the ranks
  as maximum ranks. W stays in the problem as that source; no network uses it, so it is not
  trained.

The cores are declared after the problem's last parameter, so a parameter before them keeps
its position, hence its random stream (`pintac.runtime.init`): with `init=svd` every dense
parameter gets the values it has in the dense problem; with `init=normal` the removed weights
shift the parameters after them.

The option is `init` rather than `from` because pass options are Python names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import SymbolRefAttr, TensorType, f32
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from pintac.core.errors import PassError
from pintac.core.inits import glorot_std
from pintac.dialects import pinn, tt
from pintac.dialects.support import shape_str
from pintac.runtime import tt as tt_numerics

LAYER_CHOICES = ("hidden", "all")
INIT_CHOICES = ("normal", "svd")
DEFAULT_CORES = 3


def dense_std(param: pinn.ParamOp) -> float | None:
    """The std of the entries of a weight matrix under its init, if that init is a
    zero-mean random one (xavier_normal, xavier_uniform, normal, symmetric uniform)."""
    init = param.init.data
    args = [a.value.data for a in param.init_args.data]
    n, m = param.shape
    if init in ("xavier_normal", "xavier_uniform"):  # both have variance 2 / (n + m)
        return glorot_std(n, m)
    if init == "normal":
        return args[0]
    if init == "uniform" and args[0] == -args[1]:
        return args[1] / math.sqrt(3.0)
    return None


@dataclass(frozen=True)
class TTCompressPass(ModulePass):
    """Replace dense layers by TT-matrix layers (tt.linear) whose cores are parameters."""

    name = "tt-compress"

    ranks: tuple[int, ...] = (8,)
    in_modes: tuple[int, ...] = ()
    out_modes: tuple[int, ...] = ()
    cores: int | None = None
    layers: str = "hidden"
    init: str = "normal"

    def __post_init__(self) -> None:
        if self.layers not in LAYER_CHOICES:
            raise ValueError(f"layers must be hidden or all, got {self.layers!r}")
        if self.init not in INIT_CHOICES:
            raise ValueError(f"init must be normal or svd, got {self.init!r}")
        if not self.ranks or min(self.ranks) < 1:
            raise ValueError(f"ranks must be >= 1, got {','.join(map(str, self.ranks))}")
        for key in ("in_modes", "out_modes"):
            modes = getattr(self, key)
            if modes and min(modes) < 1:
                name = key.replace("_", "-")
                raise ValueError(f"{name} must be >= 1, got {','.join(map(str, modes))}")
        if self.in_modes and self.out_modes and len(self.in_modes) != len(self.out_modes):
            raise ValueError(
                f"in-modes and out-modes need one factor per core each, got "
                f"{len(self.in_modes)} and {len(self.out_modes)} factors"
            )
        d = len(self.in_modes or self.out_modes) or None
        if self.cores is not None and self.cores < 1:
            raise ValueError(f"cores must be >= 1, got {self.cores}")
        if self.cores is not None and d is not None and self.cores != d:
            raise ValueError(f"cores={self.cores}, but the modes give {d} factors")
        num_cores = d or self.cores or DEFAULT_CORES
        if len(self.ranks) not in (1, num_cores - 1):
            raise ValueError(
                f"ranks is one inner rank or the {num_cores - 1} inner ranks of {num_cores} "
                f"cores, got {','.join(map(str, self.ranks))}"
            )

    @property
    def num_cores(self) -> int:
        return len(self.in_modes or self.out_modes) or self.cores or DEFAULT_CORES

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for problem in [p for p in op.ops if isinstance(p, pinn.ProblemOp)]:
            self._compress(problem)

    def _selected(self, problem: pinn.ProblemOp) -> list[pinn.DenseOp]:
        out = []
        for network in problem.ops_of(pinn.NetworkOp):
            dense = [o for o in network.body.block.ops if isinstance(o, pinn.DenseOp)]
            out += dense if self.layers == "all" else dense[1:-1]
        return out

    def _compress(self, problem: pinn.ProblemOp) -> None:
        params = {p.sym_name.data: p for p in problem.ops_of(pinn.ParamOp)}
        symbols = set(params) | {
            o.sym_name.data for o in problem.body.block.ops if hasattr(o, "sym_name")
        }
        compressed: dict[str, list[str]] = {}  # weight -> its cores
        layers = self._selected(problem)
        for layer in layers:
            weight = params[layer.weight.string_value()]
            name = weight.sym_name.data
            if name not in compressed:
                compressed[name] = self._add_cores(layer, weight, symbols)
            new = tt.LinearOp(layer.input, compressed[name], layer.output.type, layer.bias)
            new.output.name_hint = layer.output.name_hint
            Rewriter.replace_op(layer, new)
        if self.init == "normal":  # the dense weights are gone unless another layer reads them
            still_named = {
                o.weight.string_value() for o in problem.walk() if isinstance(o, pinn.DenseOp)
            }
            for name in compressed:
                if name not in still_named:
                    Rewriter.erase_op(params[name])

    def _factors(self, layer: pinn.DenseOp, weight: pinn.ParamOp):
        n, m = weight.shape
        d = self.num_cores
        auto_in, auto_out = tt_numerics.choose_factorizations(n, m, d)
        nf, mf = tuple(self.in_modes) or auto_in, tuple(self.out_modes) or auto_out
        name = f"@{weight.sym_name.data}"
        for what, modes, width, size in (("in", nf, n, "inputs"), ("out", mf, m, "outputs")):
            if math.prod(modes) != width:
                raise PassError(
                    f"tt-compress: {what}-modes {list(modes)} multiply to {math.prod(modes)}, "
                    f"but the layer of {name} ({shape_str([n, m])}) has {width} {size}",
                    layer,
                )
        return nf, mf

    def _ranks(self, nf, mf) -> tuple[int, ...]:
        d = len(nf)
        inner = self.ranks * (d - 1) if len(self.ranks) == 1 else self.ranks
        caps = tt_numerics.max_ranks(nf, mf)
        return (1, *(min(r, c) for r, c in zip(inner, caps, strict=True)), 1)

    def _add_cores(self, layer: pinn.DenseOp, weight: pinn.ParamOp, symbols: set[str]):
        nf, mf = self._factors(layer, weight)
        ranks = self._ranks(nf, mf)
        shapes = tt_numerics.core_shapes(nf, mf, ranks)
        base = weight.sym_name.data
        if self.init == "normal":
            std = dense_std(weight)
            if std is None or std <= 0:
                raise PassError(
                    f"tt-compress init=normal matches the variance of a zero-mean random init "
                    f"(xavier_normal, xavier_uniform, normal, uniform(-a, a)), but "
                    f"@{base} has init {weight.init.data}: compress its values with init=svd",
                    layer,
                )
            core_std = float(f"{tt_numerics.init_std(nf, mf, ranks, std):.6g}")
        names, ops = [], []
        for k, shape in enumerate(shapes):
            name = _fresh(f"{base}_G{k}", symbols)
            t = TensorType(f32, list(shape))
            if self.init == "normal":
                p = pinn.ParamOp(name, t, "normal", [core_std])
            else:
                p = pinn.ParamOp(name, t, "tt_svd")
                p.attributes["source"] = SymbolRefAttr(base)
            names.append(name)
            ops.append(p)
        last = weight.parent_op().ops_of(pinn.ParamOp)[-1]
        Rewriter.insert_op(ops, InsertPoint.after(last))
        return names


def _fresh(name: str, used: set[str]) -> str:
    out, n = name, 1
    while out in used:
        out, n = f"{name}_{n}", n + 1
    used.add(out)
    return out
