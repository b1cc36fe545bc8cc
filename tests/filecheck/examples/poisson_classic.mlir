// The example round-trips: custom -> custom and custom -> generic -> custom give the same text.
// RUN: pintac opt %S/../../../examples/poisson_classic.mlir -o %t.custom
// RUN: pintac opt %t.custom | diff %t.custom -
// RUN: pintac opt %S/../../../examples/poisson_classic.mlir --print-op-generic | pintac opt | diff %t.custom -
// RUN: filecheck %s --input-file %t.custom

// CHECK:      pinn.problem @poisson_classic {
// CHECK:        pinn.network @u(%{{.*}} : tensor<?x2xf32>) -> tensor<?x1xf32> {
// CHECK:        pinn.laplacian @u
// CHECK:        pinn.train {{{.*}}derivatives = "taylor"
