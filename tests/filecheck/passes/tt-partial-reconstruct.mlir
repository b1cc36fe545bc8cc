// The cost model chooses, at the residual's rows B (2K + 1) = 100 · 1025: reconstructing
// the dense matrices (one group) is the cheapest here.
// RUN: pintac opt %s -p tt-partial-reconstruct | filecheck %s
// Two groups: the cheapest grouping into two (ties go to the smaller first group).
// RUN: pintac opt %s -p 'tt-partial-reconstruct{groups=2}' | filecheck %s --check-prefix=G2
// One group per core leaves the layers alone; more groups than cores too.
// RUN: pintac opt %s -p 'tt-partial-reconstruct{groups=3}' | filecheck %s --check-prefix=G3
// RUN: pintac opt %s -p 'tt-partial-reconstruct{groups=9}' | filecheck %s --check-prefix=G3
// A fixed contraction order.
// RUN: pintac opt %s -p 'tt-partial-reconstruct{groups=2 order=rtl}' | filecheck %s --check-prefix=RTL
// The lowering of a grouped layer: the merge once, on the weights; two contractions.
// RUN: pintac opt %s -p 'tt-partial-reconstruct{groups=2},stein-expand,pinn-build-loss' | filecheck %s --check-prefix=LOWER
// RUN: not pintac opt %s -p 'tt-partial-reconstruct{order=up}' 2>&1 | filecheck %s --check-prefix=BAD

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x64xf32> init xavier_normal
  pinn.param @G0 : tensor<1x4x4x8xf32> init normal(0.25)
  pinn.param @G1 : tensor<8x4x4x8xf32> init normal(0.25)
  pinn.param @G2 : tensor<8x4x4x1xf32> init normal(0.25)
  pinn.param @b1 : tensor<64xf32> init zeros
  pinn.param @H0 : tensor<1x8x8x4xf32> init normal(0.3)
  pinn.param @H1 : tensor<4x8x8x1xf32> init normal(0.3)
  pinn.param @W3 : tensor<64x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0 : tensor<?x2xf32> -> tensor<?x64xf32>
    %h0 = math.tanh %z0 : tensor<?x64xf32>
    %z1 = tt.linear %h0, [@G0, @G1, @G2], @b1 : tensor<?x64xf32> -> tensor<?x64xf32>
    %h1 = math.tanh %z1 : tensor<?x64xf32>
    %z2 = tt.linear %h1, [@H0, @H1] : tensor<?x64xf32> -> tensor<?x64xf32>
    %h2 = math.tanh %z2 : tensor<?x64xf32>
    %y = pinn.dense %h2, @W3 : tensor<?x64xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }
  pinn.train {batch = {pde = 100}, pairs = 512}
}

// 64 = 4·4·4 at rank 8 costs 20,480 MACs per row core by core, 10,240 in two groups and
// 4,096 reconstructed (+ 49,152 MACs of merges per step): one group. 64 = 8·8 at rank 4
// costs 2,048 + 2,048 per row core by core, as much as the dense product (4,096) but
// without its merge (16,384 MACs per step): unchanged.
// CHECK:      %z1 = tt.linear %h0, [@G0, @G1, @G2], @b1 groups [3] : tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK-NEXT: %h1 = math.tanh %z1 : tensor<?x64xf32>
// CHECK-NEXT: %z2 = tt.linear %h1, [@H0, @H1] : tensor<?x64xf32> -> tensor<?x64xf32>

// G2:      %z1 = tt.linear %h0, [@G0, @G1, @G2], @b1 groups [1, 2] : tensor<?x64xf32> -> tensor<?x64xf32>
// G2-NEXT: %h1 = math.tanh %z1 : tensor<?x64xf32>
// G2-NEXT: %z2 = tt.linear %h1, [@H0, @H1] : tensor<?x64xf32> -> tensor<?x64xf32>

// G3:      %z1 = tt.linear %h0, [@G0, @G1, @G2], @b1 : tensor<?x64xf32> -> tensor<?x64xf32>
// G3-NEXT: %h1 = math.tanh %z1 : tensor<?x64xf32>
// G3-NEXT: %z2 = tt.linear %h1, [@H0, @H1] : tensor<?x64xf32> -> tensor<?x64xf32>

// RTL:      %z1 = tt.linear %h0, [@G0, @G1, @G2], @b1 groups [1, 2] order rtl : tensor<?x64xf32> -> tensor<?x64xf32>
// RTL:      %z2 = tt.linear %h1, [@H0, @H1] order rtl : tensor<?x64xf32> -> tensor<?x64xf32>

