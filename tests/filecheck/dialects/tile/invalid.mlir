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
// CHECK: error: 'tile.loop' op carried value 0 is an accumulator: one tile.accumulate_gemm, tile.accumulate_rows or tile.accumulate_streams (or a nested tile.loop carrying it) reads it and its result is yielded in its place

// -----

func.func @f(%x_pde: tensor<?x2xf32>) {
  %c0 = tile.zero : tensor<2xf32>
  %c = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 4 carry (%col = %c0) : (tensor<2xf32>) {
    %col1 = tile.accumulate_rows %col, %x : tensor<2xf32>, tensor<?x2xf32>
    tile.yield %x : tensor<?x2xf32>
  }
  func.return
}
// CHECK: error: 'tile.loop' op tile.yield gives the carried values' types, then the gathered tiles': tensor<2xf32>

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

// -----

// A loop over streams takes tiles that divide the streams.
func.func @f(%d: tensor<?x8x2xf32>) {
  tile.loop (%s, %d_t) over %d : tensor<?x8x2xf32> axis 1 by 3 {
    tile.yield
  }
  func.return
}
// CHECK: error: 'tile.loop' op loops over tiles of 3 streams of a per-point value tensor<?xMx...> with M static and a multiple of 3, not tensor<?x8x2xf32>

// -----

func.func @f(%d: tensor<?x8x2xf32>) {
  %g = tile.loop (%s, %d_t) over %d : tensor<?x8x2xf32> axis 1 by 4 gather (tensor<?x4x2xf32>) {
    tile.yield %d_t : tensor<?x4x2xf32>
  }
  func.return
}
// CHECK: error: 'tile.loop' op a value gathered over streams has the loop's 8 streams, not tensor<?x4x2xf32>

// -----

func.func @f(%z: tensor<?x16xf32>, %dzd: tensor<?x4x8xf32>) {
  %s0 = tile.zero like %z : tensor<?x16xf32>
  %s1 = tile.accumulate_streams %s0, %dzd : tensor<?x16xf32>, tensor<?x4x8xf32>
  func.return
}
// CHECK: error: 'tile.accumulate_streams' op sums each point's streams into one row per point: tensor<?x4x8xf32> into tensor<?x16xf32>

// -----

func.func @f(%g: tensor<?x8x1xf32>, %s: index) {
  %t = tile.slice %g at %s : tensor<?x8x1xf32> -> tensor<?x4x2xf32>
  func.return
}
// CHECK: error: 'tile.slice' op slices a static axis 1 and keeps the others: tensor<?x8x1xf32> -> tensor<?x4x2xf32>

// -----

func.func @f(%z: tensor<?x16xf32>) {
  %s0 = "tile.zero"(%z) : (tensor<?x16xf32>) -> tensor<?x8xf32>
  func.return
}
// CHECK: error: 'tile.zero' op a zero like tensor<?x16xf32> has that type, not tensor<?x8xf32>
