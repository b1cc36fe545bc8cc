"""Numerics shared by every target, the execution plan, and the NumPy reference runtime."""
