"""The `tt` dialect: tensor-train (TT-matrix) linear layers.

Convention (TT-matrix, "TTM"). A weight W of shape N x M, used as ``y = x @ W + b`` with
N = n_1 ... n_d (input factors) and M = m_1 ... m_d (output factors), is stored as d cores

    G_k : tensor<r_{k-1} x n_k x m_k x r_k>,   r_0 = r_d = 1,

    W[(j_1..j_d), (i_1..i_d)] = G_1[:, j_1, i_1, :] @ G_2[:, j_2, i_2, :] @ ... @ G_d[:, j_d, i_d, :]

where (j_1..j_d) and (i_1..i_d) are row-major multi-indices (j_1 most significant):
j = (...(j_1 n_2 + j_2) n_3 + ...) n_d + j_d. In each core the input-factor axis comes before
the output-factor axis.

One op, `tt.linear`: y = x @ W + b with the cores (and bias) named by parameter symbols. How
the layer is computed is part of it: `groups` merges consecutive cores into super-cores once
per step (partial reconstruction, PRS) and `order` is the order of the contractions of the
activation with them. `pinn-build-loss` lowers it to `train.permute` and `train.gemm`
(passes/layer_lowerings.py), in the plan of `pintac.runtime.tt.contraction_cost`.

The reference page is docs/dialects/tt.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    DenseArrayBase,
    ModuleOp,
    SymbolRefAttr,
    TensorType,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure, SymbolTable, SymbolUserOpInterface
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from pintac.dialects.support import shape_str

# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TTMatrixShape:
    """The shape of a chain of TT-matrix cores: d factor pairs and d + 1 ranks."""

    in_factors: tuple[int, ...]  # n_1 .. n_d
    out_factors: tuple[int, ...]  # m_1 .. m_d
    ranks: tuple[int, ...]  # r_0 .. r_d

    @property
    def in_width(self) -> int:
        """N = n_1 ... n_d, the rows of W."""
        return math.prod(self.in_factors)

    @property
    def out_width(self) -> int:
        """M = m_1 ... m_d, the columns of W."""
        return math.prod(self.out_factors)

    @staticmethod
    def from_core_shapes(shapes: Sequence[Sequence[int]]) -> TTMatrixShape:
        """The chain's shape; the cores must already be known to chain (see `check_chain`)."""
        return TTMatrixShape(
            in_factors=tuple(s[1] for s in shapes),
            out_factors=tuple(s[2] for s in shapes),
            ranks=(shapes[0][0], *(s[3] for s in shapes)),
        )


def core_shape(t: Attribute, label: str) -> tuple[int, int, int, int]:
    """(r_in, n, m, r_out) of a core type, or a VerifyException naming the core."""
    if not isinstance(t, TensorType):
        raise VerifyException(f"{label} must be a tensor, got {t}")
    shape = t.get_shape()
    if len(shape) != 4:
        raise VerifyException(
            f"{label} must be a rank-4 tensor (rank_in x in_factor x out_factor x rank_out), "
            f"got tensor<{shape_str(shape)}>"
        )
    if not t.has_static_shape():
        raise VerifyException(f"{label} must have a static shape, got tensor<{shape_str(shape)}>")
    if any(d < 1 for d in shape):
        raise VerifyException(f"{label} has an empty dimension: tensor<{shape_str(shape)}>")
    r_in, n, m, r_out = shape
    return (r_in, n, m, r_out)


def check_chain(types: Sequence[Attribute], labels: Sequence[str]) -> TTMatrixShape:
    """Check that the cores are rank-4, chain (each output rank equals the next input rank)
    and start and end with rank 1. Returns the chain's shape."""
    if not types:
        raise VerifyException("needs at least one TT core")
    shapes = [core_shape(t, label) for t, label in zip(types, labels, strict=True)]
    for k in range(len(shapes) - 1):
        if shapes[k][3] != shapes[k + 1][0]:
            raise VerifyException(
                f"TT cores do not chain: {labels[k]} has output rank {shapes[k][3]} "
                f"but {labels[k + 1]} has input rank {shapes[k + 1][0]}"
            )
    if shapes[0][0] != 1:
        raise VerifyException(
            f"the first TT core must have input rank 1, but {labels[0]} has {shapes[0][0]}"
        )
    if shapes[-1][3] != 1:
        raise VerifyException(
            f"the last TT core must have output rank 1, but {labels[-1]} has {shapes[-1][3]}"
        )
    return TTMatrixShape.from_core_shapes(shapes)


def _element_types_agree(op: Operation) -> None:
    """All operand and result tensors of a tt op share one element type."""
    types = [*op.operand_types, *op.result_types]
    elems = {t.get_element_type() for t in types if isinstance(t, TensorType)}
    if len(elems) > 1:
        raise VerifyException(
            "operands and results must have the same element type, got "
            + ", ".join(sorted(str(e) for e in elems))
        )


