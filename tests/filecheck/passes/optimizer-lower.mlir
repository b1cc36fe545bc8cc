// RUN: pintac opt %s -p optimizer-lower | filecheck %s
// RUN: pintac opt %s -p 'optimizer-lower{kind=sgd lr=0.5}' | filecheck %s --check-prefix=SGD
// RUN: pintac opt %s -p 'optimizer-lower{schedule=constant beta2=0.99}' | filecheck %s --check-prefix=OPTS

// The problem's training configuration supplies what the options do not.
pinn.problem @p {
  pinn.train {optimizer = "adam", lr = 2.0e-3, schedule = "linear_decay", steps = 100}
}

func.func @loss_grad(%W: tensor<2x4xf32> {train.role = "param:W"}, %b: tensor<4xf32> {train.role = "param:b"}, %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<f32> {train.role = "loss"}, tensor<f32> {train.role = "term:pde"}, tensor<2x4xf32> {train.role = "grad:W"}, tensor<4xf32> {train.role = "grad:b"}) {
  %y = train.gemm %x_pde, %W role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %l = train.mean_square %y : tensor<?x4xf32> -> tensor<f32>
  %dW = train.scale %W by 2.0 : tensor<2x4xf32>
  %db = train.scale %b by 2.0 : tensor<4xf32>
  func.return %l, %l, %dW, %db : tensor<f32>, tensor<f32>, tensor<2x4xf32>, tensor<4xf32>
}

// Adam: the moments m and v of each parameter become arguments and results.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME:    %W: tensor<2x4xf32> {train.role = "param:W"}, %b: tensor<4xf32> {train.role = "param:b"},
// CHECK-SAME:    %m_W: tensor<2x4xf32> {train.role = "state:W:m"}, %m_b: tensor<4xf32> {train.role = "state:b:m"},
// CHECK-SAME:    %v_W: tensor<2x4xf32> {train.role = "state:W:v"}, %v_b: tensor<4xf32> {train.role = "state:b:v"},
// CHECK-SAME:    %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"})
// CHECK-SAME:    -> (tensor<2x4xf32> {train.role = "param:W"}, tensor<4xf32> {train.role = "param:b"}, tensor<2x4xf32> {train.role = "state:W:m"}, tensor<4xf32> {train.role = "state:b:m"}, tensor<2x4xf32> {train.role = "state:W:v"}, tensor<4xf32> {train.role = "state:b:v"}, tensor<f32> {train.role = "loss"}, tensor<f32> {train.role = "term:pde"}) {
// CHECK:         %dW = train.scale %W by 2.000000e+00
// CHECK-NEXT:    %db = train.scale %b by 2.000000e+00
// CHECK-NEXT:    %W_next, %m_W_next, %v_W_next = train.update adam %W, %dW, %m_W, %v_W, %step {lr = 0.002, schedule = "linear_decay", steps = 100, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<2x4xf32>
// CHECK-NEXT:    %b_next, %m_b_next, %v_b_next = train.update adam %b, %db, %m_b, %v_b, %step {lr = 0.002, schedule = "linear_decay", steps = 100, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<4xf32>
// CHECK-NEXT:    func.return %W_next, %b_next, %m_W_next, %m_b_next, %v_W_next, %v_b_next, %l, %l
// CHECK-NOT:     @loss_grad

// SGD has no state; pass options override the problem's configuration.
// SGD-LABEL: func.func @train_step(
// SGD-SAME:    %W: tensor<2x4xf32> {train.role = "param:W"}, %b: tensor<4xf32> {train.role = "param:b"}, %x_pde
// SGD:         %W_next = train.update sgd %W, %dW, %step {lr = 0.5, schedule = "linear_decay", steps = 100} : tensor<2x4xf32>
// SGD-NEXT:    %b_next = train.update sgd %b, %db, %step {lr = 0.5, schedule = "linear_decay", steps = 100} : tensor<4xf32>
// SGD-NEXT:    func.return %W_next, %b_next, %l, %l

// OPTS: train.update adam %W, %dW, %m_W, %v_W, %step {lr = 0.002, schedule = "constant", steps = 100, beta1 = 0.9, beta2 = 0.99, eps = 1.0e-08}
