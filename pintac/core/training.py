"""The optimizers and learning-rate schedules: their names, hyperparameter defaults and the
schedule's formula, read by the `train` and `pinn` dialects, the passes, the runtime and the
PINTA simulator."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: its state slots per parameter and its hyperparameters with defaults."""

    name: str
    slots: tuple[str, ...]
    hyperparameters: dict[str, float]


#: Adam's hyperparameters when neither a pass option nor the problem gives them.
ADAM_DEFAULTS: dict[str, float] = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

OPTIMIZERS: dict[str, Optimizer] = {
    "adam": Optimizer("adam", ("m", "v"), ADAM_DEFAULTS),
    "sgd": Optimizer("sgd", (), {"lr": 1e-3}),
}
DEFAULT_OPTIMIZER = "adam"
SCHEDULES = ("constant", "linear_decay")
DEFAULT_SCHEDULE = "constant"


def learning_rate(
    lr: float, step: int, schedule: str = "constant", steps: int | None = None
) -> float:
    """The schedule's learning rate at a 0-based step (linear decay reaches 0 after `steps`)."""
    if schedule == "linear_decay":
        return lr * (1.0 - step / steps)
    return lr
