"""pintac's passes (import name `pintac.passes`): one pass per file, named after the pass."""

from collections.abc import Callable

from xdsl.passes import ModulePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> factory; a pass module is imported on first use."""
    return {}
