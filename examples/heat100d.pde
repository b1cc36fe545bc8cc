# 100-D heat equation on the unit ball, the third benchmark of the paper
# (settings of He et al., AISTATS 2023):
#   ∂u/∂t = Δu for ‖x‖ < 1 in ℝ¹⁰⁰, t ∈ [0,1];  u(x, 0) = ‖x‖²/200;  u = 1/200 + t on ‖x‖ = 1
problem heat100d

space x[1..100]
time t
domain q: x in ball(0, 1), t in [0, 1]

network u = mlp(width 256, depth 3, activation tanh)

pde:     d(u, t) = laplacian(u)          in q                        batch 50
initial: u = norm2(x) * 0.005            on initial(q)   weight 1000 batch 50
sphere:  u = t + 0.005                   on boundary(q)  weight 1000 batch 50

exact u = norm2(x) * 0.005 + t

train optimizer adam, lr 1e-3, schedule linear_decay, steps 1000, seed 0, eval_points 10000
derivatives stein(pairs 1024, sigma 0.01, sigma_t 0.01)
