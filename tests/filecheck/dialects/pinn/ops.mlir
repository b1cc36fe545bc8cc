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

// Default inits: Glorot for matrices, zeros for vectors.
pinn.problem @defaults {
  pinn.param @W : tensor<3x4xf32>
  pinn.param @b : tensor<4xf32>
}
// CHECK-LABEL: pinn.problem @defaults {
// CHECK-NEXT:    pinn.param @W : tensor<3x4xf32> init xavier_normal
// CHECK-NEXT:    pinn.param @b : tensor<4xf32> init zeros
