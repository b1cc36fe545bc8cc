"""Syntax tree -> `pinn` IR, built with xDSL's `Builder`, every op located in the `.pde` text.

The result is a `ParsedModule` as `pintac.diagnostics.parse_source` makes for `.mlir` text:
`op_offsets` maps each op to the offset of the `.pde` construct it came from, so a verifier
or pass error later points into the `.pde` file.

How the math becomes IR (docs/pde-language.md):

- a loss term `lhs = rhs` yields the residual lhs − rhs (lhs alone when rhs is 0);
- numbers and constant subexpressions are computed in double precision, then rounded to f32
  once (`pinn.constant`); everything that varies is computed in f32, in the order written;
- exact rewrites keep the numbers bit for bit: `a − c` with c < 0 is `a + |c|` (and `a + c`,
  c < 0, is `a − |c|`); a division by a power of two is the multiplication by its reciprocal;
  `a^n` for an integer n is repeated multiplication ((a·a)·a...);
- a repeated subexpression in one term is computed once;
- coordinates are columns of the points (`pinn.slice`); `sum` and `norm2` of coordinates read
  the columns directly (`pinn.sum %x dims lo to hi`);
- `laplacian(u)` and `grad(u)` cover the space coordinates; `d(u, c)` is `pinn.partial`,
  `d2(u, c)` the Laplacian over the one coordinate c.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    f32,
    f64,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint

from pintac.core.errors import UserError
from pintac.core.inits import PARAM_INITS
from pintac.core.limits import MAX_EVAL_POINTS, MAX_SEED, MAX_STEPS
from pintac.core.training import OPTIMIZERS, SCHEDULES
from pintac.diagnostics import ParsedModule, Source
from pintac.dialects import pinn
from pintac.dialects.activations import ACTIVATIONS
from pintac.dialects.support import DYNAMIC
from pintac.frontend import syntax as ast
from pintac.passes.derivative_strategies import DERIVATIVE_STRATEGIES

#: The most coordinates a problem may have, and the widest and deepest network.
MAX_COORDINATES = 100_000
MAX_WIDTH = 65_536
MAX_DEPTH = 1_000
#: The largest |n| of a power a^n of an expression that varies.
MAX_POWER = 16
MAX_INT = 2**63 - 1

CONSTANTS = {"pi": math.pi, "e": math.e}

# Elementwise functions: those the compiler can evaluate and differentiate (the activation
# table), with their double-precision versions for constant folding.
_FOLD: dict[str, Callable[[float], float]] = {
    "tanh": math.tanh,
    "sin": math.sin,
    "cos": math.cos,
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
}
ELEMENTWISE = tuple(name for name in ACTIVATIONS if name in _FOLD)
REDUCTIONS = ("sum", "norm2", "norm")
DERIVATIVES = ("d", "d2", "grad", "laplacian")
FUNCTIONS = (*ELEMENTWISE, *REDUCTIONS, *DERIVATIVES)
SETS = ("ball", "sphere")


#: The derivative strategies (`pintac.passes.derivative_strategies`): each has a description
#: and its settings, `pinn.train` options. Every strategy evaluates the same derivatives.
STRATEGIES = DERIVATIVE_STRATEGIES
DEFAULT_STRATEGY = "stein"
EVALUATES = ("d(u, c)", "d2(u, c)", "grad(u)", "laplacian(u)")

#: Settings of `train`, in the order `pinn.train` lists them (with batch and the strategy's
#: settings in between, where the hand-written examples have them).
TRAIN_SETTINGS = ("optimizer", "lr", "beta1", "beta2", "eps", "schedule", "steps")
TRAIN_SETTINGS_AFTER = ("seed", "eval_points")
_CONFIG_ORDER = (
    *TRAIN_SETTINGS,
    "batch",
    "derivatives",
    "pairs",
    "sigma",
    "sigma_t",
    "samples",
    *TRAIN_SETTINGS_AFTER,
)
# pinn.train holds integers as i64, read back signed: a seed stops at 2^63 − 1 there.
_INT_LIMITS = {"steps": MAX_STEPS, "seed": min(MAX_SEED, MAX_INT), "eval_points": MAX_EVAL_POINTS}
_CHOICES = {"optimizer": tuple(OPTIMIZERS), "schedule": SCHEDULES}

# The statements a problem has at most once, and their keywords.
_ONCE = {
    ast.Problem: "problem",
    ast.Space: "space",
    ast.Time: "time",
    ast.Network: "network",
    ast.Exact: "exact",
    ast.Train: "train",
    ast.Derivatives: "derivatives",
}

MLP_SETTINGS = ("width", "depth", "activation", "init")
WEIGHT_INITS = ("xavier_normal", "xavier_uniform", "normal", "uniform")
BOUNDARY_PARTS = pinn.BOUNDARY_SETS


# ---------------------------------------------------------------- values while building


@dataclass(frozen=True)
class Const:
    value: float
    label: str | None = None  # the name it was written as (pi, a let), for the IR's names


@dataclass(frozen=True)
class Columns:
    """Columns [lo, hi) of the points: coordinates, not read until an op needs them."""

    lo: int
    hi: int


@dataclass(frozen=True)
class Tensor:
    value: SSAValue
    width: int
    key: tuple
    uses_network: bool = False


Val = Const | Columns | Tensor


def _width(v: Val) -> int | None:
    if isinstance(v, Const):
        return None
    if isinstance(v, Columns):
        return v.hi - v.lo
    return v.width


def _points(n: int) -> TensorType:
    return TensorType(f32, [DYNAMIC, n])


# ---------------------------------------------------------------- coordinates


@dataclass
class Coordinates:
    """The columns of a point: space coordinates in declaration order, then time."""

    scalars: dict[str, int] = field(default_factory=dict)  # x1, y, t -> column
    vectors: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # x -> lo, hi, first
    names: list[str] = field(default_factory=list)  # column -> its coordinate's name
    groups: list[str] = field(default_factory=list)  # as declared: "x[1..20]", "y", "time t"
    spatial: int = 0
    time: str | None = None
    declared: dict[str, int] = field(default_factory=dict)  # name -> offset of its declaration

    @property
    def width(self) -> int:
        return self.spatial + (1 if self.time else 0)

    def columns(self, name: str) -> tuple[int, int] | None:
        if name in self.scalars:
            c = self.scalars[name]
            return c, c + 1
        if name in self.vectors:
            lo, hi, _ = self.vectors[name]
            return lo, hi
        return None

    def describe(self) -> str:
        return ", ".join(self.groups)

    def name_of(self, lo: int, hi: int) -> str | None:
        """The name of columns [lo, hi): a coordinate or a vector."""
        if hi - lo == 1:
            return self.names[lo]
        return next((n for n, (a, b, _) in self.vectors.items() if (a, b) == (lo, hi)), None)

    def plain_names(self) -> list[str]:
        """The names as declared: vectors, not their components."""
        components = {self.names[k] for lo, hi, _ in self.vectors.values() for k in range(lo, hi)}
        return [n for n in self.declared if n not in components]


# ---------------------------------------------------------------- the builder


class ProblemBuilder:
    """Builds one `pinn.problem` from the statements of a `.pde` source."""

    def __init__(self, src: Source, statements: list[ast.Statement]):
        self.src = src
        self.statements = statements
        self.offsets: dict[Operation, int] = {}
        self.coords = Coordinates()
        self.domains: dict[str, ast.Domain] = {}
        self.lets: dict[str, ast.Let] = {}
        self.network: ast.Network | None = None
        self.exact: ast.Exact | None = None
        self.train: ast.Train | None = None
        self.derivatives: ast.Derivatives | None = None
        self.terms: list[ast.Term] = []
        self.symbols: dict[str, tuple[str, int]] = {}  # pinn symbol -> (what, offset)

    # -- errors
    def error(self, node: ast.Node | int, message: str, length: int = 1) -> UserError:
        if isinstance(node, ast.Node):
            return UserError(self.src.diagnostic(node.pos, message, node.length))
        return UserError(self.src.diagnostic(node, message, length))

    def error_over(self, expr: ast.Expr, message: str) -> UserError:
        """An error underlining the whole expression (on its first line)."""
        return self.error(expr.start, message, expr.end - expr.start)

    def text(self, node: ast.Node) -> str:
        """A setting value as written (`1e30`, not 1e+30)."""
        if isinstance(node, ast.Value) and node.number is None:
            return node.describe()
        return self.src.text[node.pos : node.pos + node.length]

    def quote(self, expr: ast.Expr) -> str:
        text = " ".join(self.src.text[expr.start : expr.end].split())
        return text if len(text) <= 40 else text[:37] + "..."

    def line_of(self, offset: int) -> int:
        return self.src.location(offset)[0]

    # -- entry point
    def build(self) -> ParsedModule:
        problem = self._collect()
        self._check_names()
        body = Block()
        problem_op = pinn.ProblemOp(problem.name, Region(body))
        self.offsets[problem_op] = problem.pos
        b = Builder(InsertPoint.at_end(body))
        for domain in self.domains.values():
            b.insert(self._located(self._domain(domain), domain))
        if self.network is not None:
            self._network(b, self.network)
        for term in self.terms:
            b.insert(self._term(term))
        if self.exact is not None:
            b.insert(self._exact(self.exact))
        config = self._train_config()
        if config:
            train_op = pinn.TrainOp(config)
            where = self.train or self.derivatives or problem
            self.offsets[train_op] = where.pos
            b.insert(train_op)
        return ParsedModule(ModuleOp([problem_op]), self.src, self.offsets)

    def _located(self, op: Operation, node: ast.Node | int) -> Operation:
        self.offsets[op] = node.pos if isinstance(node, ast.Node) else node
        return op

    # -- phase 1: what is declared where
    def _collect(self) -> ast.Problem:
        singles: dict[type, ast.Statement] = {}
        for st in self.statements:
            if type(st) in _ONCE:
                if type(st) in singles:
                    first = singles[type(st)]
                    raise self.error(
                        st,
                        f"a problem has one '{_ONCE[type(st)]}' statement; the first is at "
                        f"line {self.line_of(first.pos)}",
                    )
                singles[type(st)] = st
            elif isinstance(st, ast.Domain):
                self._declare(st.name, "the domain", st)
                self.domains[st.name] = st
            elif isinstance(st, ast.Let):
                self._declare_value_name(st.name, st, "a let")
                if st.name in self.lets:
                    first = self.lets[st.name].pos
                    raise self.error(
                        st, f"'{st.name}' is defined twice; first at line {self.line_of(first)}"
                    )
                self.lets[st.name] = st
            elif isinstance(st, ast.Term):
                self.terms.append(st)
        self.network = singles.get(ast.Network)
        self.exact = singles.get(ast.Exact)
        self.train = singles.get(ast.Train)
        self.derivatives = singles.get(ast.Derivatives)
        problem = singles.get(ast.Problem)
        if problem is None:
            raise UserError(
                f"{self.src.name}: error: no problem statement: a .pde file starts with "
                "`problem NAME`"
            )
        space = singles.get(ast.Space)
        if space is None:
            raise self.error(
                problem,
                "the problem declares no space coordinates: add `space x[1..d]` or "
                "`space x, y` after the problem statement",
            )
        self._coordinates(space, singles.get(ast.Time))
        return problem

    def _declare(self, name: str, what: str, node: ast.Node) -> None:
        """A pinn symbol: domains, the network, its parameters and terms share one namespace."""
        if name in self.symbols:
            other, at = self.symbols[name]
            raise self.error(
                node,
                f"'{name}' is already the name of {other} (line {self.line_of(at)}); domains, "
                "the network, its parameters and loss terms need distinct names",
            )
        self.symbols[name] = (what, node.pos)

    def _declare_value_name(self, name: str, node: ast.Node, what: str) -> None:
        if name in CONSTANTS:
            raise self.error(
                node, f"'{name}' is the constant {CONSTANTS[name]!r}; {what} needs another name"
            )

    def _coordinates(self, space: ast.Space, time: ast.Time | None) -> None:
        c = self.coords
        column = 0

        def claim(name: str, node: ast.Node) -> None:
            self._declare_value_name(name, node, "a coordinate")
            if name in c.declared:
                first = self.line_of(c.declared[name])
                raise self.error(node, f"coordinate '{name}' is declared twice (line {first})")
            c.declared[name] = node.pos

        for decl in space.coordinates:
            if decl.first is None:
                claim(decl.name, decl)
                c.scalars[decl.name] = column
                c.names.append(decl.name)
                c.groups.append(decl.name)
                column += 1
                continue
            if decl.name[-1].isdigit():
                raise self.error(
                    decl,
                    f"a vector's name cannot end in a digit: its components are named "
                    f"{decl.name}<number> ({decl.name}{decl.first}, ...)",
                )
            if decl.last < decl.first:
                raise self.error(decl, f"{decl.name}[{decl.first}..{decl.last}] has no components")
            count = decl.last - decl.first + 1
            if column + count > MAX_COORDINATES:
                raise self.error(decl, f"more than {MAX_COORDINATES} coordinates")
            claim(decl.name, decl)
            c.vectors[decl.name] = (column, column + count, decl.first)
            c.groups.append(f"{decl.name}[{decl.first}..{decl.last}]")
            for k in range(count):
                component = f"{decl.name}{decl.first + k}"
                claim(component, decl)
                c.scalars[component] = column + k
                c.names.append(component)
            column += count
        c.spatial = column
        if time is not None:
            claim(time.name, time)
            c.time = time.name
            c.scalars[time.name] = column
            c.names.append(time.name)
            c.groups.append(f"time {time.name}")

    def _check_names(self) -> None:
        for name, let in self.lets.items():
            if name in self.coords.declared:
                raise self.error(let, f"'{name}' is a coordinate; a let needs another name")
        if self.network is None:
            raise UserError(
                f"{self.src.name}: error: the problem declares no network: add "
                "`network u = mlp(width 64, depth 3)`"
            )
        net = self.network
        self._declare_value_name(net.name, net, "the network")
        if net.name in self.coords.declared or net.name in self.lets:
            raise self.error(net, f"'{net.name}' is already a coordinate or a let")
        self._declare(net.name, "the network", net)
        for term in self.terms:
            self._declare(term.name, "a loss term", term)

    # -- domains
    def _domain(self, domain: ast.Domain) -> pinn.DomainOp:
        c = self.coords
        intervals: dict[int, tuple[float, float]] = {}  # column -> bounds
        given: dict[int, ast.Name] = {}  # column -> where it got its range
        ball = None  # (centre, radius, broadcast)
        broadcast_box = False
        for clause in domain.clauses:
            columns = self._clause_columns(domain, clause, given)
            if len(clause.factors) == 1 and isinstance(clause.factors[0], ast.Call):
                ball = self._ball(clause, columns)
            else:
                self._clause_intervals(clause, columns, intervals)
                # `x in [a, b]^n` over the whole space: pinn's broadcast form `dim n`
                power = clause.factors[0].power if len(clause.factors) == 1 else None
                broadcast_box |= power is not None and columns == list(range(c.spatial))
        missing = [c.names[k] for k in range(c.width) if k not in given]
        if missing:
            raise self.error(
                domain,
                f"domain '{domain.name}' gives no range for {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''}: every coordinate ({c.describe()}) "
                "needs one",
            )
        time = intervals.pop(c.spatial) if c.time is not None else None
        if ball is not None:
            centre, radius, broadcast = ball
            dim = c.spatial if broadcast and c.spatial > 1 else None
            return pinn.DomainOp.ball(domain.name, centre, radius, dim, time)
        lower = [intervals[k][0] for k in range(c.spatial)]
        upper = [intervals[k][1] for k in range(c.spatial)]
        if broadcast_box:
            return pinn.DomainOp.box(domain.name, lower[:1], upper[:1], c.spatial, time)
        return pinn.DomainOp.box(domain.name, lower, upper, None, time)

    def _clause_columns(
        self, domain: ast.Domain, clause: ast.Clause, given: dict[int, ast.Name]
    ) -> list[int]:
        """The columns a clause gives ranges to, each given once in the domain."""
        columns = []
        for name in clause.coordinates:
            span = self.coords.columns(name.name)
            if span is None:
                raise self._unknown_coordinate(name)
            for col in range(*span):
                if col in given:
                    raise self.error(
                        name,
                        f"coordinate {self.coords.names[col]} is given twice in domain "
                        f"'{domain.name}'",
                    )
                given[col] = name
                columns.append(col)
        return columns

    def _clause_intervals(
        self, clause: ast.Clause, columns: list[int], intervals: dict[int, tuple[float, float]]
    ) -> None:
        """The bounds of each column of a product of intervals."""
        factors = self._intervals(clause)
        covered = sum(1 if f.power is None else f.power for f in factors)
        if covered != len(columns):
            raise self.error(
                clause.factors[0],
                f"the set has {covered} dimension(s), but {self._names(clause)} "
                f"{'is' if len(columns) == 1 else 'are'} {len(columns)} coordinate(s)",
            )
        at = iter(columns)
        for f in factors:
            bounds = (self.constant(f.lo, "a bound"), self.constant(f.hi, "a bound"))
            for _ in range(1 if f.power is None else f.power):
                intervals[next(at)] = bounds

    def _intervals(self, clause: ast.Clause) -> list[ast.Interval]:
        for f in clause.factors:
            if isinstance(f, ast.Call):
                raise self.error(
                    f,
                    f"{f.name}(...) is the whole set of {self._names(clause)}; it cannot be "
                    "part of a product (a domain is a box or a ball, times a time interval)",
                )
            if f.power is not None and f.power < 1:
                raise self.error(f, f"the power of an interval is at least 1, got {f.power}")
        return list(clause.factors)

    def _ball(self, clause: ast.Clause, columns: list[int]) -> tuple[list[float], float, bool]:
        call = clause.factors[0]
        if call.name == "sphere":
            raise self.error(
                call,
                "a sphere is the boundary of a ball: declare the ball (`x in ball(0, 1)`) and "
                "put the condition on its boundary (`on boundary(q)`)",
            )
        if call.name != "ball":
            raise self.error(
                call,
                f"unknown set '{call.name}'; sets are [a, b], [a, b]^n, products and ball(c, r)",
            )
        if self.coords.time is not None and self.coords.spatial in columns:
            raise self.error(call, f"time {self.coords.time} ranges over an interval, not a ball")
        if columns != list(range(self.coords.spatial)):
            raise self.error(
                call, "a ball covers all the space coordinates, in their declared order"
            )
        args = [a for a in call.args if isinstance(a, ast.Expr)]
        if len(args) != 2 or len(args) != len(call.args):
            raise self.error(call, "a ball is ball(centre, radius)")
        centre_expr, radius_expr = args
        if isinstance(centre_expr, ast.Tuple):
            centre = [self.constant(e, "the centre") for e in centre_expr.items]
            if len(centre) != len(columns):
                raise self.error(
                    centre_expr,
                    f"the centre has {len(centre)} coordinates, the space {len(columns)}",
                )
            broadcast = False
        else:
            centre, broadcast = [self.constant(centre_expr, "the centre")], True
        radius = self.constant(radius_expr, "the radius")
        if radius <= 0:
            raise self.error_over(
                radius_expr, f"the radius must be positive, got {self.quote(radius_expr)}"
            )
        return centre, radius, broadcast

    def _names(self, clause: ast.Clause) -> str:
        names = [n.name for n in clause.coordinates]
        return names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"

    def _unknown_coordinate(self, name: ast.Name) -> UserError:
        return self.error(
            name, f"'{name.name}' is not a coordinate; the coordinates are {self.coords.describe()}"
        )

    # -- constants
    def constant(self, expr: ast.Expr, what: str) -> float:
        """A number given by a constant expression (pi, e, lets of constants, arithmetic)."""
        v = ExpressionBuilder(self, None, "constant", what).build(expr)
        assert isinstance(v, Const)
        return v.value

    def integer(self, expr: ast.Expr, what: str, low: int, high: int) -> int:
        value = self.constant(expr, what)
        if not value.is_integer() or not low <= value <= high:
            raise self.error_over(
                expr, f"{what} must be an integer from {low} to {high}, got {self.quote(expr)}"
            )
        return int(value)

    # -- the network
    def _network(self, b: Builder, net: ast.Network) -> None:
        block = Block(arg_types=[_points(self.coords.width)])
        block.args[0].name_hint = "x"
        region_builder = ExpressionBuilder(self, block, "network", "the network")
        y = region_builder.build(net.expr)
        if region_builder.layers_built == 0:
            raise self.error(
                net.expr,
                "a network is built from one mlp(width N, depth L, ...): e.g. "
                f"`network {net.name} = mlp(width 64, depth 3)`",
            )
        if _width(y) not in (1, None):
            raise self.error(net.expr, f"the network returns one value; this has {_width(y)}")
        out = region_builder.materialize(y, 1, net.expr)
        if out.value.name_hint is None:
            out.value.name_hint = net.name
        self._located(region_builder.insert(pinn.ReturnOp(out.value), net), net)
        for param in region_builder.new_params:
            b.insert(param)
        b.insert(self._located(pinn.NetworkOp(net.name, _points(1), Region(block)), net))

    # -- loss terms
    def _term(self, term: ast.Term) -> Operation:
        placement = term.placement
        domain = self.domains.get(placement.domain)
        if domain is None:
            known = ", ".join(self.domains) or "none"
            raise self.error(
                placement.domain_pos,
                f"no domain '{placement.domain}'{_did_you_mean(placement.domain, self.domains)}; "
                f"domains: {known}",
                len(placement.domain),
            )
        if placement.part is not None and placement.part not in BOUNDARY_PARTS:
            raise self.error(
                placement,
                f"unknown part '{placement.part}' of a domain; conditions are on "
                + ", ".join(f"{p}({placement.domain})" for p in BOUNDARY_PARTS),
            )
        if placement.part in ("initial", "final") and self.coords.time is None:
            raise self.error(
                placement,
                f"{placement.part}({placement.domain}) is the domain at its "
                f"{'first' if placement.part == 'initial' else 'last'} time, but the problem "
                "has no time coordinate (declare `time t`)",
            )
        block = self._points_block()
        region = ExpressionBuilder(self, block, "term", f"term '{term.name}'")
        lhs = region.build(term.lhs)
        rhs = region.build(term.rhs)
        residual = region.subtract(lhs, rhs, term.equals, term)
        if not (isinstance(residual, Tensor) and residual.uses_network):
            raise self.error(
                term.equals,
                f"the equation of term '{term.name}' does not involve the network "
                f"{self.network.name}",
            )
        if residual.width != 1:
            raise self.error(
                term.equals,
                f"an equation is between scalars, but this one has {residual.width} components "
                "on each side: reduce a vector with sum(...) or norm2(...)",
            )
        if residual.value.name_hint is None:
            residual.value.name_hint = "r"
        region.insert(pinn.YieldOp(residual.value), term.equals)
        props: dict[str, Attribute] = {
            "sym_name": StringAttr(term.name),
            "domain": SymbolRefAttr(placement.domain),
            "weight": FloatAttr(self._weight(term), f64),
        }
        if placement.part is None:
            op = pinn.ResidualOp.create(properties=props, regions=[Region(block)])
        else:
            props["on"] = StringAttr(placement.part)
            op = pinn.BoundaryOp.create(properties=props, regions=[Region(block)])
        return self._located(op, term)

    def _points_block(self) -> Block:
        """The body of a term or of the exact solution: one batch of points, named %x (or %p
        when x is a coordinate's name)."""
        block = Block(arg_types=[_points(self.coords.width)])
        block.args[0].name_hint = "p" if "x" in self.coords.scalars else "x"
        return block

    def _weight(self, term: ast.Term) -> float:
        if term.weight is None:
            return 1.0
        weight = self.constant(term.weight, "a loss weight")
        if weight <= 0:
            raise self.error_over(
                term.weight, f"a loss weight must be positive, got {self.quote(term.weight)}"
            )
        return weight

    # -- the exact solution
    def _exact(self, exact: ast.Exact) -> Operation:
        if exact.network != self.network.name:
            raise self.error(
                exact.network_pos,
                f"'{exact.network}' is not the network; write `exact {self.network.name} = ...`",
                len(exact.network),
            )
        block = self._points_block()
        region = ExpressionBuilder(self, block, "exact", "the exact solution")
        value = region.build(exact.expr)
        if _width(value) not in (1, None):
            raise self.error(
                exact.expr,
                f"the exact solution is one value per point; this has {_width(value)} components",
            )
        out = region.materialize(value, 1, exact.expr)
        if out.value.name_hint is None:
            out.value.name_hint = exact.network
        region.insert(pinn.YieldOp(out.value), exact.expr)
        op = pinn.ExactOp.create(
            properties={"network": SymbolRefAttr(exact.network)}, regions=[Region(block)]
        )
        return self._located(op, exact)

    # -- training
    def _train_config(self) -> dict[str, Attribute]:
        """`pinn.train`'s options: train's settings, the strategy's, the batch sizes."""
        config: dict[str, Attribute] = {}
        if self.train is not None:
            allowed = TRAIN_SETTINGS + TRAIN_SETTINGS_AFTER
            config.update(self._settings(self.train.settings, allowed, "train"))
        if self.derivatives is not None:
            strategy = STRATEGIES.get(self.derivatives.strategy)
            if strategy is None:
                known = ", ".join(f"{n} ({s.description})" for n, s in STRATEGIES.items())
                raise self.error(
                    self.derivatives,
                    f"unknown derivative strategy '{self.derivatives.strategy}'; pintac has: "
                    f"{known}",
                )
            if self.derivatives.strategy != DEFAULT_STRATEGY:
                config["derivatives"] = StringAttr(self.derivatives.strategy)
            settings = self.derivatives.settings
            config.update(self._settings(settings, strategy.settings, self.derivatives.strategy))
        if any(t.batch is not None for t in self.terms):
            config["batch"] = DictionaryAttr(
                {t.name: IntegerAttr(self._batch(t), i64) for t in self.terms}
            )
        return {k: config[k] for k in _CONFIG_ORDER if k in config}

    def _batch(self, term: ast.Term) -> int:
        if term.batch is None:
            return pinn.DEFAULT_BATCH
        return self.integer(term.batch, "a batch size", 1, MAX_INT)

    def _settings(self, settings, allowed: tuple[str, ...], where: str) -> dict[str, Attribute]:
        values: dict[str, Attribute] = {}
        seen: dict[str, ast.Setting] = {}
        for s in settings:
            if s.key not in allowed:
                raise self.error(s, _misplaced_setting(s.key, where, allowed))
            if s.key in seen:
                raise self.error(
                    s, f"'{s.key}' is given twice; first at line {self.line_of(seen[s.key].pos)}"
                )
            seen[s.key] = s
            values[s.key] = self._setting_value(s)
        return values

    def _setting_value(self, s: ast.Setting) -> Attribute:
        kind, desc = pinn.TRAIN_KEYS[s.key]
        v = s.value
        if kind == "str":
            choices = _CHOICES.get(s.key, ())
            if v.name is None or v.args is not None or v.name not in choices:
                raise self.error(
                    v,
                    f"'{s.key}' ({desc}) is one of: {', '.join(choices)}; got {self.text(v)}",
                )
            return StringAttr(v.name)
        if v.number is None:
            raise self.error(v, f"'{s.key}' ({desc}) is a number, got {self.text(v)}")
        if kind.startswith("int"):
            low = 1 if kind == "int+" else 0
            high = _INT_LIMITS.get(s.key, MAX_INT)
            value = v.integer if v.integer is not None else v.number
            if not float(value).is_integer() or not low <= value <= high:
                raise self.error(
                    v, f"'{s.key}' ({desc}) is an integer from {low} to {high}, got {self.text(v)}"
                )
            return IntegerAttr(int(value), i64)
        if v.number <= 0 or (kind == "float01" and v.number >= 1):
            bound = "in (0, 1)" if kind == "float01" else "positive"
            raise self.error(v, f"'{s.key}' ({desc}) must be {bound}, got {self.text(v)}")
        return FloatAttr(v.number, f64)


def _misplaced_setting(key: str, where: str, allowed: tuple[str, ...]) -> str:
    owner = next((n for n, s in STRATEGIES.items() if key in s.settings), None)
    if owner is not None:
        return (
            f"'{key}' is a setting of the derivative strategy {owner}: "
            f"`derivatives {owner}({key} ...)`"
        )
    if key in ("batch", "weight"):
        return f"'{key}' is given per loss term: `pde: ... in q {key} ...`"
    if key in ("pipeline", "precision", "tt", "quantization"):
        return (
            f"'{key}': the pipeline (precision, quantization, tensor-train layers) is chosen "
            "when compiling: `pintac run FILE.pde --pipeline smx-diff`"
        )
    if where != "train" and key in TRAIN_SETTINGS + TRAIN_SETTINGS_AFTER:
        return f"'{key}' is a setting of `train`, not of the derivative strategy"
    takes = f"takes: {', '.join(allowed)}" if allowed else "takes no settings"
    return f"unknown setting '{key}'{_did_you_mean(key, allowed)}; {where} {takes}"


def _did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


_COMPONENT = re.compile(r"([A-Za-z_]\w*?)(\d+)")


class ExpressionBuilder:
    """Builds expressions into one region (a network, a loss term, the exact solution), or
    evaluates constant expressions (`block` None)."""

    def __init__(self, owner: ProblemBuilder, block: Block | None, mode: str, what: str):
        self.owner = owner
        self.coords = owner.coords
        self.block = block
        self.mode = mode  # network | term | exact | constant
        self.what = what
        self.builder = Builder(InsertPoint.at_end(block)) if block is not None else None
        self.memo: dict[tuple, Tensor] = {}
        self.expanding: list[str] = []  # lets being built, innermost last
        self.layers_built = 0
        self.new_params: list[pinn.ParamOp] = []

    def error(self, node, message: str, length: int = 1) -> UserError:
        return self.owner.error(node, message, length)

    def insert(self, op: Operation, node: ast.Node | int) -> Operation:
        self.builder.insert(op)
        self.owner.offsets[op] = node.pos if isinstance(node, ast.Node) else node
        return op

    def emit(
        self,
        op: Operation,
        node: ast.Node,
        key: tuple,
        width: int,
        uses_network: bool,
        hint: str | None = None,
    ) -> Tensor:
        """Insert `op`, remember its value under `key` (a repeated subexpression reuses it)."""
        self.insert(op, node)
        value = op.results[0]
        if hint:
            value.name_hint = hint
        t = Tensor(value, width, key, uses_network)
        self.memo[key] = t
        return t

    # -- values
    def materialize(self, v: Val, width: int, node: ast.Node) -> Tensor:
        """`v` as a tensor of `width` columns per point (a constant is filled to it)."""
        if isinstance(v, Tensor):
            return v
        if isinstance(v, Columns):
            return self.columns(v, node)
        return self.fill(v, width, node)

    def columns(self, v: Columns, node: ast.Node) -> Tensor:
        if (v.lo, v.hi) == (0, self.coords.width):
            return Tensor(self.block.args[0], v.hi - v.lo, ("points",))
        key = ("columns", v.lo, v.hi)
        if key in self.memo:
            return self.memo[key]
        op = pinn.SliceOp(self.block.args[0], _points(v.hi - v.lo), (v.lo, v.hi))
        return self.emit(op, node, key, v.hi - v.lo, False, self.coords.name_of(v.lo, v.hi))

    def fill(self, v: Const, width: int, node: ast.Node) -> Tensor:
        key = ("constant", v.value, width)
        if key in self.memo:
            return self.memo[key]
        with np.errstate(over="ignore"):
            single = np.float32(v.value)
        if not np.isfinite(single) or (single == 0) != (v.value == 0):
            raise self.error(
                node,
                f"the constant {v.value!r} is out of the range of f32, the precision the "
                "problem is computed in (magnitudes from about 1.4e-45 to 3.4e38)",
            )
        op = pinn.ConstantOp(v.value, _points(width))
        return self.emit(op, node, key, width, False, v.label or "c")

    def build(self, expr: ast.Expr) -> Val:
        if isinstance(expr, ast.Number):
            return Const(expr.value)
        if isinstance(expr, ast.Name):
            return self.name(expr)
        if isinstance(expr, ast.Negate):
            v = self.build(expr.operand)
            if isinstance(v, Const):
                return Const(-v.value)
            t = self.materialize(v, _width(v), expr)
            key = ("neg", t.key)
            if key in self.memo:
                return self.memo[key]
            return self.emit(arith.NegfOp(t.value), expr, key, t.width, t.uses_network)
        if isinstance(expr, ast.Binary):
            if expr.op == "^":
                return self.power(expr)
            return self.arithmetic(expr.op, self.build(expr.left), self.build(expr.right), expr)
        if isinstance(expr, ast.Call):
            return self.call(expr)
        if isinstance(expr, ast.Tuple):
            raise self.error(expr, "a list of values (a, b, ...) is only the centre of a ball")
        raise AssertionError(f"unknown expression {expr!r}")

    # -- names
    def name(self, expr: ast.Name) -> Val:
        name = expr.name
        if name in CONSTANTS:
            return Const(CONSTANTS[name], name)
        if name in self.owner.lets:
            return self.let(expr)
        net = self.owner.network
        if net is not None and name == net.name:
            return self.evaluate_network(expr)
        span = self.coords.columns(name)
        if span is not None:
            if self.block is None:
                raise self.error(
                    expr, f"{self.what} must be a constant number, but '{name}' is a coordinate"
                )
            return Columns(*span)
        raise self.undefined(expr)

    def undefined(self, expr: ast.Name) -> UserError:
        name = expr.name
        m = _COMPONENT.fullmatch(name)
        if m and m.group(1) in self.coords.vectors:
            lo, hi, first = self.coords.vectors[m.group(1)]
            return self.error(
                expr,
                f"'{name}' is not a coordinate: {m.group(1)} has {hi - lo} components, "
                f"{m.group(1)}{first} .. {m.group(1)}{first + hi - lo - 1}",
            )
        if name in self.owner.domains:
            return self.error(expr, f"'{name}' is a domain, not a value")
        if name in FUNCTIONS:
            return self.error(expr, f"'{name}' is a function: write {name}(...)")
        known = [*self.coords.plain_names(), *self.owner.lets, *CONSTANTS]
        if self.owner.network is not None:
            known.append(self.owner.network.name)
        hint = _did_you_mean(name, known)
        return self.error(
            expr,
            f"undefined name '{name}'{hint}; the coordinates are {self.coords.describe()}",
        )

    def let(self, expr: ast.Name) -> Val:
        let = self.owner.lets[expr.name]
        if expr.name in self.expanding:
            raise self.error(expr, f"'{expr.name}' is defined in terms of itself")
        self.expanding.append(expr.name)
        try:
            v = self.build(let.expr)
        finally:
            self.expanding.pop()
        if isinstance(v, Const):
            return Const(v.value, expr.name)
        if isinstance(v, Tensor) and v.value.name_hint is None and v.key != ("points",):
            v.value.name_hint = expr.name
        return v

    def evaluate_network(self, expr: ast.Name) -> Tensor:
        self.require_network(expr)
        key = ("eval",)
        if key in self.memo:
            return self.memo[key]
        net = self.owner.network.name
        op = pinn.EvalOp(net, self.block.args[0], _points(1))
        return self.emit(op, expr, key, 1, True, net)

    def require_network(self, node: ast.Node) -> None:
        """The network (or its derivatives) is used: only in loss terms."""
        net = self.owner.network.name
        if self.mode == "term":
            return
        if self.mode == "network":
            raise self.error(node, f"the network's definition cannot use the network {net} itself")
        if self.mode == "exact":
            raise self.error(node, f"the exact solution cannot use the network {net}")
        raise self.error(node, f"{self.what} must be a constant number, not the network {net}")

    # -- arithmetic
    def arithmetic(self, op: str, a: Val, b: Val, node: ast.Node) -> Val:
        if isinstance(a, Const) and isinstance(b, Const):
            return Const(self.fold(op, a.value, b.value, node))
        wa, wb = _width(a), _width(b)
        if wa is not None and wb is not None and wa != wb:
            raise self.error(
                node,
                f"dimension mismatch: {self.describe(node.left, wa)} {op} "
                f"{self.describe(node.right, wb)}",
            )
        if isinstance(b, Const):
            if op in "+-" and b.value < 0:  # a − (−c) = a + c exactly, and a + (−c) = a − c
                op, b = ("+" if op == "-" else "-"), Const(-b.value)
            elif op == "/" and b.value == 0:
                raise self.error(node, "division by zero")
            elif op == "/" and _exact_reciprocal(b.value):
                op, b = "*", Const(1.0 / b.value)
        width = wa if wa is not None else wb
        ta = self.materialize(a, width, node)
        tb = self.materialize(b, width, node)
        key = ("binary", op, ta.key, tb.key)
        if key in self.memo:
            return self.memo[key]
        op_class = {"+": arith.AddfOp, "-": arith.SubfOp, "*": arith.MulfOp, "/": arith.DivfOp}[op]
        return self.emit(
            op_class(ta.value, tb.value), node, key, width, ta.uses_network or tb.uses_network
        )

    def subtract(self, lhs: Val, rhs: Val, at: int, term: ast.Term) -> Val:
        """The residual lhs − rhs of an equation (lhs itself when rhs is 0)."""
        if isinstance(rhs, Const) and rhs.value == 0:
            if isinstance(lhs, Const):
                return lhs
            return self.materialize(lhs, _width(lhs), term.lhs)
        node = ast.Binary(at, 1, term.lhs.start, term.rhs.end, 1, "-", term.lhs, term.rhs)
        return self.arithmetic("-", lhs, rhs, node)

    def describe(self, expr: ast.Expr, width: int) -> str:
        what = "a scalar" if width == 1 else f"a vector of {width} components"
        return f"{self.owner.quote(expr)} ({what})"

    def fold(self, op: str, a: float, b: float, node: ast.Node) -> float:
        try:
            if op == "+":
                value = a + b
            elif op == "-":
                value = a - b
            elif op == "*":
                value = a * b
            elif op == "/":
                value = a / b
            else:
                value = math.pow(a, b)
        except ZeroDivisionError:
            raise self.error(node, "division by zero") from None
        except (OverflowError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise self.error(node, "this constant is not a finite real number")
        return value

    def power(self, expr: ast.Binary) -> Val:
        exponent = self.build(expr.right)
        if not isinstance(exponent, Const):
            raise self.error(expr.right, "an exponent must be a constant number")
        base = self.build(expr.left)
        if isinstance(base, Const):
            return Const(self.fold("^", base.value, exponent.value, expr))
        n = exponent.value
        if not n.is_integer() or abs(n) > MAX_POWER:
            raise self.error(
                expr,
                f"the power of an expression that varies is an integer from {-MAX_POWER} to "
                f"{MAX_POWER}, got {exponent.value!r} (write sqrt(...) for a square root)",
            )
        n = int(n)
        if n == 0:
            return Const(1.0)
        t = self.materialize(base, _width(base), expr)
        result: Val = t
        for _ in range(abs(n) - 1):
            result = self.arithmetic("*", result, t, expr)
        if n < 0:
            result = self.arithmetic("/", Const(1.0), result, expr)
        return result

    # -- calls
    def call(self, call: ast.Call) -> Val:
        name = call.name
        if name == "mlp":
            return self.mlp(call)
        if name in DERIVATIVES:
            return self.derivative(call)
        if name in SETS:
            raise self.error(
                call, f"{name}(...) is a set: it belongs in a domain (`x in {name}(0, 1)`)"
            )
        if name not in ELEMENTWISE and name not in REDUCTIONS:
            hint = _did_you_mean(name, FUNCTIONS)
            raise self.error(
                call, f"unknown function '{name}'{hint}; functions: {', '.join(FUNCTIONS)}"
            )
        v = self.build(self.single_argument(call))
        if name in ELEMENTWISE:
            return self.elementwise(name, v, call)
        if name == "sum":
            return self.sum(v, call)
        squares = self.norm2(v, call)
        if name == "norm2":
            return squares
        return self.elementwise("sqrt", squares, call)

    def elementwise(self, name: str, v: Val, call: ast.Call) -> Val:
        if isinstance(v, Const):
            try:
                value = _FOLD[name](v.value)
            except (ValueError, OverflowError):
                value = math.nan
            return Const(self.checked(value, call))
        t = self.materialize(v, _width(v), call)
        key = (name, t.key)
        if key in self.memo:
            return self.memo[key]
        return self.emit(ACTIVATIONS[name].op(t.value), call, key, t.width, t.uses_network, name)

    def checked(self, value: float, node: ast.Node) -> float:
        if not math.isfinite(value):
            raise self.error(node, "this constant is not a finite real number")
        return value

    def single_argument(self, call: ast.Call) -> ast.Expr:
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Expr):
            raise self.error(call, f"{call.name} takes one expression: {call.name}(...)")
        return call.args[0]

    def sum(self, v: Val, call: ast.Call) -> Val:
        if isinstance(v, Const) or _width(v) == 1:
            return v
        if isinstance(v, Columns):
            source, dims = self.block.args[0], self.column_range(v.lo, v.hi)
            key, uses = ("sum", v.lo, v.hi), False
        else:
            source, dims, key, uses = v.value, None, ("sum", v.key), v.uses_network
        if key in self.memo:
            return self.memo[key]
        return self.emit(pinn.SumOp(source, _points(1), dims), call, key, 1, uses, "s")

    def norm2(self, v: Val, call: ast.Call) -> Val:
        """Σ vᵢ²; for coordinates, the squares of all the points' columns, then the sum of
        the columns wanted (as hand-written IR does)."""
        if isinstance(v, Const):
            return Const(self.checked(v.value * v.value, call))
        if isinstance(v, Columns) and v.hi - v.lo > 1:
            points = self.materialize(Columns(0, self.coords.width), self.coords.width, call)
            squares = self.arithmetic("*", points, points, call)
            key = ("sum", "squares", v.lo, v.hi)
            if key in self.memo:
                return self.memo[key]
            dims = self.column_range(v.lo, v.hi)
            return self.emit(
                pinn.SumOp(squares.value, _points(1), dims), call, key, 1, False, "norm2"
            )
        t = self.materialize(v, _width(v), call)
        return self.sum(self.arithmetic("*", t, t, call), call)

    def column_range(self, lo: int, hi: int) -> tuple[int, int] | None:
        """`dims lo to hi` of an op reading the points, None (all) when it is every column."""
        return None if (lo, hi) == (0, self.coords.width) else (lo, hi)

    # -- derivatives
    def derivative(self, call: ast.Call) -> Tensor:
        name = call.name
        net = self.owner.network.name
        if not call.args:
            raise self.error(call, f"{name}(...) differentiates the network: {name}({net}, ...)")
        first = call.args[0]
        if not (isinstance(first, ast.Name) and first.name == net):
            message = f"{name}(...) differentiates the network {net}"
            if isinstance(first, ast.Setting):
                raise self.error(first, f"{message}: {name}({net}, ...)")
            raise self.owner.error_over(
                first,
                f"{message}, not {self.owner.quote(first)}: derivatives of other expressions "
                f"are not supported (write them out with d, d2, grad, laplacian of {net})",
            )
        self.require_network(call)
        coords = call.args[1:]
        for c in coords:
            if not isinstance(c, ast.Name):
                raise self.error(c, f"{name}(...) takes coordinates after {net}, e.g. d({net}, t)")
        spatial = (0, self.coords.spatial)
        if name in ("laplacian", "grad"):
            if coords:
                raise self.error(
                    coords[0],
                    f"{name}({net}) covers all the space coordinates and takes no others; for "
                    f"one coordinate write {'d2' if name == 'laplacian' else 'd'}({net}, c)",
                )
            dims = self.column_range(*spatial)
            width = 1 if name == "laplacian" else self.coords.spatial
            op_class = pinn.LaplacianOp if name == "laplacian" else pinn.GradOp
            return self.derivative_op(
                (name,),
                lambda: op_class(net, self.block.args[0], _points(width), dims),
                call,
                width,
                "lap" if name == "laplacian" else "grad",
            )
        columns = [self.coordinate_column(c, name) for c in coords]
        expected = (1,) if name == "d2" else (1, 2)
        if len(columns) not in expected:
            usage = f"d2({net}, c)" if name == "d2" else f"d({net}, c) or d({net}, c, c)"
            raise self.error(call, f"{name} takes the network and one coordinate: {usage}")
        if len(columns) == 2 and columns[0] != columns[1]:
            self.unsupported_mixed(call, coords)
        c = columns[0]
        label = coords[0].name
        if name == "d2" or len(columns) == 2:
            dims = self.column_range(c, c + 1)
            return self.derivative_op(
                ("d2", c),
                lambda: pinn.LaplacianOp(net, self.block.args[0], _points(1), dims),
                call,
                1,
                f"{net}_{label}{label}",
            )
        return self.derivative_op(
            ("d", c),
            lambda: pinn.PartialOp(net, self.block.args[0], c, _points(1)),
            call,
            1,
            f"{net}_{label}",
        )

    def derivative_op(self, key, make, call, width, hint) -> Tensor:
        if key in self.memo:
            return self.memo[key]
        return self.emit(make(), call, key, width, True, hint)

    def coordinate_column(self, name: ast.Name, op: str) -> int:
        span = self.coords.columns(name.name)
        if span is None:
            raise self.undefined(name)
        if span[1] - span[0] != 1:
            net = self.owner.network.name
            raise self.error(
                name,
                f"{op}({net}, {name.name}) needs one coordinate, but {name.name} is a vector of "
                f"{span[1] - span[0]}; grad({net}) gives all first derivatives, laplacian({net}) "
                "the sum of the second ones",
            )
        return span[0]

    def unsupported_mixed(self, call: ast.Call, coords) -> None:
        derivatives = self.owner.derivatives
        strategy = derivatives.strategy if derivatives is not None else DEFAULT_STRATEGY
        evaluates = ", ".join(EVALUATES)
        a, b = coords[0].name, coords[1].name
        raise self.error(
            call,
            f"the derivative strategy {strategy} cannot evaluate the mixed derivative "
            f"∂²u/∂{a}∂{b}; it evaluates {evaluates}",
        )

    # -- the network's layers
    def mlp(self, call: ast.Call) -> Tensor:
        if self.mode != "network":
            raise self.error(
                call, "mlp(...) defines the network: it belongs in `network u = mlp(...)`"
            )
        if self.layers_built:
            raise self.error(call, "a network has one mlp(...)")
        settings: dict[str, ast.Setting] = {}
        for arg in call.args:
            if not isinstance(arg, ast.Setting):
                raise self.error(arg, "mlp takes settings: mlp(width 64, depth 3, activation tanh)")
            if arg.key not in MLP_SETTINGS:
                raise self.error(
                    arg,
                    f"unknown setting '{arg.key}'{_did_you_mean(arg.key, MLP_SETTINGS)}; mlp "
                    f"takes: {', '.join(MLP_SETTINGS)}",
                )
            if arg.key in settings:
                raise self.error(arg, f"'{arg.key}' is given twice")
            settings[arg.key] = arg
        for required in ("width", "depth"):
            if required not in settings:
                raise self.error(call, f"mlp needs its {required}: mlp(width 64, depth 3)")
        width = self.int_setting(settings["width"], MAX_WIDTH)
        depth = self.int_setting(settings["depth"], MAX_DEPTH)
        activation = self.activation(settings.get("activation"))
        init, init_args = self.weight_init(settings.get("init"))
        x: SSAValue = self.block.args[0]
        sizes = [self.coords.width] + [width] * depth + [1]
        for k in range(depth + 1):
            w_name, b_name = f"W{k}", f"b{k}"
            for name in (w_name, b_name):
                self.owner._declare(name, "a network parameter", self.owner.network)
            shape = [sizes[k], sizes[k + 1]]
            self.new_params.append(
                self.owner._located(
                    pinn.ParamOp(w_name, TensorType(f32, shape), init, init_args),
                    self.owner.network,
                )
            )
            self.new_params.append(
                self.owner._located(
                    pinn.ParamOp(b_name, TensorType(f32, [sizes[k + 1]]), "zeros"),
                    self.owner.network,
                )
            )
            dense = self.insert(pinn.DenseOp(x, w_name, b_name, _points(sizes[k + 1])), call)
            if k == depth:
                dense.results[0].name_hint = "y"
                x = dense.results[0]
                break
            dense.results[0].name_hint = f"z{k}"
            act = self.insert(ACTIVATIONS[activation].op(dense.results[0]), call)
            act.results[0].name_hint = f"h{k}"
            x = act.results[0]
        self.layers_built += 1
        return Tensor(x, 1, ("mlp",), True)

    def int_setting(self, s: ast.Setting, high: int) -> int:
        v = s.value
        if v.number is None or not v.number.is_integer() or not 1 <= v.number <= high:
            raise self.error(
                v, f"'{s.key}' is an integer from 1 to {high}, got {self.owner.text(v)}"
            )
        return int(v.number)

    def activation(self, s: ast.Setting | None) -> str:
        if s is None:
            return "tanh"
        name = s.value.name
        if name is None or s.value.args is not None or name not in ACTIVATIONS:
            raise self.error(
                s.value,
                f"unknown activation {s.value.describe()}; activations: {', '.join(ACTIVATIONS)}",
            )
        return name

    def weight_init(self, s: ast.Setting | None) -> tuple[str, tuple[float, ...]]:
        if s is None:
            return "xavier_normal", ()
        v = s.value
        rule = PARAM_INITS.get(v.name or "")
        if v.name not in WEIGHT_INITS or rule is None:
            raise self.error(
                v, f"unknown weight init {v.describe()}; inits: {', '.join(WEIGHT_INITS)}"
            )
        args = v.args or ()
        if len(args) != len(rule.args):
            usage = f"{v.name}({', '.join(rule.args)})" if rule.args else v.name
            raise self.error(v, f"init {v.name} is written {usage}")
        return v.name, args


def _exact_reciprocal(c: float) -> bool:
    """1/c is exact in f32: c is ± a power of two with 1/c a normal f32."""
    mantissa, exponent = math.frexp(abs(c))  # |c| = mantissa · 2^exponent
    return mantissa == 0.5 and abs(exponent - 1) <= 126
