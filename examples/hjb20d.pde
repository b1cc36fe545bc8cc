# 20-D Hamilton–Jacobi–Bellman equation, the second benchmark of the paper:
#   ∂u/∂t + Δu − 0.05 ‖∇u‖² = −2 for x ∈ [0,1]²⁰, t ∈ [0,1];  u(x, 1) = Σ xᵢ
problem hjb20d

space x[1..20]
time t
domain q: x in [0, 1]^20, t in [0, 1]

# The solution is about 10 everywhere: an output offset lets the tanh network learn the
# variation around it instead of climbing to the level.
network u = mlp(width 256, depth 3, activation tanh) + 10

pde:      d(u, t) + laplacian(u) - 0.05 * norm2(grad(u)) = -2   in q            batch 50
terminal: u = sum(x)                                            on final(q)     batch 50

exact u = sum(x) + 1 - t

train optimizer adam, lr 3e-3, schedule linear_decay, steps 1000, seed 0, eval_points 10000
derivatives stein(pairs 1024, sigma 0.01, sigma_t 0.01)
