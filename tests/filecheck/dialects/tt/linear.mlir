// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// TT layers in a problem: one per core (the default), grouped for partial reconstruction
// with the contraction order, and cores initialized by the TT-SVD of a dense matrix.
pinn.problem @p {
  pinn.param @W : tensor<256x256xf32> init xavier_normal
  pinn.param @G0 : tensor<1x4x4x8xf32> init tt_svd {source = @W}
  pinn.param @G1 : tensor<8x8x8x8xf32> init tt_svd {source = @W}
  pinn.param @G2 : tensor<8x8x8x1xf32> init tt_svd {source = @W}
  pinn.param @b : tensor<256xf32> init zeros
  pinn.network @u(%x : tensor<?x256xf32>) -> tensor<?x256xf32> {
    %h = tt.linear %x, [@G0, @G1, @G2], @b : tensor<?x256xf32> -> tensor<?x256xf32>
    %k = tt.linear %h, [@G0, @G1, @G2], @b groups [2, 1] : tensor<?x256xf32> -> tensor<?x256xf32>
    %y = tt.linear %k, [@G0, @G1, @G2] groups [1, 2] order rtl : tensor<?x256xf32> -> tensor<?x256xf32>
    pinn.return %y : tensor<?x256xf32>
  }
}
// CHECK:      pinn.param @W : tensor<256x256xf32> init xavier_normal
// CHECK-NEXT: pinn.param @G0 : tensor<1x4x4x8xf32> init tt_svd {source = @W}
// CHECK-NEXT: pinn.param @G1 : tensor<8x8x8x8xf32> init tt_svd {source = @W}
// CHECK-NEXT: pinn.param @G2 : tensor<8x8x8x1xf32> init tt_svd {source = @W}
// CHECK:      %h = tt.linear %x, [@G0, @G1, @G2], @b : tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %k = tt.linear %h, [@G0, @G1, @G2], @b groups [2, 1] : tensor<?x256xf32> -> tensor<?x256xf32>
// CHECK-NEXT: %y = tt.linear %k, [@G0, @G1, @G2] groups [1, 2] order rtl : tensor<?x256xf32> -> tensor<?x256xf32>

// CHECK-GENERIC: "pinn.param"() <{sym_name = "G0", type = tensor<1x4x4x8xf32>, init = "tt_svd", init_args = []}> {source = @W} : () -> ()
// CHECK-GENERIC: %h = "tt.linear"(%x) <{cores = [@G0, @G1, @G2], bias = @b}> : (tensor<?x256xf32>) -> tensor<?x256xf32>
// CHECK-GENERIC: %k = "tt.linear"(%h) <{cores = [@G0, @G1, @G2], bias = @b, groups = array<i64: 2, 1>}> : (tensor<?x256xf32>) -> tensor<?x256xf32>
// CHECK-GENERIC: %y = "tt.linear"(%k) <{cores = [@G0, @G1, @G2], groups = array<i64: 1, 2>, order = #tt<order rtl>}> : (tensor<?x256xf32>) -> tensor<?x256xf32>
