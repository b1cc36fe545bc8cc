// 20-D Hamilton–Jacobi–Bellman equation, the second benchmark of the paper:
//   ∂u/∂t + Δu − 0.05 ‖∇u‖² = −2     for x ∈ [0,1]²⁰, t ∈ [0,1]
//   u(x, 1) = Σ xᵢ                    (terminal condition)
// exact solution u*(x, t) = Σ xᵢ + 1 − t.
// Points are (x1 .. x20, t): 21 coordinates, time last. ∇ and Δ act on the 20 spatial
// coordinates (dims 0 to 20); ∂/∂t is coordinate 20.
// Network: tanh MLP 21 -> 256 -> 256 -> 256 -> 1. 50 interior + 50 terminal points per
// step, Stein's estimator with 1024 antithetic pairs, σ = σ_t = 0.01, Adam at 3e-3 with
// linear decay (1e-3 moves the output too slowly), and an output offset (below).
pinn.problem @hjb20d {
  pinn.domain @q box [0.0] to [1.0] dim 20 time [0.0, 1.0]

  pinn.param @W0 : tensor<21x256xf32> init xavier_normal
  pinn.param @b0 : tensor<256xf32> init zeros
  pinn.param @W1 : tensor<256x256xf32> init xavier_normal
  pinn.param @b1 : tensor<256xf32> init zeros
  pinn.param @W2 : tensor<256x256xf32> init xavier_normal
  pinn.param @b2 : tensor<256xf32> init zeros
  pinn.param @W3 : tensor<256x1xf32> init xavier_normal
  pinn.param @b3 : tensor<1xf32> init zeros

  pinn.network @u(%x : tensor<?x21xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x21xf32> -> tensor<?x256xf32>
    %h0 = math.tanh %z0 : tensor<?x256xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x256xf32> -> tensor<?x256xf32>
    %h1 = math.tanh %z1 : tensor<?x256xf32>
    %z2 = pinn.dense %h1, @W2, @b2 : tensor<?x256xf32> -> tensor<?x256xf32>
    %h2 = math.tanh %z2 : tensor<?x256xf32>
    %y = pinn.dense %h2, @W3, @b3 : tensor<?x256xf32> -> tensor<?x1xf32>
    // The solution is about 10 everywhere (Σ xᵢ averages 10 on [0,1]²⁰): an output offset
    // lets the tanh network learn the variation around it instead of climbing to the level.
    %offset = pinn.constant 10.0 : tensor<?x1xf32>
    %u = arith.addf %y, %offset : tensor<?x1xf32>
    pinn.return %u : tensor<?x1xf32>
  }

  // ∂u/∂t + Δu − 0.05 ‖∇u‖² + 2 = 0
  pinn.residual @pde on @q weight 1.0 (%x : tensor<?x21xf32>) {
    %ut = pinn.partial @u(%x) dim 20 : tensor<?x21xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 0 to 20 : tensor<?x21xf32> -> tensor<?x1xf32>
    %grad = pinn.grad @u(%x) dims 0 to 20 : tensor<?x21xf32> -> tensor<?x20xf32>
    %grad2 = arith.mulf %grad, %grad : tensor<?x20xf32>
    %norm2 = pinn.sum %grad2 : tensor<?x20xf32> -> tensor<?x1xf32>
    %mu = pinn.constant 0.05 : tensor<?x1xf32>
    %penalty = arith.mulf %mu, %norm2 : tensor<?x1xf32>
    %two = pinn.constant 2.0 : tensor<?x1xf32>
    %a = arith.addf %ut, %lap : tensor<?x1xf32>
    %b = arith.subf %a, %penalty : tensor<?x1xf32>
    %r = arith.addf %b, %two : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u(x, 1) = Σ xᵢ
  pinn.boundary @terminal on final(@q) weight 1.0 (%x : tensor<?x21xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x21xf32> -> tensor<?x1xf32>
    %g = pinn.sum %x dims 0 to 20 : tensor<?x21xf32> -> tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u*(x, t) = Σ xᵢ + 1 − t
  pinn.exact of @u (%x : tensor<?x21xf32>) {
    %s = pinn.sum %x dims 0 to 20 : tensor<?x21xf32> -> tensor<?x1xf32>
    %t = pinn.slice %x dims 20 to 21 : tensor<?x21xf32> -> tensor<?x1xf32>
    %one = pinn.constant 1.0 : tensor<?x1xf32>
    %a = arith.addf %s, %one : tensor<?x1xf32>
    %u = arith.subf %a, %t : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  pinn.train {optimizer = "adam", lr = 3.0e-3, schedule = "linear_decay", steps = 1000,
              batch = {pde = 50, terminal = 50}, pairs = 1024, sigma = 0.01, sigma_t = 0.01,
              seed = 0, eval_points = 10000}
}
