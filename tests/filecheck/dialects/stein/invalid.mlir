// RUN: PINTAC_VERIFY_DIAG
// Every chunk must fail: none may print a module.
// RUN: pintac opt %s --split-input-file --verify-diagnostics | filecheck %s --check-prefix=NONE
// NONE-NOT: builtin.module

func.func @f(%x: tensor<?x2xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 0 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x0x2xf32>
  func.return
}
// CHECK: invalid.mlir:7:12: error: 'stein.sample' {{(op )?}}pairs must be at least 1, got 0

// -----

func.func @f(%x: tensor<?x2xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma -1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}sigma must be a positive number, got -0.01

// -----

func.func @f(%x: tensor<?x3xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 0.0 stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}sigma_t must be a positive number, got 0.0

// -----

func.func @f(%x: tensor<?x2xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 stream -1 : tensor<?x2xf32> -> tensor<?x4x2xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}stream must be in [0, 2^32), got -1

// -----

func.func @f(%x: tensor<?x2xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 512 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x256x2xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}result type tensor<?x256x2xf32> does not match the expected tensor<?x512x2xf32>

// -----

func.func @f(%t: tensor<?x1xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %t, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 1.000000e-02 stream 0 : tensor<?x1xf32> -> tensor<?x4x1xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}sigma_t applies to the last coordinate (time), so the points need at least one more coordinate; they have 1

// -----

func.func @f(%x: tensor<?x2xf32>, %seed: i32, %step: i64) {
  %delta = "stein.sample"(%x, %seed, %step) <{pairs = 4 : i64, sigma = 1.000000e-02 : f64, stream = 0 : i64}> : (tensor<?x2xf32>, i32, i64) -> tensor<?x4x2xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}the seed must be an i64 scalar, got i32

// -----

func.func @f(%x: tensor<?x?xf32>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 stream 0 : tensor<?x?xf32> -> tensor<?x4x?xf32>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}the number of coordinates D (dimension 1 of the points) must be static, got ?

// -----

func.func @f(%x: tensor<?x2xf64>, %seed: i64, %step: i64) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 stream 0 : tensor<?x2xf64> -> tensor<?x4x2xf64>
  func.return
}
// CHECK: error: 'stein.sample' {{(op )?}}the points must be a tensor<N x D x f32> (points x coordinates), got tensor<?x2xf64>

// -----

func.func @f(%x: tensor<?x2xf32>, %delta: tensor<?x4x3xf32>) {
  %batch = stein.perturb %x, %delta : tensor<?x2xf32>, tensor<?x4x3xf32> -> tensor<?x9x2xf32>
  func.return
}
// CHECK: error: 'stein.perturb' {{(op )?}}the points have 2 coordinates but the perturbations have 3

// -----

func.func @f(%x: tensor<8x2xf32>, %delta: tensor<4x4x2xf32>) {
  %batch = stein.perturb %x, %delta : tensor<8x2xf32>, tensor<4x4x2xf32> -> tensor<8x9x2xf32>
  func.return
}
// CHECK: error: 'stein.perturb' {{(op )?}}point counts differ: the points have 8 rows, the perturbations have 4

// -----

func.func @f(%x: tensor<?x2xf32>, %delta: tensor<?x4x2xf32>) {
  %batch = stein.perturb %x, %delta : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x8x2xf32>
  func.return
}
// CHECK: error: 'stein.perturb' {{(op )?}}result type tensor<?x8x2xf32> does not match the expected tensor<?x9x2xf32>

// -----

func.func @f(%d: tensor<?x1024x1xf32>, %delta: tensor<?x512x2xf32>) {
  %du = stein.grad %d, %delta sigma 1.000000e-02 : tensor<?x1024x1xf32>, tensor<?x512x2xf32> -> tensor<?x2xf32>
  func.return
}
// CHECK: error: 'stein.grad' {{(op )?}}expects 2K+1 = 1025 network values per point for 512 pairs (g(x), then g(x+δ_k), then g(x−δ_k)), got 1024; for DiffQuant differences add the 'differences' keyword

// -----

