// RUN: PINTAC_VERIFY_DIAG

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0]
}
// CHECK: invalid.mlir:4:3: error: 'pinn.domain' op box bounds differ in length: 2 lower, 1 upper

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 1.0] to [1.0, 1.0]
}
// CHECK: error: 'pinn.domain' op box lower bound must be below the upper bound in coordinate 1: 1.0 >= 1.0

// -----

pinn.problem @p {
  pinn.domain @d ball center [0.0] radius -1.0 dim 3
}
// CHECK: error: 'pinn.domain' op ball radius must be positive, got -1.0

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0] dim 3
}
// CHECK: error: 'pinn.domain' op domain lower has 2 entries; with dim 3 give 1 (broadcast) or 3

// -----

pinn.problem @p {
  pinn.domain @d box [0.0] to [1.0] time [1.0, 0.0]
}
// CHECK: error: 'pinn.domain' op time interval must be [t0, t1] with finite t0 < t1, got 1.0, 0.0

// -----

pinn.problem @p {
  pinn.domain @d cylinder [0.0] to [1.0]
}
// CHECK: invalid.mlir:[[# @LINE - 2]]:{{[0-9]+}}: error: unknown domain kind 'cylinder'; expected one of: box, ball

// -----

pinn.problem @p {
  pinn.param @W : tensor<?x4xf32> init zeros
}
// CHECK: error: 'pinn.param' op a parameter needs a static, non-empty shape, got tensor<?x4xf32>

// -----

pinn.problem @p {
  pinn.param @W : tensor<4x4xf64> init zeros
}
// CHECK: error: 'pinn.param' op a parameter must be an f32 tensor, got tensor<4x4xf64>

// -----

pinn.problem @p {
  pinn.param @W : tensor<4x4xf32> init kaiming
}
// CHECK: error: 'pinn.param' op unknown init 'kaiming'; expected one of: zeros, ones, constant, normal, uniform, xavier_normal, xavier_uniform

// -----

pinn.problem @p {
  pinn.param @W : tensor<4x4xf32> init normal
}
// CHECK: error: 'pinn.param' op init 'normal' takes 1 argument(s), got 0

// -----

pinn.problem @p {
  pinn.param @b : tensor<4xf32> init xavier_normal
}
// CHECK: error: 'pinn.param' op init 'xavier_normal' needs a weight matrix (rank 2), got rank 1; give other tensors an explicit init such as normal(std)

// -----

// A TT core's ranks are not fan-in and fan-out: Glorot is for matrices only.
pinn.problem @p {
  pinn.param @G : tensor<8x4x4x8xf32> init xavier_uniform
}
// CHECK: error: 'pinn.param' op init 'xavier_uniform' needs a weight matrix (rank 2), got rank 4; give other tensors an explicit init such as normal(std)

// -----

// A tensor of another rank than 1 or 2 has no default init.
pinn.problem @p {
  pinn.param @G : tensor<1x4x4x8xf32>
}
// CHECK: invalid.mlir:90:19: error: a parameter of type tensor<1x4x4x8xf32> needs an init, e.g. `init normal(0.1)` (a matrix defaults to xavier_normal, a vector to zeros)

// -----

