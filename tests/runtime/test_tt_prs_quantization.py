"""Partial reconstruction lowers a TT layer's quantization error: merging cores in f32 leaves
fewer quantized contractions between the input and the output (the `full` pipeline's
arithmetic: merges f32 and exact, contractions on SMX INT8 operands)."""

from __future__ import annotations

import numpy as np

from pintac.runtime import smx, tt


def full_pipeline_gemm(kind, lhs, rhs):
    if kind == tt.MERGE:
        return smx.gemm(lhs, rhs)
    a = smx.quantize_matrix(lhs, 8, (4, 4))
    b = smx.quantize_matrix(rhs, 8, (4, 4))
    return smx.gemm_quantized(a, b)


def test_fewer_groups_fewer_quantization_errors():
    factors = ((4, 8, 8), (4, 8, 8))
    ranks = tt.tt_ranks(3, 8)
    errors: dict[tuple[int, ...], float] = {}
    for seed in range(3):
        rng = np.random.default_rng(seed)
        cores = tt.init_cores(rng, *factors, ranks, tt.glorot_std(256, 256))
        x = np.tanh(rng.standard_normal((512, 256))).astype(np.float32)
        exact = x.astype(np.float64) @ tt.reconstruct([c.astype(np.float64) for c in cores])
        for groups in ((1, 1, 1), (2, 1), (3,)):
            y = tt.tt_matmul(x, cores, groups, tt.LTR, full_pipeline_gemm)
            error = np.linalg.norm(y - exact) / np.linalg.norm(exact)
            errors[groups] = errors.get(groups, 0.0) + error / 3
    # 3 quantized contractions, then 2 (PRS), then 1 (the dense matrix)
    assert errors[(2, 1)] < 0.9 * errors[(1, 1, 1)]
    assert errors[(3,)] < 0.9 * errors[(2, 1)]
