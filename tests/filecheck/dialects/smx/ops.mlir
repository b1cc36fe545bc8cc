// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// Every rounding mode; `rne` is the default and is not printed.
func.func @quantize(%x: tensor<?x256xf32>, %seed: i64, %step: i64) -> (!smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x256, int12, block 4x4>) {
  %rne = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
  %explicit_rne = smx.quantize %x rounding rne : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
  %away = smx.quantize %x rounding away : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
  %sr = smx.quantize %x rounding stochastic stream 7 key %seed, %step {tensor = "dY1"} : tensor<?x256xf32> -> !smx.tensor<?x256, int12, block 4x4>
  func.return %rne, %explicit_rne, %away, %sr : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x256, int12, block 4x4>
}

// CHECK-LABEL: func.func @quantize(%x: tensor<?x256xf32>, %seed: i64, %step: i64)
// CHECK-NEXT:    %rne = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
// CHECK-NEXT:    %explicit_rne = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
// CHECK-NEXT:    %away = smx.quantize %x rounding away : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
// CHECK-NEXT:    %sr = smx.quantize %x rounding stochastic stream 7 key %seed, %step {tensor = "dY1"} : tensor<?x256xf32> -> !smx.tensor<?x256, int12, block 4x4>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "quantize"
// CHECK-GENERIC:         %rne = "smx.quantize"(%x) <{rounding = #smx<rounding rne>}> : (tensor<?x256xf32>) -> !smx.tensor<?x256, int8, block 4x4>
// CHECK-GENERIC-NEXT:    %explicit_rne = "smx.quantize"(%x) <{rounding = #smx<rounding rne>}> : (tensor<?x256xf32>) -> !smx.tensor<?x256, int8, block 4x4>
// CHECK-GENERIC-NEXT:    %away = "smx.quantize"(%x) <{rounding = #smx<rounding away>}> : (tensor<?x256xf32>) -> !smx.tensor<?x256, int8, block 4x4>
// CHECK-GENERIC-NEXT:    %sr = "smx.quantize"(%x, %seed, %step) <{rounding = #smx<rounding stochastic>, stream = 7 : i64}> {tensor = "dY1"} : (tensor<?x256xf32>, i64, i64) -> !smx.tensor<?x256, int12, block 4x4>

// -----

// Dequantize: static, dynamic and rank-1 / rank-3 shapes.
func.func @dequantize(%a: !smx.tensor<?x?, int8, block 4x4>, %b: !smx.tensor<256, fp8_e4m3, block 1x32>, %c: !smx.tensor<2x?x64, int16, block 16x16>) -> (tensor<?x?xf32>, tensor<256xf32>, tensor<2x?x64xf32>) {
  %da = smx.dequantize %a : !smx.tensor<?x?, int8, block 4x4> -> tensor<?x?xf32>
  %db = smx.dequantize %b {tensor = "bias"} : !smx.tensor<256, fp8_e4m3, block 1x32> -> tensor<256xf32>
  %dc = smx.dequantize %c : !smx.tensor<2x?x64, int16, block 16x16> -> tensor<2x?x64xf32>
  func.return %da, %db, %dc : tensor<?x?xf32>, tensor<256xf32>, tensor<2x?x64xf32>
}

// CHECK-LABEL: func.func @dequantize
// CHECK-NEXT:    %da = smx.dequantize %a : !smx.tensor<?x?, int8, block 4x4> -> tensor<?x?xf32>
// CHECK-NEXT:    %db = smx.dequantize %b {tensor = "bias"} : !smx.tensor<256, fp8_e4m3, block 1x32> -> tensor<256xf32>
// CHECK-NEXT:    %dc = smx.dequantize %c : !smx.tensor<2x?x64, int16, block 16x16> -> tensor<2x?x64xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "dequantize"
// CHECK-GENERIC:         %da = "smx.dequantize"(%a) : (!smx.tensor<?x?, int8, block 4x4>) -> tensor<?x?xf32>
// CHECK-GENERIC-NEXT:    %db = "smx.dequantize"(%b) {tensor = "bias"} : (!smx.tensor<256, fp8_e4m3, block 1x32>) -> tensor<256xf32>
// CHECK-GENERIC-NEXT:    %dc = "smx.dequantize"(%c) : (!smx.tensor<2x?x64, int16, block 16x16>) -> tensor<2x?x64xf32>

// -----

