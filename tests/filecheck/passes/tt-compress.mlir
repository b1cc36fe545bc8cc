// Defaults: the hidden layers (all but the first and the last) as 3 cores of rank 8, the
// balanced factorizations of their widths, variance-matched normal init.
// RUN: pintac opt %s -p tt-compress | filecheck %s
// Given modes (2 cores) and per-bond ranks.
// RUN: pintac opt %s -p 'tt-compress{in-modes=8,8 out-modes=4,16 ranks=3}' | filecheck %s --check-prefix=MODES
// Every layer, 2 cores; a rank above what the unfoldings admit is lowered to it.
// RUN: pintac opt %s -p 'tt-compress{layers=all cores=2 ranks=100}' | filecheck %s --check-prefix=ALL
// Cores from the TT-SVD of the dense weights, which stay as the source of the values but
// are no parameter of the training step.
// RUN: pintac opt %s -p 'tt-compress{init=svd ranks=4,6}' | filecheck %s --check-prefix=SVD
// RUN: pintac opt %s -p 'tt-compress{init=svd},pinn-build-loss' | filecheck %s --check-prefix=SVD-LOSS
// Factorizations that do not multiply to the layer's widths are located at the layer.
// RUN: not pintac opt %s -p 'tt-compress{in-modes=4,4,8}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not pintac opt %s -p 'tt-compress{in-modes=4,4 out-modes=4,4,4}' 2>&1 | filecheck %s --check-prefix=BAD-OPT

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x64xf32> init xavier_normal
  pinn.param @b0 : tensor<64xf32> init zeros
  pinn.param @W1 : tensor<64x64xf32> init xavier_normal
  pinn.param @b1 : tensor<64xf32> init zeros
  pinn.param @W2 : tensor<64x64xf32> init xavier_uniform
  pinn.param @W3 : tensor<64x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x64xf32>
    %h0 = math.tanh %z0 : tensor<?x64xf32>
    %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x64xf32> -> tensor<?x64xf32>
    %h1 = math.tanh %z1 : tensor<?x64xf32>
    %z2 = pinn.dense %h1, @W2 : tensor<?x64xf32> -> tensor<?x64xf32>
    %h2 = math.tanh %z2 : tensor<?x64xf32>
    %y = pinn.dense %h2, @W3 : tensor<?x64xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@d) weight 1.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
}

// W1 and W2 (64x64, hidden) become 3 cores each: 64 = 4·4·4 in and out, ranks (1, 8, 8, 1)
// (below the largest useful, 16); 1,152 entries for 4,096. The cores come after the last
// parameter. Glorot (normal or uniform) has variance 2 / (64 + 64) = 2^-6, so
// std^6 · 8 · 8 = 2^-6 gives std = 0.25. W0 (first) and W3 (last) stay dense; biases stay.
// CHECK:      pinn.param @W0 : tensor<2x64xf32> init xavier_normal
// CHECK-NEXT: pinn.param @b0 : tensor<64xf32> init zeros
// CHECK-NEXT: pinn.param @b1 : tensor<64xf32> init zeros
// CHECK-NEXT: pinn.param @W3 : tensor<64x1xf32> init xavier_normal
// CHECK-NEXT: pinn.param @W1_G0 : tensor<1x4x4x8xf32> init normal(0.25)
// CHECK-NEXT: pinn.param @W1_G1 : tensor<8x4x4x8xf32> init normal(0.25)
// CHECK-NEXT: pinn.param @W1_G2 : tensor<8x4x4x1xf32> init normal(0.25)
// CHECK-NEXT: pinn.param @W2_G0 : tensor<1x4x4x8xf32> init normal(0.25)
// CHECK-NEXT: pinn.param @W2_G1 : tensor<8x4x4x8xf32> init normal(0.25)
// CHECK-NEXT: pinn.param @W2_G2 : tensor<8x4x4x1xf32> init normal(0.25)
// CHECK-NEXT: pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
// CHECK-NEXT:   %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x64xf32>
// CHECK-NEXT:   %h0 = math.tanh %z0 : tensor<?x64xf32>
// CHECK-NEXT:   %z1 = tt.linear %h0, [@W1_G0, @W1_G1, @W1_G2], @b1 : tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK-NEXT:   %h1 = math.tanh %z1 : tensor<?x64xf32>
// CHECK-NEXT:   %z2 = tt.linear %h1, [@W2_G0, @W2_G1, @W2_G2] : tensor<?x64xf32> -> tensor<?x64xf32>
// CHECK-NEXT:   %h2 = math.tanh %z2 : tensor<?x64xf32>
// CHECK-NEXT:   %y = pinn.dense %h2, @W3 : tensor<?x64xf32> -> tensor<?x1xf32>
// CHECK-NEXT:   pinn.return %y : tensor<?x1xf32>

