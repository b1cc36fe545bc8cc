"""pintac's dialects (import name `pintac.dialects`), one file per dialect, loaded lazily."""

from collections.abc import Callable

from xdsl.ir import Dialect


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Dialect name -> factory; a dialect module is imported on first use."""

    def get_pinn() -> Dialect:
        from pintac.dialects.pinn import PINN

        return PINN

    def get_train() -> Dialect:
        from pintac.dialects.train import TRAIN

        return TRAIN

    def get_stein() -> Dialect:
        from pintac.dialects.stein import STEIN

        return STEIN

    def get_tt() -> Dialect:
        from pintac.dialects.tt import TT

        return TT

    def get_smx() -> Dialect:
        from pintac.dialects.smx import SMX

        return SMX

    def get_pinta() -> Dialect:
        from pintac.dialects.pinta import PINTA

        return PINTA

    def get_tile() -> Dialect:
        from pintac.dialects.tile import TILE

        return TILE

    return {
        "pinn": get_pinn,
        "train": get_train,
        "stein": get_stein,
        "tt": get_tt,
        "smx": get_smx,
        "pinta": get_pinta,
        "tile": get_tile,
    }
