// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP

// Poisson-like: one sample set shared by a Laplacian, a gradient, g(x) and the smoothed value.
func.func @space(%x: tensor<?x2xf32>, %seed: i64, %step: i64, %g: tensor<?x1025x1xf32>) -> (tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x1xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 512 sigma 0.01 stream 0 : tensor<?x2xf32> -> tensor<?x512x2xf32>
  %batch = stein.perturb %x, %delta : tensor<?x2xf32>, tensor<?x512x2xf32> -> tensor<?x1025x2xf32>
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x1025x1xf32>, tensor<?x512x2xf32> -> tensor<?x1xf32>
  %du = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x1025x1xf32>, tensor<?x512x2xf32> -> tensor<?x2xf32>
  %u = stein.center %g : tensor<?x1025x1xf32> -> tensor<?x1xf32>
  %us = stein.smoothed %g {note = "boundary"} : tensor<?x1025x1xf32> -> tensor<?x1xf32>
  func.return %lap, %du, %u, %us : tensor<?x1xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x1xf32>
}

// CHECK-LABEL: func.func @space
// CHECK-NEXT:    %delta = stein.sample %x, %seed, %step pairs 512 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x512x2xf32>
// CHECK-NEXT:    %batch = stein.perturb %x, %delta : tensor<?x2xf32>, tensor<?x512x2xf32> -> tensor<?x1025x2xf32>
// CHECK-NEXT:    %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x1025x1xf32>, tensor<?x512x2xf32> -> tensor<?x1xf32>
// Without `dims` an estimator covers every coordinate; a range written out is kept as written.
// CHECK-NEXT:    %du = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x1025x1xf32>, tensor<?x512x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %u = stein.center %g : tensor<?x1025x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %us = stein.smoothed %g {note = "boundary"} : tensor<?x1025x1xf32> -> tensor<?x1xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "space"
// CHECK-GENERIC:       %delta = "stein.sample"(%x, %seed, %step) <{pairs = 512 : i64, sigma = 1.000000e-02 : f64, stream = 0 : i64}> : (tensor<?x2xf32>, i64, i64) -> tensor<?x512x2xf32>
// CHECK-GENERIC-NEXT:  %batch = "stein.perturb"(%x, %delta) : (tensor<?x2xf32>, tensor<?x512x2xf32>) -> tensor<?x1025x2xf32>
// CHECK-GENERIC-NEXT:  %lap = "stein.laplacian"(%g, %delta) <{sigma = 1.000000e-02 : f64}> : (tensor<?x1025x1xf32>, tensor<?x512x2xf32>) -> tensor<?x1xf32>
// CHECK-GENERIC-NEXT:  %du = "stein.grad"(%g, %delta) <{sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 2 : i64}> : (tensor<?x1025x1xf32>, tensor<?x512x2xf32>) -> tensor<?x2xf32>
// CHECK-GENERIC-NEXT:  %u = "stein.center"(%g) : (tensor<?x1025x1xf32>) -> tensor<?x1xf32>
// CHECK-GENERIC-NEXT:  %us = "stein.smoothed"(%g) {note = "boundary"} : (tensor<?x1025x1xf32>) -> tensor<?x1xf32>

// -----

// Time-dependent (x, t): the last coordinate has its own sigma_t; ∂u/∂t is a one-coordinate grad.
func.func @space_time(%x: tensor<8x21xf32>, %seed: i64, %step: i64, %g: tensor<8x9x1xf32>) -> (tensor<8x1xf32>, tensor<8x1xf32>, tensor<8x20xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 5.000000e-03 stream 3 : tensor<8x21xf32> -> tensor<8x4x21xf32>
  %batch = stein.perturb %x, %delta : tensor<8x21xf32>, tensor<8x4x21xf32> -> tensor<8x9x21xf32>
  %ut = stein.grad %g, %delta sigma 5.000000e-03 dims 20 to 21 : tensor<8x9x1xf32>, tensor<8x4x21xf32> -> tensor<8x1xf32>
  %lap = stein.laplacian %g, %delta sigma 1.000000e-02 dims 0 to 20 : tensor<8x9x1xf32>, tensor<8x4x21xf32> -> tensor<8x1xf32>
  %du = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 20 : tensor<8x9x1xf32>, tensor<8x4x21xf32> -> tensor<8x20xf32>
  func.return %ut, %lap, %du : tensor<8x1xf32>, tensor<8x1xf32>, tensor<8x20xf32>
}

