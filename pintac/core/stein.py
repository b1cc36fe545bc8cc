"""The defaults of Stein's estimator."""

# Stein's-estimator settings when neither a pass option nor the problem's `pinn.train` gives them.
DEFAULT_PAIRS = 512
DEFAULT_SIGMA = 0.01