// One linear layer Y = X W, trained: X and W are quantized once each and serve all three
// GEMMs through the transposes (Q(X)^T = Q(X^T) for square blocks).
func.func @linear_layer(%x: tensor<?x256xf32>, %w: tensor<256x64xf32>, %dy: tensor<?x64xf32>, %seed: i64, %step: i64) -> (tensor<?x64xf32>, tensor<?x256xf32>, tensor<256x64xf32>) {
  %qx = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
  %qw = smx.quantize %w : tensor<256x64xf32> -> !smx.tensor<256x64, int8, block 4x4>
  %qdy = smx.quantize %dy rounding stochastic stream 0 key %seed, %step : tensor<?x64xf32> -> !smx.tensor<?x64, int12, block 4x4>
  %y = train.gemm %qx, %qw role fwd : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x64xf32>
  %dx = train.gemm %qdy, %qw role dgrad transpose_b : !smx.tensor<?x64, int12, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x256xf32>
  %dw = train.gemm %qx, %qdy role wgrad transpose_a : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x64, int12, block 4x4> -> tensor<256x64xf32>
  func.return %y, %dx, %dw : tensor<?x64xf32>, tensor<?x256xf32>, tensor<256x64xf32>
}

// CHECK-LABEL: func.func @linear_layer
// CHECK:         %y = train.gemm %qx, %qw role fwd : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x64xf32>
// CHECK-NEXT:    %dx = train.gemm %qdy, %qw role dgrad transpose_b : !smx.tensor<?x64, int12, block 4x4>, !smx.tensor<256x64, int8, block 4x4> -> tensor<?x256xf32>
// CHECK-NEXT:    %dw = train.gemm %qx, %qdy role wgrad transpose_a : !smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x64, int12, block 4x4> -> tensor<256x64xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "linear_layer"
// CHECK-GENERIC:         %y = "train.gemm"(%qx, %qw) <{role = #train<role fwd>}> : (!smx.tensor<?x256, int8, block 4x4>, !smx.tensor<256x64, int8, block 4x4>) -> tensor<?x64xf32>
// CHECK-GENERIC-NEXT:    %dx = "train.gemm"(%qdy, %qw) <{role = #train<role dgrad>, transpose_b}> : (!smx.tensor<?x64, int12, block 4x4>, !smx.tensor<256x64, int8, block 4x4>) -> tensor<?x256xf32>
// CHECK-GENERIC-NEXT:    %dw = "train.gemm"(%qx, %qdy) <{role = #train<role wgrad>, transpose_a}> : (!smx.tensor<?x256, int8, block 4x4>, !smx.tensor<?x64, int12, block 4x4>) -> tensor<256x64xf32>

// -----

