// RUN: PINTAC_VERIFY_DIAG

func.func @linear_no_cores(%x: tensor<?x256xf32>) {
  %y = tt.linear %x, [] : tensor<?x256xf32> -> tensor<?x256xf32>
  func.return
}
// CHECK: error: 'tt.linear' op needs at least one TT core

// -----

func.func @linear_dynamic_width(%x: tensor<?x?xf32>) {
  %y = tt.linear %x, [@G0, @G1] : tensor<?x?xf32> -> tensor<?x256xf32>
  func.return
}
// CHECK: error: 'tt.linear' op input must have a static width, got tensor<?x?xf32>

// -----

// In a builtin.module, a symbol that resolves must still name a tensor parameter.
func.func private @G0()
func.func @linear_core_is_a_function(%x: tensor<?x4xf32>) {
  %y = tt.linear %x, [@G0] : tensor<?x4xf32> -> tensor<?x4xf32>
  func.return
}
// CHECK: error: 'tt.linear' op symbol @G0 does not name a tensor parameter: 'func.func' has no `type` property or attribute holding a tensor type

// -----

pinn.problem @cores_not_chained {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<4x8x8x8xf32> init normal(0.1)
  pinn.param @G2 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x256xf32>) -> tensor<?x256xf32> {
    %y = tt.linear %x, [@G0, @G1, @G2] : tensor<?x256xf32> -> tensor<?x256xf32>
    pinn.return %y : tensor<?x256xf32>
  }
}
// CHECK: invalid.mlir:[[# @LINE - 4]]:10: error: 'tt.linear' op TT cores do not chain: core @G0 has output rank 8 but core @G1 has input rank 4

// -----

pinn.problem @first_rank_not_one {
  pinn.param @G0 : tensor<8x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x32xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1] : tensor<?x32xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op the first TT core must have input rank 1, but core @G0 has 8

// -----

pinn.problem @input_width {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x64xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1] : tensor<?x64xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op TT input factors [4, 8] multiply to 32, but the input width is 64

// -----

pinn.problem @output_width {
  pinn.param @G0 : tensor<1x4x2x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x32xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1] : tensor<?x32xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op TT output factors [2, 8] multiply to 16, but the output width is 32

// -----

pinn.problem @core_not_rank4 {
  pinn.param @G0 : tensor<4x4xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x4xf32>) -> tensor<?x4xf32> {
    %y = tt.linear %x, [@G0] : tensor<?x4xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: 'tt.linear' op core @G0 must be a rank-4 tensor (rank_in x in_factor x out_factor x rank_out), got tensor<4x4>

// -----

pinn.problem @bias_shape {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.param @b : tensor<1x32xf32> init zeros
  pinn.network @u(%x : tensor<?x32xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1], @b : tensor<?x32xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op bias @b must be tensor<32xf32>, one entry per output, but is tensor<1x32xf32>

// -----

pinn.problem @undefined_core {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x32xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1] : tensor<?x32xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op parameter @G1 is not defined in the enclosing 'pinn.problem'

// -----

pinn.problem @core_is_a_network {
  pinn.param @G0 : tensor<1x4x4x1xf32> init normal(0.1)
  pinn.network @v(%x : tensor<?x4xf32>) -> tensor<?x4xf32> {
    pinn.return %x : tensor<?x4xf32>
  }
  pinn.network @u(%x : tensor<?x4xf32>) -> tensor<?x4xf32> {
    %y = tt.linear %x, [@v] : tensor<?x4xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: 'tt.linear' op symbol @v does not name a tensor parameter: 'pinn.network' has no `type` property or attribute holding a tensor type

// -----

pinn.problem @groups_do_not_cover_the_cores {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x32xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1] groups [1, 2] : tensor<?x32xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op groups [1, 2] must be sizes >= 1 of consecutive core groups summing to the 2 cores

// -----

pinn.problem @empty_group {
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.1)
  pinn.param @G1 : tensor<8x8x8x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x32xf32>) -> tensor<?x32xf32> {
    %y = tt.linear %x, [@G0, @G1] groups [2, 0] : tensor<?x32xf32> -> tensor<?x32xf32>
    pinn.return %y : tensor<?x32xf32>
  }
}
// CHECK: error: 'tt.linear' op groups [2, 0] must be sizes >= 1 of consecutive core groups summing to the 2 cores

// -----

pinn.problem @unknown_order {
  pinn.param @G0 : tensor<1x4x4x1xf32> init normal(0.1)
  pinn.network @u(%x : tensor<?x4xf32>) -> tensor<?x4xf32> {
    %y = tt.linear %x, [@G0] order backwards : tensor<?x4xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: Expected `ltr`, or `rtl`.

// -----

pinn.problem @tt_svd_without_source {
  pinn.param @G0 : tensor<1x4x4x1xf32> init tt_svd
}
// CHECK: error: 'pinn.param' op init 'tt_svd' computes the values from another parameter: name it with an attribute {source = @W}

// -----

pinn.problem @tt_svd_source_not_a_matrix {
  pinn.param @b : tensor<16xf32> init zeros
  pinn.param @G0 : tensor<1x4x4x1xf32> init tt_svd {source = @b}
}
// CHECK: error: 'pinn.param' op the source @b of init 'tt_svd' must be a matrix with an init of its own, got tensor<16xf32> init zeros

// -----

pinn.problem @tt_svd_source_undefined {
  pinn.param @G0 : tensor<1x4x4x1xf32> init tt_svd {source = @W}
}
// CHECK: error: 'pinn.param' op the source @W is not defined in this problem

// -----

pinn.problem @tt_svd_wrong_size {
  pinn.param @W : tensor<16x16xf32> init xavier_normal
  pinn.param @G0 : tensor<1x4x4x2xf32> init tt_svd {source = @W}
  pinn.param @G1 : tensor<2x4x2x1xf32> init tt_svd {source = @W}
}
// CHECK: error: 'pinn.param' op the TT cores of @W (@G0, @G1) make a 16x8 matrix, but @W is tensor<16x16xf32>

// -----

pinn.problem @tt_svd_not_chained {
  pinn.param @W : tensor<16x16xf32> init xavier_normal
  pinn.param @G0 : tensor<1x4x4x2xf32> init tt_svd {source = @W}
  pinn.param @G1 : tensor<3x4x4x1xf32> init tt_svd {source = @W}
}
// CHECK: error: 'pinn.param' op the TT cores of @W (@G0, @G1): TT cores do not chain: @G0 has output rank 2 but @G1 has input rank 3

// -----

pinn.problem @tt_svd_not_a_core {
  pinn.param @W : tensor<16x16xf32> init xavier_normal
  pinn.param @G0 : tensor<16x16xf32> init tt_svd {source = @W}
}
// CHECK: error: 'pinn.param' op init 'tt_svd' gives a TT core (rank 4), got rank 2
