// RUN: PINTAC_VERIFY_DIAG

func.func @f(%x: tensor<4x6xf32>) {
  %y = train.permute %x shape [4, 6] perm [0, 0] : tensor<4x6xf32> -> tensor<6x4xf32>
  func.return
}
// CHECK: permute-invalid.mlir:4:8: error: 'train.permute' op perm [0, 0] must be a permutation of 0..1, one entry per dim of shape [4, 6]

// -----

func.func @f(%x: tensor<4x6xf32>) {
  %y = train.permute %x shape [4, 6, 1] perm [0, 1] : tensor<4x6xf32> -> tensor<6x4xf32>
  func.return
}
// CHECK: error: 'train.permute' op perm [0, 1] must be a permutation of 0..2, one entry per dim of shape [4, 6, 1]

// -----

func.func @f(%x: tensor<4x6xf32>) {
  %y = train.permute %x shape [4, 0, 6] perm [0, 2, 1] : tensor<4x6xf32> -> tensor<6x4xf32>
  func.return
}
// CHECK: error: 'train.permute' op shape [4, 0, 6] holds sizes >= 1 and at most one -1

// -----

func.func @f(%x: tensor<?x6xf32>) {
  %y = train.permute %x shape [-1, -1] perm [1, 0] : tensor<?x6xf32> -> tensor<?x4xf32>
  func.return
}
// CHECK: error: 'train.permute' op shape [-1, -1] holds more than one -1

// -----

func.func @f(%x: tensor<4x6xf32>) {
  %y = train.permute %x shape [4, 6] perm [1, 0] : tensor<4x6xf32> -> tensor<5x4xf32>
  func.return
}
// CHECK: error: 'train.permute' op element counts differ: the input tensor<4x6xf32> has 24, shape [4, 6] 24, the result tensor<5x4xf32> 20

// -----

func.func @f(%x: tensor<?x6xf32>) {
  %y = train.permute %x shape [2, 3] perm [1, 0] : tensor<?x6xf32> -> tensor<?x2xf32>
  func.return
}
// CHECK: error: 'train.permute' op a dynamic input dim, a -1 in shape and a dynamic result dim go together, got tensor<?x6xf32>, shape [2, 3], tensor<?x2xf32>

// -----

func.func @f(%x: tensor<?x?xf32>) {
  %y = train.permute %x shape [-1] perm [0] : tensor<?x?xf32> -> tensor<?xf32>
  func.return
}
// CHECK: error: 'train.permute' op at most one dynamic dim in the input and in the result, got tensor<?x?xf32> -> tensor<?xf32>

// -----

func.func @f(%x: tensor<4x6xf32>) {
  %y = train.permute %x shape [4, 6] perm [1, 0] : tensor<4x6xf32> -> tensor<6x4xf64>
  func.return
}
// CHECK: error: 'train.permute' op the result has the input's element type f32, got f64
