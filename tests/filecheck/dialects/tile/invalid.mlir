// RUN: PINTAC_VERIFY_DIAG

func.func @f(%x_pde: tensor<?x2xf32>) {
  tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 0 {
    tile.yield
  }
  func.return
}
// CHECK: error: 'tile.loop' op a tile holds at least one point, not 0

// -----

func.func @f(%w: tensor<2x2xf32>) {
  tile.loop (%first, %x) over %w : tensor<2x2xf32> by 4 {
    tile.yield
  }
  func.return
}
// CHECK: error: 'tile.loop' op loops over a batch tensor<?x...>, not tensor<2x2xf32>

// -----

// A carried value is an accumulator: read once, by the accumulation whose result is yielded.
func.func @f(%x_pde: tensor<?x2xf32>) {
  %c0 = tile.zero : tensor<2xf32>
  %c = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 4 carry (%col = %c0) : (tensor<2xf32>) {
    tile.yield %col : tensor<2xf32>
  }
  func.return
}
// CHECK: error: 'tile.loop' op carried value 0 is an accumulator: one tile.accumulate_gemm or tile.accumulate_rows reads it and its result is yielded in its place

// -----

func.func @f(%x_pde: tensor<?x2xf32>) {
  %c0 = tile.zero : tensor<2xf32>
  %c = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 4 carry (%col = %c0) : (tensor<2xf32>) {
    %col1 = tile.accumulate_rows %col, %x : tensor<2xf32>, tensor<?x2xf32>
    tile.yield %x : tensor<?x2xf32>
  }
  func.return
}
// CHECK: error: 'tile.loop' op tile.yield gives the results' types (carried, then gathered): tensor<2xf32>

// -----

func.func @f(%x_pde: tensor<?x2xf32>) {
  %a0 = tile.zero : !tile.exact<?x2>
  func.return
}
// CHECK: error: an exact accumulator has a static 2-D shape, e.g. !tile.exact<256x256>

// -----

func.func @f(%x: tensor<?x2xf32>, %z: tensor<?x16xf32>) {
  %acc = tile.zero : !tile.exact<2x8>
  %acc1 = tile.accumulate_gemm %acc, %x, %z role wgrad transpose_a : !tile.exact<2x8>, tensor<?x2xf32>, tensor<?x16xf32>
  func.return
}
// CHECK: error: 'tile.accumulate_gemm' op the product is 2x16, the accumulator !tile.exact<2x8>

// -----

func.func @f(%x: tensor<?x2xf32>) {
  %col = tile.zero : tensor<3xf32>
  %col1 = tile.accumulate_rows %col, %x : tensor<3xf32>, tensor<?x2xf32>
  func.return
}
// CHECK: error: 'tile.accumulate_rows' op sums the rows of a matrix into one value per column: tensor<?x2xf32> into tensor<3xf32>

// -----

func.func @f() {
  %z = tile.zero : tensor<?xf32>
  func.return
}
// CHECK: error: 'tile.zero' op an accumulator has a static shape, not tensor<?xf32>
