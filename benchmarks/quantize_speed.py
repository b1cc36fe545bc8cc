"""Timing of SMX quantization and the quantized GEMM against plain NumPy passes.

    python benchmarks/quantize_speed.py [--rows 102400] [--cols 256] [--repeat 7]

Reports the median time of `smx.quantize` (and of `smx.quantize_matrix`, the runtime's
chunked path) on a float32 activation in units of one `np.abs(x)` pass over the same array
(a lower bound for any elementwise pass that writes a new array), and the time of the exact
quantized GEMM on quantized and on raw float32 operands, and of `smx.gemm_quantized` (the
runtime's GEMM, its exactness check read off the tile exponents) on a weight gradient.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pintac.runtime import mx, smx


def median_seconds(fn, repeat: int) -> float:
    fn()  # warm up (page faults of first allocations, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=102_400)
    parser.add_argument("--cols", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    gen = np.random.default_rng(0)
    x = gen.standard_normal((args.rows, args.cols)).astype(np.float32)
    base = median_seconds(lambda: np.abs(x), args.repeat)
    print(f"x: {args.rows}x{args.cols} float32; one np.abs(x) pass: {base * 1e3:.1f} ms")
    cases = [
        ("smx.quantize int8 4x4 rne", lambda: smx.quantize(x, 8, 4)),
        ("smx.quantize int8 4x4 away", lambda: smx.quantize(x, 8, 4, "away")),
        ("smx.quantize int8 32x32 rne", lambda: smx.quantize(x, 8, 32)),
        ("smx.quantize_matrix int8 4x4 rne", lambda: smx.quantize_matrix(x, 8)),
        ("smx.quantize_matrix int12 4x4 rne", lambda: smx.quantize_matrix(x, 12)),
        (
            "smx.quantize int12 4x4 stochastic",
            lambda: smx.quantize(x, 12, 4, "stochastic", key=(0, 0, 0)),
        ),
        ("mx.quantize_mx fp8_e4m3 (rows)", lambda: mx.quantize_mx(x, "fp8_e4m3")),
    ]
    for label, fn in cases:
        t = median_seconds(fn, args.repeat)
        print(f"{label:36s} {t * 1e3:8.1f} ms  = {t / base:5.2f} x np.abs(x)")

    w = smx.quantize(gen.standard_normal((args.cols, 64)).astype(np.float32) * 0.1, 8, 4)
    qx = smx.quantize(x, 8, 4)
    dy = smx.quantize(gen.standard_normal((args.rows, 64)).astype(np.float32) * 1e-3, 12, 4)
    gemms = [
        ("fwd   X.W      (quantized)", qx, w, False, False),
        ("dgrad dY.W^T   (quantized)", dy, w, False, True),
        ("wgrad X^T.dY   (quantized)", qx, dy, True, False),
    ]
    for label, a, b, ta, tb in gemms:
        t = median_seconds(
            lambda a=a, b=b, ta=ta, tb=tb: smx.gemm(a, b, transpose_a=ta, transpose_b=tb), 3
        )
        _, stats = smx.gemm_with_stats(a, b, transpose_a=ta, transpose_b=tb)
        ref = median_seconds(
            lambda a=a, b=b, ta=ta, tb=tb: (
                (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
            ),
            3,
        )
        print(f"gemm {label} {t * 1e3:8.1f} ms (float64 @: {ref * 1e3:.1f} ms) {stats}")
    # a weight gradient over rows of spread magnitudes, as the runtime computes it
    scale = np.exp2(gen.integers(-20, 1, (args.rows, 1)))
    qa = smx.quantize_matrix((x * scale).astype(np.float32), 8)
    qg = smx.quantize_matrix((gen.standard_normal((args.rows, 64)) * scale).astype(np.float32), 12)
    route = smx._quantized_route(qa, qg, True, False)
    t = median_seconds(lambda: smx.gemm_quantized(qa, qg, transpose_a=True), 3)
    print(
        f"gemm_quantized wgrad X^T.dY, rows spread over 20 binades {t * 1e3:8.1f} ms {route.kind}"
    )
    # operands whose exponents spread over ~60 binades force the exact path everywhere
    spread = gen.standard_normal((4096, 256)) * np.exp2(gen.integers(-30, 30, (4096, 256)))
    a = spread.astype(np.float32)
    t = median_seconds(lambda: smx.gemm(a, w), 3)
    _, stats = smx.gemm_with_stats(a, w)
    print(f"gemm 4096x256 . 256x64, wide spread  {t * 1e3:8.1f} ms {stats}")
    for size in (64, 256):
        a = gen.standard_normal((size, size)).astype(np.float32)
        b = gen.standard_normal((size, size)).astype(np.float32)
        t = median_seconds(lambda a=a, b=b: smx.gemm(a, b), args.repeat)
        _, stats = smx.gemm_with_stats(a, b)
        print(f"gemm {size}x{size} random normal float32 {t * 1e3:8.2f} ms {stats}")


if __name__ == "__main__":
    main()