// G0 as its GEMM matrix (r n) x (m s) = 4 x 32; G1 (8x4x4x8) and G2 (8x4x4x1) merged:
// 128 x 8 times 8 x 16, the product viewed as (8, 4, 4, 4, 4) = (r, n, m, n', m') and
// transposed to (r, n, n', m, m'), which is the super-core 8x16x16x1 as its 128 x 16 matrix.
// The activation (R, 64) = (R, n0 = 4, rest = 16) becomes rows (R·16) x 4; the product
// (R·16) x 32 = (R, 16, m0 = 4, r = 8) goes back to (R, 32·16) and, read as (R·4) x 128
// (prefix m0 = 4, reduction r·n' = 128), meets the super-core; (R·4) x 16 is (R, 64).
// LOWER-LABEL: func.func @predict(
// LOWER-NEXT:    %z0 = train.gemm %x, %W0 role fwd : tensor<?x2xf32>, tensor<2x64xf32> -> tensor<?x64xf32>
// LOWER-NEXT:    %h0 = math.tanh %z0 : tensor<?x64xf32>
// LOWER-NEXT:    %[[S0:.*]] = train.permute %G0 shape [4, 32] perm [0, 1] : tensor<1x4x4x8xf32> -> tensor<4x32xf32>
// LOWER-NEXT:    %[[L:.*]] = train.permute %G1 shape [128, 8] perm [0, 1] : tensor<8x4x4x8xf32> -> tensor<128x8xf32>
// LOWER-NEXT:    %[[R:.*]] = train.permute %G2 shape [8, 16] perm [0, 1] : tensor<8x4x4x1xf32> -> tensor<8x16xf32>
// LOWER-NEXT:    %[[P:.*]] = train.gemm %[[L]], %[[R]] role fwd : tensor<128x8xf32>, tensor<8x16xf32> -> tensor<128x16xf32>
// LOWER-NEXT:    %G1_G2 = train.permute %[[P]] shape [8, 4, 4, 4, 4] perm [0, 1, 3, 2, 4] : tensor<128x16xf32> -> tensor<128x16xf32>
// LOWER-NEXT:    %[[A:.*]] = train.permute %h0 shape [-1, 4, 16] perm [0, 2, 1] : tensor<?x64xf32> -> tensor<?x4xf32>
// LOWER-NEXT:    %[[Y1:.*]] = train.gemm %[[A]], %[[S0]] role fwd : tensor<?x4xf32>, tensor<4x32xf32> -> tensor<?x32xf32>
// LOWER-NEXT:    %[[A2:.*]] = train.permute %[[Y1]] shape [-1, 16, 32] perm [0, 2, 1] : tensor<?x32xf32> -> tensor<?x128xf32>
// LOWER-NEXT:    %[[Y2:.*]] = train.gemm %[[A2]], %G1_G2 role fwd : tensor<?x128xf32>, tensor<128x16xf32> -> tensor<?x16xf32>
// LOWER-NEXT:    %[[Y:.*]] = train.permute %[[Y2]] shape [-1, 64] perm [0, 1] : tensor<?x16xf32> -> tensor<?x64xf32>
// LOWER-NEXT:    %z1 = train.bias_add %[[Y]], %b1 : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
// LOWER-NEXT:    %h1 = math.tanh %z1 : tensor<?x64xf32>
// The two-core layer, core by core: 8 x 32 and 32 x 8 matrices, rows (R·8) x 8 then (R·8) x 32.
// LOWER-NEXT:    %[[H0:.*]] = train.permute %H0 shape [8, 32] perm [0, 1] : tensor<1x8x8x4xf32> -> tensor<8x32xf32>
// LOWER-NEXT:    %[[H1:.*]] = train.permute %H1 shape [32, 8] perm [0, 1] : tensor<4x8x8x1xf32> -> tensor<32x8xf32>
// LOWER-NEXT:    %[[B:.*]] = train.permute %h1 shape [-1, 8, 8] perm [0, 2, 1] : tensor<?x64xf32> -> tensor<?x8xf32>
// LOWER-NEXT:    %[[U1:.*]] = train.gemm %[[B]], %[[H0]] role fwd : tensor<?x8xf32>, tensor<8x32xf32> -> tensor<?x32xf32>
// LOWER-NEXT:    %[[B2:.*]] = train.permute %[[U1]] shape [-1, 8, 32] perm [0, 2, 1] : tensor<?x32xf32> -> tensor<?x32xf32>
// LOWER-NEXT:    %[[U2:.*]] = train.gemm %[[B2]], %[[H1]] role fwd : tensor<?x32xf32>, tensor<32x8xf32> -> tensor<?x8xf32>
// LOWER-NEXT:    %z2 = train.permute %[[U2]] shape [-1, 64] perm [0, 1] : tensor<?x8xf32> -> tensor<?x64xf32>
// LOWER-NEXT:    %h2 = math.tanh %z2 : tensor<?x64xf32>
// LOWER-NEXT:    %y = train.gemm %h2, %W3 role fwd : tensor<?x64xf32>, tensor<64x1xf32> -> tensor<?x1xf32>
// LOWER-NEXT:    func.return %y : tensor<?x1xf32>

// BAD: error: bad options for pass 'tt-partial-reconstruct{{.*}}': order must be auto, ltr or rtl, got 'up'
