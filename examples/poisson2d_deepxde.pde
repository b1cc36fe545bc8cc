# DeepXDE's classic 2-D Poisson problem (its Dirichlet example):
#   −Δu = 2π² sin(πx) sin(πy) in Ω = [0,1]²,  u = 0 on ∂Ω
# exact solution u*(x, y) = sin(πx) sin(πy).
problem poisson2d_deepxde

space x, y
domain omega: (x, y) in [0, 1] × [0, 1]

network u = mlp(width 64, depth 3, activation tanh)

pde: -laplacian(u) = 2 * pi^2 * sin(pi * x) * sin(pi * y)   in omega                 batch 100
bc:  u = 0                                   on boundary(omega)    weight 100    batch 100

exact u = sin(pi * x) * sin(pi * y)

train optimizer adam, lr 1e-3, schedule linear_decay, steps 2000, seed 0
derivatives stein(pairs 256, sigma 0.01)
