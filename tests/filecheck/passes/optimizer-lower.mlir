// RUN: pintac opt %s -p optimizer-lower | filecheck %s
// RUN: pintac opt %s -p 'optimizer-lower{kind=sgd lr=0.5}' | filecheck %s --check-prefix=SGD
// RUN: pintac opt %s -p 'optimizer-lower{schedule=constant beta2=0.99}' | filecheck %s --check-prefix=OPTS

// The problem's training configuration supplies what the options do not.
pinn.problem @p {
  pinn.train {optimizer = "adam", lr = 2.0e-3, schedule = "linear_decay", steps = 100}
}

func.func @loss_grad(%W: tensor<2x4xf32> {pinn.role = "param:W"}, %b: tensor<4xf32> {pinn.role = "param:b"}, %x_pde: tensor<?x2xf32> {pinn.role = "points:pde"}, %seed: i64 {pinn.role = "seed"}, %step: i64 {pinn.role = "step"}) -> (tensor<f32> {pinn.role = "loss"}, tensor<f32> {pinn.role = "term:pde"}, tensor<2x4xf32> {pinn.role = "grad:W"}, tensor<4xf32> {pinn.role = "grad:b"}) {
  %y = pinn.matmul %x_pde, %W role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
  %l = pinn.mean_square %y : tensor<?x4xf32> -> tensor<f32>
  %dW = pinn.scale %W by 2.0 : tensor<2x4xf32>
  %db = pinn.scale %b by 2.0 : tensor<4xf32>
  func.return %l, %l, %dW, %db : tensor<f32>, tensor<f32>, tensor<2x4xf32>, tensor<4xf32>
}

// Adam: the moments m and v of each parameter become arguments and results.
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME:    %W: tensor<2x4xf32> {pinn.role = "param:W"}, %b: tensor<4xf32> {pinn.role = "param:b"},
// CHECK-SAME:    %m_W: tensor<2x4xf32> {pinn.role = "state:W:m"}, %m_b: tensor<4xf32> {pinn.role = "state:b:m"},
// CHECK-SAME:    %v_W: tensor<2x4xf32> {pinn.role = "state:W:v"}, %v_b: tensor<4xf32> {pinn.role = "state:b:v"},
// CHECK-SAME:    %x_pde: tensor<?x2xf32> {pinn.role = "points:pde"}, %seed: i64 {pinn.role = "seed"}, %step: i64 {pinn.role = "step"})
// CHECK-SAME:    -> (tensor<2x4xf32> {pinn.role = "param:W"}, tensor<4xf32> {pinn.role = "param:b"}, tensor<2x4xf32> {pinn.role = "state:W:m"}, tensor<4xf32> {pinn.role = "state:b:m"}, tensor<2x4xf32> {pinn.role = "state:W:v"}, tensor<4xf32> {pinn.role = "state:b:v"}, tensor<f32> {pinn.role = "loss"}, tensor<f32> {pinn.role = "term:pde"}) {
// CHECK:         %dW = pinn.scale %W by 2.0
// CHECK-NEXT:    %db = pinn.scale %b by 2.0
// CHECK-NEXT:    %W_next, %m_W_next, %v_W_next = pinn.update adam %W, %dW, %m_W, %v_W, %step {lr = 0.002, schedule = "linear_decay", steps = 100, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<2x4xf32>
// CHECK-NEXT:    %b_next, %m_b_next, %v_b_next = pinn.update adam %b, %db, %m_b, %v_b, %step {lr = 0.002, schedule = "linear_decay", steps = 100, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<4xf32>
// CHECK-NEXT:    func.return %W_next, %b_next, %m_W_next, %m_b_next, %v_W_next, %v_b_next, %l, %l
// CHECK-NOT:     @loss_grad

// SGD has no state; pass options override the problem's configuration.
// SGD-LABEL: func.func @train_step(
// SGD-SAME:    %W: tensor<2x4xf32> {pinn.role = "param:W"}, %b: tensor<4xf32> {pinn.role = "param:b"}, %x_pde
// SGD:         %W_next = pinn.update sgd %W, %dW, %step {lr = 0.5, schedule = "linear_decay", steps = 100} : tensor<2x4xf32>
// SGD-NEXT:    %b_next = pinn.update sgd %b, %db, %step {lr = 0.5, schedule = "linear_decay", steps = 100} : tensor<4xf32>
// SGD-NEXT:    func.return %W_next, %b_next, %l, %l

// OPTS: pinn.update adam %W, %dW, %m_W, %v_W, %step {lr = 0.002, schedule = "constant", steps = 100, beta1 = 0.9, beta2 = 0.99, eps = 1.0e-08}
