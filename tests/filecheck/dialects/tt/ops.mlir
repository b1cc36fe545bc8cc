// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// The paper-scale hidden layer: 256x256 as n = (4, 8, 8), m = (4, 8, 8), ranks (1, 8, 8, 1).

// CHECK-LABEL: func.func @merge
// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "merge"
func.func @merge(%g0: tensor<1x4x4x8xf32>, %g1: tensor<8x8x8x8xf32>, %g2: tensor<8x8x8x1xf32>) -> (tensor<1x32x32x8xf32>, tensor<1x256x256x1xf32>) {
  %s01 = tt.merge %g0, %g1 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32> -> tensor<1x32x32x8xf32>
  %all = tt.merge %g0, %g1, %g2 {note = "whole chain"} : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>, tensor<8x8x8x1xf32> -> tensor<1x256x256x1xf32>
  func.return %s01, %all : tensor<1x32x32x8xf32>, tensor<1x256x256x1xf32>
}
// CHECK-NEXT:   %s01 = tt.merge %g0, %g1 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32> -> tensor<1x32x32x8xf32>
// CHECK-NEXT:   %all = tt.merge %g0, %g1, %g2 {note = "whole chain"} : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>, tensor<8x8x8x1xf32> -> tensor<1x256x256x1xf32>
// CHECK-NEXT:   func.return %s01, %all : tensor<1x32x32x8xf32>, tensor<1x256x256x1xf32>

// CHECK-GENERIC:      %s01 = "tt.merge"(%g0, %g1) : (tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>) -> tensor<1x32x32x8xf32>
// CHECK-GENERIC-NEXT: %all = "tt.merge"(%g0, %g1, %g2) {note = "whole chain"} : (tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>, tensor<8x8x8x1xf32>) -> tensor<1x256x256x1xf32>

// -----

// A middle super-core keeps its boundary ranks.
// CHECK-LABEL: func.func @merge_middle
func.func @merge_middle(%a: tensor<2x3x5x4xf32>, %b: tensor<4x7x2x6xf32>) -> tensor<2x21x10x6xf32> {
  %s = tt.merge %a, %b : tensor<2x3x5x4xf32>, tensor<4x7x2x6xf32> -> tensor<2x21x10x6xf32>
  func.return %s : tensor<2x21x10x6xf32>
}
// CHECK-NEXT: %s = tt.merge %a, %b : tensor<2x3x5x4xf32>, tensor<4x7x2x6xf32> -> tensor<2x21x10x6xf32>

// -----

// CHECK-LABEL: func.func @reconstruct
// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "reconstruct"
func.func @reconstruct(%g0: tensor<1x4x4x8xf32>, %g1: tensor<8x8x8x8xf32>, %g2: tensor<8x8x8x1xf32>, %s: tensor<1x32x32x8xf32>, %one: tensor<1x6x3x1xf32>) -> (tensor<256x256xf32>, tensor<256x256xf32>, tensor<6x3xf32>) {
  %w = tt.reconstruct %g0, %g1, %g2 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>, tensor<8x8x8x1xf32> -> tensor<256x256xf32>
  %w2 = tt.reconstruct %s, %g2 : tensor<1x32x32x8xf32>, tensor<8x8x8x1xf32> -> tensor<256x256xf32>
  %w1 = tt.reconstruct %one : tensor<1x6x3x1xf32> -> tensor<6x3xf32>
  func.return %w, %w2, %w1 : tensor<256x256xf32>, tensor<256x256xf32>, tensor<6x3xf32>
}
// CHECK-NEXT: %w = tt.reconstruct %g0, %g1, %g2 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>, tensor<8x8x8x1xf32> -> tensor<256x256xf32>
// CHECK-NEXT: %w2 = tt.reconstruct %s, %g2 : tensor<1x32x32x8xf32>, tensor<8x8x8x1xf32> -> tensor<256x256xf32>
// CHECK-NEXT: %w1 = tt.reconstruct %one : tensor<1x6x3x1xf32> -> tensor<6x3xf32>

// CHECK-GENERIC:      %w = "tt.reconstruct"(%g0, %g1, %g2) : (tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32>, tensor<8x8x8x1xf32>) -> tensor<256x256xf32>
// CHECK-GENERIC-NEXT: %w2 = "tt.reconstruct"(%s, %g2) : (tensor<1x32x32x8xf32>, tensor<8x8x8x1xf32>) -> tensor<256x256xf32>
// CHECK-GENERIC-NEXT: %w1 = "tt.reconstruct"(%one) : (tensor<1x6x3x1xf32>) -> tensor<6x3xf32>

