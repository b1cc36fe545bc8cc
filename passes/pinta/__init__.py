"""The pieces of `lower-to-pinta`: concrete shapes, memory, per-op tiling, scheduling."""
