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
