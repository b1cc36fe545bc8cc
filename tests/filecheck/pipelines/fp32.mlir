// The fp32 pipeline on the small Poisson problem: a complete training step.
// RUN: pintac compile %S/../../../examples/poisson2d_small.mlir --target mlir | filecheck %s
// RUN: pintac compile %S/../../../examples/poisson2d_small.mlir --target mlir --print-op-generic | pintac opt | filecheck %s
// RUN: pintac compile %S/../../../examples/poisson2d_small.mlir --target numpy | filecheck %s --check-prefix=PY

// CHECK-LABEL: func.func @train_step(%W0: tensor<2x16xf32> {train.role = "param:W0"},
// CHECK-SAME:    %m_W0: tensor<2x16xf32> {train.role = "state:W0:m"}
// CHECK-SAME:    %v_b2: tensor<1xf32> {train.role = "state:b2:v"}, %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %x_bc: tensor<?x2xf32> {train.role = "points:bc"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"})
// Stein's estimator: K = 64 pairs from pinn.train, one sample set, the network on 2K+1 = 129 points each.
// CHECK-NEXT:    %delta = stein.sample %x_pde, %seed, %step pairs 64 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x64x2xf32>
// CHECK-NEXT:    %batch = stein.perturb %x_pde, %delta : tensor<?x2xf32>, tensor<?x64x2xf32> -> tensor<?x129x2xf32>
// CHECK-NEXT:    %rows = train.flatten %batch
// CHECK:         %lap = stein.laplacian %g, %delta sigma 1.000000e-02
// CHECK:         %loss = train.weighted_sum %loss_pde, %loss_bc weights [1.0, 300.0]
// Back-propagation, through the transposed estimator; the gradients of the two terms add up:
// CHECK:         stein.laplacian_vjp
// CHECK:         %dW0 = arith.addf
// CHECK-COUNT-6: train.update adam
// CHECK-NEXT:    func.return %W0_next, %b0_next, %W1_next, %b1_next, %W2_next, %b2_next, %m_W0_next,
// CHECK-LABEL: func.func @predict(
// CHECK-LABEL: func.func @exact(

// The generated NumPy step: an importable module calling pintac's kernels by name, one call
// per op (a bias add and the activation that overwrites it: one fused call), dead buffers
// reused.
// PY:      """Training step of problem poisson2d_small, pipeline fp32: stein-expand,pinn-build-loss,pinn-autodiff,optimizer-lower,cse,dce
// PY:      from pintac.runtime.kernels_core import activation as k_activation
// PY-NEXT: from pintac.runtime.kernels_core import activation_grad as k_activation_grad
// PY-NEXT: from pintac.runtime.kernels_core import bias_activation as k_bias_activation
// PY-NEXT: from pintac.runtime.kernels_core import bias_add as k_bias_add
// PY:      from pintac.runtime.kernels_core import gemm as k_gemm
// PY:      ARGUMENT_ROLES = {'exact': ['x'],
// PY:      def train_step(W0, b0, W1, b1, W2, b2, m_W0, m_b0, m_W1, m_b1, m_W2, m_b2, v_W0, v_b0, v_W1, v_b1, v_W2, v_b2, x_pde, x_bc, seed, step):
// The NumPy target tiles the step by points (the whole batch of 32 is one tile here).
// PY:          for first_pde, x_pde_tile in k_point_tiles(x_pde, 1529):  # tile.loop
// PY-NEXT:         delta = k_stein_sample(x_pde_tile, seed, step, first_pde, pairs=64, sigma=0.01, sigma_t=None, stream=0)  # stein.sample
// PY:              h0 = k_bias_activation(v, b0, out=v, activation='tanh')  # train.bias_add, math.tanh
// PY:              y = k_bias_add(v_2, b2, out=v_2)  # train.bias_add
// PY:              f = k_activation(s, out=s, activation='sin')  # math.sin
// PY:              acc1_pde_next = k_accumulate_gemm(acc1_pde, h1, dy, transpose_a=True, transpose_b=False, exact=False)  # tile.accumulate_gemm
// PY:          r = k_concatenate_rows(r_tiles)
// PY:          return (W0_next, b0_next,
// PY:      def predict(W0, b0, W1, b1, W2, b2, x):
// PY:      def exact(x):
