"""Numerics shared by everything, the NumPy reference runtime and the PINTA simulator."""
