"""pintac: a compiler for training physics-informed neural networks on edge hardware."""

__version__ = "0.1.0"
