// DeepXDE's classic 2-D Poisson problem (its Dirichlet example):
//   −Δu = 2π² sin(πx) sin(πy)   in Ω = [0,1]²
//   u = 0                       on ∂Ω
// exact solution u*(x, y) = sin(πx) sin(πy).
// The fast path on the CPU: exact derivatives by Taylor-mode jets (derivatives = "taylor", so
// the default pipeline evaluates the Laplacian from 1 + 2·2 network rows a point, not Stein's
// 2K + 1). DeepXDE's network, tanh MLP 2 -> 50 -> 50 -> 50 -> 1; settings chosen for time to
// accuracy: 500 interior + 100 boundary points drawn afresh each step, loss 1 · mean(r²) +
// 100 · mean(bc²), Adam 3e-3 with linear decay, 4000 steps (docs/benchmarks.md).
pinn.problem @poisson_classic {
  pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]

  pinn.param @W0 : tensor<2x50xf32> init xavier_normal
  pinn.param @b0 : tensor<50xf32> init zeros
  pinn.param @W1 : tensor<50x50xf32> init xavier_normal
  pinn.param @b1 : tensor<50xf32> init zeros
  pinn.param @W2 : tensor<50x50xf32> init xavier_normal
  pinn.param @b2 : tensor<50xf32> init zeros
  pinn.param @W3 : tensor<50x1xf32> init xavier_normal
  pinn.param @b3 : tensor<1xf32> init zeros

  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x50xf32>
    %h0 = math.tanh %z0 : tensor<?x50xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x50xf32> -> tensor<?x50xf32>
    %h1 = math.tanh %z1 : tensor<?x50xf32>
    %z2 = pinn.dense %h1, @W2, @b2 : tensor<?x50xf32> -> tensor<?x50xf32>
    %h2 = math.tanh %z2 : tensor<?x50xf32>
    %y = pinn.dense %h2, @W3, @b3 : tensor<?x50xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }

  // −Δu − 2π² sin(πx) sin(πy) = 0 in Ω
  pinn.residual @pde on @omega weight 1.0 (%p : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    %minus_lap = arith.negf %lap : tensor<?x1xf32>
    %pi = pinn.constant 3.141592653589793 : tensor<?x1xf32>
    %x = pinn.slice %p dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %px = arith.mulf %pi, %x : tensor<?x1xf32>
    %sx = math.sin %px : tensor<?x1xf32>
    %two_pi2 = pinn.constant 19.739208802178716 : tensor<?x1xf32>
    %a = arith.mulf %two_pi2, %sx : tensor<?x1xf32>
    %y = pinn.slice %p dims 1 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>
    %py = arith.mulf %pi, %y : tensor<?x1xf32>
    %sy = math.sin %py : tensor<?x1xf32>
    %f = arith.mulf %a, %sy : tensor<?x1xf32>
    %r = arith.subf %minus_lap, %f : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u = 0 on ∂Ω
  pinn.boundary @bc on boundary(@omega) weight 100.0 (%p : tensor<?x2xf32>) {
    %u = pinn.eval @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  // u*(x, y) = sin(πx) sin(πy)
  pinn.exact of @u (%p : tensor<?x2xf32>) {
    %pi = pinn.constant 3.141592653589793 : tensor<?x1xf32>
    %x = pinn.slice %p dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %px = arith.mulf %pi, %x : tensor<?x1xf32>
    %sx = math.sin %px : tensor<?x1xf32>
    %y = pinn.slice %p dims 1 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>
    %py = arith.mulf %pi, %y : tensor<?x1xf32>
    %sy = math.sin %py : tensor<?x1xf32>
    %u = arith.mulf %sx, %sy : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  pinn.train {optimizer = "adam", lr = 3.0e-3, schedule = "linear_decay", steps = 4000,
              batch = {pde = 500, bc = 100}, derivatives = "taylor", seed = 0,
              eval_points = 10000}
}
