// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP
// RUN: pintac opt %s --split-input-file | pintac opt --split-input-file | filecheck %s

pinn.problem @every_op {
  pinn.domain @box2 box [0.0, -1.0] to [1.0, 2.5]
  pinn.domain @cube box [0.0] to [1.0] dim 3 time [0.0, 1.0]
  pinn.domain @ball ball center [0.0, 0.5, 0.0] radius 2.0 time [0.0, 0.5]
  pinn.param @W0 : tensor<4x8xf32> init xavier_normal
  pinn.param @b0 : tensor<8xf32> init zeros
  pinn.param @W1 : tensor<8x1xf32> init xavier_uniform
  pinn.param @b1 : tensor<1xf32> init constant(0.25)
  pinn.param @n : tensor<2x3x4xf32> init normal(0.02)
  pinn.param @v : tensor<5xf32> init uniform(-0.1, 0.1)
  pinn.param @o : tensor<5xf32> init ones
  pinn.network @u(%x : tensor<?x4xf32>) -> tensor<?x1xf32> {
    %z = pinn.dense %x, @W0, @b0 : tensor<?x4xf32> -> tensor<?x8xf32>
    %h = math.sin %z : tensor<?x8xf32>
    %y = pinn.dense %h, @W1 : tensor<?x8xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @cube weight 1.0 (%x : tensor<?x4xf32>) {
    %ut = pinn.partial @u(%x) dim 3 : tensor<?x4xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 0 to 3 : tensor<?x4xf32> -> tensor<?x1xf32>
    %lap_all = pinn.laplacian @u(%x) : tensor<?x4xf32> -> tensor<?x1xf32>
    %g = pinn.grad @u(%x) dims 0 to 3 : tensor<?x4xf32> -> tensor<?x3xf32>
    %g_all = pinn.grad @u(%x) : tensor<?x4xf32> -> tensor<?x4xf32>
    %s = pinn.sum %g : tensor<?x3xf32> -> tensor<?x1xf32>
    %s2 = pinn.sum %g_all dims 1 to 3 : tensor<?x4xf32> -> tensor<?x1xf32>
    %t = pinn.slice %x dims 3 to 4 : tensor<?x4xf32> -> tensor<?x1xf32>
    %c = pinn.constant -2.5e-3 : tensor<?x1xf32>
    %a = arith.addf %ut, %lap : tensor<?x1xf32>
    %r = arith.addf %a, %c : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @side on boundary(@ball) weight 300 (%x : tensor<?x4xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.boundary @start on initial(@cube) weight 10.0 (%x : tensor<?x4xf32>) {
    %u0 = pinn.eval @u(%x) : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.yield %u0 : tensor<?x1xf32>
  }
  pinn.boundary @end on final(@cube) weight 0.5 (%x : tensor<?x4xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.exact of @u (%x : tensor<?x4xf32>) {
    %s = pinn.sum %x : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
  pinn.train {optimizer = "sgd", lr = 0.01, schedule = "constant", steps = 10,
              batch = {pde = 4, side = 4, start = 2, end = 2}, seed = 7}
}

// CHECK-LABEL: pinn.problem @every_op {
// CHECK-NEXT:    pinn.domain @box2 box [0.0, -1.0] to [1.0, 2.5]
// CHECK-NEXT:    pinn.domain @cube box [0.0] to [1.0] dim 3 time [0.0, 1.0]
// CHECK-NEXT:    pinn.domain @ball ball center [0.0, 0.5, 0.0] radius 2.0 time [0.0, 0.5]
// CHECK-NEXT:    pinn.param @W0 : tensor<4x8xf32> init xavier_normal
// CHECK-NEXT:    pinn.param @b0 : tensor<8xf32> init zeros
// CHECK-NEXT:    pinn.param @W1 : tensor<8x1xf32> init xavier_uniform
// CHECK-NEXT:    pinn.param @b1 : tensor<1xf32> init constant(0.25)
// CHECK-NEXT:    pinn.param @n : tensor<2x3x4xf32> init normal(0.02)
// CHECK-NEXT:    pinn.param @v : tensor<5xf32> init uniform(-0.1, 0.1)
// CHECK-NEXT:    pinn.param @o : tensor<5xf32> init ones
// CHECK-NEXT:    pinn.network @u(%[[X:.*]] : tensor<?x4xf32>) -> tensor<?x1xf32> {
// CHECK-NEXT:      %[[Z:.*]] = pinn.dense %[[X]], @W0, @b0 : tensor<?x4xf32> -> tensor<?x8xf32>
// CHECK-NEXT:      %[[H:.*]] = math.sin %[[Z]] : tensor<?x8xf32>
// CHECK-NEXT:      %[[Y:.*]] = pinn.dense %[[H]], @W1 : tensor<?x8xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      pinn.return %[[Y]] : tensor<?x1xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    pinn.residual @pde on @cube weight 1.0 (%[[P:.*]] : tensor<?x4xf32>) {
// CHECK-NEXT:      %{{.*}} = pinn.partial @u(%[[P]]) dim 3 : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %{{.*}} = pinn.laplacian @u(%[[P]]) dims 0 to 3 : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %{{.*}} = pinn.laplacian @u(%[[P]]) : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %[[G:.*]] = pinn.grad @u(%[[P]]) dims 0 to 3 : tensor<?x4xf32> -> tensor<?x3xf32>
// CHECK-NEXT:      %[[GA:.*]] = pinn.grad @u(%[[P]]) : tensor<?x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:      %{{.*}} = pinn.sum %[[G]] : tensor<?x3xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %{{.*}} = pinn.sum %[[GA]] dims 1 to 3 : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %{{.*}} = pinn.slice %[[P]] dims 3 to 4 : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %{{.*}} = pinn.constant -0.0025 : tensor<?x1xf32>
// CHECK:           pinn.yield %{{.*}} : tensor<?x1xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    pinn.boundary @side on boundary(@ball) weight 300.0 (%{{.*}} : tensor<?x4xf32>) {
// CHECK:         pinn.boundary @start on initial(@cube) weight 10.0
// CHECK-NEXT:      %[[U0:.*]] = pinn.eval @u(%{{.*}}) : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      pinn.yield %[[U0]] : tensor<?x1xf32>
// CHECK:         pinn.boundary @end on final(@cube) weight 0.5
// CHECK:         pinn.exact of @u (%[[E:.*]] : tensor<?x4xf32>) {
// CHECK-NEXT:      %[[S:.*]] = pinn.sum %[[E]] : tensor<?x4xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      pinn.yield %[[S]] : tensor<?x1xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    pinn.train {optimizer = "sgd", lr = 0.01, schedule = "constant", steps = 10, batch = {pde = 4, side = 4, start = 2, end = 2}, seed = 7}
// CHECK-NEXT:  }

// CHECK-GENERIC:      "pinn.problem"() <{sym_name = "every_op"}> ({
// CHECK-GENERIC-NEXT:   "pinn.domain"() <{sym_name = "box2", kind = "box", lower = [0.000000e+00 : f64, -1.000000e+00 : f64], upper = [1.000000e+00 : f64, 2.500000e+00 : f64]}> : () -> ()
// CHECK-GENERIC-NEXT:   "pinn.domain"() <{sym_name = "cube", kind = "box", lower = [0.000000e+00 : f64], upper = [1.000000e+00 : f64], dim = 3 : i64, time = [0.000000e+00 : f64, 1.000000e+00 : f64]}> : () -> ()
// CHECK-GENERIC-NEXT:   "pinn.domain"() <{sym_name = "ball", kind = "ball", center = [0.000000e+00 : f64, 5.000000e-01 : f64, 0.000000e+00 : f64], radius = 2.000000e+00 : f64, time = [0.000000e+00 : f64, 5.000000e-01 : f64]}> : () -> ()
// CHECK-GENERIC-NEXT:   "pinn.param"() <{sym_name = "W0", type = tensor<4x8xf32>, init = "xavier_normal", init_args = []}> : () -> ()
// CHECK-GENERIC:        "pinn.param"() <{sym_name = "v", type = tensor<5xf32>, init = "uniform", init_args = [-1.000000e-01 : f64, 1.000000e-01 : f64]}> : () -> ()
// CHECK-GENERIC:        "pinn.network"() <{sym_name = "u", result_type = tensor<?x1xf32>}> ({
// CHECK-GENERIC-NEXT:   ^bb0(%[[GX:.*]]: tensor<?x4xf32>):
// CHECK-GENERIC-NEXT:     %{{.*}} = "pinn.dense"(%[[GX]]) <{weight = @W0, bias = @b0}> : (tensor<?x4xf32>) -> tensor<?x8xf32>
// CHECK-GENERIC:          "pinn.dense"(%{{.*}}) <{weight = @W1}> : (tensor<?x8xf32>) -> tensor<?x1xf32>
// CHECK-GENERIC:          "pinn.return"(%{{.*}}) : (tensor<?x1xf32>) -> ()
// CHECK-GENERIC:        "pinn.residual"() <{sym_name = "pde", domain = @cube, weight = 1.000000e+00 : f64}> ({
// CHECK-GENERIC:          "pinn.partial"(%{{.*}}) <{network = @u, dim = 3 : i64}> : (tensor<?x4xf32>) -> tensor<?x1xf32>
// CHECK-GENERIC-NEXT:     "pinn.laplacian"(%{{.*}}) <{network = @u, dim_lo = 0 : i64, dim_hi = 3 : i64}> : (tensor<?x4xf32>) -> tensor<?x1xf32>
// CHECK-GENERIC-NEXT:     "pinn.laplacian"(%{{.*}}) <{network = @u}> : (tensor<?x4xf32>) -> tensor<?x1xf32>
// CHECK-GENERIC:          "pinn.constant"() <{value = -2.500000e-03 : f64}> : () -> tensor<?x1xf32>
// CHECK-GENERIC:        "pinn.boundary"() <{sym_name = "side", domain = @ball, weight = 3.000000e+02 : f64, on = "boundary"}> ({
// CHECK-GENERIC:        "pinn.exact"() <{network = @u}> ({
// CHECK-GENERIC:        "pinn.train"() <{config = {optimizer = "sgd", lr = 1.000000e-02 : f64, schedule = "constant", steps = 10 : i64, batch = {pde = 4 : i64, side = 4 : i64, start = 2 : i64, end = 2 : i64}, seed = 7 : i64}}> : () -> ()

// -----

// The training graph: what pinn-build-loss, pinn-autodiff and optimizer-lower produce.
func.func @graph(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>, %b: tensor<8xf32>, %batch: tensor<?x9x2xf32>, %step: i64) -> tensor<f32> {
  %seed, %s = pinn.rng_key : i64, i64
  %z = pinn.matmul %x, %w role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  %zb = pinn.bias_add %z, %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %y = math.tanh %zb : tensor<?x8xf32>
  %dz = pinn.activation_grad tanh %y, %y : tensor<?x8xf32>
  %dzs = pinn.activation_grad sin %zb, %y : tensor<?x8xf32>
  %dx = pinn.matmul %dz, %w role dgrad transpose_b : tensor<?x8xf32>, tensor<2x8xf32> -> tensor<?x2xf32>
  %dw = pinn.matmul %x, %dz role wgrad transpose_a : tensor<?x2xf32>, tensor<?x8xf32> -> tensor<2x8xf32>
  %db = pinn.column_sum %dz : tensor<?x8xf32> -> tensor<8xf32>
  %flat = pinn.flatten %batch : tensor<?x9x2xf32> -> tensor<?x2xf32>
  %un = pinn.unflatten %flat like %batch : tensor<?x2xf32>, tensor<?x9x2xf32> -> tensor<?x9x2xf32>
  %e = pinn.expand_columns %dx dims 0 to 2 : tensor<?x2xf32> -> tensor<?x5xf32>
  %l = pinn.mean_square %dx : tensor<?x2xf32> -> tensor<f32>
  %dr = pinn.mean_square_grad %dx, %l : tensor<?x2xf32>, tensor<f32> -> tensor<?x2xf32>
  %t = pinn.weighted_sum %l, %l weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
  %t2 = pinn.scale %t by 0.5 : tensor<f32>
  %w1, %m1, %v1 = pinn.update adam %w, %dw, %w, %w, %step {lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, schedule = "linear_decay", steps = 1000} : tensor<2x8xf32>
  %w2 = pinn.update sgd %w1, %dw, %step {lr = 0.01} : tensor<2x8xf32>
  func.return %t2 : tensor<f32>
}

// CHECK-LABEL: func.func @graph(
// CHECK-NEXT:    %seed, %s = pinn.rng_key : i64, i64
// CHECK-NEXT:    %z = pinn.matmul %x, %w role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %zb = pinn.bias_add %z, %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %y = math.tanh %zb : tensor<?x8xf32>
// CHECK-NEXT:    %dz = pinn.activation_grad tanh %y, %y : tensor<?x8xf32>
// CHECK-NEXT:    %dzs = pinn.activation_grad sin %zb, %y : tensor<?x8xf32>
// CHECK-NEXT:    %dx = pinn.matmul %dz, %w role dgrad transpose_b : tensor<?x8xf32>, tensor<2x8xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %dw = pinn.matmul %x, %dz role wgrad transpose_a : tensor<?x2xf32>, tensor<?x8xf32> -> tensor<2x8xf32>
// CHECK-NEXT:    %db = pinn.column_sum %dz : tensor<?x8xf32> -> tensor<8xf32>
// CHECK-NEXT:    %flat = pinn.flatten %batch : tensor<?x9x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %un = pinn.unflatten %flat like %batch : tensor<?x2xf32>, tensor<?x9x2xf32> -> tensor<?x9x2xf32>
// CHECK-NEXT:    %e = pinn.expand_columns %dx dims 0 to 2 : tensor<?x2xf32> -> tensor<?x5xf32>
// CHECK-NEXT:    %l = pinn.mean_square %dx : tensor<?x2xf32> -> tensor<f32>
// CHECK-NEXT:    %dr = pinn.mean_square_grad %dx, %l : tensor<?x2xf32>, tensor<f32> -> tensor<?x2xf32>
// CHECK-NEXT:    %t = pinn.weighted_sum %l, %l weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK-NEXT:    %t2 = pinn.scale %t by 0.5 : tensor<f32>
// CHECK-NEXT:    %w1, %m1, %v1 = pinn.update adam %w, %dw, %w, %w, %step {lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08, schedule = "linear_decay", steps = 1000} : tensor<2x8xf32>
// CHECK-NEXT:    %w2 = pinn.update sgd %w1, %dw, %step {lr = 0.01} : tensor<2x8xf32>
// CHECK-NEXT:    func.return %t2 : tensor<f32>

// CHECK-GENERIC:      "pinn.rng_key"() : () -> (i64, i64)
// CHECK-GENERIC:      "pinn.matmul"(%{{.*}}, %{{.*}}) <{role = "dgrad", transpose_b}> : (tensor<?x8xf32>, tensor<2x8xf32>) -> tensor<?x2xf32>
// CHECK-GENERIC:      "pinn.update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{optimizer = "adam", config = {lr = 1.000000e-03 : f64, beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, schedule = "linear_decay", steps = 1000 : i64}, operandSegmentSizes = array<i32: 1, 1, 2, 1>}> : (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, i64) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>)

// -----

// Default inits: Glorot for matrices, zeros for vectors.
pinn.problem @defaults {
  pinn.param @W : tensor<3x4xf32>
  pinn.param @b : tensor<4xf32>
}
// CHECK-LABEL: pinn.problem @defaults {
// CHECK-NEXT:    pinn.param @W : tensor<3x4xf32> init xavier_normal
// CHECK-NEXT:    pinn.param @b : tensor<4xf32> init zeros
