// The mistake the README shows: @W0 is 3x4, but the layer reads 2 features.
pinn.problem @bad {
  pinn.param @W0 : tensor<3x4xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x4xf32> {
    %z = pinn.dense %x, @W0 : tensor<?x2xf32> -> tensor<?x4xf32>
    pinn.return %z : tensor<?x4xf32>
  }
}
