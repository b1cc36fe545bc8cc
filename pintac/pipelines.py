"""Named pass pipelines: what `pintac compile --pipeline NAME` and `pintac run` apply.

Each is a pipeline string any user could pass to `pintac opt -p`, so a named pipeline can
always be replayed and debugged one pass at a time.
"""

from __future__ import annotations

from pintac.core.errors import UserError

_TRAIN = "pinn-build-loss,pinn-autodiff"
_STEP = "optimizer-lower,cse,dce"

PIPELINES: dict[str, tuple[str, str]] = {
    "fp32": (
        f"stein-expand,{_TRAIN},{_STEP}",
        "f32 training with Stein's-estimator derivatives (the baseline), or by the "
        "problem's own strategy (pinn.train derivatives)",
    ),
    "fp32-taylor": (
        f"pinn-build-loss{{derivatives=taylor}},pinn-autodiff,{_STEP}",
        "f32 training with exact derivatives by Taylor-mode jets (the AD baseline)",
    ),
    "fp32-stde": (
        f"pinn-build-loss{{derivatives=stde}},pinn-autodiff,{_STEP}",
        "f32 training with Laplacians by the stochastic Taylor derivative estimator "
        "(16 random coordinates a point)",
    ),
    "smx-taylor": (
        f"pinn-build-loss{{derivatives=taylor}},pinn-autodiff,smx-quantize,{_STEP}",
        "fully quantized SMX training with exact derivatives by Taylor-mode jets (the jets' "
        "coefficients quantized as tensors of their own; DiffQuant has nothing to separate)",
    ),
    "smx-naive": (
        f"stein-expand,{_TRAIN},smx-quantize,{_STEP}",
        "fully quantized SMX training, the perturbed batches quantized as they are",
    ),
    "smx-diff": (
        f"stein-expand,stein-difference,{_TRAIN},smx-quantize,{_STEP}",
        "fully quantized SMX training with difference-based quantization (DiffQuant)",
    ),
    "mx-diff": (
        f"stein-expand,stein-difference,{_TRAIN},smx-quantize{{format=mx}},{_STEP}",
        "as smx-diff, in 1-D MX blocks along the reduction axis (two copies per tensor)",
    ),
    "fp32-tt": (
        f"tt-compress,tt-partial-reconstruct,stein-expand,{_TRAIN},{_STEP}",
        "f32 training with the hidden layers as tensor-train layers (rank 8, 3 cores), "
        "contracted as the cost model finds cheapest",
    ),
    "full-noprs": (
        f"tt-compress,stein-expand,stein-difference,{_TRAIN},smx-quantize,{_STEP}",
        "TT hidden layers, fully quantized SMX training with DiffQuant, core by core",
    ),
    "full": (
        f"tt-compress,tt-partial-reconstruct{{groups=2}},stein-expand,stein-difference,"
        f"{_TRAIN},smx-quantize,{_STEP}",
        "the paper's configuration: full-noprs with partial reconstruction into 2 super-cores",
    ),
}

DEFAULT_PIPELINE = "fp32"


def pipeline_spec(name_or_spec: str) -> str:
    """The pass pipeline for a pipeline name, or the string itself if it is a pipeline."""
    if name_or_spec in PIPELINES:
        return PIPELINES[name_or_spec][0]
    if "," in name_or_spec or "{" in name_or_spec or "-" in name_or_spec:
        return name_or_spec
    raise UserError(
        f"error: unknown pipeline '{name_or_spec}'; named pipelines: {', '.join(PIPELINES)} "
        "(or give a pass pipeline string such as 'stein-expand,pinn-build-loss,...')"
    )


def add_pipeline_argument(parser) -> None:
    """The `--pipeline` option of `pintac run` and `pintac compile`."""
    named = ", ".join(f"{n} ({d})" for n, (_, d) in PIPELINES.items())
    parser.add_argument(
        "--pipeline",
        default=DEFAULT_PIPELINE,
        help=f"named pipeline or pass pipeline string; named: {named}",
    )
