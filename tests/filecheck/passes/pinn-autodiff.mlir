// RUN: pintac opt %s -p pinn-autodiff | filecheck %s

func.func @loss(%W0: tensor<2x4xf32> {train.role = "param:W0"}, %b0: tensor<4xf32> {train.role = "param:b0"}, %W1: tensor<4x1xf32> {train.role = "param:W1"}, %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<f32> {train.role = "loss"}, tensor<f32> {train.role = "term:pde"}) {
  %delta = stein.sample %x_pde, %seed, %step pairs 2 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x2x2xf32>
  %batch = stein.perturb %x_pde, %delta : tensor<?x2xf32>, tensor<?x2x2xf32> -> tensor<?x5x2xf32>
  %rows = train.flatten %batch : tensor<?x5x2xf32> -> tensor<?x2xf32>
  %mm = train.gemm %rows, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %z0 = train.bias_add %mm, %b0 : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %h0 = math.tanh %z0 : tensor<?x4xf32>
  %y = train.gemm %h0, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
  %g = train.unflatten %y like %batch : tensor<?x1xf32>, tensor<?x5x2xf32> -> tensor<?x5x1xf32>
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x5x1xf32>, tensor<?x2x2xf32> -> tensor<?x1xf32>
  %s = pinn.sum %x_pde : tensor<?x2xf32> -> tensor<?x1xf32>
  %f = math.sin %s : tensor<?x1xf32>
  %r = arith.addf %lap, %f : tensor<?x1xf32>
  %loss_pde = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
  %loss = train.weighted_sum %loss_pde weights [2.0] : tensor<f32> -> tensor<f32>
  func.return %loss, %loss_pde : tensor<f32>, tensor<f32>
}

// Same arguments; the results gain one gradient per parameter, in argument order.
// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME:    -> (tensor<f32> {train.role = "loss"}, tensor<f32> {train.role = "term:pde"}, tensor<2x4xf32> {train.role = "grad:W0"}, tensor<4xf32> {train.role = "grad:b0"}, tensor<4x1xf32> {train.role = "grad:W1"}) {
// The forward ops come first, unchanged:
// CHECK:         %loss = train.weighted_sum %loss_pde weights [2.0]
// Then the adjoints, in reverse order, seeded with d loss / d loss = 1:
// CHECK-NEXT:    %dloss = pinn.constant 1.0 : tensor<f32>
// CHECK-NEXT:    %[[DL:.*]] = train.scale %dloss by 2.000000e+00 : tensor<f32>
// CHECK-NEXT:    %[[DR:.*]] = train.mean_square_grad %r, %[[DL]]
// sin(Σx) depends only on the points: no adjoint is computed for it.
// CHECK-NEXT:    %[[DG:.*]] = stein.laplacian_vjp %[[DR]], %delta sigma 1.000000e-02 : tensor<?x1xf32>, tensor<?x2x2xf32> -> tensor<?x5x1xf32>
// CHECK-NEXT:    %[[DY:.*]] = train.flatten %[[DG]] : tensor<?x5x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %[[DH:.*]] = train.gemm %[[DY]], %W1 role dgrad transpose_b : tensor<?x1xf32>, tensor<4x1xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %dW1 = train.gemm %h0, %[[DY]] role wgrad transpose_a : tensor<?x4xf32>, tensor<?x1xf32> -> tensor<4x1xf32>
// CHECK-NEXT:    %[[DZ:.*]] = train.activation_grad tanh %h0, %[[DH]] : tensor<?x4xf32>
// CHECK-NEXT:    %db0 = train.column_sum %[[DZ]] : tensor<?x4xf32> -> tensor<4xf32>
// The first layer's input is data: a wgrad but no dgrad GEMM.
// CHECK-NEXT:    %dW0 = train.gemm %rows, %[[DZ]] role wgrad transpose_a : tensor<?x2xf32>, tensor<?x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %loss, %loss_pde, %dW0, %db0, %dW1
// CHECK-NOT:     func.func @loss(
