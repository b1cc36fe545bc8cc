"""The facts every layer of pintac stands on: errors, limits, the optimizer and schedule
tables, the parameter-init rules and the Stein defaults.

This package sits below the dialects, the passes, the runtime and the frontend and imports
nothing of pintac outside itself (`tests/test_layers.py` checks the import direction).
"""
