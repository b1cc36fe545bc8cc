// RUN: pintac opt %s -p 'tile-streams{streams=4}' | filecheck %s
// RUN: pintac opt %s -p 'tile-streams{bytes=1}' | filecheck %s
// RUN: pintac opt %s -p 'tile-streams{streams=4}' | pintac opt - | filecheck %s

// poisson2d_small's smx-diff step with 4 antithetic pairs (8 difference streams a point),
// tiled by 4 points (`tile-points{points=4}`). tile-streams splits the pde loop's body: the
// streams' forward runs in a first loop over tiles of 4 streams, gathering the network's
// output on them for the Laplacian; a second loop runs that forward again and the backward,
// carrying the point loop's exact sums on and summing Σ dzd and Σ dout of each
// diff_activation_vjp over the streams, from which the base values' gradients follow after
// the loop. The smallest budget (`bytes=1`) gives the smallest admissible tile, 4 streams
// (the SMX blocks' rows). The boundary loop has no streams and is left as it is.

func.func @train_step(%W0: tensor<2x16xf32> {train.role = "param:W0"}, %b0: tensor<16xf32> {train.role = "param:b0"}, %W1: tensor<16x16xf32> {train.role = "param:W1"}, %b1: tensor<16xf32> {train.role = "param:b1"}, %W2: tensor<16x1xf32> {train.role = "param:W2"}, %b2: tensor<1xf32> {train.role = "param:b2"}, %m_W0: tensor<2x16xf32> {train.role = "state:W0:m"}, %m_b0: tensor<16xf32> {train.role = "state:b0:m"}, %m_W1: tensor<16x16xf32> {train.role = "state:W1:m"}, %m_b1: tensor<16xf32> {train.role = "state:b1:m"}, %m_W2: tensor<16x1xf32> {train.role = "state:W2:m"}, %m_b2: tensor<1xf32> {train.role = "state:b2:m"}, %v_W0: tensor<2x16xf32> {train.role = "state:W0:v"}, %v_b0: tensor<16xf32> {train.role = "state:b0:v"}, %v_W1: tensor<16x16xf32> {train.role = "state:W1:v"}, %v_b1: tensor<16xf32> {train.role = "state:b1:v"}, %v_W2: tensor<16x1xf32> {train.role = "state:W2:v"}, %v_b2: tensor<1xf32> {train.role = "state:b2:v"}, %x_pde: tensor<?x2xf32> {train.role = "points:pde"}, %x_bc: tensor<?x2xf32> {train.role = "points:bc"}, %seed: i64 {train.role = "seed"}, %step: i64 {train.role = "step"}) -> (tensor<2x16xf32> {train.role = "param:W0"}, tensor<16xf32> {train.role = "param:b0"}, tensor<16x16xf32> {train.role = "param:W1"}, tensor<16xf32> {train.role = "param:b1"}, tensor<16x1xf32> {train.role = "param:W2"}, tensor<1xf32> {train.role = "param:b2"}, tensor<2x16xf32> {train.role = "state:W0:m"}, tensor<16xf32> {train.role = "state:b0:m"}, tensor<16x16xf32> {train.role = "state:W1:m"}, tensor<16xf32> {train.role = "state:b1:m"}, tensor<16x1xf32> {train.role = "state:W2:m"}, tensor<1xf32> {train.role = "state:b2:m"}, tensor<2x16xf32> {train.role = "state:W0:v"}, tensor<16xf32> {train.role = "state:b0:v"}, tensor<16x16xf32> {train.role = "state:W1:v"}, tensor<16xf32> {train.role = "state:b1:v"}, tensor<16x1xf32> {train.role = "state:W2:v"}, tensor<1xf32> {train.role = "state:b2:v"}, tensor<f32> {train.role = "loss"}, tensor<f32> {train.role = "term:pde"}, tensor<f32> {train.role = "term:bc"}) {
  %q_W2 = smx.quantize %W2 {smx.use = "weight"} : tensor<16x1xf32> -> !smx.tensor<16x1, int8, block 4x4>
  %q_W1 = smx.quantize %W1 {smx.use = "weight"} : tensor<16x16xf32> -> !smx.tensor<16x16, int8, block 4x4>
  %q_W0 = smx.quantize %W0 {smx.use = "weight"} : tensor<2x16xf32> -> !smx.tensor<2x16, int8, block 4x4>
  %half = pinn.constant 0.5 : tensor<?x1xf32>
  %dloss = pinn.constant 1.0 : tensor<f32>
  %dloss_bc = train.scale %dloss by 3.000000e+02 : tensor<f32>
  %n_pde = tile.rows %x_pde : tensor<?x2xf32>
  %zero0_pde = tile.zero : !tile.exact<16x1>
  %zero1_pde = tile.zero : !tile.exact<16x16>
  %zero2_pde = tile.zero : tensor<16xf32>
  %zero3_pde = tile.zero : !tile.exact<16x16>
  %zero4_pde = tile.zero : !tile.exact<2x16>
  %zero5_pde = tile.zero : tensor<16xf32>
  %zero6_pde = tile.zero : !tile.exact<2x16>
  %sum0_pde, %sum1_pde, %sum2_pde, %sum3_pde, %sum4_pde, %sum5_pde, %sum6_pde, %r = tile.loop (%first_pde, %x_pde_tile) over %x_pde : tensor<?x2xf32> by 4 carry (%acc0_pde = %zero0_pde, %acc1_pde = %zero1_pde, %acc2_pde = %zero2_pde, %acc3_pde = %zero3_pde, %acc4_pde = %zero4_pde, %acc5_pde = %zero5_pde, %acc6_pde = %zero6_pde) : (!tile.exact<16x1>, !tile.exact<16x16>, tensor<16xf32>, !tile.exact<16x16>, !tile.exact<2x16>, tensor<16xf32>, !tile.exact<2x16>) gather (tensor<?x1xf32>) {
    %q_x_pde = smx.quantize %x_pde_tile {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
    %delta = stein.sample %x_pde_tile, %seed, %step at %first_pde pairs 4 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
    %d0 = stein.difference_streams %delta : tensor<?x4x2xf32> -> tensor<?x8x2xf32>
    %0 = train.gemm %q_x_pde, %q_W0 role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x16, int8, block 4x4> -> tensor<?x16xf32>
    %z0 = train.bias_add %0, %b0 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
    %d0_rows = train.flatten %d0 : tensor<?x8x2xf32> -> tensor<?x2xf32>
    %q_d0_rows = smx.quantize %d0_rows {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
    %z0_d_rows = train.gemm %q_d0_rows, %q_W0 role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x16, int8, block 4x4> -> tensor<?x16xf32>
    %z0_d = train.unflatten %z0_d_rows like %d0 : tensor<?x16xf32>, tensor<?x8x2xf32> -> tensor<?x8x16xf32>
    %h0 = math.tanh %z0 : tensor<?x16xf32>
    %q_h0 = smx.quantize %h0 {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
    %h0_d = stein.diff_activation tanh %z0, %z0_d : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x8x16xf32>
    %1 = train.gemm %q_h0, %q_W1 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
    %z1 = train.bias_add %1, %b1 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
    %h0_d_rows = train.flatten %h0_d : tensor<?x8x16xf32> -> tensor<?x16xf32>
    %q_h0_d_rows = smx.quantize %h0_d_rows {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
    %z1_d_rows = train.gemm %q_h0_d_rows, %q_W1 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
    %z1_d = train.unflatten %z1_d_rows like %h0_d : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x8x16xf32>
    %h1_d = stein.diff_activation tanh %z1, %z1_d : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x8x16xf32>
    %h1_d_rows = train.flatten %h1_d : tensor<?x8x16xf32> -> tensor<?x16xf32>
    %q_h1_d_rows = smx.quantize %h1_d_rows {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
    %y_d_rows = train.gemm %q_h1_d_rows, %q_W2 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x1, int8, block 4x4> -> tensor<?x1xf32>
    %gd = train.unflatten %y_d_rows like %h1_d : tensor<?x1xf32>, tensor<?x8x16xf32> -> tensor<?x8x1xf32>
    %lap = stein.laplacian differences %gd, %delta sigma 1.000000e-02 : tensor<?x8x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x_pde_tile : tensor<?x2xf32> -> tensor<?x1xf32>
    %f = math.sin %s : tensor<?x1xf32>
    %r_1 = arith.addf %lap, %f : tensor<?x1xf32>
    %dr = train.mean_square_grad %r_1, %dloss over %n_pde : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
    %dgd = stein.laplacian_vjp differences %dr, %delta sigma 1.000000e-02 : tensor<?x1xf32>, tensor<?x4x2xf32> -> tensor<?x8x1xf32>
    %dy_d_rows = train.flatten %dgd : tensor<?x8x1xf32> -> tensor<?x1xf32>
    %q_dy_d_rows = smx.quantize %dy_d_rows {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int12, block 4x4>
    %dh1_d_rows = train.gemm %q_dy_d_rows, %q_W2 role dgrad transpose_b : !smx.tensor<?x1, int12, block 4x4>, !smx.tensor<16x1, int8, block 4x4> -> tensor<?x16xf32>
    %acc0_pde_next = tile.accumulate_gemm %acc0_pde, %q_h1_d_rows, %q_dy_d_rows role wgrad transpose_a : !tile.exact<16x1>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x1, int12, block 4x4>
    %dh1_d = train.unflatten %dh1_d_rows like %h1_d : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x8x16xf32>
    %dz1, %dz1_d = stein.diff_activation_vjp tanh %z1, %z1_d, %dh1_d : tensor<?x16xf32>, tensor<?x8x16xf32>, tensor<?x8x16xf32> -> tensor<?x16xf32>, tensor<?x8x16xf32>
    %q_dz1 = smx.quantize %dz1 {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
    %dz1_d_rows = train.flatten %dz1_d : tensor<?x8x16xf32> -> tensor<?x16xf32>
    %q_dz1_d_rows = smx.quantize %dz1_d_rows {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
    %dh0_d_rows = train.gemm %q_dz1_d_rows, %q_W1 role dgrad transpose_b : !smx.tensor<?x16, int12, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
    %acc1_pde_next = tile.accumulate_gemm %acc1_pde, %q_h0_d_rows, %q_dz1_d_rows role wgrad transpose_a : !tile.exact<16x16>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
    %dh0_d = train.unflatten %dh0_d_rows like %h0_d : tensor<?x16xf32>, tensor<?x8x16xf32> -> tensor<?x8x16xf32>
    %acc2_pde_next = tile.accumulate_rows %acc2_pde, %dz1 : tensor<16xf32>, tensor<?x16xf32>
    %dh0 = train.gemm %q_dz1, %q_W1 role dgrad transpose_b : !smx.tensor<?x16, int12, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
    %acc3_pde_next = tile.accumulate_gemm %acc3_pde, %q_h0, %q_dz1 role wgrad transpose_a : !tile.exact<16x16>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
    %dz0, %dz0_d = stein.diff_activation_vjp tanh %z0, %z0_d, %dh0_d : tensor<?x16xf32>, tensor<?x8x16xf32>, tensor<?x8x16xf32> -> tensor<?x16xf32>, tensor<?x8x16xf32>
    %2 = train.activation_grad tanh %h0, %dh0 : tensor<?x16xf32>
    %dz0_1 = arith.addf %dz0, %2 : tensor<?x16xf32>
    %q_dz0 = smx.quantize %dz0_1 {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
    %dz0_d_rows = train.flatten %dz0_d : tensor<?x8x16xf32> -> tensor<?x16xf32>
    %q_dz0_d_rows = smx.quantize %dz0_d_rows {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
    %acc4_pde_next = tile.accumulate_gemm %acc4_pde, %q_d0_rows, %q_dz0_d_rows role wgrad transpose_a : !tile.exact<2x16>, !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
    %acc5_pde_next = tile.accumulate_rows %acc5_pde, %dz0_1 : tensor<16xf32>, tensor<?x16xf32>
    %acc6_pde_next = tile.accumulate_gemm %acc6_pde, %q_x_pde, %q_dz0 role wgrad transpose_a : !tile.exact<2x16>, !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
    tile.yield %acc0_pde_next, %acc1_pde_next, %acc2_pde_next, %acc3_pde_next, %acc4_pde_next, %acc5_pde_next, %acc6_pde_next, %r_1 : !tile.exact<16x1>, !tile.exact<16x16>, tensor<16xf32>, !tile.exact<16x16>, !tile.exact<2x16>, tensor<16xf32>, !tile.exact<2x16>, tensor<?x1xf32>
  }
  %3 = tile.round %sum0_pde : !tile.exact<16x1> -> tensor<16x1xf32>
  %4 = tile.round %sum1_pde : !tile.exact<16x16> -> tensor<16x16xf32>
  %5 = tile.round %sum3_pde : !tile.exact<16x16> -> tensor<16x16xf32>
  %6 = tile.round %sum4_pde : !tile.exact<2x16> -> tensor<2x16xf32>
  %7 = tile.round %sum6_pde : !tile.exact<2x16> -> tensor<2x16xf32>
  %n_bc = tile.rows %x_bc : tensor<?x2xf32>
  %zero0_bc = tile.zero : tensor<1xf32>
  %zero1_bc = tile.zero : !tile.exact<16x1>
  %zero2_bc = tile.zero : tensor<16xf32>
  %zero3_bc = tile.zero : !tile.exact<16x16>
  %zero4_bc = tile.zero : tensor<16xf32>
  %zero5_bc = tile.zero : !tile.exact<2x16>
  %db2, %sum1_bc, %sum2_bc, %sum3_bc, %sum4_bc, %sum5_bc, %r_2 = tile.loop (%first_bc, %x_bc_tile) over %x_bc : tensor<?x2xf32> by 4 carry (%acc0_bc = %zero0_bc, %acc1_bc = %zero1_bc, %acc2_bc = %zero2_bc, %acc3_bc = %zero3_bc, %acc4_bc = %zero4_bc, %acc5_bc = %zero5_bc) : (tensor<1xf32>, !tile.exact<16x1>, tensor<16xf32>, !tile.exact<16x16>, tensor<16xf32>, !tile.exact<2x16>) gather (tensor<?x1xf32>) {
    %q_x_bc = smx.quantize %x_bc_tile {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
    %8 = train.gemm %q_x_bc, %q_W0 role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x16, int8, block 4x4> -> tensor<?x16xf32>
    %z0_1 = train.bias_add %8, %b0 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
    %h0_1 = math.tanh %z0_1 : tensor<?x16xf32>
    %q_h0_1 = smx.quantize %h0_1 {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
    %9 = train.gemm %q_h0_1, %q_W1 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
    %z1_1 = train.bias_add %9, %b1 : tensor<?x16xf32>, tensor<16xf32> -> tensor<?x16xf32>
    %h1 = math.tanh %z1_1 : tensor<?x16xf32>
    %q_h1 = smx.quantize %h1 {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
    %10 = train.gemm %q_h1, %q_W2 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x1, int8, block 4x4> -> tensor<?x1xf32>
    %y = train.bias_add %10, %b2 : tensor<?x1xf32>, tensor<1xf32> -> tensor<?x1xf32>
    %s_1 = pinn.sum %x_bc_tile : tensor<?x2xf32> -> tensor<?x1xf32>
    %sin = math.sin %s_1 : tensor<?x1xf32>
    %g = arith.mulf %sin, %half : tensor<?x1xf32>
    %r_3 = arith.subf %y, %g : tensor<?x1xf32>
    %dr_1 = train.mean_square_grad %r_3, %dloss_bc over %n_bc : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
    %q_dr = smx.quantize %dr_1 {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int12, block 4x4>
    %acc0_bc_next = tile.accumulate_rows %acc0_bc, %dr_1 : tensor<1xf32>, tensor<?x1xf32>
    %dh1 = train.gemm %q_dr, %q_W2 role dgrad transpose_b : !smx.tensor<?x1, int12, block 4x4>, !smx.tensor<16x1, int8, block 4x4> -> tensor<?x16xf32>
    %acc1_bc_next = tile.accumulate_gemm %acc1_bc, %q_h1, %q_dr role wgrad transpose_a : !tile.exact<16x1>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x1, int12, block 4x4>
    %dz1_1 = train.activation_grad tanh %h1, %dh1 : tensor<?x16xf32>
    %q_dz1_1 = smx.quantize %dz1_1 {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
    %acc2_bc_next = tile.accumulate_rows %acc2_bc, %dz1_1 : tensor<16xf32>, tensor<?x16xf32>
    %dh0_1 = train.gemm %q_dz1_1, %q_W1 role dgrad transpose_b : !smx.tensor<?x16, int12, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
    %acc3_bc_next = tile.accumulate_gemm %acc3_bc, %q_h0_1, %q_dz1_1 role wgrad transpose_a : !tile.exact<16x16>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
    %dz0_2 = train.activation_grad tanh %h0_1, %dh0_1 : tensor<?x16xf32>
    %q_dz0_1 = smx.quantize %dz0_2 {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
    %acc4_bc_next = tile.accumulate_rows %acc4_bc, %dz0_2 : tensor<16xf32>, tensor<?x16xf32>
    %acc5_bc_next = tile.accumulate_gemm %acc5_bc, %q_x_bc, %q_dz0_1 role wgrad transpose_a : !tile.exact<2x16>, !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
    tile.yield %acc0_bc_next, %acc1_bc_next, %acc2_bc_next, %acc3_bc_next, %acc4_bc_next, %acc5_bc_next, %r_3 : tensor<1xf32>, !tile.exact<16x1>, tensor<16xf32>, !tile.exact<16x16>, tensor<16xf32>, !tile.exact<2x16>, tensor<?x1xf32>
  }
  %11 = tile.round %sum1_bc : !tile.exact<16x1> -> tensor<16x1xf32>
  %12 = tile.round %sum3_bc : !tile.exact<16x16> -> tensor<16x16xf32>
  %13 = tile.round %sum5_bc : !tile.exact<2x16> -> tensor<2x16xf32>
  %loss_pde = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
  %loss_bc = train.mean_square %r_2 : tensor<?x1xf32> -> tensor<f32>
  %loss = train.weighted_sum %loss_pde, %loss_bc weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
  %dW2 = arith.addf %11, %3 : tensor<16x1xf32>
  %14 = arith.addf %12, %4 : tensor<16x16xf32>
  %db1 = arith.addf %sum2_bc, %sum2_pde : tensor<16xf32>
  %dW1 = arith.addf %14, %5 : tensor<16x16xf32>
  %15 = arith.addf %13, %6 : tensor<2x16xf32>
  %db0 = arith.addf %sum4_bc, %sum5_pde : tensor<16xf32>
  %dW0 = arith.addf %15, %7 : tensor<2x16xf32>
  %W0_next, %m_W0_next, %v_W0_next = train.update adam %W0, %dW0, %m_W0, %v_W0, %step {lr = 0.001, schedule = "linear_decay", steps = 200, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<2x16xf32>
  %b0_next, %m_b0_next, %v_b0_next = train.update adam %b0, %db0, %m_b0, %v_b0, %step {lr = 0.001, schedule = "linear_decay", steps = 200, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<16xf32>
  %W1_next, %m_W1_next, %v_W1_next = train.update adam %W1, %dW1, %m_W1, %v_W1, %step {lr = 0.001, schedule = "linear_decay", steps = 200, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<16x16xf32>
  %b1_next, %m_b1_next, %v_b1_next = train.update adam %b1, %db1, %m_b1, %v_b1, %step {lr = 0.001, schedule = "linear_decay", steps = 200, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<16xf32>
  %W2_next, %m_W2_next, %v_W2_next = train.update adam %W2, %dW2, %m_W2, %v_W2, %step {lr = 0.001, schedule = "linear_decay", steps = 200, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<16x1xf32>
  %b2_next, %m_b2_next, %v_b2_next = train.update adam %b2, %db2, %m_b2, %v_b2, %step {lr = 0.001, schedule = "linear_decay", steps = 200, beta1 = 0.9, beta2 = 0.999, eps = 1.0e-08} : tensor<1xf32>
  func.return %W0_next, %b0_next, %W1_next, %b1_next, %W2_next, %b2_next, %m_W0_next, %m_b0_next, %m_W1_next, %m_b1_next, %m_W2_next, %m_b2_next, %v_W0_next, %v_b0_next, %v_W1_next, %v_b1_next, %v_W2_next, %v_b2_next, %loss, %loss_pde, %loss_bc : tensor<2x16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x1xf32>, tensor<1xf32>, tensor<2x16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x1xf32>, tensor<1xf32>, tensor<2x16xf32>, tensor<16xf32>, tensor<16x16xf32>, tensor<16xf32>, tensor<16x1xf32>, tensor<1xf32>, tensor<f32>, tensor<f32>, tensor<f32>
}

// CHECK:      %gd = tile.loop (%stream, %d0_tile) over %d0 : tensor<?x8x2xf32> axis 1 by 4 gather (tensor<?x8x1xf32>) {
// CHECK-NEXT: %d0_rows = train.flatten %d0_tile : tensor<?x4x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT: %q_d0_rows = smx.quantize %d0_rows {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
// CHECK-NEXT: %z0_d_rows = train.gemm %q_d0_rows, %q_W0 role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x16, int8, block 4x4> -> tensor<?x16xf32>
// CHECK-NEXT: %z0_d = train.unflatten %z0_d_rows like %d0_tile : tensor<?x16xf32>, tensor<?x4x2xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h0_d = stein.diff_activation tanh %z0, %z0_d : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h0_d_rows = train.flatten %h0_d : tensor<?x4x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %q_h0_d_rows = smx.quantize %h0_d_rows {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
// CHECK-NEXT: %z1_d_rows = train.gemm %q_h0_d_rows, %q_W1 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
// CHECK-NEXT: %z1_d = train.unflatten %z1_d_rows like %h0_d : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h1_d = stein.diff_activation tanh %z1, %z1_d : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h1_d_rows = train.flatten %h1_d : tensor<?x4x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %q_h1_d_rows = smx.quantize %h1_d_rows {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
// CHECK-NEXT: %y_d_rows = train.gemm %q_h1_d_rows, %q_W2 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x1, int8, block 4x4> -> tensor<?x1xf32>
// CHECK-NEXT: %gd_1 = train.unflatten %y_d_rows like %h1_d : tensor<?x1xf32>, tensor<?x4x16xf32> -> tensor<?x4x1xf32>
// CHECK-NEXT: tile.yield %gd_1 : tensor<?x4x1xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %lap = stein.laplacian differences %gd, %delta sigma 1.000000e-02 : tensor<?x8x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT: %r_1 = arith.addf %lap, %f : tensor<?x1xf32>
// CHECK-NEXT: %dr = train.mean_square_grad %r_1, %dloss over %n_pde : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
// CHECK-NEXT: %dgd = stein.laplacian_vjp differences %dr, %delta sigma 1.000000e-02 : tensor<?x1xf32>, tensor<?x4x2xf32> -> tensor<?x8x1xf32>
// CHECK-NEXT: %zero_sum_dz1_d = tile.zero like %z1 : tensor<?x16xf32>
// CHECK-NEXT: %zero_sum_z1_dout = tile.zero like %z1 : tensor<?x16xf32>
// CHECK-NEXT: %zero_sum_dz0_d = tile.zero like %z0 : tensor<?x16xf32>
// CHECK-NEXT: %zero_sum_z0_dout = tile.zero like %z0 : tensor<?x16xf32>
// CHECK-NEXT: %acc0_pde_next, %acc1_pde_next, %acc4_pde_next, %sum_dz1_d, %sum_z1_dout, %sum_dz0_d, %sum_z0_dout = tile.loop (%stream_1, %d0_tile_1) over %d0 : tensor<?x8x2xf32> axis 1 by 4 carry (%acc0_pde_s = %acc0_pde, %acc1_pde_s = %acc1_pde, %acc4_pde_s = %acc4_pde, %sum_dz1_d_s = %zero_sum_dz1_d, %sum_z1_dout_s = %zero_sum_z1_dout, %sum_dz0_d_s = %zero_sum_dz0_d, %sum_z0_dout_s = %zero_sum_z0_dout) : (!tile.exact<16x1>, !tile.exact<16x16>, !tile.exact<2x16>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>) {
// CHECK-NEXT: %d0_rows_1 = train.flatten %d0_tile_1 : tensor<?x4x2xf32> -> tensor<?x2xf32>
// CHECK-NEXT: %q_d0_rows_1 = smx.quantize %d0_rows_1 {smx.use = "activation"} : tensor<?x2xf32> -> !smx.tensor<?x2, int8, block 4x4>
// CHECK-NEXT: %z0_d_rows_1 = train.gemm %q_d0_rows_1, %q_W0 role fwd : !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<2x16, int8, block 4x4> -> tensor<?x16xf32>
// CHECK-NEXT: %z0_d_1 = train.unflatten %z0_d_rows_1 like %d0_tile_1 : tensor<?x16xf32>, tensor<?x4x2xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h0_d_1 = stein.diff_activation tanh %z0, %z0_d_1 : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h0_d_rows_1 = train.flatten %h0_d_1 : tensor<?x4x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %q_h0_d_rows_1 = smx.quantize %h0_d_rows_1 {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
// CHECK-NEXT: %z1_d_rows_1 = train.gemm %q_h0_d_rows_1, %q_W1 role fwd : !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
// CHECK-NEXT: %z1_d_1 = train.unflatten %z1_d_rows_1 like %h0_d_1 : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h1_d_1 = stein.diff_activation tanh %z1, %z1_d_1 : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %h1_d_rows_1 = train.flatten %h1_d_1 : tensor<?x4x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %q_h1_d_rows_1 = smx.quantize %h1_d_rows_1 {smx.use = "activation"} : tensor<?x16xf32> -> !smx.tensor<?x16, int8, block 4x4>
// CHECK-NEXT: %dgd_tile = tile.slice %dgd at %stream_1 : tensor<?x8x1xf32> -> tensor<?x4x1xf32>
// CHECK-NEXT: %dy_d_rows = train.flatten %dgd_tile : tensor<?x4x1xf32> -> tensor<?x1xf32>
// CHECK-NEXT: %q_dy_d_rows = smx.quantize %dy_d_rows {smx.use = "gradient"} : tensor<?x1xf32> -> !smx.tensor<?x1, int12, block 4x4>
// CHECK-NEXT: %dh1_d_rows = train.gemm %q_dy_d_rows, %q_W2 role dgrad transpose_b : !smx.tensor<?x1, int12, block 4x4>, !smx.tensor<16x1, int8, block 4x4> -> tensor<?x16xf32>
// CHECK-NEXT: %acc0_pde_next_1 = tile.accumulate_gemm %acc0_pde_s, %q_h1_d_rows_1, %q_dy_d_rows role wgrad transpose_a : !tile.exact<16x1>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x1, int12, block 4x4>
// CHECK-NEXT: %dh1_d = train.unflatten %dh1_d_rows like %h1_d_1 : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %dz1_d = stein.diff_activation_vjp_streams tanh %z1, %z1_d_1, %dh1_d : tensor<?x16xf32>, tensor<?x4x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %sum_dz1_d_next = tile.accumulate_streams %sum_dz1_d_s, %dz1_d : tensor<?x16xf32>, tensor<?x4x16xf32>
// CHECK-NEXT: %sum_z1_dout_next = tile.accumulate_streams %sum_z1_dout_s, %dh1_d : tensor<?x16xf32>, tensor<?x4x16xf32>
// CHECK-NEXT: %dz1_d_rows = train.flatten %dz1_d : tensor<?x4x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %q_dz1_d_rows = smx.quantize %dz1_d_rows {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
// CHECK-NEXT: %dh0_d_rows = train.gemm %q_dz1_d_rows, %q_W1 role dgrad transpose_b : !smx.tensor<?x16, int12, block 4x4>, !smx.tensor<16x16, int8, block 4x4> -> tensor<?x16xf32>
// CHECK-NEXT: %acc1_pde_next_1 = tile.accumulate_gemm %acc1_pde_s, %q_h0_d_rows_1, %q_dz1_d_rows role wgrad transpose_a : !tile.exact<16x16>, !smx.tensor<?x16, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
// CHECK-NEXT: %dh0_d = train.unflatten %dh0_d_rows like %h0_d_1 : tensor<?x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %dz0_d = stein.diff_activation_vjp_streams tanh %z0, %z0_d_1, %dh0_d : tensor<?x16xf32>, tensor<?x4x16xf32>, tensor<?x4x16xf32> -> tensor<?x4x16xf32>
// CHECK-NEXT: %sum_dz0_d_next = tile.accumulate_streams %sum_dz0_d_s, %dz0_d : tensor<?x16xf32>, tensor<?x4x16xf32>
// CHECK-NEXT: %sum_z0_dout_next = tile.accumulate_streams %sum_z0_dout_s, %dh0_d : tensor<?x16xf32>, tensor<?x4x16xf32>
// CHECK-NEXT: %dz0_d_rows = train.flatten %dz0_d : tensor<?x4x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %q_dz0_d_rows = smx.quantize %dz0_d_rows {smx.use = "gradient"} : tensor<?x16xf32> -> !smx.tensor<?x16, int12, block 4x4>
// CHECK-NEXT: %acc4_pde_next_1 = tile.accumulate_gemm %acc4_pde_s, %q_d0_rows_1, %q_dz0_d_rows role wgrad transpose_a : !tile.exact<2x16>, !smx.tensor<?x2, int8, block 4x4>, !smx.tensor<?x16, int12, block 4x4>
// CHECK-NEXT: tile.yield %acc0_pde_next_1, %acc1_pde_next_1, %acc4_pde_next_1, %sum_dz1_d_next, %sum_z1_dout_next, %sum_dz0_d_next, %sum_z0_dout_next : !tile.exact<16x1>, !tile.exact<16x16>, !tile.exact<2x16>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32>
// CHECK-NEXT: }
// CHECK-NEXT: %dz1 = stein.diff_activation_vjp_center tanh %z1, %sum_dz1_d, %sum_z1_dout : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
// CHECK-NEXT: %dz0 = stein.diff_activation_vjp_center tanh %z0, %sum_dz0_d, %sum_z0_dout : tensor<?x16xf32>, tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