// CHECK-LABEL: func.func @space_time
// CHECK-NEXT:    %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 5.000000e-03 stream 3 : tensor<8x21xf32> -> tensor<8x4x21xf32>
// CHECK-NEXT:    %batch = stein.perturb %x, %delta : tensor<8x21xf32>, tensor<8x4x21xf32> -> tensor<8x9x21xf32>
// CHECK-NEXT:    %ut = stein.grad %g, %delta sigma 5.000000e-03 dims 20 to 21 : tensor<8x9x1xf32>, tensor<8x4x21xf32> -> tensor<8x1xf32>
// CHECK-NEXT:    %lap = stein.laplacian %g, %delta sigma 1.000000e-02 dims 0 to 20 : tensor<8x9x1xf32>, tensor<8x4x21xf32> -> tensor<8x1xf32>
// CHECK-NEXT:    %du = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 20 : tensor<8x9x1xf32>, tensor<8x4x21xf32> -> tensor<8x20xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "space_time"
// CHECK-GENERIC:       "stein.sample"(%x, %seed, %step) <{pairs = 4 : i64, sigma = 1.000000e-02 : f64, sigma_t = 5.000000e-03 : f64, stream = 3 : i64}>
// CHECK-GENERIC:       "stein.grad"(%g, %delta) <{sigma = 5.000000e-03 : f64, dim_lo = 20 : i64, dim_hi = 21 : i64}>
// CHECK-GENERIC-NEXT:  "stein.laplacian"(%g, %delta) <{sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 20 : i64}>

// -----

// DiffQuant: the difference streams and the difference form of every estimator that has one.
func.func @differences(%x: tensor<?x2xf32>, %seed: i64, %step: i64, %zb: tensor<?x256xf32>, %zd: tensor<?x1024x256xf32>, %d: tensor<?x1024x1xf32>, %u: tensor<?x1xf32>) -> (tensor<?x1024x2xf32>, tensor<?x1024x256xf32>, tensor<?x1024x256xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x1xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 512 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x512x2xf32>
  %d0 = stein.difference_streams %delta : tensor<?x512x2xf32> -> tensor<?x1024x2xf32>
  %a_tanh = stein.diff_activation tanh %zb, %zd : tensor<?x256xf32>, tensor<?x1024x256xf32> -> tensor<?x1024x256xf32>
  %a_sin = stein.diff_activation sin %zb, %zd : tensor<?x256xf32>, tensor<?x1024x256xf32> -> tensor<?x1024x256xf32>
  %du = stein.grad differences %d, %delta sigma 1.000000e-02 : tensor<?x1024x1xf32>, tensor<?x512x2xf32> -> tensor<?x2xf32>
  %lap = stein.laplacian differences %d, %delta sigma 1.000000e-02 dims 0 to 1 : tensor<?x1024x1xf32>, tensor<?x512x2xf32> -> tensor<?x1xf32>
  %us = stein.smoothed differences %d base %u : tensor<?x1024x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  func.return %d0, %a_tanh, %a_sin, %du, %lap, %us : tensor<?x1024x2xf32>, tensor<?x1024x256xf32>, tensor<?x1024x256xf32>, tensor<?x2xf32>, tensor<?x1xf32>, tensor<?x1xf32>
}