// -----

// Sequential contraction core by core (prefix = output factors done, suffix = input factors
// left): widths 256 -> 1*4*8*64 -> 4*8*8*8 -> 32*8*1*1.
// CHECK-LABEL: func.func @contract_sequential
// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "contract_sequential"
func.func @contract_sequential(%x: tensor<?x256xf32>, %g0: tensor<1x4x4x8xf32>, %g1: tensor<8x8x8x8xf32>, %g2: tensor<8x8x8x1xf32>) -> tensor<?x256xf32> {
  %a1 = tt.contract %x, %g0 prefix 1 suffix 64 role fwd : tensor<?x256xf32>, tensor<1x4x4x8xf32> -> tensor<?x2048xf32>
  %a2 = tt.contract %a1, %g1 prefix 4 suffix 8 role fwd : tensor<?x2048xf32>, tensor<8x8x8x8xf32> -> tensor<?x2048xf32>
  %y = tt.contract %a2, %g2 prefix 32 suffix 1 role fwd : tensor<?x2048xf32>, tensor<8x8x8x1xf32> -> tensor<?x256xf32>
  func.return %y : tensor<?x256xf32>
}
// CHECK-NEXT: %a1 = tt.contract %x, %g0 prefix 1 suffix 64 role fwd : tensor<?x256xf32>, tensor<1x4x4x8xf32> -> tensor<?x2048xf32>
// CHECK-NEXT: %a2 = tt.contract %a1, %g1 prefix 4 suffix 8 role fwd : tensor<?x2048xf32>, tensor<8x8x8x8xf32> -> tensor<?x2048xf32>
// CHECK-NEXT: %y = tt.contract %a2, %g2 prefix 32 suffix 1 role fwd : tensor<?x2048xf32>, tensor<8x8x8x1xf32> -> tensor<?x256xf32>

// CHECK-GENERIC:      %a1 = "tt.contract"(%x, %g0) <{prefix = 1 : i64, suffix = 64 : i64, role = #train<role fwd>}> : (tensor<?x256xf32>, tensor<1x4x4x8xf32>) -> tensor<?x2048xf32>
// CHECK-GENERIC-NEXT: %a2 = "tt.contract"(%a1, %g1) <{prefix = 4 : i64, suffix = 8 : i64, role = #train<role fwd>}> : (tensor<?x2048xf32>, tensor<8x8x8x8xf32>) -> tensor<?x2048xf32>
// CHECK-GENERIC-NEXT: %y = "tt.contract"(%a2, %g2) <{prefix = 32 : i64, suffix = 1 : i64, role = #train<role fwd>}> : (tensor<?x2048xf32>, tensor<8x8x8x1xf32>) -> tensor<?x256xf32>

// -----

// PRS with g = 2: merge the first two cores, then two contractions on a static batch.
// CHECK-LABEL: func.func @contract_prs2
func.func @contract_prs2(%x: tensor<100x256xf32>, %g0: tensor<1x4x4x8xf32>, %g1: tensor<8x8x8x8xf32>, %g2: tensor<8x8x8x1xf32>) -> tensor<100x256xf32> {
  %s = tt.merge %g0, %g1 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32> -> tensor<1x32x32x8xf32>
  %a = tt.contract %x, %s prefix 1 suffix 8 role fwd : tensor<100x256xf32>, tensor<1x32x32x8xf32> -> tensor<100x2048xf32>
  %y = tt.contract %a, %g2 prefix 32 suffix 1 role fwd {tag = "last"} : tensor<100x2048xf32>, tensor<8x8x8x1xf32> -> tensor<100x256xf32>
  func.return %y : tensor<100x256xf32>
}
// CHECK-NEXT: %s = tt.merge %g0, %g1 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32> -> tensor<1x32x32x8xf32>
// CHECK-NEXT: %a = tt.contract %x, %s prefix 1 suffix 8 role fwd : tensor<100x256xf32>, tensor<1x32x32x8xf32> -> tensor<100x2048xf32>
// CHECK-NEXT: %y = tt.contract %a, %g2 prefix 32 suffix 1 role fwd {tag = "last"} : tensor<100x2048xf32>, tensor<8x8x8x1xf32> -> tensor<100x256xf32>

// -----

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
