"""The `numpy-fast` target: the same quantized operands as `numpy`, every GEMM a float32 BLAS
product of their values; close to the contract's results, not bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import pintac.api as pt

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"


def _step(pipeline: str, target: str):
    program = pt.load(EXAMPLE).compile(pipeline, target=target)
    state = program.initial_state(0)
    args = program.step_arguments(state, 0, program.batch(0, 0))
    return program, args, program.train_step(*args)


def test_an_f32_step_is_the_numpy_target_s_bit_for_bit():
    _, _, fast = _step("fp32", "numpy-fast")
    _, _, blas = _step("fp32", "numpy")
    assert all(a.tobytes() == b.tobytes() for a, b in zip(fast, blas, strict=True))


def test_a_quantized_step_quantizes_the_same_and_lands_close():
    program, _, fast = _step("smx-diff", "numpy-fast")
    reference, _, exact = _step("smx-diff", "numpy")
    # the same generated step but for the GEMMs' flags: every quantization, draw and
    # elementwise op is the same call
    lines = program.executable.source.splitlines()
    reference_lines = reference.executable.source.splitlines()
    assert len(lines) == len(reference_lines)
    changed = [(a, b) for a, b in zip(lines, reference_lines, strict=True) if a != b]
    assert changed and all("fast=True" in a or "k_zero" in a for a, _ in changed)
    assert all("k_quantize" not in a for a, _ in changed)
    differ = 0
    for role, a, b in zip(program.result_roles, fast, exact, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        scale = max(np.abs(b).max(), 1e-30)
        assert np.abs(a - b).max() <= 1e-4 * scale, role
        differ += a.tobytes() != b.tobytes()
    assert differ, "BLAS sums in another order than the exact GEMM rounds"
