"""The quantization report: the plan read from the IR and the bytes and SQNR of one run."""

from __future__ import annotations

import math

import numpy as np
from xdsl.dialects import func

from pintac.diagnostics import Source, parse_source, verify
from pintac.registry import make_context
from pintac.runtime import smx
from pintac.runtime.quantization_report import format_plan, measure, quantization_plan

TEXT = """
func.func @step(%x: tensor<16x32xf32>, %g: tensor<16x32xf32>) -> (tensor<16x32xf32>, tensor<16x32xf32>) {
  %qx = smx.quantize %x {smx.use = "activation"} : tensor<16x32xf32> -> !smx.tensor<16x32, int8, block 4x4>
  %qg = smx.quantize %g {smx.use = "gradient"} : tensor<16x32xf32> -> !smx.tensor<16x32, int12, block 4x4>
  %qgt = smx.quantize %g {smx.use = "gradient"} : tensor<16x32xf32> -> !smx.tensor<16x32, int12, block 4x4>
  %dx = smx.dequantize %qx : !smx.tensor<16x32, int8, block 4x4> -> tensor<16x32xf32>
  %dg = smx.dequantize %qg : !smx.tensor<16x32, int12, block 4x4> -> tensor<16x32xf32>
  func.return %dx, %dg : tensor<16x32xf32>, tensor<16x32xf32>
}
"""


def step_function() -> func.FuncOp:
    parsed = parse_source(make_context(), Source("report.mlir", TEXT))
    verify(parsed)
    return next(op for op in parsed.module.walk() if isinstance(op, func.FuncOp))


def test_the_plan_lists_every_copy_with_its_use_format_and_copies_per_tensor():
    plan = quantization_plan(step_function())
    assert [(c.tensor, c.use, c.format, c.copies) for c in plan] == [
        ("%x", "activation", "int8, block 4x4", 1),
        ("%g", "gradient", "int12, block 4x4", 2),
        ("%g", "gradient", "int12, block 4x4", 2),
    ]
    text = format_plan(plan)
    assert "3 quantized copies of 2 tensors (1 activation, 2 gradient)" in text


def sqnr(x: np.ndarray, q: np.ndarray) -> float:
    x, q = x.astype(np.float64), q.astype(np.float64)
    return 10 * math.log10(np.sum(x * x) / np.sum((x - q) ** 2))


def test_measure_adds_up_stored_bytes_and_signal_to_noise_per_use():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 32)).astype(np.float32)
    g = (1e-3 * rng.standard_normal((16, 32))).astype(np.float32)
    m = measure(step_function(), [x, g]).as_json()
    blocks = 16 * 32 // 16
    # 512 INT8 codes = 512 bytes; 512 INT12 codes = 768 bytes; one exponent byte per block
    assert m["activation"]["bytes"] == 512 + blocks
    assert m["gradient"]["bytes"] == 2 * (768 + blocks)
    assert m["gradient"]["copies"] == 2
    assert math.isclose(m["activation"]["sqnr_db"], sqnr(x, smx.quantize(x, 8, 4)), rel_tol=1e-9)
    assert math.isclose(m["gradient"]["sqnr_db"], sqnr(g, smx.quantize(g, 12, 4)), rel_tol=1e-9)
    # each extra bit of mantissa buys about 6 dB
    assert m["gradient"]["sqnr_db"] > m["activation"]["sqnr_db"] + 18


def test_an_exactly_representable_tensor_has_infinite_sqnr():
    x = np.full((16, 32), 0.5, np.float32)
    assert measure(step_function(), [x, x]).as_json()["activation"]["sqnr_db"] == math.inf
