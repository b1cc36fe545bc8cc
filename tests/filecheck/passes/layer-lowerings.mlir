// The layer lowerings (passes/layer_lowerings.py) as pinn-build-loss applies them where a
// network is evaluated: `pinn.dense` becomes a GEMM and a bias add; the TT-matrix layer
// `tt.linear` (cores 1x2x2x2 and 2x4x2x1: in modes 2·4, out modes 2·2, rank 2) becomes its
// cores viewed as matrices and, left to right, one permute + GEMM per core over the rows.
// RUN: pintac opt %s -p pinn-build-loss | filecheck %s

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x8xf32> init xavier_normal
  pinn.param @b0 : tensor<8xf32> init zeros
  pinn.param @G0 : tensor<1x2x2x2xf32> init normal(0.5)
  pinn.param @G1 : tensor<2x4x2x1xf32> init normal(0.5)
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x8xf32>
    %h0 = math.tanh %z0 : tensor<?x8xf32>
    %y = tt.linear %h0, [@G0, @G1] : tensor<?x8xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
  pinn.boundary @bc on boundary(@d) weight 1.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.yield %u : tensor<?x4xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-3, steps = 10, batch = {bc = 4}, seed = 0}
}

// CHECK-LABEL: func.func @loss(
// CHECK-NEXT:    %0 = train.gemm %x_bc, %W0 role fwd : tensor<?x2xf32>, tensor<2x8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %z0 = train.bias_add %0, %b0 : tensor<?x8xf32>, tensor<8xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %h0 = math.tanh %z0 : tensor<?x8xf32>
// CHECK-NEXT:    %G0_1 = train.permute %G0 shape [2, 4] perm [0, 1] : tensor<1x2x2x2xf32> -> tensor<2x4xf32>
// CHECK-NEXT:    %G1_1 = train.permute %G1 shape [8, 2] perm [0, 1] : tensor<2x4x2x1xf32> -> tensor<8x2xf32>
// Contraction k reads <input>_c<k> and writes <input>_c<k>_out (names the reports use).
// CHECK-NEXT:    %h0_c0 = train.permute %h0 shape [-1, 2, 4] perm [0, 2, 1] : tensor<?x8xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %h0_c0_out = train.gemm %h0_c0, %G0_1 role fwd : tensor<?x2xf32>, tensor<2x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %h0_c1 = train.permute %h0_c0_out shape [-1, 4, 4] perm [0, 2, 1] : tensor<?x4xf32> -> tensor<?x8xf32>
// CHECK-NEXT:    %h0_c1_out = train.gemm %h0_c1, %G1_1 role fwd : tensor<?x8xf32>, tensor<8x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT:    %y = train.permute %h0_c1_out shape [-1, 4] perm [0, 1] : tensor<?x2xf32> -> tensor<?x4xf32>
// CHECK-NEXT:    %loss_bc = train.mean_square %y : tensor<?x4xf32> -> tensor<f32>
// The same lowering serves prediction.
// CHECK-LABEL: func.func @predict(
// CHECK-NEXT:    %0 = train.gemm %x, %W0 role fwd
// CHECK:         %h0_c1_out = train.gemm %h0_c1, %G1_1 role fwd
// CHECK-NEXT:    %y = train.permute %h0_c1_out shape [-1, 4] perm [0, 1]
// CHECK-NEXT:    func.return %y