def _matrix(t: Attribute, what: str) -> tuple[int, int]:
    """(rows, static width) of a rank-2 activation tensor; rows may be dynamic."""
    assert isinstance(t, TensorType)
    shape = t.get_shape()
    if len(shape) != 2:
        raise VerifyException(f"{what} must be a rank-2 tensor (batch x width), got {t}")
    if shape[1] == DYNAMIC_INDEX:
        raise VerifyException(f"{what} must have a static width, got {t}")
    return shape[0], shape[1]


def _check_same_batch(in_rows: int, out_rows: int) -> None:
    """The batch (row) count is kept; a dynamic `?` is compatible with any size."""
    if DYNAMIC_INDEX not in (in_rows, out_rows) and in_rows != out_rows:
        raise VerifyException(
            f"result batch size {shape_str([out_rows])} differs from the input's "
            f"{shape_str([in_rows])}"
        )


# ---------------------------------------------------------------------------------------------
# Layer level: symbols
# ---------------------------------------------------------------------------------------------


def lookup_param_type(op: Operation, ref: SymbolRefAttr) -> TensorType | None:
    """The tensor type of the parameter `ref` names, as seen from `op`.

    Searches the enclosing symbol tables from the nearest outwards and stops at the first that
    defines the symbol. The defining op must carry its tensor type in a property or attribute
    named `type` (as `pinn.param` does); any dialect's op with that interface works.

    Returns None, so the caller skips the checks it cannot make, when no symbol table defines
    the symbol and the nearest one is a `builtin.module` or there is none (the op is not inside
    a problem yet). An undefined symbol inside any other symbol table (a `pinn.problem`) is an
    error.
    """
    nearest_table: Operation | None = None
    anchor: Operation | None = op
    while anchor is not None:
        if anchor.has_trait(SymbolTable):
            nearest_table = nearest_table or anchor
            found = SymbolTable.lookup_symbol(anchor, ref)
            if found is not None:
                param_type = found.get_attr_or_prop("type")
                if not isinstance(param_type, TensorType):
                    raise VerifyException(
                        f"symbol {ref} does not name a tensor parameter: '{found.name}' has "
                        "no `type` property or attribute holding a tensor type"
                    )
                return param_type
        anchor = anchor.parent_op()
    if nearest_table is not None and not isinstance(nearest_table, ModuleOp):
        raise VerifyException(
            f"parameter {ref} is not defined in the enclosing '{nearest_table.name}'"
        )
    return None


class ContractionOrder(StrEnum):
    """The order in which a TT layer contracts an activation with its (super-)cores."""

    LTR = "ltr"  # the first core first
    RTL = "rtl"  # the last core first, each core permuted to (n, s, r, m)


@irdl_attr_definition
class OrderAttr(EnumAttribute[ContractionOrder], SpacedOpaqueSyntaxAttribute):
    """`#tt<order rtl>`; written `order rtl` on `tt.linear`."""

    name = "tt.order"


class TTLinearSymbolUser(SymbolUserOpInterface):
    """tt.linear reads its cores and bias through symbols; checks them when they resolve."""

    def verify(self, op: Operation) -> None:
        assert isinstance(op, LinearOp)
        op.verify_symbol_uses()


