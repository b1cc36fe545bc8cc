"""pintac: a compiler for training physics-informed neural networks on edge hardware."""

import os

# OpenBLAS's idle threads spin for about 2^28 cycles after each BLAS call before they sleep,
# holding the cores that the runtime's own thread pool (pintac/runtime/parallel.py) needs for
# the elementwise work between GEMMs. Sleeping after 2^4 cycles costs the GEMMs nothing we
# could measure and made a quantized training step 20 % faster. OpenBLAS reads this when it
# loads, so it takes effect only if pintac is imported before NumPy; a value already set wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

__version__ = "0.1.0"
