// 1-D heat equation, the problem of the tutorial (docs/tutorial.md):
//   ∂u/∂t = κ ∂²u/∂x², κ = 0.1  for x ∈ [0,1], t ∈ [0,1]
//   u(x, 0) = sin(πx)          (initial condition)
//   u(0, t) = u(1, t) = 0      (boundary)
// exact solution u*(x, t) = exp(−κπ² t) sin(πx).
pinn.problem @heat1d {
  pinn.domain @q box [0.0] to [1.0] time [0.0, 1.0]

  pinn.param @W0 : tensor<2x32xf32>
  pinn.param @b0 : tensor<32xf32>
  pinn.param @W1 : tensor<32x32xf32>
  pinn.param @b1 : tensor<32xf32>
  pinn.param @W2 : tensor<32x1xf32>
  pinn.param @b2 : tensor<1xf32>

  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x32xf32>
    %h0 = math.tanh %z0 : tensor<?x32xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x32xf32> -> tensor<?x32xf32>
    %h1 = math.tanh %z1 : tensor<?x32xf32>
    %y = pinn.dense %h1, @W2, @b2 : tensor<?x32xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }

  // ∂u/∂t − κ ∂²u/∂x² = 0: a point is (x, t), so x is coordinate 0 and t coordinate 1
  pinn.residual @pde on @q weight 1.0 (%p : tensor<?x2xf32>) {
    %ut = pinn.partial @u(%p) dim 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %uxx = pinn.laplacian @u(%p) dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %kappa = pinn.constant 0.1 : tensor<?x1xf32>
    %diffusion = arith.mulf %kappa, %uxx : tensor<?x1xf32>
    %r = arith.subf %ut, %diffusion : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u(x, 0) = sin(πx)
  pinn.boundary @initial on initial(@q) weight 100.0 (%p : tensor<?x2xf32>) {
    %u = pinn.eval @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    %x = pinn.slice %p dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %pi = pinn.constant 3.141592653589793 : tensor<?x1xf32>
    %px = arith.mulf %pi, %x : tensor<?x1xf32>
    %g = math.sin %px : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u = 0 at x = 0 and x = 1
  pinn.boundary @ends on boundary(@q) weight 100.0 (%p : tensor<?x2xf32>) {
    %u = pinn.eval @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  // u*(x, t) = exp(−κπ² t) sin(πx)
  pinn.exact of @u (%p : tensor<?x2xf32>) {
    %x = pinn.slice %p dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %t = pinn.slice %p dims 1 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>
    %pi = pinn.constant 3.141592653589793 : tensor<?x1xf32>
    %rate = pinn.constant -0.9869604401089358 : tensor<?x1xf32>
    %px = arith.mulf %pi, %x : tensor<?x1xf32>
    %s = math.sin %px : tensor<?x1xf32>
    %a = arith.mulf %rate, %t : tensor<?x1xf32>
    %e = math.exp %a : tensor<?x1xf32>
    %u = arith.mulf %e, %s : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  pinn.train {optimizer = "adam", lr = 3.0e-3, schedule = "linear_decay", steps = 2000,
              batch = {pde = 64, initial = 32, ends = 32}, pairs = 64, sigma = 0.01, seed = 0}
}
