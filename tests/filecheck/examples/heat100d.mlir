// The example round-trips: custom -> custom and custom -> generic -> custom give the same text.
// RUN: pintac opt %S/../../../examples/heat100d.mlir -o %t.custom
// RUN: pintac opt %t.custom | diff %t.custom -
// RUN: pintac opt %S/../../../examples/heat100d.mlir --print-op-generic | pintac opt | diff %t.custom -
// RUN: filecheck %s --input-file %t.custom

// CHECK:      pinn.problem @heat100d {
// CHECK-NEXT:   pinn.domain @q ball center [0.0] radius 1.0 dim 100 time [0.0, 1.0]
// CHECK:        pinn.network @u(%{{.*}} : tensor<?x101xf32>) -> tensor<?x1xf32> {
// CHECK:        pinn.residual @pde on @q weight 1.0
// CHECK-NEXT:     pinn.partial @u(%{{.*}}) dim 100
// CHECK-NEXT:     pinn.laplacian @u(%{{.*}}) dims 0 to 100
// CHECK:        pinn.boundary @initial on initial(@q) weight 1000.0
// CHECK:        pinn.boundary @sphere on boundary(@q) weight 1000.0
// CHECK:        pinn.exact of @u
// CHECK:        pinn.train {{{.*}}batch = {pde = 50, initial = 50, sphere = 50}, pairs = 1024