// Both transposes, an annotation, and dynamic dims on both sides.
func.func @both_transposed(%a: !smx.tensor<32x?, int8, block 8x8>, %b: !smx.tensor<?x32, int8, block 8x8>) -> tensor<?x?xf32> {
  %c = train.gemm %a, %b role fwd transpose_a transpose_b {tag = 1 : i64} : !smx.tensor<32x?, int8, block 8x8>, !smx.tensor<?x32, int8, block 8x8> -> tensor<?x?xf32>
  func.return %c : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @both_transposed
// CHECK-NEXT:    %c = train.gemm %a, %b role fwd transpose_a transpose_b {tag = 1 : i64} : !smx.tensor<32x?, int8, block 8x8>, !smx.tensor<?x32, int8, block 8x8> -> tensor<?x?xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "both_transposed"
// CHECK-GENERIC:         %c = "train.gemm"(%a, %b) <{role = #train<role fwd>, transpose_a, transpose_b}> {tag = 1 : i64} : (!smx.tensor<32x?, int8, block 8x8>, !smx.tensor<?x32, int8, block 8x8>) -> tensor<?x?xf32>

// -----

// 1-D OCP MX: the forward GEMM wants X blocked along its rows (1x32), the weight-gradient GEMM
// (X^T dY) wants it blocked along its columns (32x1), so X is quantized twice.
func.func @mx_two_copies(%x: tensor<?x256xf32>, %w: tensor<256x64xf32>, %dy: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<256x64xf32>) {
  %qx_rows = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, fp8_e4m3, block 1x32>
  %qw = smx.quantize %w : tensor<256x64xf32> -> !smx.tensor<256x64, fp8_e4m3, block 32x1>
  %y = train.gemm %qx_rows, %qw role fwd : !smx.tensor<?x256, fp8_e4m3, block 1x32>, !smx.tensor<256x64, fp8_e4m3, block 32x1> -> tensor<?x64xf32>
  %qx_cols = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, fp8_e4m3, block 32x1>
  %qdy = smx.quantize %dy rounding away : tensor<?x64xf32> -> !smx.tensor<?x64, fp8_e5m2, block 32x1>
  %dw = train.gemm %qx_cols, %qdy role wgrad transpose_a : !smx.tensor<?x256, fp8_e4m3, block 32x1>, !smx.tensor<?x64, fp8_e5m2, block 32x1> -> tensor<256x64xf32>
  func.return %y, %dw : tensor<?x64xf32>, tensor<256x64xf32>
}

// CHECK-LABEL: func.func @mx_two_copies
// CHECK-NEXT:    %qx_rows = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, fp8_e4m3, block 1x32>
// CHECK-NEXT:    %qw = smx.quantize %w : tensor<256x64xf32> -> !smx.tensor<256x64, fp8_e4m3, block 32x1>
// CHECK-NEXT:    %y = train.gemm %qx_rows, %qw role fwd : !smx.tensor<?x256, fp8_e4m3, block 1x32>, !smx.tensor<256x64, fp8_e4m3, block 32x1> -> tensor<?x64xf32>
// CHECK-NEXT:    %qx_cols = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, fp8_e4m3, block 32x1>
// CHECK-NEXT:    %qdy = smx.quantize %dy rounding away : tensor<?x64xf32> -> !smx.tensor<?x64, fp8_e5m2, block 32x1>
// CHECK-NEXT:    %dw = train.gemm %qx_cols, %qdy role wgrad transpose_a : !smx.tensor<?x256, fp8_e4m3, block 32x1>, !smx.tensor<?x64, fp8_e5m2, block 32x1> -> tensor<256x64xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "mx_two_copies"
// CHECK-GENERIC:         "train.gemm"(%qx_rows, %qw) <{role = #train<role fwd>}>
// CHECK-GENERIC:         "train.gemm"(%qx_cols, %qdy) <{role = #train<role wgrad>, transpose_a}>

// -----

// Every element kind, every SMX block size, as the format attribute and inside the type.
func.func @formats(%i2: !smx.tensor<?x8, int2, block 1x1>, %i4: !smx.tensor<?x8, int4, block 2x2>, %i12: !smx.tensor<?x64, int12, block 32x32>, %i16: !smx.tensor<?x64, int16, block 64x64>, %mxi: !smx.tensor<?x64, mxint8, block 1x32>, %e5m2: !smx.tensor<64x?, fp8_e5m2, block 32x1>, %e2m3: !smx.tensor<?x64, fp6_e2m3, block 1x32>, %e3m2: !smx.tensor<?x64, fp6_e3m2, block 1x32>, %e2m1: !smx.tensor<?x64, fp4_e2m1, block 1x32>, %v: !smx.tensor<7, int4, block 1x1>) attributes {smx.formats = [#smx.format<int8, block 4x4>, #smx.format<int3, block 8x8>, #smx.format<int16, block 16x16>, #smx.format<mxint8, block 32x1>, #smx.format<fp8_e4m3, block 1x32>, #smx.format<fp8_e5m2, block 1x32>, #smx.format<fp6_e2m3, block 32x1>, #smx.format<fp6_e3m2, block 32x1>, #smx.format<fp4_e2m1, block 1x32>]} {
  func.return
}

// CHECK-LABEL: func.func @formats
// CHECK-SAME:    (%i2: !smx.tensor<?x8, int2, block 1x1>, %i4: !smx.tensor<?x8, int4, block 2x2>, %i12: !smx.tensor<?x64, int12, block 32x32>, %i16: !smx.tensor<?x64, int16, block 64x64>,
// CHECK-SAME:    %mxi: !smx.tensor<?x64, mxint8, block 1x32>, %e5m2: !smx.tensor<64x?, fp8_e5m2, block 32x1>, %e2m3: !smx.tensor<?x64, fp6_e2m3, block 1x32>, %e3m2: !smx.tensor<?x64, fp6_e3m2, block 1x32>, %e2m1: !smx.tensor<?x64, fp4_e2m1, block 1x32>, %v: !smx.tensor<7, int4, block 1x1>)
// CHECK-SAME:    smx.formats = [#smx.format<int8, block 4x4>, #smx.format<int3, block 8x8>, #smx.format<int16, block 16x16>, #smx.format<mxint8, block 32x1>, #smx.format<fp8_e4m3, block 1x32>, #smx.format<fp8_e5m2, block 1x32>, #smx.format<fp6_e2m3, block 32x1>, #smx.format<fp6_e3m2, block 32x1>, #smx.format<fp4_e2m1, block 1x32>]

// Attributes and types print the same way in the generic form.
// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "formats"
// CHECK-GENERIC-SAME:    !smx.tensor<?x8, int2, block 1x1>
// CHECK-GENERIC-SAME:    !smx.tensor<7, int4, block 1x1>
// CHECK-GENERIC:         }) {smx.formats = [#smx.format<int8, block 4x4>, #smx.format<int3, block 8x8>, #smx.format<int16, block 16x16>, #smx.format<mxint8, block 32x1>, #smx.format<fp8_e4m3, block 1x32>, #smx.format<fp8_e5m2, block 1x32>, #smx.format<fp6_e2m3, block 32x1>, #smx.format<fp6_e3m2, block 32x1>, #smx.format<fp4_e2m1, block 1x32>]} : () -> ()
