// Pass options win over pinn.train; pinn.train wins over the defaults.
// RUN: pintac opt %s --split-input-file -p 'stein-expand{pairs=4 sigma=0.01}' | filecheck %s
// RUN: pintac opt %s --split-input-file -p stein-expand | filecheck %s --check-prefix=TRAIN
// A range mixing space and time needs sigma-t = sigma (the third problem).
// RUN: pintac opt %s --split-input-file -p 'stein-expand{sigma-t=0.02}' --verify-diagnostics --reproducer %t.reproducer | filecheck %s --check-prefix=MIXED

// Space only. Derivatives of @u at %x share one sample set (stream 0); @v at %x (stream 1)
// and @u at other points %y (stream 2) get their own; the Neumann term's is stream 3.
pinn.problem @space {
  pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x4xf32> init xavier_normal
  pinn.param @b0 : tensor<4xf32> init zeros
  pinn.param @W1 : tensor<4x1xf32> init xavier_normal
  pinn.param @V0 : tensor<2x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x4xf32>
    %h = math.tanh %z : tensor<?x4xf32>
    %y = pinn.dense %h, @W1 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.network @v(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %y = pinn.dense %x, @V0 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @omega weight 1.0 (%p : tensor<?x2xf32>) {
    %u = pinn.eval @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    %ux = pinn.grad @u(%p) dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %vy = pinn.partial @v(%p) dim 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %q = arith.addf %p, %p : tensor<?x2xf32>
    %lapq = pinn.laplacian @u(%q) : tensor<?x2xf32> -> tensor<?x1xf32>
    %a = arith.addf %lap, %ux : tensor<?x1xf32>
    %b = arith.addf %a, %vy : tensor<?x1xf32>
    %c = arith.addf %b, %lapq : tensor<?x1xf32>
    %r = arith.addf %c, %u : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@omega) weight 300.0 (%p : tensor<?x2xf32>) {
    %u = pinn.eval @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.boundary @neumann on boundary(@omega) weight 1.0 (%p : tensor<?x2xf32>) {
    %un = pinn.partial @u(%p) dim 0 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %un : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-3, steps = 10,
              batch = {pde = 8, bc = 8, neumann = 8}, pairs = 3, sigma = 0.05}
}

// CHECK-LABEL: pinn.problem @space
// CHECK:         pinn.residual @pde on @omega weight 1.0 (%[[P:.+]] : tensor<?x2xf32>) {
// pinn.eval without a derivative stays as it is.
// CHECK-NEXT:      %u{{(_[0-9]+)?}} = pinn.eval @u(%[[P]]) : tensor<?x2xf32> -> tensor<?x1xf32>
// The generated values carry readable names; the replaced ops keep theirs.
// CHECK-NEXT:      %seed, %step = pinn.rng_key : i64, i64
// CHECK-NEXT:      %delta = stein.sample %[[P]], %seed, %step pairs 4 sigma 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
// CHECK-NEXT:      %batch = stein.perturb %[[P]], %delta : tensor<?x2xf32>, tensor<?x4x2xf32> -> tensor<?x9x2xf32>
// CHECK-NEXT:      %g = pinn.eval @u(%batch) : tensor<?x9x2xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:      %lap = stein.laplacian %g, %delta sigma 1.000000e-02 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %ux = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 1 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// @v at the same points: its own sample set, before its first derivative, same rng key.
// CHECK-NEXT:      %[[D1:.+]] = stein.sample %[[P]], %seed, %step pairs 4 sigma 1.000000e-02 stream 1 : tensor<?x2xf32> -> tensor<?x4x2xf32>
// CHECK-NEXT:      %[[B1:.+]] = stein.perturb %[[P]], %[[D1]]
// CHECK-NEXT:      %[[G1:.+]] = pinn.eval @v(%[[B1]]) : tensor<?x9x2xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:      %vy = stein.grad %[[G1]], %[[D1]] sigma 1.000000e-02 dims 1 to 2 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// @u at other points: sampled after those points are defined.
// CHECK-NEXT:      %[[Q:.+]] = arith.addf %[[P]], %[[P]] : tensor<?x2xf32>
// CHECK-NEXT:      %[[D2:.+]] = stein.sample %[[Q]], %seed, %step pairs 4 sigma 1.000000e-02 stream 2 : tensor<?x2xf32> -> tensor<?x4x2xf32>
// CHECK-NEXT:      %[[B2:.+]] = stein.perturb %[[Q]], %[[D2]]
// CHECK-NEXT:      %[[G2:.+]] = pinn.eval @u(%[[B2]])
// CHECK-NEXT:      %lapq = stein.laplacian %[[G2]], %[[D2]] sigma 1.000000e-02 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %a = arith.addf %lap, %ux : tensor<?x1xf32>
// CHECK-NOT:       pinn.laplacian
// CHECK-NOT:       pinn.grad
// CHECK-NOT:       pinn.partial
// CHECK:           pinn.yield %r
// CHECK-NEXT:    }
// A term without derivatives gets no rng key and no sample.
// CHECK-NEXT:    pinn.boundary @bc on boundary(@omega) weight 300.0 (%[[P:.+]] : tensor<?x2xf32>) {
// CHECK-NEXT:      %{{.+}} = pinn.eval @u(%[[P]]) : tensor<?x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      pinn.yield
// CHECK-NEXT:    }
// Another term: its own rng key; streams continue across terms.
// CHECK-NEXT:    pinn.boundary @neumann on boundary(@omega) weight 1.0 (%[[P:.+]] : tensor<?x2xf32>) {
// CHECK-NEXT:      %[[SEED:.+]], %[[STEP:.+]] = pinn.rng_key : i64, i64
// CHECK-NEXT:      %[[D3:.+]] = stein.sample %[[P]], %[[SEED]], %[[STEP]] pairs 4 sigma 1.000000e-02 stream 3 : tensor<?x2xf32> -> tensor<?x4x2xf32>
// CHECK-NEXT:      %[[B3:.+]] = stein.perturb %[[P]], %[[D3]]
// CHECK-NEXT:      %[[G3:.+]] = pinn.eval @u(%[[B3]])
// CHECK-NEXT:      %un = stein.grad %[[G3]], %[[D3]] sigma 1.000000e-02 dims 0 to 1 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      pinn.yield %un

// Without options: K = 3 and σ = 0.05 from pinn.train.
// TRAIN-LABEL: pinn.problem @space
// TRAIN:         stein.sample %{{.+}} pairs 3 sigma 5.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x3x2xf32>
// TRAIN-NEXT:    stein.perturb {{.*}} -> tensor<?x7x2xf32>
// TRAIN-NEXT:    pinn.eval @u({{.*}}) : tensor<?x7x2xf32> -> tensor<?x7x1xf32>
// TRAIN-NEXT:    %lap = stein.laplacian {{.*}} sigma 5.000000e-02 : tensor<?x7x1xf32>, tensor<?x3x2xf32> -> tensor<?x1xf32>
// TRAIN-NEXT:    %ux = stein.grad {{.*}} sigma 5.000000e-02 dims 0 to 1 :
// TRAIN:         stein.sample {{.*}} pairs 3 sigma 5.000000e-02 stream 1
// TRAIN:         stein.sample {{.*}} pairs 3 sigma 5.000000e-02 stream 2
// TRAIN:         stein.sample {{.*}} pairs 3 sigma 5.000000e-02 stream 3

// MIXED-LABEL: pinn.problem @space
// MIXED:       stein.sample {{.*}} pairs 3 sigma 5.000000e-02 stream 0 :

// -----

// Space × time: ∂u/∂t, ∇u and Δu of one point share one sample set drawn with σ in space
// and σ_t in time (the last coordinate); ∂t's estimator uses σ_t. The term's own rng key is
// reused.
pinn.problem @spacetime {
  pinn.domain @q box [0.0] to [1.0] dim 2 time [0.0, 1.0]
  pinn.param @W0 : tensor<3x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {
    %z = pinn.dense %x, @W0 : tensor<?x3xf32> -> tensor<?x1xf32>
    %y = math.sin %z : tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @q weight 1.0 (%p : tensor<?x3xf32>) {
    %k0, %k1 = pinn.rng_key : i64, i64
    %ut = pinn.partial @u(%p) dim 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %du = pinn.grad @u(%p) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x2xf32>
    %lap = pinn.laplacian @u(%p) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %s = pinn.sum %du : tensor<?x2xf32> -> tensor<?x1xf32>
    %a = arith.subf %ut, %lap : tensor<?x1xf32>
    %r = arith.addf %a, %s : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-3, steps = 10, batch = {pde = 8},
              pairs = 2, sigma = 0.05, sigma_t = 0.02}
}

// CHECK-LABEL: pinn.problem @spacetime
// CHECK:         pinn.residual @pde on @q weight 1.0 (%[[P:.+]] : tensor<?x3xf32>) {
// CHECK-NEXT:      %k0, %k1 = pinn.rng_key : i64, i64
// CHECK-NEXT:      %[[D:.+]] = stein.sample %[[P]], %k0, %k1 pairs 4 sigma 1.000000e-02 sigma_t 2.000000e-02 stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>
// CHECK-NEXT:      %[[B:.+]] = stein.perturb %[[P]], %[[D]] : tensor<?x3xf32>, tensor<?x4x3xf32> -> tensor<?x9x3xf32>
// CHECK-NEXT:      %[[G:.+]] = pinn.eval @u(%[[B]]) : tensor<?x9x3xf32> -> tensor<?x9x1xf32>
// CHECK-NEXT:      %ut = stein.grad %[[G]], %[[D]] sigma 2.000000e-02 dims 2 to 3 : tensor<?x9x1xf32>, tensor<?x4x3xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %du = stein.grad %[[G]], %[[D]] sigma 1.000000e-02 dims 0 to 2 : tensor<?x9x1xf32>, tensor<?x4x3xf32> -> tensor<?x2xf32>
// CHECK-NEXT:      %lap = stein.laplacian %[[G]], %[[D]] sigma 1.000000e-02 dims 0 to 2 : tensor<?x9x1xf32>, tensor<?x4x3xf32> -> tensor<?x1xf32>
// CHECK-NEXT:      %s = pinn.sum %du
// CHECK-NOT:       pinn.rng_key
// CHECK-NOT:       stein.sample
// CHECK:           pinn.yield %r

// TRAIN-LABEL: pinn.problem @spacetime
// TRAIN:         stein.sample {{.*}} pairs 2 sigma 5.000000e-02 sigma_t 2.000000e-02 stream 0 : tensor<?x3xf32> -> tensor<?x2x3xf32>
// TRAIN-NEXT:    stein.perturb
// TRAIN-NEXT:    pinn.eval
// TRAIN-NEXT:    %ut = stein.grad {{.*}} sigma 2.000000e-02 dims 2 to 3 :
// TRAIN-NEXT:    %du = stein.grad {{.*}} sigma 5.000000e-02 dims 0 to 2 :
// TRAIN-NEXT:    %lap = stein.laplacian {{.*}} sigma 5.000000e-02 dims 0 to 2 :

// MIXED-LABEL: pinn.problem @spacetime
// MIXED:       stein.sample {{.*}} pairs 2 sigma 5.000000e-02 sigma_t 2.000000e-02 stream 0 :

// -----

// A gradient over space and time at once: fine while σ_t = σ (σ_t defaults to σ).
pinn.problem @mixed {
  pinn.domain @q box [0.0] to [1.0] dim 1 time [0.0, 1.0]
  pinn.param @W0 : tensor<2x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %y = pinn.dense %x, @W0 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @q weight 1.0 (%p : tensor<?x2xf32>) {
    %dxt = pinn.grad @u(%p) : tensor<?x2xf32> -> tensor<?x2xf32>
    %r = pinn.sum %dxt : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-3, steps = 10, batch = {pde = 8}, sigma = 0.01}
}

// CHECK-LABEL: pinn.problem @mixed
// CHECK:         %[[D:.+]] = stein.sample {{.*}} pairs 4 sigma 1.000000e-02 sigma_t 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x4x2xf32>
// CHECK:         %dxt = stein.grad %{{.+}}, %[[D]] sigma 1.000000e-02 : tensor<?x9x1xf32>, tensor<?x4x2xf32> -> tensor<?x2xf32>

// TRAIN-LABEL: pinn.problem @mixed
// TRAIN:         stein.sample {{.*}} pairs 512 sigma 1.000000e-02 sigma_t 1.000000e-02 stream 0 : tensor<?x2xf32> -> tensor<?x512x2xf32>
// TRAIN:         %dxt = stein.grad {{.*}} sigma 1.000000e-02 : tensor<?x1025x1xf32>, tensor<?x512x2xf32> -> tensor<?x2xf32>

// MIXED-NOT:   pinn.problem @mixed
// MIXED:       error: pass 'stein-expand{{.*}}' failed: 'pinn.grad' of @u in pinn.residual @pde covers dims 0 to 2, both space (sampled with sigma 0.01) and time, coordinate 1 (sampled with sigma_t 0.02); one estimator needs one sigma: set sigma-t equal to sigma (stein-expand{sigma-t=0.01} or sigma_t in pinn.train), or split the range into dims 0 to 1 and dims 1 to 2
