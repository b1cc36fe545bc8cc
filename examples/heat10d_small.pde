# A scaled-down heat equation for tests and quick experiments: the 10-D version of
# heat100d.pde on the unit ball, with a network of width 16, 32 antithetic pairs and
# 16 points per term:
#   ∂u/∂t = Δu for ‖x‖ < 1 in ℝ¹⁰, t ∈ [0,1];  u(x, 0) = ‖x‖²/20;  u = 1/20 + t on ‖x‖ = 1
problem heat10d_small

space x[1..10]
time t
domain q: x in ball(0, 1), t in [0, 1]

network u = mlp(width 16, depth 2, activation tanh)

pde:     d(u, t) = laplacian(u)          in q                       batch 16
initial: u = norm2(x) * 0.05             on initial(q)   weight 100 batch 16
sphere:  u = t + 0.05                    on boundary(q)  weight 100 batch 16

exact u = norm2(x) * 0.05 + t

train optimizer adam, lr 3e-3, schedule linear_decay, steps 300, seed 0, eval_points 4000
derivatives stein(pairs 32, sigma 0.01, sigma_t 0.01)
