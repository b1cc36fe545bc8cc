"""The ranges of pintac's numeric settings, shared by the command line, the Python API, the
PDE language and the `pinn.train` verifier (`pintac.dialects.pinn.TrainOp`)."""

MAX_SEED = 2**64 - 1  # the Philox key is 64 bits: seeds are 0 .. 2^64 - 1
MAX_STEPS = 2**32 - 1  # the step is one 32-bit word of the Philox counter
MAX_EVAL_POINTS = 10**8  # held-out points of an evaluation
MAX_PREDICT_POINTS = 10**7  # points of one `pintac predict` grid
