// RUN: pintac opt %s -p 'tile-points{points=8}' | filecheck %s
// RUN: pintac opt %s -p 'tile-points{bytes=1}' | filecheck %s --check-prefix=SMALLEST
// RUN: pintac opt %s -p 'tile-points{points=8}' | pintac opt - | filecheck %s

// A step with the shapes of a Stein step: a forward on the points (1 row a point) and one on
// their perturbations (2 rows a point), a residual averaged into the loss, a bias gradient
// (column sum) and two weight gradients (GEMMs reducing over the points).
func.func @train_step(%W: tensor<2x8xf32> {train.role = "param:W"}, %b: tensor<8xf32> {train.role = "param:b"}, %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<2x8xf32> {train.role = "param:W"}, tensor<8xf32> {train.role = "param:b"}, tensor<f32> {train.role = "loss"}) {
  %qW = smx.quantize %W {smx.use = "weight"} : tensor<2x8xf32> -> !smx.tensor<2x8, int8, block 4x4>
  %qx = smx.quantize %x_pde {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
  %z = train.gemm %qx, %qW role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x8, int8, block 4x4> -> tensor<?x8xf32>
  %h = train.bias_add %z, %b : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
  %r = pinn.sum %h : tensor<?x8xf32> -> tensor<?x1xf32>
  %loss = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
  %dl = pinn.constant 1.0 : tensor<f32>
  %dr = train.mean_square_grad %r, %dl : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %dh = train.expand_columns %dr dims 0 to 1 : tensor<?x1xf32> -> tensor<?x8xf32>
  %qdh = smx.quantize %dh {smx.use = "gradient"} : tensor<?x8xf32> -> !smx.tensor<?x8, int12, block 4x4>
  %db = train.column_sum %dh : tensor<?x8xf32> -> tensor<8xf32>
  %dW = train.gemm %qx, %qdh role wgrad transpose_a : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x8, int12, block 4x4> -> tensor<2x8xf32>
  %delta = stein.sample %x_pde, %seed, %step pairs 2 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x2x2xf32>
  %d = train.flatten %delta : tensor<?x2x2xf32> -> tensor<?x2xf32>
  %qd = smx.quantize %d {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
  %zd = train.gemm %qd, %qW role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x8, int8, block 4x4> -> tensor<?x8xf32>
  %qzd = smx.quantize %zd {smx.use = "gradient"} : tensor<?x8xf32> -> !smx.tensor<?x8, int12, block 4x4>
  %dWd = train.gemm %qd, %qzd role wgrad transpose_a : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x8, int12, block 4x4> -> tensor<2x8xf32>
  %dW2 = arith.addf %dW, %dWd : tensor<2x8xf32>
  func.return %dW2, %db, %loss : tensor<2x8xf32>, tensor<8xf32>, tensor<f32>
}

// The weight side stays before the loop; the counted batch and the accumulators' zeros come
// next (a running column sum starts from -0.0, a GEMM's from an exact zero).
// CHECK-LABEL: func.func @train_step(
// CHECK:         %qW = smx.quantize %W {smx.use = "weight"}
// CHECK-NEXT:    %dl = pinn.constant 1.0 : tensor<f32>
// CHECK-NEXT:    %n_pde = tile.rows %x_pde : tensor<?x2xf32>
// CHECK-NEXT:    %zero0_pde = tile.zero : tensor<8xf32>
// CHECK-NEXT:    %zero1_pde = tile.zero : !tile.exact<2x8>
// CHECK-NEXT:    %zero2_pde = tile.zero : !tile.exact<2x8>
// CHECK-NEXT:    %db, %sum1_pde, %sum2_pde, %r = tile.loop (%first_pde, %x_pde_tile) over %x_pde : tensor<?x2xf32> by 8 carry (%acc0_pde = %zero0_pde, %acc1_pde = %zero1_pde, %acc2_pde = %zero2_pde) : (tensor<8xf32>, !tile.exact<2x8>, !tile.exact<2x8>) gather (tensor<?x1xf32>) {
// Every op reading the points runs on the tile; the draws are told the tile's first row, the
// mean's gradient the whole batch's count.
// CHECK-NEXT:      %qx = smx.quantize %x_pde_tile {smx.use = "activation"}
// CHECK-NEXT:      %z = train.gemm %qx, %qW role fwd
// CHECK-NEXT:      %h = train.bias_add %z, %b
// CHECK-NEXT:      %r_1 = pinn.sum %h
// CHECK-NEXT:      %dr = train.mean_square_grad %r_1, %dl over %n_pde : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
// CHECK-NEXT:      %dh = train.expand_columns %dr dims 0 to 1
// CHECK-NEXT:      %qdh = smx.quantize %dh {smx.use = "gradient"}
// CHECK-NEXT:      %acc0_pde_next = tile.accumulate_rows %acc0_pde, %dh : tensor<8xf32>, tensor<?x8xf32>
// CHECK-NEXT:      %acc1_pde_next = tile.accumulate_gemm %acc1_pde, %qx, %qdh role wgrad transpose_a : !tile.exact<2x8>, !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x8, int12, block 4x4>
// CHECK-NEXT:      %delta = stein.sample %x_pde_tile, %seed, %step at %first_pde pairs 2 sigma 1.000000e-02 stream 0
// CHECK-NEXT:      %d = train.flatten %delta
// CHECK-NEXT:      %qd = smx.quantize %d {smx.use = "activation"}
// CHECK-NEXT:      %zd = train.gemm %qd, %qW role fwd
// CHECK-NEXT:      %qzd = smx.quantize %zd {smx.use = "gradient"}
// CHECK-NEXT:      %acc2_pde_next = tile.accumulate_gemm %acc2_pde, %qd, %qzd role wgrad transpose_a
// CHECK-NEXT:      tile.yield %acc0_pde_next, %acc1_pde_next, %acc2_pde_next, %r_1 : tensor<8xf32>, !tile.exact<2x8>, !tile.exact<2x8>, tensor<?x1xf32>
// CHECK-NEXT:    }
// After the loop: each GEMM's exact sum rounded once, the loss on the gathered residual.
// CHECK-NEXT:    %dW = tile.round %sum1_pde : !tile.exact<2x8> -> tensor<2x8xf32>
// CHECK-NEXT:    %dWd = tile.round %sum2_pde : !tile.exact<2x8> -> tensor<2x8xf32>
// CHECK-NEXT:    %loss = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
// CHECK-NEXT:    %dW2 = arith.addf %dW, %dWd : tensor<2x8xf32>
// CHECK-NEXT:    func.return %dW2, %db, %loss

// The smallest admissible tile: 4 points, so that %qx's rows (1 a point) and %qd's (2 a
// point) are whole 4-row blocks.
// SMALLEST: tile.loop (%first_pde, %x_pde_tile) over %x_pde : tensor<?x2xf32> by 4 carry
