# A scaled-down 2-D Poisson problem for tests and quick experiments: the PDE of
# poisson2d.pde with a network of width 16 and two hidden layers, and small batches.
problem poisson2d_small

space x[1..2]
domain omega: x in [0, 1] × [0, 1]

network u = mlp(width 16, depth 2, activation tanh)

let g = sin(sum(x)) / 2

pde: laplacian(u) + sin(sum(x)) = 0   in omega                           batch 32
bc:  u = g                            on boundary(omega)     weight 300  batch 32

exact u = g

train optimizer adam, lr 1e-3, schedule linear_decay, steps 200, seed 0
derivatives stein(pairs 64, sigma 0.01)
