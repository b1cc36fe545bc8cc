// RUN: pintac opt %s --split-input-file -p stein-difference --verify-diagnostics --reproducer %t.reproducer | filecheck %s
// The streams' lowering in pinn-build-loss, layer by layer:
// RUN: pintac opt %s --split-input-file -p stein-difference,pinn-build-loss --verify-diagnostics --reproducer %t.reproducer | filecheck %s --check-prefix=LOWERED

// The output of stein-expand for a residual with ∂u/∂x₀, Δu, g(x) and the smoothed value, and a
// boundary term without derivatives (left alone).
pinn.problem @p {
  pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x4xf32> init xavier_normal
  pinn.param @b0 : tensor<4xf32> init zeros
  pinn.param @W1 : tensor<4x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x4xf32>
    %h = math.tanh %z : tensor<?x4xf32>
    %y = pinn.dense %h, @W1 : tensor<?x4xf32> -> tensor<?x1xf32>
    %c = pinn.constant 10.0 : tensor<?x1xf32>
    %v = arith.addf %y, %c : tensor<?x1xf32>
    pinn.return %v : tensor<?x1xf32>
  }
  pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x2xf32>) {
    %seed, %step = pinn.rng_key : i64, i64
    %delta = stein.sample %x, %seed, %step pairs 4 sigma 5.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
    %batch = stein.perturb %x, %delta : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x9x2xf32>
    %g = pinn.eval @u(%batch) : tensor<?x9x2xf32> -> tensor<?x9x1xf32>
    %ux = stein.grad %g, %delta sigma 5.000000e-02 dims 0 to 1 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
    %lap = stein.laplacian %g, %delta sigma 5.000000e-02 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
    %u = stein.center %g : tensor<?x9x1xf32> -> tensor<?x1xf32>
    %us = stein.smoothed %g : tensor<?x9x1xf32> -> tensor<?x1xf32>
    %a = arith.addf %lap, %ux : tensor<?x1xf32>
    %b = arith.addf %a, %u : tensor<?x1xf32>
    %r = arith.addf %b, %us : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@omega) weight 300.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
}

// CHECK-LABEL: pinn.residual @pde
// CHECK-NEXT:      %seed, %step = pinn.rng_key : i64, i64
// CHECK-NEXT:      %delta = stein.sample %[[X:.+]], %seed, %step pairs 4 sigma 5.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
// The perturbed batch becomes the base stream (the points) and the difference streams ±δ:
// CHECK-NEXT:      %d0 = stein.difference_streams %delta : tensor<?x4x2xf32> -> tensor<?x8x2xf32>
// CHECK-NEXT:      %gb, %gd = stein.eval_streams @u(%[[X]], %d0) : tensor<?x2xf32>, tensor<?x8x2xf32> -> tensor<?x1xf32>, tensor<?x8x1xf32>
// Each estimator reads the 2K differences; g(x) is the base output itself.
// CHECK-NEXT:      %ux = stein.grad differences %gd, %delta sigma 5.000000e-02 dims 0 to 1 : tensor<?x8x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %lap = stein.laplacian differences %gd, %delta sigma 5.000000e-02 : tensor<?x8x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %us = stein.smoothed differences %gd base %gb : tensor<?x8x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %a = arith.addf %lap, %ux : tensor<?x1xf32>
// CHECK-NEXT:      %b = arith.addf %a, %gb : tensor<?x1xf32>
// CHECK-NEXT:      %r = arith.addf %b, %us : tensor<?x1xf32>
// CHECK-NEXT:      pinn.yield %r : tensor<?x1xf32>
// CHECK-NEXT:    }
// A network evaluated at plain points is left alone.
// CHECK-NEXT:    pinn.boundary @bc on boundary(@omega) weight 300.0 (%[[XB:.+]] : tensor<?x2xf32>) {
// CHECK-NEXT:      %u = pinn.eval @u(%[[XB]]) : tensor<?x2xf32> -> tensor<?x1xf32>

// LOWERED-LABEL: func.func @loss(
// LOWERED:         %d0 = stein.difference_streams %delta : tensor<?x4x2xf32> -> tensor<?x8x2xf32>
// A dense layer: the base stream gets W and the bias, the differences W alone (as rows).
// LOWERED-NEXT:    %0 = train.gemm %x_pde, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
// LOWERED-NEXT:    %z = train.bias_add %0, %b0 : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
// LOWERED-NEXT:    %d0_rows = train.flatten %d0 : tensor<?x8x2xf32> -> tensor<?x2xf32>
// LOWERED-NEXT:    %z_d_rows = train.gemm %d0_rows, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
// LOWERED-NEXT:    %z_d = train.unflatten %z_d_rows like %d0 : tensor<?x4xf32>, tensor<?x8x2xf32> -> tensor<?x8x4xf32>
// An activation: φ(z_b) on the base, φ(z_b + z_d) − φ(z_b) on the differences.
// LOWERED-NEXT:    %h = math.tanh %z : tensor<?x4xf32>
// LOWERED-NEXT:    %h_d = stein.diff_activation tanh %z, %z_d : tensor<?x4xf32>, tensor<?x8x4xf32> -> tensor<?x8x4xf32>
// LOWERED-NEXT:    %y = train.gemm %h, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
// LOWERED-NEXT:    %h_d_rows = train.flatten %h_d : tensor<?x8x4xf32> -> tensor<?x4xf32>
// LOWERED-NEXT:    %y_d_rows = train.gemm %h_d_rows, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
// LOWERED-NEXT:    %gd = train.unflatten %y_d_rows like %h_d : tensor<?x1xf32>, tensor<?x8x4xf32> -> tensor<?x8x1xf32>
// Adding data (the output offset) changes the base only: the differences pass through.
// LOWERED-NEXT:    %c = pinn.constant 10.0 : tensor<?x1xf32>
// LOWERED-NEXT:    %gb = arith.addf %y, %c : tensor<?x1xf32>
// LOWERED-NEXT:    %ux = stein.grad differences %gd, %delta

// -----

// Under DiffQuant only Stein's estimators may read a perturbed batch's values.
pinn.problem @q {
  pinn.domain @omega box [0.0] to [1.0]
  pinn.param @W : tensor<1x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x1xf32>) -> tensor<?x1xf32> {
    %y = pinn.dense %x, @W : tensor<?x1xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x1xf32>) {
    %seed, %step = pinn.rng_key : i64, i64
    %delta = stein.sample %x, %seed, %step pairs 2 sigma 5.000000e-02 stream 0 : tensor<?x1xf32> -> tensor<?x2x1xf32>
    %batch = stein.perturb %x, %delta : tensor<?x1xf32>, tensor<?x2x1xf32> -> tensor<?x5x1xf32>
    %g = pinn.eval @u(%batch) : tensor<?x5x1xf32> -> tensor<?x5x1xf32>
    %sq = arith.mulf %g, %g : tensor<?x5x1xf32>
    %lap = stein.laplacian %sq, %delta sigma 5.000000e-02 : tensor<?x5x1xf32>, tensor<?x2x1xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }
}

// CHECK: error: pass 'stein-difference' failed: 'arith.mulf' reads the network values of a perturbed batch; under DiffQuant only Stein's estimators may read them
