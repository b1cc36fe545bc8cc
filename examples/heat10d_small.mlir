// A scaled-down heat equation for tests and quick experiments: the 10-D version of
// heat100d.mlir on the unit ball, with a network of width 16, 32 antithetic pairs and
// 16 points per term:
//   ∂u/∂t = Δu                        for ‖x‖ < 1 in ℝ¹⁰, t ∈ [0,1]
//   u(x, 0) = ‖x‖² / 20               (initial condition)
//   u(x, t) = 1/20 + t                on ‖x‖ = 1
// exact solution u*(x, t) = ‖x‖² / 20 + t. Points are (x1 .. x10, t): time last.
pinn.problem @heat10d_small {
  pinn.domain @q ball center [0.0] radius 1.0 dim 10 time [0.0, 1.0]

  pinn.param @W0 : tensor<11x16xf32> init xavier_normal
  pinn.param @b0 : tensor<16xf32> init zeros
  pinn.param @W1 : tensor<16x16xf32> init xavier_normal
  pinn.param @b1 : tensor<16xf32> init zeros
  pinn.param @W2 : tensor<16x1xf32> init xavier_normal
  pinn.param @b2 : tensor<1xf32> init zeros

  pinn.network @u(%x : tensor<?x11xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x11xf32> -> tensor<?x16xf32>
    %h0 = math.tanh %z0 : tensor<?x16xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x16xf32> -> tensor<?x16xf32>
    %h1 = math.tanh %z1 : tensor<?x16xf32>
    %y = pinn.dense %h1, @W2, @b2 : tensor<?x16xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }

  // ∂u/∂t − Δu = 0
  pinn.residual @pde on @q weight 1.0 (%x : tensor<?x11xf32>) {
    %ut = pinn.partial @u(%x) dim 10 : tensor<?x11xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 0 to 10 : tensor<?x11xf32> -> tensor<?x1xf32>
    %r = arith.subf %ut, %lap : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u(x, 0) = ‖x‖² / 20
  pinn.boundary @initial on initial(@q) weight 100.0 (%x : tensor<?x11xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x11xf32> -> tensor<?x1xf32>
    %sq = arith.mulf %x, %x : tensor<?x11xf32>
    %norm2 = pinn.sum %sq dims 0 to 10 : tensor<?x11xf32> -> tensor<?x1xf32>
    %scale = pinn.constant 0.05 : tensor<?x1xf32>
    %g = arith.mulf %norm2, %scale : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u(x, t) = 1/20 + t on the unit sphere
  pinn.boundary @sphere on boundary(@q) weight 100.0 (%x : tensor<?x11xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x11xf32> -> tensor<?x1xf32>
    %t = pinn.slice %x dims 10 to 11 : tensor<?x11xf32> -> tensor<?x1xf32>
    %c = pinn.constant 0.05 : tensor<?x1xf32>
    %g = arith.addf %t, %c : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u*(x, t) = ‖x‖² / 20 + t
  pinn.exact of @u (%x : tensor<?x11xf32>) {
    %sq = arith.mulf %x, %x : tensor<?x11xf32>
    %norm2 = pinn.sum %sq dims 0 to 10 : tensor<?x11xf32> -> tensor<?x1xf32>
    %scale = pinn.constant 0.05 : tensor<?x1xf32>
    %a = arith.mulf %norm2, %scale : tensor<?x1xf32>
    %t = pinn.slice %x dims 10 to 11 : tensor<?x11xf32> -> tensor<?x1xf32>
    %u = arith.addf %a, %t : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  pinn.train {optimizer = "adam", lr = 3.0e-3, schedule = "linear_decay", steps = 300,
              batch = {pde = 16, initial = 16, sphere = 16}, pairs = 32, sigma = 0.01,
              sigma_t = 0.01, seed = 0, eval_points = 4000}
}