@irdl_op_definition
class LinearOp(IRDLOperation):
    """A TT-matrix linear layer: ``y = x @ W + b``, W the matrix of the cores (formula above).

    Syntax: ``tt.linear %x, [@G0, @G1, @G2], @b groups [2, 1] order ltr : tensor<?x256xf32>
    -> tensor<?x256xf32>`` (bias, groups and order optional). The cores and the bias are
    parameter symbols (``pinn.param``), looked up in the enclosing symbol tables. When they
    resolve, the verifier checks that the cores chain with boundary ranks 1, prod(n_k) equals
    the input width, prod(m_k) the output width, and the bias is tensor<M>. When they do not
    (outside a problem) those checks are skipped.

    `groups` (partial reconstruction, PRS) are the sizes of consecutive core groups, summing
    to the number of cores: each group is merged into one super-core once per step, and the
    activation is contracted with the super-cores. Absent, every core is its own group.
    `order` is the contraction order (`ltr`, the default, or `rtl`).
    """

    name = "tt.linear"

    input = operand_def(TensorType)
    output = result_def(TensorType)
    cores = prop_def(ArrayAttr[SymbolRefAttr])
    bias = opt_prop_def(SymbolRefAttr)
    groups = opt_prop_def(DenseArrayBase.constr(i64))
    order = opt_prop_def(OrderAttr)

    traits = traits_def(Pure(), TTLinearSymbolUser())

    assembly_format = (
        "$input `,` $cores (`,` $bias^)? (`groups` $groups^)? (`order` $order^)? attr-dict "
        "`:` type($input) `->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        cores: Sequence[str | SymbolRefAttr],
        result_type: Attribute,
        bias: str | SymbolRefAttr | None = None,
        groups: Sequence[int] | None = None,
        order: ContractionOrder | str | None = None,
    ):
        refs = [c if isinstance(c, SymbolRefAttr) else SymbolRefAttr(c) for c in cores]
        props: dict[str, Attribute] = {"cores": ArrayAttr(refs)}
        if bias is not None:
            props["bias"] = bias if isinstance(bias, SymbolRefAttr) else SymbolRefAttr(bias)
        if groups is not None:
            props["groups"] = DenseArrayBase.from_list(i64, [int(g) for g in groups])
        if order is not None:
            props["order"] = OrderAttr(ContractionOrder(order))
        super().__init__(operands=[input], result_types=[result_type], properties=props)

    @property
    def group_sizes(self) -> tuple[int, ...]:
        """The sizes of the consecutive core groups (one per core when `groups` is absent)."""
        if self.groups is None:
            return (1,) * len(self.cores)
        return tuple(self.groups.get_values())

    @property
    def contraction_order(self) -> ContractionOrder:
        return ContractionOrder.LTR if self.order is None else self.order.data

    def set_grouping(self, groups: Sequence[int], order: ContractionOrder | str) -> None:
        """Set `groups` and `order`; the defaults (a group per core, `ltr`) are left out."""
        groups = tuple(int(g) for g in groups)
        if groups == (1,) * len(self.cores):
            self.properties.pop("groups", None)
        else:
            self.groups = DenseArrayBase.from_list(i64, list(groups))
        if ContractionOrder(order) is ContractionOrder.LTR:
            self.properties.pop("order", None)
        else:
            self.order = OrderAttr(ContractionOrder(order))

    def _verify_local(self) -> tuple[int, int, Attribute]:
        """Checks that need no symbol lookup; returns (N, M, element type)."""
        if len(self.cores) == 0:
            raise VerifyException("needs at least one TT core")
        if self.groups is not None:
            sizes = list(self.groups.get_values())
            if not sizes or min(sizes) < 1 or sum(sizes) != len(self.cores):
                raise VerifyException(
                    f"groups {sizes} must be sizes >= 1 of consecutive core groups summing to "
                    f"the {len(self.cores)} cores"
                )
        in_rows, in_width = _matrix(self.input.type, "input")
        out_rows, out_width = _matrix(self.output.type, "result")
        _check_same_batch(in_rows, out_rows)
        _element_types_agree(self)
        assert isinstance(self.input.type, TensorType)
        return in_width, out_width, self.input.type.get_element_type()

    def verify_(self) -> None:
        self._verify_local()

    def verify_symbol_uses(self) -> None:
        # xDSL runs trait verifiers before verify_, so the local checks come first here too.
        in_width, out_width, element_type = self._verify_local()
        core_types = self.core_types()
        for ref, t in zip(self.cores, core_types, strict=True):
            if t is not None and t.get_element_type() != element_type:
                raise VerifyException(
                    f"core {ref} has element type {t.get_element_type()}, "
                    f"but the input has {element_type}"
                )
        if all(t is not None for t in core_types):
            labels = [f"core {ref}" for ref in self.cores]
            chain = check_chain(core_types, labels)
            if chain.in_width != in_width:
                raise VerifyException(
                    f"TT input factors {list(chain.in_factors)} multiply to {chain.in_width}, "
                    f"but the input width is {in_width}"
                )
            if chain.out_width != out_width:
                raise VerifyException(
                    f"TT output factors {list(chain.out_factors)} multiply to "
                    f"{chain.out_width}, but the output width is {out_width}"
                )
        bias_type = None if self.bias is None else lookup_param_type(self, self.bias)
        if bias_type is not None and (
            bias_type.get_shape() != (out_width,) or bias_type.get_element_type() != element_type
        ):
            raise VerifyException(
                f"bias {self.bias} must be tensor<{out_width}x{element_type}>, one entry per "
                f"output, but is {bias_type}"
            )

    def core_types(self) -> list[TensorType | None]:
        """The cores' tensor types, None for a core whose symbol does not resolve."""
        return [lookup_param_type(self, ref) for ref in self.cores]


TT = Dialect("tt", [LinearOp], [OrderAttr])

__all__ = [
    "TT",
    "ContractionOrder",
    "LinearOp",
    "OrderAttr",
    "TTMatrixShape",
    "check_chain",
    "core_shape",
    "lookup_param_type",
]