func.func @f(%g: tensor<?x1025x1xf32>, %delta: tensor<?x512x2xf32>) {
  %lap = stein.laplacian differences %g, %delta sigma 1.000000e-02 : tensor<?x1025x1xf32>, tensor<?x512x2xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian' {{(op )?}}the difference form expects 2K = 1024 differences per point for 512 pairs, got 1025; these look like the 2K+1 values: drop the 'differences' keyword

// -----

func.func @f(%g: tensor<?x1025x1xf32>, %delta: tensor<?x256x2xf32>) {
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x1025x1xf32>, tensor<?x256x2xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian' {{(op )?}}expects 2K+1 = 513 network values per point for 256 pairs (g(x), then g(x+δ_k), then g(x−δ_k)), got 1025{{$}}

// -----

func.func @f(%g: tensor<?x9x1xf32>, %delta: tensor<?x4x2xf32>) {
  %du = stein.grad %g, %delta sigma 1.000000e-02 dims 1 to 3 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x2xf32>
  func.return
}
// CHECK: error: 'stein.grad' {{(op )?}}dims 1 to 3 is not a non-empty range within the 2 coordinates [0, 2)

// -----

func.func @f(%g: tensor<?x9x1xf32>, %delta: tensor<?x4x2xf32>) {
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 dims 1 to 1 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian' {{(op )?}}dims 1 to 1 is not a non-empty range within the 2 coordinates [0, 2)

// -----

func.func @f(%x: tensor<?x2xf32>, %seed: i64, %step: i64, %g: tensor<?x9x1xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
  %du = stein.grad %g, %delta sigma 2.000000e-02 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x2xf32>
  func.return
}
// CHECK: error: 'stein.grad' {{(op )?}}sigma 0.02 differs from the sigma 0.01 that coordinate 0 of the perturbations was sampled with

// -----

func.func @f(%x: tensor<?x3xf32>, %seed: i64, %step: i64, %g: tensor<?x9x1xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 5.000000e-03 stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x9x1xf32>, tensor<?x4x3xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian' {{(op )?}}sigma 0.01 differs from the sigma_t 0.005 that coordinate 2 of the perturbations was sampled with

// -----

func.func @f(%g: tensor<?x9x1xf32>, %delta: tensor<?x4x3xf32>) {
  %du = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x9x1xf32>, tensor<?x4x3xf32> -> tensor<?x3xf32>
  func.return
}
// CHECK: error: 'stein.grad' {{(op )?}}result type tensor<?x3xf32> does not match the expected tensor<?x2xf32>

// -----

func.func @f(%g: tensor<?x9x2xf32>, %delta: tensor<?x4x2xf32>) {
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x9x2xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian' {{(op )?}}the estimators take a scalar network: the network values must have 1 output, got 2

// -----

func.func @f(%g: tensor<?x9x1xf32>, %delta: tensor<?x4x2xf32>) {
  %lap = stein.laplacian %g, %delta sigma 0.0 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian' {{(op )?}}sigma must be a positive number, got 0.0

// -----

// σ is a float literal.
func.func @f(%g: tensor<?x9x1xf32>, %delta: tensor<?x4x2xf32>) {
  %lap = stein.laplacian %g, %delta sigma 1 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: error: Expected float literal

// -----

func.func @f(%g: tensor<8x9x1xf32>, %delta: tensor<6x4x2xf32>) {
  %du = stein.grad %g, %delta sigma 1.000000e-02 : tensor<8x9x1xf32>, tensor<6x4x2xf32> -> tensor<8x2xf32>
  func.return
}
// CHECK: error: 'stein.grad' {{(op )?}}point counts differ: the network values have 8 rows, the perturbations have 6

// -----

func.func @f(%d: tensor<?x8x1xf32>) {
  %u = stein.center %d : tensor<?x8x1xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.center' {{(op )?}}expects 2K+1 network values per point (g(x), then g(x+δ_k), then g(x−δ_k)), got 8 (2K differences need the 'differences' form)

// -----

func.func @f(%d: tensor<?x8x1xf32>) {
  %us = "stein.smoothed"(%d) <{differences}> : (tensor<?x8x1xf32>) -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.smoothed' {{(op )?}}the difference form needs the base value g(x): 'stein.smoothed differences %d base %g0'

// -----

func.func @f(%g: tensor<?x9x1xf32>, %u: tensor<?x1xf32>) {
  %us = "stein.smoothed"(%g, %u) : (tensor<?x9x1xf32>, tensor<?x1xf32>) -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.smoothed' {{(op )?}}a base value is only taken by the 'differences' form

// -----

func.func @f(%g: tensor<?x9x1xf32>, %u: tensor<?x1xf32>) {
  %us = stein.smoothed differences %g base %u : tensor<?x9x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: error: 'stein.smoothed' {{(op )?}}the difference form expects 2K differences per point, got 9

// -----

func.func @f(%d: tensor<?x8x1xf32>, %u: tensor<?x1xf32>) {
  %us = stein.smoothed differences %d : tensor<?x8x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  func.return
}
// CHECK: invalid.mlir:{{[0-9]+}}:39: error: Expected 'base'

// -----

func.func @f(%delta: tensor<?x4x2xf32>) {
  %d0 = stein.difference_streams %delta : tensor<?x4x2xf32> -> tensor<?x9x2xf32>
  func.return
}
// CHECK: error: 'stein.difference_streams' {{(op )?}}result type tensor<?x9x2xf32> does not match the expected tensor<?x8x2xf32>

// -----

func.func @f(%zb: tensor<?x16xf32>, %zd: tensor<?x8x16xf32>) {
  %a = stein.diff_activation relu %zb, %zd : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x8x16xf32>
  func.return
}
// CHECK: error: unknown activation 'relu'; expected one of: tanh, sin, cos, exp, log, sqrt

// -----

func.func @f(%zb: tensor<?x16xf32>, %zd: tensor<?x8x32xf32>) {
  %a = stein.diff_activation tanh %zb, %zd : tensor<?x16xf32>, tensor<?x8x32xf32> -> tensor<?x8x32xf32>
  func.return
}
// CHECK: error: 'stein.diff_activation' {{(op )?}}the base stream has width 16 but the difference stream has 32

// -----

func.func @f(%zb: tensor<?x16xf32>, %zd: tensor<?x8x16xf32>) {
  %a = stein.diff_activation sin %zb, %zd : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x16xf32>
  func.return
}
// CHECK: error: 'stein.diff_activation' {{(op )?}}result type tensor<?x16xf32> must equal the difference stream's type tensor<?x8x16xf32>

// -----

func.func @f(%dout: tensor<?x3xf32>, %delta: tensor<?x4x3xf32>) {
  %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x3xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.grad_vjp' {{(op )?}}the cotangent must have 2 column(s) for dims 0 to 2, got 3

// -----

func.func @f(%dout: tensor<?x2xf32>, %delta: tensor<?x4x2xf32>) {
  %dl = stein.laplacian_vjp %dout, %delta sigma 1.000000e-02 : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian_vjp' {{(op )?}}the cotangent must have 1 column(s) for the Laplacian, got 2

// -----

func.func @f(%dout: tensor<?x?xf32>, %delta: tensor<?x4x2xf32>) {
  %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 : tensor<?x?xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.grad_vjp' {{(op )?}}the width of the cotangent (dimension 1) must be static, got ?

// -----

func.func @f(%dout: tensor<?x2xf32>, %delta: tensor<?x4x2xf32>) {
  %dd = stein.grad_vjp differences %dout, %delta sigma 1.000000e-02 : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.grad_vjp' {{(op )?}}result type tensor<?x9x1xf32> does not match the expected tensor<?x8x1xf32>

// -----

func.func @f(%dout: tensor<8x1xf32>, %delta: tensor<6x4x2xf32>) {
  %dl = stein.laplacian_vjp %dout, %delta sigma 1.000000e-02 : tensor<8x1xf32>, tensor<6x4x2xf32> -> tensor<8x9x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian_vjp' {{(op )?}}point counts differ: the cotangents have 8 rows, the perturbations have 6

// -----

func.func @f(%dout: tensor<?x1xf32>, %delta: tensor<?x4x2xf32>) {
  %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 dims 2 to 3 : tensor<?x1xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.grad_vjp' {{(op )?}}dims 2 to 3 is not a non-empty range within the 2 coordinates [0, 2)

// -----

func.func @f(%x: tensor<?x3xf32>, %seed: i64, %step: i64, %dout: tensor<?x1xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 5.000000e-03 stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>
  %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 dims 2 to 3 : tensor<?x1xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.grad_vjp' {{(op )?}}sigma 0.01 differs from the sigma_t 0.005 that coordinate 2 of the perturbations was sampled with

// -----

func.func @f(%dout: tensor<?x1xf32>, %delta: tensor<?x4x2xf32>) {
  %dl = stein.laplacian_vjp %dout, %delta sigma -1.000000e-02 : tensor<?x1xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.laplacian_vjp' {{(op )?}}sigma must be a positive number, got -0.01

// -----

func.func @f(%dout: tensor<?x1xf32>) {
  %dc = stein.center_vjp %dout pairs 0 : tensor<?x1xf32> -> tensor<?x1x1xf32>
  func.return
}
// CHECK: error: 'stein.center_vjp' {{(op )?}}pairs must be at least 1, got 0

// -----

func.func @f(%dout: tensor<?x1xf32>) {
  %dc = stein.center_vjp %dout pairs 4 : tensor<?x1xf32> -> tensor<?x8x1xf32>
  func.return
}
// CHECK: error: 'stein.center_vjp' {{(op )?}}result type tensor<?x8x1xf32> does not match the expected tensor<?x9x1xf32>

// -----

func.func @f(%dout: tensor<?x1xf32>) {
  %dc = "stein.center_vjp"(%dout) <{pairs = 4 : i64, differences}> : (tensor<?x1xf32>) -> tensor<?x8x1xf32>
  func.return
}
// CHECK: error: 'stein.center_vjp' {{(op )?}}has no difference form: under DiffQuant g(x) is the base stream, whose cotangent is dout itself

// -----

func.func @f(%dout: tensor<?x1xf32>) {
  %dc = stein.center_vjp differences %dout pairs 4 : tensor<?x1xf32> -> tensor<?x8x1xf32>
  func.return
}
// CHECK: invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: error: 'stein.center_vjp' {{(op )?}}has no difference form: under DiffQuant g(x) is the base stream, whose cotangent is dout itself

// -----

func.func @f(%dout: tensor<?x2xf32>) {
  %ds = stein.smoothed_vjp %dout pairs 4 : tensor<?x2xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.smoothed_vjp' {{(op )?}}the cotangent of a value estimate has 1 column, got 2

// -----

func.func @f(%dout: tensor<?x1xf32>) {
  %ds = stein.smoothed_vjp differences %dout pairs 4 : tensor<?x1xf32> -> tensor<?x9x1xf32>
  func.return
}
// CHECK: error: 'stein.smoothed_vjp' {{(op )?}}result type tensor<?x9x1xf32> does not match the expected tensor<?x8x1xf32>
