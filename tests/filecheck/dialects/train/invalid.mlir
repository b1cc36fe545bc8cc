// RUN: PINTAC_VERIFY_DIAG

func.func @f(%x: tensor<?x3xf32>, %w: tensor<2x8xf32>) {
  %z = train.gemm %x, %w role fwd : tensor<?x3xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  func.return
}
// CHECK: error: 'train.gemm' op inner dimensions differ: ?x3 · 2x8

// -----

func.func @f(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>) {
  %z = train.gemm %x, %w role backward : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  func.return
}
// CHECK: error: Expected `fwd`, `dgrad`, or `wgrad`.

// -----

func.func @f(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>) {
  %z = train.gemm %x, %w : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  func.return
}
// CHECK: error: Expected 'role'

// -----

// The generic form needs the role too.
func.func @f(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>) {
  %z = "train.gemm"(%x, %w) : (tensor<?x2xf32>, tensor<2x8xf32>) -> tensor<?x8xf32>
  func.return
}
// CHECK: error: 'train.gemm' op property 'role' expected in operation 'train.gemm'

// -----

func.func @f(%x: tensor<?x2xf32>, %w: tensor<2x8xf32>) {
  %z = "train.gemm"(%x, %w) <{role = #train<role bwd>}> : (tensor<?x2xf32>, tensor<2x8xf32>) -> tensor<?x8xf32>
  func.return
}
// CHECK: error: Expected `fwd`, `dgrad`, or `wgrad`.

// -----

// dgrad without transpose_b: dY (?x64) times W (256x64) does not line up.
func.func @f(%dy: !smx.tensor<?x64, int12, block 4x4>, %w: !smx.tensor<256x64, int8, block 4x4>) {
  %dx = train.gemm %dy, %w role dgrad : !smx.tensor<?x64, int12, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x256xf32>
  func.return
}
// CHECK: error: 'train.gemm' op inner dimensions differ: ?x64 · 256x64

// -----

func.func @f(%a: !smx.tensor<?x256, int8, block 4x4>, %b: !smx.tensor<256x64, int8, block 4x4>) {
  %y = train.gemm %a, %b role fwd : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x32xf32>
  func.return
}
// CHECK: error: 'train.gemm' op the product is ?x64, not ?x32

// -----

func.func @f(%a: !smx.tensor<?x256, int8, block 4x4>, %b: !smx.tensor<256x64, int8, block 4x4>) {
  %y = train.gemm %a, %b role fwd : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x64xf16>
  func.return
}
// CHECK: error: 'train.gemm' op the result must be a rank-2 f32 tensor, got tensor<?x64xf16>

// -----

func.func @f(%a: !smx.tensor<2x?x256, int8, block 4x4>, %b: !smx.tensor<256x64, int8, block 4x4>) {
  %y = train.gemm %a, %b role fwd : !smx.tensor<2x?x256, int8, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x64xf32>
  func.return
}
// CHECK: error: 'train.gemm' op the left operand must be a rank-2 smx.tensor, got !smx.tensor<2x?x256, int8, block 4x4>

// -----

func.func @f(%a: tensor<?x256xf32>, %b: !smx.tensor<256x64, int8, block 4x4>) {
  %y = train.gemm %a, %b role fwd : tensor<?x256xf32>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x64xf32>
  func.return
}
// CHECK: error: 'train.gemm' op the operands are both f32 tensors or both quantized smx.tensors, not a mix

// -----

func.func @f(%a: !smx.tensor<?x256, int12, block 4x4>, %b: !smx.tensor<256x64, int8, block 8x8>) {
  %y = train.gemm %a, %b role fwd : !smx.tensor<?x256, int12, block 4x4>, !smx.tensor<256x64, int8, block 8x8> -> tensor<?x64xf32>
  func.return
}
// CHECK: error: 'train.gemm' op operand blocks differ along the reduction axis: a's 4x4 blocks span 4, b's 8x8 blocks span 8

// -----

// A 1-D MX copy blocked along the wrong axis for this use: wgrad reads X transposed, so it
// needs the 32x1 copy, not the 1x32 one the forward GEMM used.
func.func @f(%x: !smx.tensor<?x256, fp8_e4m3, block 1x32>, %dy: !smx.tensor<?x64, fp8_e5m2, block 32x1>) {
  %dw = train.gemm %x, %dy role wgrad transpose_a : !smx.tensor<?x256, fp8_e4m3, block 1x32>, !smx.tensor<?x64, fp8_e5m2, block 32x1> -> tensor<256x64xf32>
  func.return
}
// CHECK: error: 'train.gemm' op operand blocks differ along the reduction axis: a's 1x32 blocks span 1, b's 32x1 blocks span 32 (a 1-D MX operand needs its 32-element blocks along the reduction axis: quantize a second copy with the transposed block)

// -----

func.func @f(%w: tensor<2x8xf32>, %step: i64) {
  %w1, %m1 = train.update adam %w, %w, %w, %step {lr = 0.001} : tensor<2x8xf32>
  func.return
}
// CHECK: error: 'train.update' op 'adam' keeps 2 state tensor(s), got 1

// -----

func.func @f(%w: tensor<2x8xf32>, %step: i64) {
  %w1 = train.update sgd %w, %w, %step {lr = 0.001, schedule = "linear_decay"} : tensor<2x8xf32>
  func.return
}
// CHECK: error: 'train.update' op a linear_decay schedule needs 'steps'

// -----

func.func @f(%w: tensor<2x8xf32>, %step: i64) {
  %w1 = train.update lion %w, %w, %step {lr = 0.001} : tensor<2x8xf32>
  func.return
}
// CHECK: error: 'train.update' op unknown optimizer 'lion'; expected one of: adam, sgd

// -----

func.func @f(%w: tensor<2x8xf32>, %step: i64) {
  %w1, %m1, %v1 = train.update adam %w, %w, %w, %w, %step {lr = 0.001} : tensor<2x8xf32>
  func.return
}
// CHECK: error: 'train.update' op 'adam' needs 'beta1'

// -----

func.func @f(%x: tensor<?x8xf32>, %b: tensor<4xf32>) {
  %z = train.bias_add %x, %b : tensor<?x8xf32>, tensor<4xf32> -> tensor<?x8xf32>
  func.return
}
// CHECK: error: 'train.bias_add' op the bias must be tensor<8xf32>, got tensor<4xf32>

// -----

func.func @f(%y: tensor<?x8xf32>) {
  %d = train.activation_grad relu %y, %y : tensor<?x8xf32>
  func.return
}
// CHECK: error: unknown activation 'relu'; expected one of: tanh, sin, cos, exp, log, sqrt

// -----

func.func @f(%x: tensor<?x2xf32>) {
  %e = train.expand_columns %x dims 2 to 4 : tensor<?x2xf32> -> tensor<?x3xf32>
  func.return
}
// CHECK: error: 'train.expand_columns' op the column range 2 to 4 is not within the 3 columns of the result

// -----

func.func @f(%l: tensor<f32>) {
  %t = train.weighted_sum %l, %l weights [1.0] : tensor<f32>, tensor<f32> -> tensor<f32>
  func.return
}
// CHECK: error: 'train.weighted_sum' op 2 terms but 1 weights

// -----

func.func @f(%x: tensor<?x2xf32>) {
  %l = train.mean_square %x : tensor<?x2xf32> -> tensor<1xf32>
  func.return
}
// CHECK: error: 'train.mean_square' op the result is a scalar tensor<f32>

// -----

func.func @f(%x: tensor<?x9x2xf32>) {
  %f = train.flatten %x : tensor<?x9x2xf32> -> tensor<?x3xf32>
  func.return
}
// CHECK: error: 'train.flatten' op flattens the leading dims into rows: got tensor<?x9x2xf32> -> tensor<?x3xf32>
