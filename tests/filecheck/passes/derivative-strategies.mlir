// The derivative strategies (passes/derivative_strategies.py) as pinn-build-loss applies them;
// here {derivatives=taylor}: derivative ops evaluated by Taylor-mode jets (the jet lowerings
// of passes/layer_lowerings.py). The
// points' unit directions %e (one per coordinate the term's derivatives need) go through the
// network with the value: a dense layer maps each coefficient by W (no bias); sin maps
// (z', z'') to (cos z · z', −sin z · z'²) — z'' is zero after the first layer — with cos z
// and −sin z repeated over the directions. ∂u/∂t is the first coefficient along e_1, ∂²u/∂x²
// the second along e_0. @ends needs first derivatives only: one direction, no second order.
// RUN: pintac opt %s -p 'pinn-build-loss{derivatives=taylor}' | filecheck %s

pinn.problem @heat {
  pinn.domain @q box [0.0] to [1.0] time [0.0, 1.0]
  pinn.param @W0 : tensor<2x4xf32> init xavier_normal
  pinn.param @b0 : tensor<4xf32> init zeros
  pinn.param @W1 : tensor<4x1xf32> init xavier_normal
  pinn.network @u(%p : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %p, @W0, @b0 : tensor<?x2xf32> -> tensor<?x4xf32>
    %h0 = math.sin %z0 : tensor<?x4xf32>
    %y = pinn.dense %h0, @W1 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @q weight 1.0 (%p : tensor<?x2xf32>) {
    %ut = pinn.partial @u(%p) dim 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %uxx = pinn.laplacian @u(%p) dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %r = arith.subf %ut, %uxx : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @ends on boundary(@q) weight 10.0 (%p : tensor<?x2xf32>) {
    %ux = pinn.grad @u(%p) dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %ux : tensor<?x1xf32>
  }
}

// CHECK-LABEL: func.func @loss(
// CHECK-NEXT:    %e = train.unit_directions %x_pde dims 0 to 2 : tensor<?x2xf32> -> tensor<?x2x2xf32>
// CHECK-NEXT:    %0 = train.gemm %x_pde, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %z0 = train.bias_add %0, %b0 : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %e_rows = train.flatten %e : tensor<?x2x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %z0_j1_rows = train.gemm %e_rows, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %z0_j1 = train.unflatten %z0_j1_rows like %e : tensor<?x4xf32>, tensor<?x2x2xf32> -> tensor<?x2x4xf32>
// CHECK-NEXT:    %h0 = math.sin %z0 : tensor<?x4xf32>
// CHECK-NEXT:    %h0_d1 = math.cos %z0 : tensor<?x4xf32>
// CHECK-NEXT:    %h0_d2 = arith.negf %h0 : tensor<?x4xf32>
// CHECK-NEXT:    %1 = train.permute %h0_d1 shape [-1, 1] perm [0, 1] : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %2 = train.expand_columns %1 dims 0 to 2 : tensor<?x1xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %h0_d1_streams = train.permute %2 shape [-1, 4, 2] perm [0, 2, 1] : tensor<?x2xf32> -> tensor<?x2x4xf32>
// CHECK-NEXT:    %h0_j1 = arith.mulf %h0_d1_streams, %z0_j1 : tensor<?x2x4xf32>
// CHECK-NEXT:    %3 = train.permute %h0_d2 shape [-1, 1] perm [0, 1] : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %4 = train.expand_columns %3 dims 0 to 2 : tensor<?x1xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %h0_d2_streams = train.permute %4 shape [-1, 4, 2] perm [0, 2, 1] : tensor<?x2xf32> -> tensor<?x2x4xf32>
// CHECK-NEXT:    %5 = arith.mulf %z0_j1, %z0_j1 : tensor<?x2x4xf32>
// CHECK-NEXT:    %h0_j2 = arith.mulf %h0_d2_streams, %5 : tensor<?x2x4xf32>
// The value (dead here: the residual reads only derivatives; dce removes it).
// CHECK-NEXT:    %y = train.gemm %h0, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %h0_j1_rows = train.flatten %h0_j1 : tensor<?x2x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %y_j1_rows = train.gemm %h0_j1_rows, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %y_j1 = train.unflatten %y_j1_rows like %h0_j1 : tensor<?x1xf32>, tensor<?x2x4xf32> -> tensor<?x2x1xf32>
// CHECK-NEXT:    %h0_j2_rows = train.flatten %h0_j2 : tensor<?x2x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %y_j2_rows = train.gemm %h0_j2_rows, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %y_j2 = train.unflatten %y_j2_rows like %h0_j2 : tensor<?x1xf32>, tensor<?x2x4xf32> -> tensor<?x2x1xf32>
// CHECK-NEXT:    %du = train.permute %y_j1 shape [-1, 2] perm [0, 1] : tensor<?x2x1xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %ut = pinn.slice %du dims 1 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %d2u = train.permute %y_j2 shape [-1, 2] perm [0, 1] : tensor<?x2x1xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %uxx = pinn.sum %d2u dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %r = arith.subf %ut, %uxx : tensor<?x1xf32>
// CHECK-NEXT:    %loss_pde = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
// CHECK-NEXT:    %e_1 = train.unit_directions %x_ends dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1x2xf32>
// CHECK:         %h0_1 = math.sin %z0_1 : tensor<?x4xf32>
// CHECK-NEXT:    %h0_d1_1 = math.cos %z0_1 : tensor<?x4xf32>
// CHECK-NEXT:    %h0_d1_streams_1 = train.permute %h0_d1_1 shape [-1, 1, 4] perm [0, 1, 2] : tensor<?x4xf32> -> tensor<?x1x4xf32>
// CHECK-NEXT:    %h0_j1_1 = arith.mulf %h0_d1_streams_1, %z0_j1_1 : tensor<?x1x4xf32>
// CHECK-NOT:     _j2
// CHECK:         %ux = train.permute %y_j1_1 shape [-1, 1] perm [0, 1] : tensor<?x1x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %loss_ends = train.mean_square %ux : tensor<?x1xf32> -> tensor<f32>
// The network alone serves prediction, without jets.
// CHECK-LABEL: func.func @predict(
// CHECK-NOT:     unit_directions
// CHECK:         func.return %y
