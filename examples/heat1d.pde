# 1-D heat equation, the problem of the tutorial (docs/tutorial.md):
#   ∂u/∂t = κ ∂²u/∂x², κ = 0.1, for x ∈ [0,1], t ∈ [0,1]
#   u(x, 0) = sin(πx);  u(0, t) = u(1, t) = 0
problem heat1d

space x
time t
domain q: x in [0, 1], t in [0, 1]

network u = mlp(width 32, depth 2)

let kappa = 0.1

pde:     d(u, t) = kappa * d2(u, x)     in q                       batch 64
initial: u = sin(pi * x)                on initial(q)   weight 100 batch 32
ends:    u = 0                          on boundary(q)  weight 100 batch 32

exact u = exp(-kappa * pi^2 * t) * sin(pi * x)

train optimizer adam, lr 3e-3, schedule linear_decay, steps 2000, seed 0
derivatives stein(pairs 64, sigma 0.01)
