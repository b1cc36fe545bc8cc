// Defaults: SMX 4x4 tiles, INT8 activations and weights, INT12 gradients, rne.
// RUN: pintac opt %s -p smx-quantize | filecheck %s
// 1-D MX (blocks of 32 along the reduction axis): a tensor read in both orientations is
// quantized twice.
// RUN: pintac opt %s -p 'smx-quantize{format=mx}' | filecheck %s --check-prefix=MX
// Per-role widths, another tile, stochastic rounding (one RNG stream per copy).
// RUN: pintac opt %s -p 'smx-quantize{act=6 weight=4 grad=16 block=8 rounding=stochastic}' | filecheck %s --check-prefix=OPTS
// Bad options are named before anything runs.
// RUN: not pintac opt %s -p 'smx-quantize{grad=17}' 2>&1 | filecheck %s --check-prefix=BAD

// The gradient of a two-layer network's loss (as pinn-autodiff writes it) and its @predict.
func.func @loss_grad(%W0: tensor<2x8xf32> {train.role = "param:W0"}, %b0: tensor<8xf32> {train.role = "param:b0"}, %W1: tensor<8x1xf32> {train.role = "param:W1"}, %x: tensor<?x2xf32> {train.role = "points:bc"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<f32> {train.role = "loss"}, tensor<2x8xf32> {train.role = "grad:W0"}, tensor<8xf32> {train.role = "grad:b0"}, tensor<8x1xf32> {train.role = "grad:W1"}) {
  %xw = train.gemm %x, %W0 role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  %z0 = train.bias_add %xw, %b0 : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %h0 = math.tanh %z0 : tensor<?x8xf32>
  %y = train.gemm %h0, %W1 role fwd : tensor<?x8xf32>, tensor<8x1xf32> -> tensor<?x1xf32>
  %loss = train.mean_square %y : tensor<?x1xf32> -> tensor<f32>
  %dloss = pinn.constant 1.0 : tensor<f32>
  %dy = train.mean_square_grad %y, %dloss : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %dh0 = train.gemm %dy, %W1 role dgrad transpose_b : tensor<?x1xf32>, tensor<8x1xf32> -> tensor<?x8xf32>
  %dW1 = train.gemm %h0, %dy role wgrad transpose_a : tensor<?x8xf32>, tensor<?x1xf32> -> tensor<8x1xf32>
  %dz0 = train.activation_grad tanh %h0, %dh0 : tensor<?x8xf32>
  %db0 = train.column_sum %dz0 : tensor<?x8xf32> -> tensor<8xf32>
  %dW0 = train.gemm %x, %dz0 role wgrad transpose_a : tensor<?x2xf32>, tensor<?x8xf32> -> tensor<2x8xf32>
  func.return %loss, %dW0, %db0, %dW1 : tensor<f32>, tensor<2x8xf32>, tensor<8xf32>, tensor<8x1xf32>
}
func.func @predict(%W0: tensor<2x8xf32> {train.role = "param:W0"}, %b0: tensor<8xf32> {train.role = "param:b0"}, %W1: tensor<8x1xf32> {train.role = "param:W1"}, %x: tensor<?x2xf32> {train.role = "x"}) -> (tensor<?x1xf32> {train.role = "u"}) {
  %xw = train.gemm %x, %W0 role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
  %z0 = train.bias_add %xw, %b0 : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %h0 = math.tanh %z0 : tensor<?x8xf32>
  %y = train.gemm %h0, %W1 role fwd : tensor<?x8xf32>, tensor<8x1xf32> -> tensor<?x1xf32>
  func.return %y : tensor<?x1xf32>
}

// In SMX each tensor is quantized once, where it is computed, and the copy serves every GEMM
// that reads it in either orientation: six tensors (W0, W1, x, h0, dy, dz0), six copies.
// CHECK-LABEL: func.func @loss_grad(
// CHECK-NEXT:   %q_W1 = smx.quantize %W1 {smx.use = "weight"} : tensor<8x1xf32> -> !smx.tensor<8x1, int8, block 4x4>
// CHECK-NEXT:   %q_W0 = smx.quantize %W0 {smx.use = "weight"} : tensor<2x8xf32> -> !smx.tensor<2x8, int8, block 4x4>
// CHECK-NEXT:   %q_x = smx.quantize %x {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
// CHECK-NEXT:   %xw = train.gemm %q_x, %q_W0 role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x8, int8, block 4x4> -> tensor<?x8xf32>
// CHECK-NEXT:   %z0 = train.bias_add %xw, %b0 : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:   %h0 = math.tanh %z0 : tensor<?x8xf32>
// CHECK-NEXT:   %q_h0 = smx.quantize %h0 {smx.use = "activation"} : tensor<?x8xf32> -> !smx.tensor<?x8, int8, block 4x4>
// CHECK-NEXT:   %y = train.gemm %q_h0, %q_W1 role fwd : !smx.tensor<?x8, int8, block 4x4>, !smx.tensor<8x1, int8, block 4x4> -> tensor<?x1xf32>
// CHECK-NEXT:   %loss = train.mean_square %y : tensor<?x1xf32> -> tensor<f32>
// CHECK-NEXT:   %dloss = pinn.constant 1.0 : tensor<f32>
// CHECK-NEXT:   %dy = train.mean_square_grad %y, %dloss : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
// CHECK-NEXT:   %q_dy = smx.quantize %dy {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int12, block 4x4>
// CHECK-NEXT:   %dh0 = train.gemm %q_dy, %q_W1 role dgrad transpose_b : !smx.tensor<?x1, int12, block 4x4>, !smx.tensor<8x1, int8, block 4x4> -> tensor<?x8xf32>
// CHECK-NEXT:   %dW1 = train.gemm %q_h0, %q_dy role wgrad transpose_a : !smx.tensor<?x8, int8, block 4x4>, !smx.tensor<?x1, int12, block 4x4> -> tensor<8x1xf32>
// CHECK-NEXT:   %dz0 = train.activation_grad tanh %h0, %dh0 : tensor<?x8xf32>
// CHECK-NEXT:   %q_dz0 = smx.quantize %dz0 {smx.use = "gradient"} : tensor<?x8xf32> -> !smx.tensor<?x8, int12, block 4x4>
// CHECK-NEXT:   %db0 = train.column_sum %dz0 : tensor<?x8xf32> -> tensor<8xf32>
// CHECK-NEXT:   %dW0 = train.gemm %q_x, %q_dz0 role wgrad transpose_a : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x8, int12, block 4x4> -> tensor<2x8xf32>
// CHECK-NEXT:   func.return %loss, %dW0, %db0, %dW1 : tensor<f32>, tensor<2x8xf32>, tensor<8xf32>, tensor<8x1xf32>
// CHECK-NEXT: }

// In 1-D MX, x, W1, h0 and dy are each read along both axes, so each has two copies (ten in all).
// MX-LABEL: func.func @loss_grad(
// MX-NEXT:   %q_x = smx.quantize %x {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 32x1>
// MX-NEXT:   %q_W1 = smx.quantize %W1 {smx.use = "weight"} : tensor<8x1xf32> -> !smx.tensor<8x1, int8, block 1x32>
// MX-NEXT:   %q_W1_1 = smx.quantize %W1 {smx.use = "weight"} : tensor<8x1xf32> -> !smx.tensor<8x1, int8, block 32x1>
// MX-NEXT:   %q_W0 = smx.quantize %W0 {smx.use = "weight"} : tensor<2x8xf32> -> !smx.tensor<2x8, int8, block 32x1>
// MX-NEXT:   %q_x_1 = smx.quantize %x {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 1x32>
// MX-NEXT:   %xw = train.gemm %q_x_1, %q_W0 role fwd : !smx.tensor<?x2, int8, block 1x32>, !smx.tensor<2x8, int8, block 32x1> -> tensor<?x8xf32>
// MX-NEXT:   %z0 = train.bias_add %xw, %b0 : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// MX-NEXT:   %h0 = math.tanh %z0 : tensor<?x8xf32>
// MX-NEXT:   %q_h0 = smx.quantize %h0 {smx.use = "activation"} : tensor<?x8xf32> -> !smx.tensor<?x8, int8, block 32x1>
// MX-NEXT:   %q_h0_1 = smx.quantize %h0 {smx.use = "activation"} : tensor<?x8xf32> -> !smx.tensor<?x8, int8, block 1x32>
// MX-NEXT:   %y = train.gemm %q_h0_1, %q_W1_1 role fwd : !smx.tensor<?x8, int8, block 1x32>, !smx.tensor<8x1, int8, block 32x1> -> tensor<?x1xf32>
// MX-NEXT:   %loss = train.mean_square %y : tensor<?x1xf32> -> tensor<f32>
// MX-NEXT:   %dloss = pinn.constant 1.0 : tensor<f32>
// MX-NEXT:   %dy = train.mean_square_grad %y, %dloss : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
// MX-NEXT:   %q_dy = smx.quantize %dy {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int12, block 32x1>
// MX-NEXT:   %q_dy_1 = smx.quantize %dy {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int12, block 1x32>
// MX-NEXT:   %dh0 = train.gemm %q_dy_1, %q_W1 role dgrad transpose_b : !smx.tensor<?x1, int12, block 1x32>, !smx.tensor<8x1, int8, block 1x32> -> tensor<?x8xf32>
// MX-NEXT:   %dW1 = train.gemm %q_h0, %q_dy role wgrad transpose_a : !smx.tensor<?x8, int8, block 32x1>, !smx.tensor<?x1, int12, block 32x1> -> tensor<8x1xf32>
// MX-NEXT:   %dz0 = train.activation_grad tanh %h0, %dh0 : tensor<?x8xf32>
// MX-NEXT:   %q_dz0 = smx.quantize %dz0 {smx.use = "gradient"} : tensor<?x8xf32> -> !smx.tensor<?x8, int12, block 32x1>
// MX-NEXT:   %db0 = train.column_sum %dz0 : tensor<?x8xf32> -> tensor<8xf32>
// MX-NEXT:   %dW0 = train.gemm %q_x, %q_dz0 role wgrad transpose_a : !smx.tensor<?x2, int8, block 32x1>, !smx.tensor<?x8, int12, block 32x1> -> tensor<2x8xf32>
// MX-NEXT:   func.return %loss, %dW0, %db0, %dW1 : tensor<f32>, tensor<2x8xf32>, tensor<8xf32>, tensor<8x1xf32>
// MX-NEXT: }

// OPTS-LABEL: func.func @loss_grad(
// OPTS-NEXT:   %q_W1 = smx.quantize %W1 rounding stochastic stream 3 key %seed, %step {smx.use = "weight"} : tensor<8x1xf32> -> !smx.tensor<8x1, int4, block 8x8>
// OPTS-NEXT:   %q_W0 = smx.quantize %W0 rounding stochastic stream 1 key %seed, %step {smx.use = "weight"} : tensor<2x8xf32> -> !smx.tensor<2x8, int4, block 8x8>
// OPTS-NEXT:   %q_x = smx.quantize %x rounding stochastic stream 0 key %seed, %step {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int6, block 8x8>
// OPTS-NEXT:   %xw = train.gemm %q_x, %q_W0 role fwd : !smx.tensor<?x2, int6, block 8x8>, !smx.tensor<2x8, int4, block 8x8> -> tensor<?x8xf32>
// OPTS-NEXT:   %z0 = train.bias_add %xw, %b0 : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// OPTS-NEXT:   %h0 = math.tanh %z0 : tensor<?x8xf32>
// OPTS-NEXT:   %q_h0 = smx.quantize %h0 rounding stochastic stream 2 key %seed, %step {smx.use = "activation"} : tensor<?x8xf32> -> !smx.tensor<?x8, int6, block 8x8>
// OPTS-NEXT:   %y = train.gemm %q_h0, %q_W1 role fwd : !smx.tensor<?x8, int6, block 8x8>, !smx.tensor<8x1, int4, block 8x8> -> tensor<?x1xf32>
// OPTS-NEXT:   %loss = train.mean_square %y : tensor<?x1xf32> -> tensor<f32>
// OPTS-NEXT:   %dloss = pinn.constant 1.0 : tensor<f32>
// OPTS-NEXT:   %dy = train.mean_square_grad %y, %dloss : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
// OPTS-NEXT:   %q_dy = smx.quantize %dy rounding stochastic stream 4 key %seed, %step {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int16, block 8x8>
// OPTS-NEXT:   %dh0 = train.gemm %q_dy, %q_W1 role dgrad transpose_b : !smx.tensor<?x1, int16, block 8x8>, !smx.tensor<8x1, int4, block 8x8> -> tensor<?x8xf32>
// OPTS-NEXT:   %dW1 = train.gemm %q_h0, %q_dy role wgrad transpose_a : !smx.tensor<?x8, int6, block 8x8>, !smx.tensor<?x1, int16, block 8x8> -> tensor<8x1xf32>
// OPTS-NEXT:   %dz0 = train.activation_grad tanh %h0, %dh0 : tensor<?x8xf32>
// OPTS-NEXT:   %q_dz0 = smx.quantize %dz0 rounding stochastic stream 5 key %seed, %step {smx.use = "gradient"} : tensor<?x8xf32> -> !smx.tensor<?x8, int16, block 8x8>
// OPTS-NEXT:   %db0 = train.column_sum %dz0 : tensor<?x8xf32> -> tensor<8xf32>
// OPTS-NEXT:   %dW0 = train.gemm %q_x, %q_dz0 role wgrad transpose_a : !smx.tensor<?x2, int6, block 8x8>, !smx.tensor<?x8, int16, block 8x8> -> tensor<2x8xf32>
// OPTS-NEXT:   func.return %loss, %dW0, %db0, %dW1 : tensor<f32>, tensor<2x8xf32>, tensor<8xf32>, tensor<8x1xf32>
// OPTS-NEXT: }

// @predict evaluates the master weights in f32.
// CHECK-LABEL: func.func @predict(
// CHECK-NOT:     smx.quantize
// CHECK:         func.return

// BAD: error: bad options for pass 'smx-quantize': grad must be a bit width from 2 to 16, got 17
