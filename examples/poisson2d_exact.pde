# 2-D Poisson, the first benchmark of the paper (settings of He et al., AISTATS 2023):
#   Δu + sin(x1 + x2) = 0 in Ω = [0,1]²,  u = sin(x1 + x2)/2 on ∂Ω
# poisson2d.pde with exact derivatives by Taylor-mode jets instead of Stein's estimator.
problem poisson2d_exact

space x[1..2]
domain omega: x in [0, 1] × [0, 1]

network u = mlp(width 256, depth 3, activation tanh)

let g = sin(sum(x)) / 2

pde: laplacian(u) + sin(sum(x)) = 0   in omega               batch 100
bc:  u = g                            on boundary(omega)     weight 300  batch 100

exact u = g

train optimizer adam, lr 1e-3, schedule linear_decay, steps 1000, seed 0, eval_points 10000
derivatives taylor
