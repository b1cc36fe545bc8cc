// RUN: PINTAC_VERIFY_DIAG
// Each chunk holds one mistake; its CHECK names the line the error must point at.

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: element kind int1: bit width 1 out of range (intN needs 2 <= N <= 16)
func.func @int1(%x: !smx.tensor<4x4, int1, block 4x4>) {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: element kind int17: bit width 17 out of range (intN needs 2 <= N <= 16)
func.func @int17() attributes {f = #smx.format<int17, block 4x4>} {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: element kind int0: bit width 0 out of range
func.func @int0() attributes {f = #smx.format<int0, block 4x4>} {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: unknown element kind 'uint8'; valid kinds: int2..int16 (SMX), mxint8, fp8_e4m3, fp8_e5m2, fp6_e2m3, fp6_e3m2, fp4_e2m1 (OCP MX)
func.func @unknown_kind(%x: !smx.tensor<4x4, uint8, block 4x4>) {
  func.return
}

// -----

// Leading zeros are not a spelling of int8.
// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: unknown element kind 'int08'
func.func @noncanonical_kind() attributes {f = #smx.format<int08, block 4x4>} {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: an intN block is square (SMX) or 1x32 / 32x1 (1-D MX), got 4x8
func.func @not_square(%x: !smx.tensor<?x256, int8, block 4x8>) {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: smx block must be a power of two between 1 and 64, got 6x6: a non-dividing block would straddle the accelerator's power-of-two PE tiles
func.func @not_power_of_two(%x: !smx.tensor<?x256, int8, block 6x6>) {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: smx block must be a power of two between 1 and 64, got 128x128
func.func @too_large() attributes {f = #smx.format<int8, block 128x128>} {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: block sizes must be positive, got 0x4
func.func @zero_block() attributes {f = #smx.format<int8, block 0x4>} {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: block sizes must be positive, got -4x-4
func.func @negative_block(%x: !smx.tensor<?x256, int8, block -4x-4>) {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: fp8_e4m3 is a 1-D OCP MX format: its block must be 1x32 or 32x1, got 4x4
func.func @mx_square_block(%x: !smx.tensor<?x256, fp8_e4m3, block 4x4>) {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: fp4_e2m1 is a 1-D OCP MX format: its block must be 1x32 or 32x1, got 1x16
func.func @mx_short_block() attributes {f = #smx.format<fp4_e2m1, block 1x16>} {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: a rank-1 smx.tensor is quantized as one row, so its block must have one row (1xK), got 4x4
func.func @rank1_square(%x: !smx.tensor<256, int8, block 4x4>) {
  func.return
}

// -----

// CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: smx.tensor needs a shape of rank >= 1 before its format, e.g. !smx.tensor<?x256, int8, block 4x4>
func.func @rank0(%x: !smx.tensor<int8, block 4x4>) {
  func.return
}

// -----

func.func @quantize_shape(%x: tensor<?x256xf32>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.quantize' {{(op )?}}result shape ?x128 does not match input shape ?x256
  %q = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x128, int8, block 4x4>
  func.return
}

// -----

// A static dimension is not interchangeable with a dynamic one: quantize keeps the shape.
func.func @quantize_static_vs_dynamic(%x: tensor<?x256xf32>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.quantize' {{(op )?}}result shape 8x256 does not match input shape ?x256
  %q = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<8x256, int8, block 4x4>
  func.return
}

// -----

func.func @quantize_f16(%x: tensor<?x256xf16>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.quantize' {{(op )?}}the input must be an f32 tensor, got tensor<?x256xf16>
  %q = smx.quantize %x : tensor<?x256xf16> -> !smx.tensor<?x256, int8, block 4x4>
  func.return
}

// -----

func.func @quantize_to_builtin(%x: tensor<?x256xf32>) {
  // CHECK: {{.*}}invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: error: tensor<?x256xf32> should be of base attribute smx.tensor
  %q = smx.quantize %x : tensor<?x256xf32> -> tensor<?x256xf32>
  func.return
}

// -----

func.func @stochastic_without_stream(%x: tensor<?x256xf32>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.quantize' {{(op )?}}stochastic rounding needs a 'stream' and the step's key (the RNG draws that make it reproducible), e.g. `rounding stochastic stream 0 key %seed, %step`
  %q = smx.quantize %x rounding stochastic : tensor<?x256xf32> -> !smx.tensor<?x256, int12, block 4x4>
  func.return
}

// -----

func.func @stream_without_stochastic(%x: tensor<?x256xf32>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.quantize' {{(op )?}}'stream' and 'key' are only meaningful with stochastic rounding, not away
  %q = smx.quantize %x rounding away stream 2 : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
  func.return
}

// -----

func.func @negative_stream(%x: tensor<?x256xf32>, %seed: i64, %step: i64) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.quantize' {{(op )?}}stream must be >= 0, got -1
  %q = smx.quantize %x rounding stochastic stream -1 key %seed, %step : tensor<?x256xf32> -> !smx.tensor<?x256, int12, block 4x4>
  func.return
}

// -----

func.func @unknown_rounding(%x: tensor<?x256xf32>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: Expected `rne`, `away`, or `stochastic`.
  %q = smx.quantize %x rounding nearest : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
  func.return
}

// -----

func.func @dequantize_shape(%q: !smx.tensor<?x256, int8, block 4x4>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.dequantize' {{(op )?}}result shape 4x256 does not match input shape ?x256
  %d = smx.dequantize %q : !smx.tensor<?x256, int8, block 4x4> -> tensor<4x256xf32>
  func.return
}

// -----

func.func @dequantize_f64(%q: !smx.tensor<?x256, int8, block 4x4>) {
  // CHECK: {{.*}}invalid.mlir:[[# @LINE + 1]]:{{[0-9]+}}: error: 'smx.dequantize' {{(op )?}}the result must be an f32 tensor, got tensor<?x256xf64>
  %d = smx.dequantize %q : !smx.tensor<?x256, int8, block 4x4> -> tensor<?x256xf64>
  func.return
}
