// The example round-trips: custom -> custom and custom -> generic -> custom give the same text.
// RUN: pintac opt %S/../../../examples/heat1d.mlir -o %t.custom
// RUN: pintac opt %t.custom | diff %t.custom -
// RUN: pintac opt %S/../../../examples/heat1d.mlir --print-op-generic | pintac opt | diff %t.custom -
// RUN: filecheck %s --input-file %t.custom

// CHECK:      pinn.problem @heat1d {
// CHECK-NEXT:   pinn.domain @q box [0.0] to [1.0] time [0.0, 1.0]
// CHECK-NEXT:   pinn.param @W0 : tensor<2x32xf32> init xavier_normal
// CHECK-NEXT:   pinn.param @b0 : tensor<32xf32> init zeros
// CHECK:        pinn.residual @pde on @q weight 1.0
// CHECK-NEXT:     pinn.partial @u(%{{.*}}) dim 1
// CHECK-NEXT:     pinn.laplacian @u(%{{.*}}) dims 0 to 1
// CHECK:        pinn.boundary @initial on initial(@q) weight 100.0
// CHECK:        pinn.boundary @ends on boundary(@q) weight 100.0
