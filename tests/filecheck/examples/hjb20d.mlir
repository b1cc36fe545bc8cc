// The example round-trips: custom -> custom and custom -> generic -> custom give the same text.
// RUN: pintac opt %S/../../../examples/hjb20d.mlir -o %t.custom
// RUN: pintac opt %t.custom | diff %t.custom -
// RUN: pintac opt %S/../../../examples/hjb20d.mlir --print-op-generic | pintac opt | diff %t.custom -
// RUN: filecheck %s --input-file %t.custom

// CHECK:      pinn.problem @hjb20d {
// CHECK-NEXT:   pinn.domain @q box [0.0] to [1.0] dim 20 time [0.0, 1.0]
// CHECK:        pinn.network @u(%{{.*}} : tensor<?x21xf32>) -> tensor<?x1xf32> {
// CHECK:        pinn.residual @pde on @q weight 1.0
// CHECK-NEXT:     pinn.partial @u(%{{.*}}) dim 20
// CHECK-NEXT:     pinn.laplacian @u(%{{.*}}) dims 0 to 20
// CHECK-NEXT:     pinn.grad @u(%{{.*}}) dims 0 to 20 : tensor<?x21xf32> -> tensor<?x20xf32>
// CHECK:        pinn.boundary @terminal on final(@q)
// CHECK:        pinn.exact of @u
// CHECK:        pinn.train {{{.*}}batch = {pde = 50, terminal = 50}, pairs = 1024
