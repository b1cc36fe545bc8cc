"""A hand-written NumPy training step for 2-D Poisson with Stein's estimator: the baseline.

This is what a careful NumPy programmer writes by hand for the problem of
`examples/poisson2d.mlir` — one forward pass over all perturbed and boundary points, a
hand-derived backward pass, Adam — with float32 arithmetic and preallocated buffers for the
large activations. The compiled pipeline (`pintac run`, fp32) is compared against it in the
same process at the same sizes, numerically and for speed.

The contract (what the compiled pipeline must agree with):

- Parameters: `[(W_0, b_0), ..., (W_L, b_L)]` float32, `W_i` of shape (in, out); the network is
  `u(x) = z_L`, `z_i = h_{i−1} W_i + b_i`, `h_i = tanh(z_i)`, `h_{−1} = x`.
  Initialization: `pintac.runtime.init`, `xavier_normal` for W and `zeros` for b, parameter
  indices in the order W_0, b_0, W_1, b_1, ... (the order of the example's `pinn.param`s).
- Step `step` (0-based) of a run with seed `seed`, interior points x (n × D) and boundary points
  x_bc (m × D), both sampled by the caller (`pintac.runtime.sampling`):
  δ = `rng.normal(seed, step, rng.STREAM_STEIN + 0, (n, K, D))` · σ (float32);
  the batch `[x, x + δ_1..K, x − δ_1..K]` (n × (2K+1) × D) is evaluated row by row;
  g_0 = u(x), g_±k = u(x ± δ_k);
  Δu ≈ (1/K) Σ_k (‖δ_k‖² − Dσ²)(g_+k + g_−k − 2 g_0) / (2σ⁴);
  r = Δu + sin(Σ_j x_j); r_bc = u(x_bc) − sin(Σ_j x_bc,j)/2;
  loss = w_pde · mean(r²) + w_bc · mean(r_bc²)  (defaults 1 and 300).
- Gradients by reverse mode through the estimator (δ fixed) and the MLP.
- Adam in float32 with scalars computed as Python floats and applied as np.float32:
  lr_t = lr · (1 − step/T) (`linear_decay`) or lr (`constant`);
  bc1 = 1 − β1^(step+1), bc2 = 1 − β2^(step+1);
  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·(g·g);
  p ← p − (lr_t · (m / bc1)) / (sqrt(v / bc2) + ε)   (evaluated in this order).

Run `python benchmarks/handwritten.py --help` for the stand-alone benchmark (full poisson2d
sizes by default): it trains, prints the time per step and the relative L2 error.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence

import numpy as np

from pintac.runtime import rng
from pintac.runtime.init import init_param
from pintac.runtime.sampling import DomainSpec, sample_points


class HandwrittenPoisson:
    """Stein's-estimator PINN training for Δu + sin(Σx) = 0, u = sin(Σx)/2 on the boundary.

    `dtype=np.float64` runs the same code in double precision (used to check the gradients
    against finite differences); the benchmark uses the float32 default.
    """

    def __init__(
        self,
        widths: Sequence[int] = (2, 256, 256, 256, 1),
        pairs: int = 512,
        sigma: float = 0.01,
        lr: float = 1e-3,
        steps: int = 1000,
        schedule: str = "linear_decay",
        w_pde: float = 1.0,
        w_bc: float = 300.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        dtype=np.float32,
    ):
        if len(widths) < 2 or widths[-1] != 1:
            raise ValueError("widths go from the input dimension to one output")
        if schedule not in ("constant", "linear_decay"):
            raise ValueError(f"unknown schedule {schedule!r}")
        self.widths = [int(w) for w in widths]
        self.dim = self.widths[0]
        self.pairs = int(pairs)
        self.sigma = float(sigma)
        self.lr, self.total_steps, self.schedule = float(lr), int(steps), schedule
        self.w_pde, self.w_bc = float(w_pde), float(w_bc)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.dtype = np.dtype(dtype)
        self.params: list[tuple[np.ndarray, np.ndarray]] = []
        self._rows = -1  # batch rows the buffers are sized for

    # ------------------------------------------------------------------ parameters

    def init(self, seed: int) -> None:
        """xavier_normal weights and zero biases (runtime/init.py), fresh Adam state."""
        self.params = []
        index = 0
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:], strict=True):
            w = init_param("xavier_normal", (), (fan_in, fan_out), seed, index)
            b = init_param("zeros", (), (fan_out,), seed, index + 1)
            self.params.append((w.astype(self.dtype), b.astype(self.dtype)))
            index += 2
        self._init_state()

    def set_params(self, params: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        self.params = [
            (np.array(w, dtype=self.dtype), np.array(b, dtype=self.dtype)) for w, b in params
        ]
        self._init_state()

    def _init_state(self) -> None:
        zeros = [(np.zeros_like(w), np.zeros_like(b)) for w, b in self.params]
        self.m = [(w.copy(), b.copy()) for w, b in zeros]
        self.v = [(w.copy(), b.copy()) for w, b in zeros]
        self.grads = [(w.copy(), b.copy()) for w, b in zeros]
        self._tmp = [(np.empty_like(w), np.empty_like(b)) for w, b in self.params]
        self._tmp2 = [(np.empty_like(w), np.empty_like(b)) for w, b in self.params]

    # ------------------------------------------------------------------ buffers

    def _buffers(self, n_pde: int, n_bc: int) -> None:
        """Allocate the per-row buffers once for a batch shape (reused by every step)."""
        rows = n_pde * (2 * self.pairs + 1) + n_bc
        if rows == self._rows and (n_pde, n_bc) == self._shape:
            return
        dt = self.dtype
        hidden = self.widths[1:-1]
        self.X = np.empty((rows, self.dim), dtype=dt)  # every point the network sees
        self.H = [np.empty((rows, w), dtype=dt) for w in hidden]  # h_i, then dz_i in backward
        self._dh = np.empty(rows * max(hidden, default=1), dtype=dt)  # flat: views per width
        self.Y = np.empty((rows, 1), dtype=dt)
        self.dY = np.empty((rows, 1), dtype=dt)
        self._rows, self._shape = rows, (n_pde, n_bc)

    # ------------------------------------------------------------------ network

    def _forward(self, x: np.ndarray, hs: list[np.ndarray], out: np.ndarray) -> np.ndarray:
        """out = u(x); the hidden activations go to `hs` (preallocated)."""
        h = x
        for (w, b), buf in zip(self.params[:-1], hs, strict=True):
            np.matmul(h, w, out=buf)
            buf += b
            np.tanh(buf, out=buf)
            h = buf
        w, b = self.params[-1]
        np.matmul(h, w, out=out)
        out += b
        return out

    def predict(self, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """u(x) for points x (n × D): (n × 1), in chunks of rows."""
        x = np.asarray(x, dtype=self.dtype)
        out = np.empty((len(x), 1), dtype=self.dtype)
        for s in range(0, len(x), chunk):
            xs = x[s : s + chunk]
            hs = [np.empty((len(xs), w), dtype=self.dtype) for w in self.widths[1:-1]]
            self._forward(xs, hs, out[s : s + chunk])
        return out

    # ------------------------------------------------------------------ one step

    def perturbations(self, n_pde: int, step: int, seed: int) -> np.ndarray:
        """δ of a step: (n_pde, K, D), N(0, σ²) from the Stein stream."""
        z = rng.normal(seed, step, rng.STREAM_STEIN + 0, (n_pde, self.pairs, self.dim))
        return z.astype(self.dtype) * self.dtype.type(self.sigma)

    def loss_and_grads(
        self, x_pde: np.ndarray, x_bc: np.ndarray, step: int, seed: int
    ) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
        """The loss of a step and its gradients (into `self.grads`, which is returned)."""
        dt = self.dtype
        f = dt.type
        x_pde = np.asarray(x_pde, dtype=dt)
        x_bc = np.asarray(x_bc, dtype=dt)
        n, m = len(x_pde), len(x_bc)
        k, d, sigma = self.pairs, self.dim, self.sigma
        self._buffers(n, m)
        rows_pde = n * (2 * k + 1)

        # ---- the perturbed batch [x, x + δ, x − δ] and the boundary points
        delta = self.perturbations(n, step, seed)
        batch = self.X[:rows_pde].reshape(n, 2 * k + 1, d)
        batch[:, 0, :] = x_pde
        np.add(x_pde[:, None, :], delta, out=batch[:, 1 : k + 1, :])
        np.subtract(x_pde[:, None, :], delta, out=batch[:, k + 1 :, :])
        self.X[rows_pde:] = x_bc

        # ---- forward
        y = self._forward(self.X, self.H, self.Y)[:, 0]
        g = y[:rows_pde].reshape(n, 2 * k + 1)
        g0, gp, gm = g[:, 0], g[:, 1 : k + 1], g[:, k + 1 :]

        # c_k = (‖δ_k‖² − Dσ²) / (2σ⁴): the Stein weight of pair k
        c = np.einsum("nkd,nkd->nk", delta, delta)
        c -= f(d * sigma * sigma)
        c *= f(1.0 / (2.0 * sigma**4))
        second = gp + gm
        second -= f(2.0) * g0[:, None]
        lap = np.einsum("nk,nk->n", c, second) * f(1.0 / k)

        s_pde = x_pde.sum(axis=1)
        r = lap + np.sin(s_pde)
        s_bc = x_bc.sum(axis=1)
        r_bc = y[rows_pde:] - np.sin(s_bc) * f(0.5)
        loss = self.w_pde * float(np.mean(r * r)) + self.w_bc * float(np.mean(r_bc * r_bc))

        # ---- backward: d loss / d u at every row
        dlap = r * f(2.0 * self.w_pde / n)
        dy = self.dY[:, 0]
        dg = dy[:rows_pde].reshape(n, 2 * k + 1)
        np.multiply(c, (dlap * f(1.0 / k))[:, None], out=dg[:, 1 : k + 1])
        dg[:, k + 1 :] = dg[:, 1 : k + 1]
        dg[:, 0] = dg[:, 1 : k + 1].sum(axis=1) * f(-2.0)
        np.multiply(r_bc, f(2.0 * self.w_bc / m), out=dy[rows_pde:])

        # ---- backward through the MLP
        self._backward(self.dY)
        return loss, self.grads

    def _backward(self, dy: np.ndarray) -> None:
        rows = self._rows
        layers = len(self.params)
        acts = [self.X, *self.H]  # input of layer i is acts[i]
        grad = dy  # d loss / d z_i (rows × out_i)
        for i in range(layers - 1, -1, -1):
            w, _ = self.params[i]
            gw, gb = self.grads[i]
            np.matmul(acts[i].T, grad, out=gw)
            np.sum(grad, axis=0, out=gb)
            if i == 0:
                break
            # d loss / d h_{i-1} = grad W_iᵀ, then d loss / d z_{i-1} = that · (1 − h²),
            # computed in place of h_{i-1} (no longer needed).
            width = w.shape[0]
            dh = self._dh[: rows * width].reshape(rows, width)
            np.matmul(grad, w.T, out=dh)
            h = acts[i]
            np.multiply(h, h, out=h)
            np.subtract(self.dtype.type(1.0), h, out=h)
            np.multiply(h, dh, out=h)
            grad = h

    def step(self, x_pde: np.ndarray, x_bc: np.ndarray, step: int, seed: int) -> float:
        """One training step: loss, gradients, Adam update of the parameters (in place)."""
        loss, grads = self.loss_and_grads(x_pde, x_bc, step, seed)
        self.adam(grads, step)
        return loss

    def learning_rate(self, step: int) -> float:
        if self.schedule == "linear_decay":
            return self.lr * (1.0 - step / self.total_steps)
        return self.lr

    def adam(self, grads, step: int) -> None:
        f = self.dtype.type
        b1, b2 = self.beta1, self.beta2
        lr_t = f(self.learning_rate(step))
        bc1 = f(1.0 - b1 ** (step + 1))
        bc2 = f(1.0 - b2 ** (step + 1))
        fb1, f1b1, fb2, f1b2, eps = f(b1), f(1.0 - b1), f(b2), f(1.0 - b2), f(self.eps)
        for p_pair, g_pair, m_pair, v_pair, t_pair, u_pair in zip(
            self.params, grads, self.m, self.v, self._tmp, self._tmp2, strict=True
        ):
            for p, g, m, v, t, u in zip(
                p_pair, g_pair, m_pair, v_pair, t_pair, u_pair, strict=True
            ):
                m *= fb1  # m = β1·m + (1−β1)·g
                np.multiply(g, f1b1, out=t)
                m += t
                v *= fb2  # v = β2·v + (1−β2)·(g·g)
                np.multiply(g, g, out=t)
                t *= f1b2
                v += t
                np.divide(v, bc2, out=t)  # t = sqrt(v/bc2) + ε
                np.sqrt(t, out=t)
                t += eps
                np.divide(m, bc1, out=u)  # u = lr_t·(m/bc1) / t
                u *= lr_t
                u /= t
                p -= u


# ---------------------------------------------------------------------- stand-alone benchmark


def exact(x: np.ndarray) -> np.ndarray:
    return (np.sin(x.astype(np.float64).sum(axis=1)) / 2.0)[:, None]


def relative_l2(model: HandwrittenPoisson, x: np.ndarray) -> float:
    u = model.predict(x).astype(np.float64)
    ref = exact(x)
    return float(np.linalg.norm(u - ref) / np.linalg.norm(ref))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--hidden", type=int, default=3, help="hidden layers")
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--sigma", type=float, default=0.01)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--pde", type=int, default=100, help="interior points per step")
    ap.add_argument("--bc", type=int, default=100, help="boundary points per step")
    ap.add_argument("--eval-points", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    omega = DomainSpec.box([0.0, 0.0], [1.0, 1.0], name="omega")
    widths = [2] + [args.width] * args.hidden + [1]
    model = HandwrittenPoisson(
        widths, pairs=args.pairs, sigma=args.sigma, lr=args.lr, steps=args.steps
    )
    model.init(args.seed)
    x_eval = sample_points(omega, "interior", args.eval_points, args.seed, 0, rng.STREAM_EVAL)
    print(f"initial rel-L2 {relative_l2(model, x_eval):.3e}")
    times = []
    loss = math.nan
    for step in range(args.steps):
        x_pde = sample_points(
            omega, "interior", args.pde, args.seed, step, rng.STREAM_COLLOCATION + 0
        )
        x_bc = sample_points(
            omega, "boundary", args.bc, args.seed, step, rng.STREAM_COLLOCATION + 1
        )
        t0 = time.perf_counter()
        loss = model.step(x_pde, x_bc, step, args.seed)
        times.append(time.perf_counter() - t0)
        if (step + 1) % max(1, args.steps // 10) == 0:
            print(f"step {step + 1}/{args.steps} loss {loss:.3e}", flush=True)
    t = np.array(times)
    print(
        f"final loss {loss:.3e} rel-L2 {relative_l2(model, x_eval):.3e}; "
        f"step time median {np.median(t) * 1e3:.1f} ms, mean {t.mean() * 1e3:.1f} ms "
        f"(first {t[0] * 1e3:.1f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
