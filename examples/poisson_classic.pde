# DeepXDE's classic 2-D Poisson problem (its Dirichlet example):
#   −Δu = 2π² sin(πx) sin(πy) in Ω = [0,1]²,  u = 0 on ∂Ω
# exact solution u*(x, y) = sin(πx) sin(πy).
# DeepXDE's network (tanh MLP 2 -> 50 -> 50 -> 50 -> 1) with exact derivatives (Taylor-mode
# jets), settings chosen for time to accuracy: 500 interior + 100 boundary points drawn
# afresh each step, Adam 3e-3 with linear decay, 4000 steps.
problem poisson_classic

space x, y
domain omega: (x, y) in [0, 1] × [0, 1]

network u = mlp(width 50, depth 3, activation tanh)

pde: -laplacian(u) = 2 * pi^2 * sin(pi * x) * sin(pi * y)   in omega                 batch 500
bc:  u = 0                                   on boundary(omega)    weight 100    batch 100

exact u = sin(pi * x) * sin(pi * y)

train optimizer adam, lr 3e-3, schedule linear_decay, steps 4000, seed 0, eval_points 10000
derivatives taylor
