"""An end-to-end training step on the simulator: one quantized linear layer fitted by Adam
to targets, every value equal bit for bit to the NumPy runtime's kernels on the same data."""

import numpy as np
from pinta_helpers import same_bits

from pintac.runtime import kernels_core as core
from pintac.runtime import rng, smx
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.program import ConstantPool
from pintac.runtime.pinta.simulator import Simulator

N, IN, OUT = 32, 8, 4


def _reference(x, w, t, mom, vel, seed, step):
    """The step with the runtime's kernels: y = Q(x) Q(w); loss = mean((y - t)^2);
    dW = Q(x)^T Q(dy), dy = meansq_grad; Adam on W."""
    qx = smx.quantize_matrix(x, 8, (4, 4))
    qw = smx.quantize_matrix(w, 8, (4, 4))
    y = core.gemm(qx, qw, transpose_a=False, transpose_b=False, exact=True)
    r = np.subtract(y, t)
    loss = core.mean_square(r)
    dr = core.mean_square_grad(r, np.asarray(np.float32(1.0)))
    key = (seed, step, 0)
    qdr = smx.quantize_matrix(dr, 12, (4, 4), "stochastic", key=key)
    dw = core.gemm(qx, qdr, transpose_a=True, transpose_b=False, exact=True)
    hyper = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    w1, m1, v1 = core.update(w, dw, mom, vel, step, optimizer="adam", **hyper)
    return loss, w1, m1, v1


def test_a_quantized_training_step_matches_the_runtime():
    g = np.random.default_rng(0)
    x = g.standard_normal((N, IN)).astype(np.float32)
    w = (0.3 * g.standard_normal((IN, OUT))).astype(np.float32)
    t = g.standard_normal((N, OUT)).astype(np.float32)
    mom = (0.01 * g.standard_normal((IN, OUT))).astype(np.float32)
    vel = np.abs(0.01 * g.standard_normal((IN, OUT))).astype(np.float32)

    pool = ConstantPool()
    one = pool.add(1.0)
    hyper = pool.hyperparameters(1e-2, 0.9, 0.999, 1e-8)
    # DRAM: x | w | t | m | v | loss | constants
    at = {}
    words = []
    for name, a in (("x", x), ("w", w), ("t", t), ("m", mom), ("v", vel), ("loss", np.zeros(1))):
        at[name] = sum(len(v) for v in words)
        words.append(np.asarray(a, np.float32).reshape(-1))
    const_base = sum(len(v) for v in words)
    words.append(pool.words())
    dram = np.concatenate(words)

    # SPM layout
    sx, sw, st, sm, sv = 0, 256, 512, 768, 1024
    sy, sr, sdr, sdw, sloss, sone = 1280, 1536, 1792, 2048, 2304, 2305
    f32 = {"fmt": "f32"}
    program = [
        isa.LOAD(dst=sx, src=at["x"], rows=N, cols=IN, stride=IN, **f32),
        isa.LOAD(dst=sw, src=at["w"], rows=IN, cols=OUT, stride=OUT),
        isa.LOAD(dst=st, src=at["t"], rows=N, cols=OUT, stride=OUT),
        isa.LOAD(dst=sm, src=at["m"], rows=IN, cols=OUT, stride=OUT),
        isa.LOAD(dst=sv, src=at["v"], rows=IN, cols=OUT, stride=OUT, push_next=1),
        isa.QUANT(addr=sx, rows=N, cols=IN, bits=8, pop_prev=1),
        isa.VEC(op="copy", dst=sdw, a=sw, rows=IN, cols=OUT),  # keep the f32 master weights
        isa.QUANT(addr=sdw, rows=IN, cols=OUT, bits=8),
        isa.GEMM(acc=0, a=sx, b=sdw, m=N, k=IN, n=OUT, init=1),
        isa.ACCRD(dst=sy, acc=0, m=N, n=OUT),
        isa.VEC(op="sub", dst=sr, a=sy, b=st, rows=N, cols=OUT),
        isa.RED(kind="meansq", dst=sloss, src=sr, rows=N, cols=OUT),
        isa.VEC(op="fill", dst=sone, rows=1, cols=1, const=one),
        isa.RED(kind="meansq_grad", dst=sdr, src=sr, b=sone, rows=N, cols=OUT),
        isa.QUANT(
            addr=sdr,
            rows=N,
            cols=OUT,
            bits=12,
            rounding="stochastic",
            stream=0,
            elem_offset=0,
            tensor_cols=OUT,
        ),
        isa.GEMM(acc=512, a=sx, b=sdr, m=IN, k=N, n=OUT, ta=1, init=1, prec_b="int12"),
        isa.ACCRD(dst=sdw, acc=512, m=IN, n=OUT),
        isa.UPDATE(kind="adam", p=sw, g=sdw, m=sm, v=sv, count=IN * OUT, hyper=hyper, push_next=1),
        isa.STORE(dst=at["w"], src=sw, rows=IN, cols=OUT, stride=OUT, pop_prev=1),
        isa.STORE(dst=at["m"], src=sm, rows=IN, cols=OUT, stride=OUT),
        isa.STORE(dst=at["v"], src=sv, rows=IN, cols=OUT, stride=OUT),
        isa.STORE(dst=at["loss"], src=sloss, rows=1, cols=1, stride=1),
        isa.HALT(),
    ]
    sim = Simulator(program, dram_image=dram, const_base=const_base, const_entries=len(pool))
    seed, step = 11, 3
    report = sim.run_step(seed, step)

    loss, w1, m1, v1 = _reference(x, w, t, mom, vel, seed, step)
    out = sim.dram
    assert same_bits(out[at["loss"]], loss)
    assert same_bits(out[at["w"] : at["w"] + IN * OUT].reshape(IN, OUT), w1)
    assert same_bits(out[at["m"] : at["m"] + IN * OUT].reshape(IN, OUT), m1)
    assert same_bits(out[at["v"] : at["v"] + IN * OUT].reshape(IN, OUT), v1)
    assert report.macs == {"int8xint8": N * IN * OUT, "int8xint12": N * IN * OUT}
    assert report.events["rng.word"] == N * OUT  # the stochastic rounding of dr
    assert rng.STREAM_ROUNDING == 0x40000000  # the stream QUANT documents
