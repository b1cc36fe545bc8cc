// The example round-trips: custom -> custom and custom -> generic -> custom give the same text.
// RUN: pintac opt %S/../../../examples/poisson2d.mlir -o %t.custom
// RUN: pintac opt %t.custom | diff %t.custom -
// RUN: pintac opt %S/../../../examples/poisson2d.mlir --print-op-generic | pintac opt | diff %t.custom -
// RUN: filecheck %s --input-file %t.custom

// CHECK:      pinn.problem @poisson2d {
// CHECK-NEXT:   pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]
// CHECK:        pinn.network @u(%{{.*}} : tensor<?x2xf32>) -> tensor<?x1xf32> {
// CHECK-COUNT-3: math.tanh
// CHECK:        pinn.residual @pde on @omega weight 1.0
// CHECK-NEXT:     pinn.laplacian @u
// CHECK:        pinn.boundary @bc on boundary(@omega) weight 300.0
// CHECK:        pinn.exact of @u
// CHECK:        pinn.train {optimizer = "adam", lr = 0.001, schedule = "linear_decay", steps = 1000, batch = {pde = 100, bc = 100}, pairs = 512, sigma = 0.01, seed = 0, eval_points = 10000}