// CHECK-LABEL: func.func @differences
// CHECK-NEXT:    %delta = stein.sample
// CHECK-NEXT:    %d0 = stein.difference_streams %delta : tensor<?x512x2xf32> -> tensor<?x1024x2xf32>
// CHECK-NEXT:    %a_tanh = stein.diff_activation tanh %zb, %zd : tensor<?x256xf32>, tensor<?x1024x256xf32> -> tensor<?x1024x256xf32>
// CHECK-NEXT:    %a_sin = stein.diff_activation sin %zb, %zd : tensor<?x256xf32>, tensor<?x1024x256xf32> -> tensor<?x1024x256xf32>
// CHECK-NEXT:    %du = stein.grad differences %d, %delta sigma 1.000000e-02 : tensor<?x1024x1xf32>, tensor<?x512x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %lap = stein.laplacian differences %d, %delta sigma 1.000000e-02 dims 0 to 1 : tensor<?x1024x1xf32>, tensor<?x512x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:    %us = stein.smoothed differences %d base %u : tensor<?x1024x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "differences"
// CHECK-GENERIC:       %d0 = "stein.difference_streams"(%delta) : (tensor<?x512x2xf32>) -> tensor<?x1024x2xf32>
// CHECK-GENERIC-NEXT:  %a_tanh = "stein.diff_activation"(%zb, %zd) <{activation = #train<activation tanh>}> : (tensor<?x256xf32>, tensor<?x1024x256xf32>) -> tensor<?x1024x256xf32>
// CHECK-GENERIC-NEXT:  %a_sin = "stein.diff_activation"(%zb, %zd) <{activation = #train<activation sin>}>
// CHECK-GENERIC-NEXT:  %du = "stein.grad"(%d, %delta) <{differences, sigma = 1.000000e-02 : f64}> : (tensor<?x1024x1xf32>, tensor<?x512x2xf32>) -> tensor<?x2xf32>
// CHECK-GENERIC-NEXT:  %lap = "stein.laplacian"(%d, %delta) <{differences, sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 1 : i64}>
// CHECK-GENERIC-NEXT:  %us = "stein.smoothed"(%d, %u) <{differences}> : (tensor<?x1024x1xf32>, tensor<?x1xf32>) -> tensor<?x1xf32>

// -----

// Backward: the transposes (VJPs) of the estimators w.r.t. the network values.
func.func @vjp(%x: tensor<?x3xf32>, %seed: i64, %step: i64, %dgrad: tensor<?x2xf32>, %dt: tensor<?x1xf32>, %dlap: tensor<8x1xf32>) -> (tensor<?x9x1xf32>, tensor<?x9x1xf32>, tensor<?x9x1xf32>, tensor<8x9x1xf32>, tensor<8x8x1xf32>, tensor<?x9x1xf32>, tensor<?x9x1xf32>, tensor<?x8x1xf32>) {
  %delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 5.000000e-03 stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>
  %dg = stein.grad_vjp %dgrad, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x2xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
  %dgt = stein.grad_vjp %dt, %delta sigma 5.000000e-03 dims 2 to 3 : tensor<?x1xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
  %dgd = "stein.grad_vjp"(%dt, %delta) <{sigma = 5.000000e-03 : f64, dim_lo = 2 : i64, dim_hi = 3 : i64}> {note = "generic"} : (tensor<?x1xf32>, tensor<?x4x3xf32>) -> tensor<?x9x1xf32>
  %dl = stein.laplacian_vjp %dlap, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<8x1xf32>, tensor<?x4x3xf32> -> tensor<8x9x1xf32>
  %dld = stein.laplacian_vjp differences %dlap, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<8x1xf32>, tensor<?x4x3xf32> -> tensor<8x8x1xf32>
  %dc = stein.center_vjp %dt pairs 4 : tensor<?x1xf32> -> tensor<?x9x1xf32>
  %ds = stein.smoothed_vjp %dt pairs 4 : tensor<?x1xf32> -> tensor<?x9x1xf32>
  %dsd = stein.smoothed_vjp differences %dt pairs 4 : tensor<?x1xf32> -> tensor<?x8x1xf32>
  func.return %dg, %dgt, %dgd, %dl, %dld, %dc, %ds, %dsd : tensor<?x9x1xf32>, tensor<?x9x1xf32>, tensor<?x9x1xf32>, tensor<8x9x1xf32>, tensor<8x8x1xf32>, tensor<?x9x1xf32>, tensor<?x9x1xf32>, tensor<?x8x1xf32>
}

