// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// `train.permute` is the data movement TT layers lower to (with `train.gemm`): a view as
// `shape`, a transpose by `perm`, a reshape to the result's shape; -1 stands for the batch.

// The GEMM operands of one contraction with a core 8x8x8x8 (prefix 4, suffix 8) and the
// product back to the activation layout; a core as its GEMM matrix (a pure reshape).
// CHECK-LABEL: func.func @contraction
// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "contraction"
func.func @contraction(%a: tensor<?x2048xf32>, %g: tensor<8x8x8x8xf32>) -> tensor<?x2048xf32> {
  %lhs = train.permute %a shape [-1, 4, 64, 8] perm [0, 1, 3, 2] : tensor<?x2048xf32> -> tensor<?x64xf32>
  %rhs = train.permute %g shape [64, 64] perm [0, 1] : tensor<8x8x8x8xf32> -> tensor<64x64xf32>
  %p = train.gemm %lhs, %rhs role fwd : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %out = train.permute %p shape [-1, 4, 8, 64] perm [0, 1, 3, 2] : tensor<?x64xf32> -> tensor<?x2048xf32>
  func.return %out : tensor<?x2048xf32>
}
// CHECK-NEXT: %lhs = train.permute %a shape [-1, 4, 64, 8] perm [0, 1, 3, 2] : tensor<?x2048xf32> -> tensor<?x64xf32>
// CHECK-NEXT: %rhs = train.permute %g shape [64, 64] perm [0, 1] : tensor<8x8x8x8xf32> -> tensor<64x64xf32>
// CHECK-NEXT: %p = train.gemm %lhs, %rhs role fwd : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
// CHECK-NEXT: %out = train.permute %p shape [-1, 4, 8, 64] perm [0, 1, 3, 2] : tensor<?x64xf32> -> tensor<?x2048xf32>
// CHECK-NEXT: func.return %out : tensor<?x2048xf32>

// CHECK-GENERIC: %lhs = "train.permute"(%a) <{shape = array<i64: -1, 4, 64, 8>, perm = array<i64: 0, 1, 3, 2>}> : (tensor<?x2048xf32>) -> tensor<?x64xf32>
// CHECK-GENERIC: %rhs = "train.permute"(%g) <{shape = array<i64: 64, 64>, perm = array<i64: 0, 1>}> : (tensor<8x8x8x8xf32>) -> tensor<64x64xf32>

// -----

// A merge's product (r_a n m) x (n' m' r_c) to the super-core (r_a, n n', m m', r_c).
// CHECK-LABEL: func.func @merge
func.func @merge(%p: tensor<16x512xf32>) -> tensor<1x32x32x8xf32> {
  %s = train.permute %p shape [4, 4, 8, 8, 8] perm [0, 2, 1, 3, 4] : tensor<16x512xf32> -> tensor<1x32x32x8xf32>
  func.return %s : tensor<1x32x32x8xf32>
}
// CHECK-NEXT: %s = train.permute %p shape [4, 4, 8, 8, 8] perm [0, 2, 1, 3, 4] : tensor<16x512xf32> -> tensor<1x32x32x8xf32>
