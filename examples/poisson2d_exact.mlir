// 2-D Poisson, the first benchmark of the paper (settings of He et al., AISTATS 2023):
//   Δu + sin(x1 + x2) = 0      in Ω = [0,1]²
//   u = sin(x1 + x2) / 2       on ∂Ω
// exact solution u*(x) = sin(x1 + x2) / 2.
// Network: tanh MLP 2 -> 256 -> 256 -> 256 -> 1. Loss: 1 · mean(r²) + 300 · mean(bc²).
// Adam 1e-3 with linear decay, 1000 steps, 100 interior + 100 boundary points per step:
// examples/poisson2d.mlir with exact derivatives by Taylor-mode jets (derivatives =
// "taylor", 1 + 2·2 network rows a point) instead of Stein's estimator (2·512 + 1).
pinn.problem @poisson2d_exact {
  pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]

  pinn.param @W0 : tensor<2x256xf32> init xavier_normal
  pinn.param @b0 : tensor<256xf32> init zeros
  pinn.param @W1 : tensor<256x256xf32> init xavier_normal
  pinn.param @b1 : tensor<256xf32> init zeros
  pinn.param @W2 : tensor<256x256xf32> init xavier_normal
  pinn.param @b2 : tensor<256xf32> init zeros
  pinn.param @W3 : tensor<256x1xf32> init xavier_normal
  pinn.param @b3 : tensor<1xf32> init zeros

  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x256xf32>
    %h0 = math.tanh %z0 : tensor<?x256xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x256xf32> -> tensor<?x256xf32>
    %h1 = math.tanh %z1 : tensor<?x256xf32>
    %z2 = pinn.dense %h1, @W2, @b2 : tensor<?x256xf32> -> tensor<?x256xf32>
    %h2 = math.tanh %z2 : tensor<?x256xf32>
    %y = pinn.dense %h2, @W3, @b3 : tensor<?x256xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }

  // Δu + sin(x1 + x2) = 0 in Ω
  pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %f = math.sin %s : tensor<?x1xf32>
    %r = arith.addf %lap, %f : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u = sin(x1 + x2) / 2 on ∂Ω
  pinn.boundary @bc on boundary(@omega) weight 300.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %sin = math.sin %s : tensor<?x1xf32>
    %half = pinn.constant 0.5 : tensor<?x1xf32>
    %g = arith.mulf %sin, %half : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }

  // u*(x) = sin(x1 + x2) / 2
  pinn.exact of @u (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %sin = math.sin %s : tensor<?x1xf32>
    %half = pinn.constant 0.5 : tensor<?x1xf32>
    %u = arith.mulf %sin, %half : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }

  pinn.train {optimizer = "adam", lr = 1.0e-3, schedule = "linear_decay", steps = 1000,
              batch = {pde = 100, bc = 100}, derivatives = "taylor", seed = 0,
              eval_points = 10000}
}