// 64 = 8·8 in, 4·16 out, rank 3: std^4 · 3 = 2^-6, std = 0.268642.
// MODES:      pinn.param @W3 : tensor<64x1xf32> init xavier_normal
// MODES-NEXT: pinn.param @W1_G0 : tensor<1x8x4x3xf32> init normal(0.268642)
// MODES-NEXT: pinn.param @W1_G1 : tensor<3x8x16x1xf32> init normal(0.268642)
// MODES-NEXT: pinn.param @W2_G0 : tensor<1x8x4x3xf32> init normal(0.268642)
// MODES-NEXT: pinn.param @W2_G1 : tensor<3x8x16x1xf32> init normal(0.268642)
// MODES:      %z1 = tt.linear %h0, [@W1_G0, @W1_G1], @b1 : tensor<?x64xf32> -> tensor<?x64xf32>

// 2 = 1·2 in, 64 = 8·8 out: the unfoldings are 8 x 16, so the rank is 8, not 100;
// Glorot std of 2x64 is sqrt(2/66), std^4 · 8 = 2/66: 0.248084. 64x64 as 8·8 by 8·8: rank 64,
// std^4 · 64 = 2^-6: 0.125. 64x1 as 8·8 by 1·1: rank 8, std^4 · 8 = 2/65: 0.249033.
// ALL:      pinn.param @b0 : tensor<64xf32> init zeros
// ALL-NEXT: pinn.param @b1 : tensor<64xf32> init zeros
// ALL-NEXT: pinn.param @W0_G0 : tensor<1x1x8x8xf32> init normal(0.248084)
// ALL-NEXT: pinn.param @W0_G1 : tensor<8x2x8x1xf32> init normal(0.248084)
// ALL-NEXT: pinn.param @W1_G0 : tensor<1x8x8x64xf32> init normal(0.125)
// ALL-NEXT: pinn.param @W1_G1 : tensor<64x8x8x1xf32> init normal(0.125)
// ALL-NEXT: pinn.param @W2_G0 : tensor<1x8x8x64xf32> init normal(0.125)
// ALL-NEXT: pinn.param @W2_G1 : tensor<64x8x8x1xf32> init normal(0.125)
// ALL-NEXT: pinn.param @W3_G0 : tensor<1x8x1x8xf32> init normal(0.249033)
// ALL-NEXT: pinn.param @W3_G1 : tensor<8x8x1x1xf32> init normal(0.249033)
// ALL:      %z0 = tt.linear %x, [@W0_G0, @W0_G1], @b0 : tensor<?x2xf32> -> tensor<?x64xf32>
// ALL:      %y = tt.linear %h2, [@W3_G0, @W3_G1] : tensor<?x64xf32> -> tensor<?x1xf32>

// The dense weights stay where they were (same random stream as in the dense problem) as the
// sources of their cores' values; ranks (1, 4, 6, 1).
// SVD:      pinn.param @W0 : tensor<2x64xf32> init xavier_normal
// SVD-NEXT: pinn.param @b0 : tensor<64xf32> init zeros
// SVD-NEXT: pinn.param @W1 : tensor<64x64xf32> init xavier_normal
// SVD-NEXT: pinn.param @b1 : tensor<64xf32> init zeros
// SVD-NEXT: pinn.param @W2 : tensor<64x64xf32> init xavier_uniform
// SVD-NEXT: pinn.param @W3 : tensor<64x1xf32> init xavier_normal
// SVD-NEXT: pinn.param @W1_G0 : tensor<1x4x4x4xf32> init tt_svd {source = @W1}
// SVD-NEXT: pinn.param @W1_G1 : tensor<4x4x4x6xf32> init tt_svd {source = @W1}
// SVD-NEXT: pinn.param @W1_G2 : tensor<6x4x4x1xf32> init tt_svd {source = @W1}
// SVD-NEXT: pinn.param @W2_G0 : tensor<1x4x4x4xf32> init tt_svd {source = @W2}
// SVD-NEXT: pinn.param @W2_G1 : tensor<4x4x4x6xf32> init tt_svd {source = @W2}
// SVD-NEXT: pinn.param @W2_G2 : tensor<6x4x4x1xf32> init tt_svd {source = @W2}
// SVD:      %z1 = tt.linear %h0, [@W1_G0, @W1_G1, @W1_G2], @b1 : tensor<?x64xf32> -> tensor<?x64xf32>

// No network reads W1 and W2 any more: the step does not take (nor train) them.
// SVD-LOSS-LABEL: func.func @loss(
// SVD-LOSS-SAME:    %b0: tensor<64xf32> {train.role = "param:b0"}, %b1: tensor<64xf32> {train.role = "param:b1"}, %W3: tensor<64x1xf32> {train.role = "param:W3"}, %W1_G0: tensor<1x4x4x8xf32> {train.role = "param:W1_G0"}
// SVD-LOSS-NOT:     param:W1"
// SVD-LOSS-NOT:     param:W2"
// SVD-LOSS-LABEL: func.func @predict(

// BAD: tt-compress.mlir:27:11: error: pass 'tt-compress{{.*}}' failed: tt-compress: in-modes [4, 4, 8] multiply to 128, but the layer of @W1 (64x64) has 64 inputs
// BAD-NEXT: %z1 = pinn.dense %h0, @W1, @b1 : tensor<?x64xf32> -> tensor<?x64xf32>

// BAD-OPT: error: bad options for pass 'tt-compress{{.*}}': in-modes and out-modes need one factor per core each, got 2 and 3 factors
