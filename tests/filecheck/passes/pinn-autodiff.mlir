// RUN: pintac opt %s -p pinn-autodiff | filecheck %s

func.func @loss(%W0: tensor<2x4xf32> {pinn.role = "param:W0"}, %b0: tensor<4xf32> {pinn.role = "param:b0"}, %W1: tensor<4x1xf32> {pinn.role = "param:W1"}, %x_pde: tensor<?x2xf32> {pinn.role = "points:pde"}, %seed: i64 {pinn.role = "seed"}, %step: i64 {pinn.role = "step"}) -> (tensor<f32> {pinn.role = "loss"}, tensor<f32> {pinn.role = "term:pde"}) {
  %delta = stein.sample %x_pde, %seed, %step pairs 2 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x2x2xf32>
  %batch = stein.perturb %x_pde, %delta : tensor<?x2xf32>, tensor<?x2x2xf32> -> tensor<?x5x2xf32>
  %rows = pinn.flatten %batch : tensor<?x5x2xf32> -> tensor<?x2xf32>
  %mm = pinn.matmul %rows, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %z0 = pinn.bias_add %mm, %b0 : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %h0 = math.tanh %z0 : tensor<?x4xf32>
  %y = pinn.matmul %h0, %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
  %g = pinn.unflatten %y like %batch : tensor<?x1xf32>, tensor<?x5x2xf32> -> tensor<?x5x1xf32>
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x5x1xf32>, tensor<?x2x2xf32> -> tensor<?x1xf32>
  %s = pinn.sum %x_pde : tensor<?x2xf32> -> tensor<?x1xf32>
  %f = math.sin %s : tensor<?x1xf32>
  %r = arith.addf %lap, %f : tensor<?x1xf32>
  %loss_pde = pinn.mean_square %r : tensor<?x1xf32> -> tensor<f32>
  %loss = pinn.weighted_sum %loss_pde weights [2.0] : tensor<f32> -> tensor<f32>
  func.return %loss, %loss_pde : tensor<f32>, tensor<f32>
}

// Same arguments; the results gain one gradient per parameter, in argument order.
// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME:    -> (tensor<f32> {pinn.role = "loss"}, tensor<f32> {pinn.role = "term:pde"}, tensor<2x4xf32> {pinn.role = "grad:W0"}, tensor<4xf32> {pinn.role = "grad:b0"}, tensor<4x1xf32> {pinn.role = "grad:W1"}) {
// The forward ops come first, unchanged:
// CHECK:         %loss = pinn.weighted_sum %loss_pde weights [2.0]
// Then the adjoints, in reverse order, seeded with d loss / d loss = 1:
// CHECK-NEXT:    %dloss = pinn.constant 1.0 : tensor<f32>
// CHECK-NEXT:    %[[DL:.*]] = pinn.scale %dloss by 2.0 : tensor<f32>
// CHECK-NEXT:    %[[DR:.*]] = pinn.mean_square_grad %r, %[[DL]]
// sin(Σx) depends only on the points: no adjoint is computed for it.
// CHECK-NEXT:    %[[DG:.*]] = stein.laplacian_vjp %[[DR]], %delta sigma 1.000000e-02 : tensor<?x1xf32>, tensor<?x2x2xf32> -> tensor<?x5x1xf32>
// CHECK-NEXT:    %[[DY:.*]] = pinn.flatten %[[DG]] : tensor<?x5x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %[[DH:.*]] = pinn.matmul %[[DY]], %W1 role dgrad transpose_b : tensor<?x1xf32>, tensor<4x1xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %dW1 = pinn.matmul %h0, %[[DY]] role wgrad transpose_a : tensor<?x4xf32>, tensor<?x1xf32> -> tensor<4x1xf32>
// CHECK-NEXT:    %[[DZ:.*]] = pinn.activation_grad tanh %h0, %[[DH]] : tensor<?x4xf32>
// CHECK-NEXT:    %db0 = pinn.column_sum %[[DZ]] : tensor<?x4xf32> -> tensor<4xf32>
// The first layer's input is data: a wgrad but no dgrad GEMM.
// CHECK-NEXT:    %dW0 = pinn.matmul %rows, %[[DZ]] role wgrad transpose_a : tensor<?x2xf32>, tensor<?x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %loss, %loss_pde, %dW0, %db0, %dW1
// CHECK-NOT:     func.func @loss(
