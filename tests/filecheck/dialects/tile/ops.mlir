// RUN: PINTAC_ROUNDTRIP
// RUN: PINTAC_GENERIC_ROUNDTRIP
// RUN: pintac opt %s | pintac opt | filecheck %s

// A loop over tiles of 64 points: a GEMM's products summed exactly over the tiles, a running
// column sum, and a per-point value gathered; the count and the zeros before it.
func.func @loop(%x_pde: tensor<?x2xf32>, %w: tensor<2x16xf32>) -> (tensor<2x16xf32>, tensor<16xf32>, tensor<?x16xf32>, index) {
  %n = tile.rows %x_pde : tensor<?x2xf32>
  %acc0 = tile.zero : !tile.exact<2x16>
  %col0 = tile.zero : tensor<16xf32>
  %a, %c, %g = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 64 carry (%acc = %acc0, %col = %col0) : (!tile.exact<2x16>, tensor<16xf32>) gather (tensor<?x16xf32>) {
    %z = train.gemm %x, %w role fwd : tensor<?x2xf32>, tensor<2x16xf32> -> tensor<?x16xf32>
    %acc1 = tile.accumulate_gemm %acc, %x, %z role wgrad transpose_a : !tile.exact<2x16>, tensor<?x2xf32>, tensor<?x16xf32>
    %col1 = tile.accumulate_rows %col, %z : tensor<16xf32>, tensor<?x16xf32>
    tile.yield %acc1, %col1, %z : !tile.exact<2x16>, tensor<16xf32>, tensor<?x16xf32>
  }
  %dw = tile.round %a : !tile.exact<2x16> -> tensor<2x16xf32>
  func.return %dw, %c, %g, %n : tensor<2x16xf32>, tensor<16xf32>, tensor<?x16xf32>, index
}
// CHECK-LABEL: func.func @loop(
// CHECK:         %n = tile.rows %x_pde : tensor<?x2xf32>
// CHECK-NEXT:    %acc0 = tile.zero : !tile.exact<2x16>
// CHECK-NEXT:    %col0 = tile.zero : tensor<16xf32>
// CHECK-NEXT:    %a, %c, %g = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 64 carry (%acc = %acc0, %col = %col0) : (!tile.exact<2x16>, tensor<16xf32>) gather (tensor<?x16xf32>) {
// CHECK-NEXT:      %z = train.gemm %x, %w role fwd
// CHECK-NEXT:      %acc1 = tile.accumulate_gemm %acc, %x, %z role wgrad transpose_a : !tile.exact<2x16>, tensor<?x2xf32>, tensor<?x16xf32>
// CHECK-NEXT:      %col1 = tile.accumulate_rows %col, %z : tensor<16xf32>, tensor<?x16xf32>
// CHECK-NEXT:      tile.yield %acc1, %col1, %z : !tile.exact<2x16>, tensor<16xf32>, tensor<?x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %dw = tile.round %a : !tile.exact<2x16> -> tensor<2x16xf32>

// A loop with nothing carried or gathered prints neither clause.
func.func @bare(%x_pde: tensor<?x2xf32>) {
  tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 4 {
    tile.yield
  }
  func.return
}
// CHECK-LABEL: func.func @bare(
// CHECK:         tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 4 {
// CHECK-NEXT:      tile.yield
// CHECK-NEXT:    }

// The generic form: the tile size is a property, the body's arguments are the tile's first
// row, its rows and the accumulators.
// CHECK-GENERIC:      "tile.loop"(%x_pde, %acc0, %col0) <{tile = 64 : i64}> ({
// CHECK-GENERIC-NEXT: ^bb0(%first: index, %x: tensor<?x2xf32>, %acc: !tile.exact<2x16>, %col: tensor<16xf32>):
// CHECK-GENERIC:      }) : (tensor<?x2xf32>, !tile.exact<2x16>, tensor<16xf32>) -> (!tile.exact<2x16>, tensor<16xf32>, tensor<?x16xf32>)

// A loop over tiles of 4 of each point's 8 streams, nested in a loop over points: it carries
// the outer loop's exact accumulator on, runs a sum per point over the streams, reads a
// per-point value's tile by `tile.slice` and gathers a value along the streams.
func.func @streams(%x_pde: tensor<?x2xf32>, %d: tensor<?x8x2xf32>, %g: tensor<?x8x1xf32>) -> (tensor<2x2xf32>, tensor<?x2xf32>, tensor<?x8x1xf32>) {
  %acc0 = tile.zero : !tile.exact<2x2>
  %a, %sums = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 1 carry (%acc = %acc0) : (!tile.exact<2x2>) gather (tensor<?x2xf32>) {
    %s0 = tile.zero like %x : tensor<?x2xf32>
    %acc_next, %sum, %gd = tile.loop (%s, %d_t) over %d : tensor<?x8x2xf32> axis 1 by 4 carry (%acc_s = %acc, %sum_s = %s0) : (!tile.exact<2x2>, tensor<?x2xf32>) gather (tensor<?x8x1xf32>) {
      %g_t = tile.slice %g at %s : tensor<?x8x1xf32> -> tensor<?x4x1xf32>
      %rows = train.flatten %d_t : tensor<?x4x2xf32> -> tensor<?x2xf32>
      %acc_s1 = tile.accumulate_gemm %acc_s, %rows, %rows role wgrad transpose_a : !tile.exact<2x2>, tensor<?x2xf32>, tensor<?x2xf32>
      %sum_s1 = tile.accumulate_streams %sum_s, %d_t : tensor<?x2xf32>, tensor<?x4x2xf32>
      tile.yield %acc_s1, %sum_s1, %g_t : !tile.exact<2x2>, tensor<?x2xf32>, tensor<?x4x1xf32>
    }
    tile.yield %acc_next, %sum : !tile.exact<2x2>, tensor<?x2xf32>
  }
  %dw = tile.round %a : !tile.exact<2x2> -> tensor<2x2xf32>
  func.return %dw, %sums, %g : tensor<2x2xf32>, tensor<?x2xf32>, tensor<?x8x1xf32>
}
// CHECK-LABEL: func.func @streams(
// CHECK:         %a, %sums = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 1 carry (%acc = %acc0) : (!tile.exact<2x2>) gather (tensor<?x2xf32>) {
// CHECK-NEXT:      %s0 = tile.zero like %x : tensor<?x2xf32>
// CHECK-NEXT:      %acc_next, %sum, %gd = tile.loop (%s, %d_t) over %d : tensor<?x8x2xf32> axis 1 by 4 carry (%acc_s = %acc, %sum_s = %s0) : (!tile.exact<2x2>, tensor<?x2xf32>) gather (tensor<?x8x1xf32>) {
// CHECK-NEXT:        %g_t = tile.slice %g at %s : tensor<?x8x1xf32> -> tensor<?x4x1xf32>
// CHECK-NEXT:        %rows = train.flatten %d_t : tensor<?x4x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:        %acc_s1 = tile.accumulate_gemm %acc_s, %rows, %rows role wgrad transpose_a : !tile.exact<2x2>, tensor<?x2xf32>, tensor<?x2xf32>
// CHECK-NEXT:        %sum_s1 = tile.accumulate_streams %sum_s, %d_t : tensor<?x2xf32>, tensor<?x4x2xf32>
// CHECK-NEXT:        tile.yield %acc_s1, %sum_s1, %g_t : !tile.exact<2x2>, tensor<?x2xf32>, tensor<?x4x1xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      tile.yield %acc_next, %sum : !tile.exact<2x2>, tensor<?x2xf32>
// CHECK-NEXT:    }
