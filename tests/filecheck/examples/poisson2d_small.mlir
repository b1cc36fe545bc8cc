// The example round-trips: custom -> custom and custom -> generic -> custom give the same text.
// RUN: pintac opt %S/../../../examples/poisson2d_small.mlir -o %t.custom
// RUN: pintac opt %t.custom | diff %t.custom -
// RUN: pintac opt %S/../../../examples/poisson2d_small.mlir --print-op-generic | pintac opt | diff %t.custom -
// RUN: filecheck %s --input-file %t.custom

// CHECK:      pinn.problem @poisson2d_small {
// CHECK:        pinn.network @u(%{{.*}} : tensor<?x2xf32>) -> tensor<?x1xf32> {
// CHECK:        pinn.residual @pde on @omega weight 1.0
// CHECK:        pinn.train {{{.*}}batch = {pde = 32, bc = 32}
