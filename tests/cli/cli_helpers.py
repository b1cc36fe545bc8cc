"""Shared by the command-line tests: paths, and a tiny problem that trains in milliseconds."""

from pathlib import Path

from pintac.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"

# The 2-D Poisson problem of examples/poisson2d_small.mlir with a 2-WIDTH-1 network, 8 + 8
# points per step and 4 Stein pairs: a step, a compile and an evaluation take milliseconds.
TINY = """// a tiny 2-D Poisson problem for tests
pinn.problem @tiny {
  pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2xWIDTHxf32> init xavier_normal
  pinn.param @b0 : tensor<WIDTHxf32> init zeros
  pinn.param @W1 : tensor<WIDTHx1xf32> init xavier_normal
  pinn.param @b1 : tensor<1xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?xWIDTHxf32>
    %h0 = math.tanh %z0 : tensor<?xWIDTHxf32>
    %y = pinn.dense %h0, @W1, @b1 : tensor<?xWIDTHxf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %f = math.sin %s : tensor<?x1xf32>
    %r = arith.addf %lap, %f : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@omega) weight 30.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %sin = math.sin %s : tensor<?x1xf32>
    %half = pinn.constant 0.5 : tensor<?x1xf32>
    %g = arith.mulf %sin, %half : tensor<?x1xf32>
    %r = arith.subf %u, %g : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.exact of @u (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %sin = math.sin %s : tensor<?x1xf32>
    %half = pinn.constant 0.5 : tensor<?x1xf32>
    %u = arith.mulf %sin, %half : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-2, schedule = "linear_decay", steps = 4,
              batch = {pde = 8, bc = 8}, pairs = 4, sigma = 0.1, seed = 0, eval_points = 200}
}
"""


def tiny_text(width: int = 4) -> str:
    return TINY.replace("WIDTH", str(width))


def call(argv, capsys) -> tuple[int, str, str]:
    """Run `pintac ARGV` in this process: its exit status, stdout and stderr (never a
    traceback)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err
