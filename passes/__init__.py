"""pintac's passes (import name `pintac.passes`): one pass per file, named after the pass."""

from collections.abc import Callable

from xdsl.passes import ModulePass

# pass name -> (module in pintac.passes, class name); modules are imported on first use.
_PASSES: dict[str, tuple[str, str]] = {
    "stein-expand": ("stein_expand", "SteinExpandPass"),
    "stein-difference": ("stein_difference", "SteinDifferencePass"),
    "pinn-build-loss": ("pinn_build_loss", "PinnBuildLossPass"),
    "pinn-autodiff": ("pinn_autodiff", "PinnAutodiffPass"),
    "optimizer-lower": ("optimizer_lower", "OptimizerLowerPass"),
    "smx-quantize": ("smx_quantize", "SmxQuantizePass"),
    "tt-compress": ("tt_compress", "TTCompressPass"),
    "tt-partial-reconstruct": ("tt_partial_reconstruct", "TTPartialReconstructPass"),
    "tile-points": ("tile_points", "TilePointsPass"),
    "tile-streams": ("tile_streams", "TileStreamsPass"),
    "lower-to-pinta": ("lower_to_pinta", "LowerToPintaPass"),
}


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> factory; a pass module is imported on first use."""

    def factory(module: str, cls: str) -> Callable[[], type[ModulePass]]:
        def load() -> type[ModulePass]:
            import importlib

            return getattr(importlib.import_module(f"pintac.passes.{module}"), cls)

        return load

    return {name: factory(module, cls) for name, (module, cls) in _PASSES.items()}
