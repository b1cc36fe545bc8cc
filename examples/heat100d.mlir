// 100-D heat equation on the unit ball, the third benchmark of the paper
// (settings of He et al., AISTATS 2023):
//   ∂u/∂t = Δu                        for ‖x‖ < 1 in ℝ¹⁰⁰, t ∈ [0,1]
//   u(x, 0) = ‖x‖² / 200              (initial condition)
//   u(x, t) = 1/200 + t               on ‖x‖ = 1
// exact solution u*(x, t) = ‖x‖² / 200 + t.
// Points are (x1 .. x100, t): 101 coordinates, time last.
// Network: tanh MLP 101 -> 256 -> 256 -> 256 -> 1. Loss weights 1 / 1000 / 1000,
// 50 + 50 + 50 points per step, Stein's estimator with 1024 antithetic pairs, σ = σ_t = 0.01.
pinn.problem @heat100d {
  pinn.domain @q ball center [0.0] radius 1.0 dim 100 time [0.0, 1.0]

  pinn.param @W0 : tensor<101x256xf32> init xavier_normal
  pinn.param @b0 : tensor<256xf32> init zeros
  pinn.param @W1 : tensor<256x256xf32> init xavier_normal
  pinn.param @b1 : tensor<256xf32> init zeros
  pinn.param @W2 : tensor<256x256xf32> init xavier_normal
  pinn.param @b2 : tensor<256xf32> init zeros
  pinn.param @W3 : tensor<256x1xf32> init xavier_normal
  pinn.param @b3 : tensor<1xf32> init zeros

  pinn.network @u(%x : tensor<?x101xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x101xf32> -> tensor<?x256xf32>
    %h0 = math.tanh %z0 : tensor<?x256xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x256xf32> -> tensor<?x256xf32>
    %h1 = math.tanh %z1 : tensor<?x256xf32>
    %z2 = pinn.dense %h1, @W2, @b2 : tensor<?x256xf32> -> tensor<?x256xf32>
    %h2 = math.tanh %z2 : tensor<?x256xf32>
    %y = pinn.dense %h2, @W3, @b3 : tensor<?x256xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }

  // ∂u/∂t − Δu = 0
  pinn.residual @pde on @q weight 1.0 (%x : tensor<?x101xf32>) {
    %ut = pinn.partial @u(%x) dim 100 : tensor<?x101xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 0 to 100 : tensor<?x101xf32> -> tensor<?x1xf32>
    %r = arith.subf %ut, %lap : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u(x, 0) = ‖x‖² / 200
  pinn.boundary @initial on initial(@q) weight 1000.0 (%x : tensor<?x101xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x101xf32> -> tensor<?x1xf32>
    %sq = arith.mulf %x, %x : tensor<?x101xf32>
    %norm2 = pinn.sum %sq dims 0 to 100 : tensor<?x101xf32> -> tensor<?x1xf32>
    %scale = pinn.constant 0.005 : tensor<?x1xf32>
    %g = arith.mulf %norm2, %scale : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u(x, t) = 1/200 + t on the unit sphere
  pinn.boundary @sphere on boundary(@q) weight 1000.0 (%x : tensor<?x101xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x101xf32> -> tensor<?x1xf32>
    %t = pinn.slice %x dims 100 to 101 : tensor<?x101xf32> -> tensor<?x1xf32>
    %c = pinn.constant 0.005 : tensor<?x1xf32>
    %g = arith.addf %t, %c : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u*(x, t) = ‖x‖² / 200 + t
  pinn.exact of @u (%x : tensor<?x101xf32>) {
    %sq = arith.mulf %x, %x : tensor<?x101xf32>
    %norm2 = pinn.sum %sq dims 0 to 100 : tensor<?x101xf32> -> tensor<?x1xf32>
    %scale = pinn.constant 0.005 : tensor<?x1xf32>
    %a = arith.mulf %norm2, %scale : tensor<?x1xf32>
    %t = pinn.slice %x dims 100 to 101 : tensor<?x101xf32> -> tensor<?x1xf32>
    %u = arith.addf %a, %t : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  pinn.train {optimizer = "adam", lr = 1.0e-3, schedule = "linear_decay", steps = 1000,
              batch = {pde = 50, initial = 50, sphere = 50}, pairs = 1024, sigma = 0.01,
              sigma_t = 0.01, seed = 0, eval_points = 10000}
}