// CHECK-LABEL: func.func @vjp
// CHECK-NEXT:    %delta = stein.sample
// CHECK-NEXT:    %dg = stein.grad_vjp %dgrad, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x2xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:    %dgt = stein.grad_vjp %dt, %delta sigma 5.000000e-03 dims 2 to 3 : tensor<?x1xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:    %dgd = stein.grad_vjp %dt, %delta sigma 5.000000e-03 dims 2 to 3 {note = "generic"} : tensor<?x1xf32>, tensor<?x4x3xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:    %dl = stein.laplacian_vjp %dlap, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<8x1xf32>, tensor<?x4x3xf32> -> tensor<8x9x1xf32>
// CHECK-NEXT:    %dld = stein.laplacian_vjp differences %dlap, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<8x1xf32>, tensor<?x4x3xf32> -> tensor<8x8x1xf32>
// CHECK-NEXT:    %dc = stein.center_vjp %dt pairs 4 : tensor<?x1xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:    %ds = stein.smoothed_vjp %dt pairs 4 : tensor<?x1xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:    %dsd = stein.smoothed_vjp differences %dt pairs 4 : tensor<?x1xf32> -> tensor<?x8x1xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "vjp"
// CHECK-GENERIC:       %dg = "stein.grad_vjp"(%dgrad, %delta) <{sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 2 : i64}> : (tensor<?x2xf32>, tensor<?x4x3xf32>) -> tensor<?x9x1xf32>
// CHECK-GENERIC-NEXT:  %dgt = "stein.grad_vjp"(%dt, %delta) <{sigma = 5.000000e-03 : f64, dim_lo = 2 : i64, dim_hi = 3 : i64}>
// CHECK-GENERIC-NEXT:  %dgd = "stein.grad_vjp"(%dt, %delta) <{sigma = 5.000000e-03 : f64, dim_lo = 2 : i64, dim_hi = 3 : i64}> {note = "generic"}
// CHECK-GENERIC-NEXT:  %dl = "stein.laplacian_vjp"(%dlap, %delta) <{sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 2 : i64}> : (tensor<8x1xf32>, tensor<?x4x3xf32>) -> tensor<8x9x1xf32>
// CHECK-GENERIC-NEXT:  %dld = "stein.laplacian_vjp"(%dlap, %delta) <{differences, sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 2 : i64}> : (tensor<8x1xf32>, tensor<?x4x3xf32>) -> tensor<8x8x1xf32>
// CHECK-GENERIC-NEXT:  %dc = "stein.center_vjp"(%dt) <{pairs = 4 : i64}> : (tensor<?x1xf32>) -> tensor<?x9x1xf32>
// CHECK-GENERIC-NEXT:  %ds = "stein.smoothed_vjp"(%dt) <{pairs = 4 : i64}> : (tensor<?x1xf32>) -> tensor<?x9x1xf32>
// CHECK-GENERIC-NEXT:  %dsd = "stein.smoothed_vjp"(%dt) <{differences, pairs = 4 : i64}> : (tensor<?x1xf32>) -> tensor<?x8x1xf32>

// -----

// As for the estimators: without `dims` all coordinates; a range written out is kept.
func.func @vjp_full_range(%dout: tensor<?x2xf32>, %dlap: tensor<?x1xf32>, %delta: tensor<?x4x2xf32>) -> (tensor<?x9x1xf32>, tensor<?x9x1xf32>) {
  %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  %dl = stein.laplacian_vjp %dlap, %delta sigma 2.000000e-02 : tensor<?x1xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
  func.return %dg, %dl : tensor<?x9x1xf32>, tensor<?x9x1xf32>
}

// CHECK-LABEL: func.func @vjp_full_range
// CHECK-NEXT:    %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 dims 0 to 2 : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:    %dl = stein.laplacian_vjp %dlap, %delta sigma 2.000000e-02 : tensor<?x1xf32>, tensor<?x4x2xf32> -> tensor<?x9x1xf32>

// CHECK-GENERIC-LABEL: "func.func"() <{sym_name = "vjp_full_range"
// CHECK-GENERIC:       "stein.grad_vjp"(%dout, %delta) <{sigma = 1.000000e-02 : f64, dim_lo = 0 : i64, dim_hi = 2 : i64}>
// CHECK-GENERIC-NEXT:  "stein.laplacian_vjp"(%dlap, %delta) <{sigma = 2.000000e-02 : f64}>
