// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// The paper-scale hidden layer: 256x256 as n = (4, 8, 8), m = (4, 8, 8), ranks (1, 8, 8, 1).

// Outside a problem the core symbols do not resolve, so only the activation types are checked.
// CHECK-LABEL: func.func @linear_unresolved
// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "linear_unresolved"
func.func @linear_unresolved(%x: tensor<?x256xf32>) -> tensor<?x256xf32> {
  %h = tt.linear %x, [@G0, @G1, @G2], @b : tensor<?x256xf32> -> tensor<?x256xf32>
  %y = tt.linear %h, [@G3, @G4, @G5] {tag = 1 : i64} : tensor<?x256xf32> -> tensor<?x256xf32>
  func.return %y : tensor<?x256xf32>
}
// CHECK-NEXT: %h = tt.linear %x, [@G0, @G1, @G2], @b : tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %y = tt.linear %h, [@G3, @G4, @G5] {tag = 1 : i64} : tensor<?x256xf32> -> tensor<?x256xf32>

// CHECK-GENERIC:      %h = "tt.linear"(%x) <{cores = [@G0, @G1, @G2], bias = @b}> : (tensor<?x256xf32>) -> tensor<?x256xf32>
// CHECK-GENERIC-NEXT: %y = "tt.linear"(%h) <{cores = [@G3, @G4, @G5]}> {tag = 1 : i64} : (tensor<?x256xf32>) -> tensor<?x256xf32>

// -----

// Inside a problem the cores and the bias are pinn.param symbols and are checked.
// CHECK-LABEL: pinn.problem @tt_layer
// CHECK-GENERIC-LABEL: "pinn.problem"() <{sym_name = "tt_layer"}>
pinn.problem @tt_layer {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x8xf32> init normal(0.1)
  pinn.param @G2 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.param @b : tensor<256xf32> init zeros
  pinn.network @u(%x : tensor<?x256xf32>) -> tensor<?x256xf32> {
    %h = tt.linear %x, [@G0, @G1, @G2], @b : tensor<?x256xf32> -> tensor<?x256xf32>
    %y = tt.linear %h, [@G0, @G1, @G2] : tensor<?x256xf32> -> tensor<?x256xf32>
    pinn.return %y : tensor<?x256xf32>
  }
}
// CHECK:      %h = tt.linear %x, [@G0, @G1, @G2], @b : tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %y = tt.linear %h, [@G0, @G1, @G2] : tensor<?x256xf32> -> tensor<?x256xf32>

// CHECK-GENERIC:      %h = "tt.linear"(%x) <{cores = [@G0, @G1, @G2], bias = @b}> : (tensor<?x256xf32>) -> tensor<?x256xf32>
// CHECK-GENERIC-NEXT: %y = "tt.linear"(%h) <{cores = [@G0, @G1, @G2]}> : (tensor<?x256xf32>) -> tensor<?x256xf32>
