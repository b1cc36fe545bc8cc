// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP
// RUN: pintac opt %s --split-input-file | pintac opt --split-input-file | filecheck %s

// The training graph: what pinn-build-loss, pinn-autodiff and optimizer-lower produce.
func.func @graph(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>, %b: tensor<8xf32>, %batch: tensor<?x9x2xf32>, %step: i64) -> tensor<f32> {
  %z = train.gemm %x, %w role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  %zb = train.bias_add %z, %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %y = math.tanh %zb : tensor<?x8xf32>
  %dz = train.activation_grad tanh %y, %y : tensor<?x8xf32>
  %dzs = train.activation_grad sin %zb, %y : tensor<?x8xf32>
  %dx = train.gemm %dz, %w role dgrad transpose_b : tensor<?x8xf32>, tensor<2x8xf32> -> tensor<?x2xf32>
  %dw = train.gemm %x, %dz role wgrad transpose_a : tensor<?x2xf32>, tensor<?x8xf32> -> tensor<2x8xf32>
  %db = train.column_sum %dz : tensor<?x8xf32> -> tensor<8xf32>
  %flat = train.flatten %batch : tensor<?x9x2xf32> -> tensor<?x2xf32>
  %un = train.unflatten %flat like %batch : tensor<?x2xf32>, tensor<?x9x2xf32> -> tensor<?x9x2xf32>
  %e = train.expand_columns %dx dims 0 to 2 : tensor<?x2xf32> -> tensor<?x5xf32>
  %l = train.mean_square %dx : tensor<?x2xf32> -> tensor<f32>
  %dr = train.mean_square_grad %dx, %l : tensor<?x2xf32>, tensor<f32> -> tensor<?x2xf32>
  %t = train.weighted_sum %l, %l weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
  %t2 = train.scale %t by 0.5 : tensor<f32>
  %w1, %m1, %v1 = train.update adam %w, %dw, %w, %w, %step {lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, schedule = "linear_decay", steps = 1000} : tensor<2x8xf32>
  %w2 = train.update sgd %w1, %dw, %step {lr = 0.01} : tensor<2x8xf32>
  func.return %t2 : tensor<f32>
}

// CHECK-LABEL: func.func @graph(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>, %b: tensor<8xf32>, %batch: tensor<?x9x2xf32>, %step: i64) -> tensor<f32> {
// CHECK-NEXT:    %z = train.gemm %x, %w role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %zb = train.bias_add %z, %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %y = math.tanh %zb : tensor<?x8xf32>
// CHECK-NEXT:    %dz = train.activation_grad tanh %y, %y : tensor<?x8xf32>
// CHECK-NEXT:    %dzs = train.activation_grad sin %zb, %y : tensor<?x8xf32>
// CHECK-NEXT:    %dx = train.gemm %dz, %w role dgrad transpose_b : tensor<?x8xf32>, tensor<2x8xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %dw = train.gemm %x, %dz role wgrad transpose_a : tensor<?x2xf32>, tensor<?x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT:    %db = train.column_sum %dz : tensor<?x8xf32> -> tensor<8xf32>
// CHECK-NEXT:    %flat = train.flatten %batch : tensor<?x9x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %un = train.unflatten %flat like %batch : tensor<?x2xf32>, tensor<?x9x2xf32> -> tensor<?x9x2xf32>
// CHECK-NEXT:    %e = train.expand_columns %dx dims 0 to 2 : tensor<?x2xf32> -> tensor<?x5xf32>
// CHECK-NEXT:    %l = train.mean_square %dx : tensor<?x2xf32> -> tensor<f32>
// CHECK-NEXT:    %dr = train.mean_square_grad %dx, %l : tensor<?x2xf32>, tensor<f32> -> tensor<?x2xf32>
// CHECK-NEXT:    %t = train.weighted_sum %l, %l weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK-NEXT:    %t2 = train.scale %t by 5.000000e-01 : tensor<f32>
// CHECK-NEXT:    %w1, %m1, %v1 = train.update adam %w, %dw, %w, %w, %step {lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, schedule = "linear_decay", steps = 1000} : tensor<2x8xf32>
// CHECK-NEXT:    %w2 = train.update sgd %w1, %dw, %step {lr = 0.01} : tensor<2x8xf32>
// CHECK-NEXT:    func.return %t2 : tensor<f32>
// CHECK-NEXT:  }

// CHECK-GENERIC:      "train.activation_grad"(%{{.*}}, %{{.*}}) <{activation = #train<activation sin>}> : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
// CHECK-GENERIC:      "train.gemm"(%{{.*}}, %{{.*}}) <{role = #train<role dgrad>, transpose_b}> : (tensor<?x8xf32>, tensor<2x8xf32>) -> tensor<?x2xf32>
// CHECK-GENERIC:      "train.scale"(%{{.*}}) <{factor = 5.000000e-01 : f64}> : (tensor<f32>) -> tensor<f32>
// CHECK-GENERIC:      "train.update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{optimizer = "adam", config = {lr = 1.000000e-03 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, schedule = "linear_decay", steps = 1000 : i64}, operandSegmentSizes = array<i32: 1, 1, 2, 1>}> : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, i64) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)

// -----

// Function arguments and results say what they are with train.role.
func.func @roles(%W0: tensor<2x8xf32> {train.role = "param:W0"}, %x: tensor<?x2xf32> {train.role = "points:pde"}) -> (tensor<f32> {train.role = "loss"}) {
  %l = train.mean_square %x : tensor<?x2xf32> -> tensor<f32>
  func.return %l : tensor<f32>
}

// CHECK-LABEL: func.func @roles(%W0: tensor<2x8xf32> {train.role = "param:W0"}, %x: tensor<?x2xf32> {train.role = "points:pde"}) -> (tensor<f32> {train.role = "loss"}) {
// CHECK-NEXT:    %l = train.mean_square %x : tensor<?x2xf32> -> tensor<f32>
// CHECK-NEXT:    func.return %l : tensor<f32>
// CHECK-NEXT:  }

// CHECK-GENERIC:      arg_attrs = [{train.role = "param:W0"}, {train.role = "points:pde"}], res_attrs = [{train.role = "loss"}]