pinn.problem @p {
  pinn.param @W : tensor<3x4xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    %y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: invalid.mlir:[[# @LINE - 4]]:10: error: 'pinn.dense' op the weight @W is 3x4, but the layer maps 2 to 4 features

// -----

pinn.problem @p {
  pinn.param @W : tensor<2x4xf32> init zeros
  pinn.param @b : tensor<3xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    %y = pinn.dense %x, @W, @b : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: 'pinn.dense' op the bias @b must be tensor<4xf32>, got tensor<3xf32>

// -----

pinn.problem @p {
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    %y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: 'pinn.dense' op the weight @W is not defined in this problem

// -----

pinn.problem @p {
  pinn.domain @W box [0.0] to [1.0]
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    %y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: 'pinn.dense' op the weight @W must be a 'pinn.param', but it is a 'pinn.domain'

// -----

pinn.problem @p {
  pinn.param @W : tensor<2x4xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.return %y : tensor<?x4xf32>
  }
}
// CHECK: error: 'pinn.network' op the network returns tensor<?x4xf32> but declares tensor<?x1xf32>

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W : tensor<2x1xf32> init zeros
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @W(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.laplacian' op can only be applied to a network, but @W is a 'pinn.param'

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W : tensor<2x3xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x3xf32> {
    %y = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x3xf32>
    pinn.return %y : tensor<?x3xf32>
  }
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %g = pinn.grad @u(%x) : tensor<?x2xf32> -> tensor<?x2xf32>
    %s = pinn.sum %g : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.grad' op needs a scalar network, but @u returns 3 values per point

// -----

pinn.problem @p {
  pinn.domain @d box [0.0] to [1.0] dim 2 time [0.0, 1.0]
  pinn.param @W : tensor<3x1xf32> init zeros
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {
    %y = pinn.dense %x, @W : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x3xf32>) {
    %lap = pinn.laplacian @u(%x) dims 0 to 4 : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.laplacian' op the coordinate range 0 to 4 is not within the 3 coordinates of the points

// -----

pinn.problem @p {
  pinn.domain @d box [0.0] to [1.0] dim 2 time [0.0, 1.0]
  pinn.param @W : tensor<3x1xf32> init zeros
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {
    %y = pinn.dense %x, @W : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x3xf32>) {
    %ut = pinn.partial @u(%x) dim 3 : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.yield %ut : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.partial' op coordinate 3 does not exist: the points have 3 coordinates

// -----

pinn.problem @p {
  pinn.domain @d box [0.0] to [1.0] dim 2 time [0.0, 1.0]
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.residual' op points of @d have 3 coordinates (space, then time), but the term takes 2

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.boundary @ic on initial(@d) weight 1.0 (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.boundary' op 'initial(@d)' needs a domain with a time interval

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.boundary @bc on boundary(@d) weight 0.0 (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.boundary' op a loss weight must be positive, got 0.0

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.boundary @bc on edge(@d) weight 1.0 (%x : tensor<?x2xf32>) {
    pinn.yield %x : tensor<?x2xf32>
  }
}
// CHECK: error: unknown boundary set 'edge'; expected boundary(@d), initial(@d) or final(@d)

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x dims 1 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.sum' op the column range 1 to 1 is not within the 2 coordinates of the points

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    %s = pinn.slice %x dims 0 to 2 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %s : tensor<?x1xf32>
  }
}
// CHECK: error: 'pinn.slice' op columns 0 to 2 are 2 columns, got 1

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    pinn.yield %x : tensor<?x2xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-3, batch = {pde = 10, bc = 10}}
}
// CHECK: error: 'pinn.train' op batch names 'bc', which is not a loss term; terms: pde

// -----

pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0]
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x2xf32>) {
    pinn.yield %x : tensor<?x2xf32>
  }
  pinn.train {optimizer = "adamw"}
}
// CHECK: error: 'pinn.train' op unknown optimizer 'adamw'; expected one of: adam, sgd

// -----

pinn.problem @p {
  pinn.train {learning_rate = 1.0e-3}
}
// CHECK: error: 'pinn.train' op unknown training option 'learning_rate'; known options: optimizer, lr, schedule, steps, batch, seed, eval_points, pairs, sigma, sigma_t, derivatives, samples, beta1, beta2, eps

// -----

pinn.problem @p {
  pinn.train {lr = -1.0}
}
// CHECK: error: 'pinn.train' op training option 'lr' (learning rate) must be positive, got -1.0

// -----

pinn.problem @p {
  pinn.train {steps = 0}
  pinn.train {steps = 1}
}
// CHECK: error: 'pinn.train' op training option 'steps' (number of training steps) must be positive

// -----

pinn.problem @p {
  pinn.train {steps = 1}
  pinn.train {steps = 1}
}
// CHECK: error: 'pinn.problem' op a problem has at most one 'pinn.train'

// -----

pinn.problem @p {
  func.func @f() {
    func.return
  }
}
// CHECK: error: 'pinn.problem' op 'func.func' cannot appear directly in a problem

// -----

pinn.problem @p {
  pinn.domain @d box [0.0] to [1.0]
  pinn.domain @d box [0.0] to [2.0]
}
// CHECK: error: 'pinn.problem' op Redefinition of symbol "d"

// -----

func.func @f(%x: tensor<?x2xf32>) {
  %h = pinn.dense %x, @W : tensor<?x2xf32> -> tensor<?x4xf32>
  func.return
}
// CHECK: error: 'pinn.dense' op expects parent op 'pinn.network'
