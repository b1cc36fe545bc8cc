// RUN: pintac opt %s -p pinn-build-loss | filecheck %s

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x4xf32> init xavier_normal
  pinn.param @b0 : tensor<4xf32> init zeros
  pinn.param @W1 : tensor<4x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x4xf32>
    %h0 = math.tanh %z0 : tensor<?x4xf32>
    %y = pinn.dense %h0, @W1 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %seed, %step = pinn.rng_key : i64, i64
    %delta = stein.sample %x, %seed, %step pairs 2 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x2x2xf32>
    %batch = stein.perturb %x, %delta : tensor<?x2xf32>, tensor<?x2x2xf32> -> tensor<?x5x2xf32>
    %g = pinn.eval @u(%batch) : tensor<?x5x2xf32> -> tensor<?x5x1xf32>
    %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x5x1xf32>, tensor<?x2x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %f = math.sin %s : tensor<?x1xf32>
    %r = arith.addf %lap, %f : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@d) weight 300.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.exact of @u (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-3, schedule = "linear_decay", steps = 100, batch = {pde = 4, bc = 4}}
}

// The problem stays: it describes domains, inits, terms and training for the runtime.
// CHECK:      pinn.problem @p {
// CHECK:        pinn.train
// CHECK-NEXT: }

// One argument per parameter, per term's points, then the RNG key; results: total and per term.
// CHECK-LABEL: func.func @loss(
// CHECK-SAME:    %W0: tensor<2x4xf32> {train.role = "param:W0"}, %b0: tensor<4xf32> {train.role = "param:b0"}, %W1: tensor<4x1xf32> {train.role = "param:W1"},
// CHECK-SAME:    %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %x_bc: tensor<?x2xf32> {train.role = "points:bc"},
// CHECK-SAME:    %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"})
// CHECK-SAME:    -> (tensor<f32> {train.role = "loss"}, tensor<f32> {train.role = "term:pde"}, tensor<f32> {train.role = "term:bc"}) {
// pinn.rng_key became the seed and step arguments:
// CHECK-NEXT:    %delta = stein.sample %x_pde, %seed, %step pairs 2 sigma 1.000000e-02 stream 0
// CHECK-NEXT:    %batch = stein.perturb %x_pde, %delta
// The perturbed batch is evaluated as rows, then split back:
// CHECK-NEXT:    %rows = train.flatten %batch : tensor<?x5x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %[[MM0:.*]] = train.gemm %rows, %W0 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %[[Z0:.*]] = train.bias_add %[[MM0]], %b0 : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %[[H0:.*]] = math.tanh %[[Z0]] : tensor<?x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = train.gemm %[[H0]], %W1 role fwd : tensor<?x4xf32>, tensor<4x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %g = train.unflatten %[[Y]] like %batch : tensor<?x1xf32>, tensor<?x5x2xf32> -> tensor<?x5x1xf32>
// CHECK-NEXT:    %lap = stein.laplacian %g, %delta sigma 1.000000e-02
// CHECK-NEXT:    %s = pinn.sum %x_pde
// CHECK-NEXT:    %f = math.sin %s
// CHECK-NEXT:    %r = arith.addf %lap, %f
// CHECK-NEXT:    %loss_pde = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
// The boundary term evaluates the network on its own points, without flattening:
// CHECK-NEXT:    %[[MM1:.*]] = train.gemm %x_bc, %W0 role fwd
// CHECK-NEXT:    %[[Z1:.*]] = train.bias_add %[[MM1]], %b0
// CHECK-NEXT:    %[[H1:.*]] = math.tanh %[[Z1]]
// CHECK-NEXT:    %[[U:.*]] = train.gemm %[[H1]], %W1 role fwd
// CHECK-NEXT:    %loss_bc = train.mean_square %[[U]]
// CHECK-NEXT:    %loss = train.weighted_sum %loss_pde, %loss_bc weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
// CHECK-NEXT:    func.return %loss, %loss_pde, %loss_bc : tensor<f32>, tensor<f32>, tensor<f32>
// CHECK-NEXT:  }

// CHECK-LABEL: func.func @predict(
// CHECK-SAME:    %x: tensor<?x2xf32> {train.role = "x"}) -> (tensor<?x1xf32> {train.role = "u"}) {
// CHECK-NEXT:    %[[P0:.*]] = train.gemm %x, %W0 role fwd
// CHECK-NEXT:    %[[P1:.*]] = train.bias_add %[[P0]], %b0
// CHECK-NEXT:    %[[P2:.*]] = math.tanh %[[P1]]
// CHECK-NEXT:    %[[P3:.*]] = train.gemm %[[P2]], %W1 role fwd
// CHECK-NEXT:    func.return %[[P3]] : tensor<?x1xf32>

// CHECK-LABEL: func.func @exact(%x: tensor<?x2xf32> {train.role = "x"}) -> (tensor<?x1xf32> {train.role = "u"}) {
// CHECK-NEXT:    %[[E:.*]] = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    func.return %[[E]] : tensor<?x1xf32>
