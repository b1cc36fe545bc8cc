"""Pass `optimizer-lower`: the parameter update, completing the training step.

Rewrites `@loss_grad(params..., points..., seed, step) -> (loss, term losses..., grads...)`
into

  @train_step(params..., state..., points..., seed, step)
      -> (params'..., state'..., loss, term losses...)

with one `train.update` per parameter. Master weights and optimizer state stay f32. Options
not given are read from the problem's `pinn.train` (optimizer, lr, schedule, steps, beta1,
beta2, eps), then default to Adam, lr 1e-3, constant schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, StringAttr, f64, i64
from xdsl.ir import Attribute, Block, Region
from xdsl.passes import ModulePass

from pintac.core.errors import PassError
from pintac.core.training import DEFAULT_OPTIMIZER, DEFAULT_SCHEDULE, OPTIMIZERS, SCHEDULES
from pintac.dialects import pinn, train


@dataclass(frozen=True)
class OptimizerLowerPass(ModulePass):
    """Add the optimizer update (Adam or SGD, f32) to @loss_grad: build @train_step."""

    name = "optimizer-lower"

    kind: str | None = None
    lr: float | None = None
    schedule: str | None = None
    steps: int | None = None
    beta1: float | None = None
    beta2: float | None = None
    eps: float | None = None

    def __post_init__(self) -> None:
        """Check the options when the pass is made, so a bad one fails before any pass runs."""
        if self.kind is not None and self.kind not in OPTIMIZERS:
            raise PassError(
                f"option kind: unknown optimizer '{self.kind}'; expected one of: "
                + ", ".join(OPTIMIZERS)
            )
        if self.schedule is not None and self.schedule.replace("-", "_") not in SCHEDULES:
            raise PassError(
                f"option schedule: unknown schedule '{self.schedule}'; expected constant or "
                "linear-decay"
            )
        if self.steps is not None and (
            isinstance(self.steps, bool)
            or not isinstance(self.steps, int)
            or not 1 <= self.steps <= 2**63 - 1
        ):
            raise PassError(
                f"option steps must be an integer from 1 to {2**63 - 1}, got {self.steps}"
            )
        for key in ("lr", "eps", "beta1", "beta2"):
            value = getattr(self, key)
            if value is None:
                continue
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and value > 0
            if key.startswith("beta"):
                if not (ok and value < 1):
                    raise PassError(f"option {key} must be in (0, 1), got {value}")
            elif not ok:
                raise PassError(f"option {key} must be a positive number, got {value}")

    def settings(self, module: builtin.ModuleOp) -> dict[str, object]:
        """The optimizer, schedule and hyperparameters: options, else `pinn.train`, else the
        optimizer's defaults (`OPTIMIZERS`)."""
        config = next((p.train for p in module.ops if isinstance(p, pinn.ProblemOp)), None)

        def given(key: str, option: object) -> object:
            if option is None and config is not None:
                return config.get(key)
            return option

        kind = given("optimizer", self.kind) or DEFAULT_OPTIMIZER
        optimizer = OPTIMIZERS.get(str(kind))
        if optimizer is None:
            raise PassError(
                f"unknown optimizer kind '{kind}'; expected one of: {', '.join(OPTIMIZERS)}"
            )
        schedule = str(given("schedule", self.schedule) or DEFAULT_SCHEDULE)
        schedule = schedule.replace("-", "_")
        if schedule not in SCHEDULES:
            raise PassError(f"unknown schedule '{schedule}'; expected constant or linear-decay")
        hyper = {}
        for key, default in optimizer.hyperparameters.items():
            value = given(key, getattr(self, key))
            hyper[key] = default if value is None else value
        out: dict[str, object] = {"optimizer": optimizer.name, "lr": hyper.pop("lr")}
        out["schedule"] = schedule
        steps = given("steps", self.steps)
        if steps is not None:
            out["steps"] = steps
        out |= hyper
        if schedule == "linear_decay" and steps is None:
            raise PassError("a linear-decay schedule needs the number of steps (steps=N)")
        if not float(out["lr"]) > 0:
            raise PassError(f"the learning rate must be positive, got {out['lr']}")
        return out

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        grad_fn = next(
            (f for f in op.ops if isinstance(f, func.FuncOp) and f.sym_name.data == "loss_grad"),
            None,
        )
        if grad_fn is None:
            raise PassError("expects a @loss_grad function (run pinn-autodiff first)")
        settings = self.settings(op)
        step_fn = self._lower(grad_fn, settings)
        op.body.block.insert_op_after(step_fn, grad_fn)
        grad_fn.detach()
        grad_fn.erase()

    @staticmethod
    def _config(settings: dict[str, object]) -> dict[str, Attribute]:
        config: dict[str, Attribute] = {}
        for key, value in settings.items():
            if key == "optimizer":
                continue
            if isinstance(value, str):
                config[key] = StringAttr(value)
            elif isinstance(value, int):
                config[key] = IntegerAttr(value, i64)
            else:
                config[key] = FloatAttr(float(value), f64)
        return config

    def _lower(self, f: func.FuncOp, settings: dict[str, object]) -> func.FuncOp:
        kind = str(settings["optimizer"])
        slots = OPTIMIZERS[kind].slots
        old = f.body.block
        roles = train.arg_roles(f)
        params = [
            (a, r.removeprefix("param:"))
            for a, r in zip(old.args, roles, strict=True)
            if r.startswith("param:")
        ]
        others = [
            (a, r) for a, r in zip(old.args, roles, strict=True) if not r.startswith("param:")
        ]
        state_roles = [f"state:{name}:{slot}" for slot in slots for _, name in params]
        state_types = [a.type for _ in slots for a, _ in params]
        new_roles = [f"param:{n}" for _, n in params] + state_roles + [r for _, r in others]
        block = Block(
            arg_types=[a.type for a, _ in params] + state_types + [a.type for a, _ in others]
        )
        n = len(params)
        for (a, name), new in zip(params, block.args[:n], strict=True):
            new.name_hint = name
            a.replace_all_uses_with(new)
        for i, role in enumerate(state_roles):
            _, name, slot = role.split(":")
            block.args[n + i].name_hint = f"{slot}_{name}"
        for (a, _), new in zip(others, block.args[n + len(state_roles) :], strict=True):
            new.name_hint = a.name_hint
            a.replace_all_uses_with(new)
        ret = old.last_op
        for o in list(old.ops):
            if o is not ret:
                o.detach()
                block.add_op(o)

        res_roles = train.result_roles(f)
        grads = {
            r.removeprefix("grad:"): v
            for v, r in zip(ret.arguments, res_roles, strict=True)
            if r.startswith("grad:")
        }
        reported = [
            (v, r)
            for v, r in zip(ret.arguments, res_roles, strict=True)
            if not r.startswith("grad:")
        ]
        step = block.args[new_roles.index("step")]
        config = self._config(settings)
        new_params, new_state = [], {slot: [] for slot in slots}
        for i, (_, name) in enumerate(params):
            state = [block.args[n + s * n + i] for s in range(len(slots))]
            upd = train.UpdateOp(kind, block.args[i], grads[name], state, step, config)
            block.add_op(upd)
            upd.new_param.name_hint = f"{name}_next"
            new_params.append(upd.new_param)
            for slot, v in zip(slots, upd.new_state, strict=True):
                v.name_hint = f"{slot}_{name}_next"
                new_state[slot].append(v)
        results = new_params + [v for slot in slots for v in new_state[slot]]
        results += [v for v, _ in reported]
        block.add_op(func.ReturnOp(*results))
        out_roles = [f"param:{name}" for _, name in params] + state_roles
        out_roles += [r for _, r in reported]
        return func.FuncOp(
            "train_step",
            (block.arg_types, [r.type for r in results]),
            Region(block),
            arg_attrs=train.role_attrs(new_roles),
            res_attrs=train.role_attrs(out_roles),
        )
