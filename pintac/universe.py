"""The `xdsl.universe` entry point: makes plain `xdsl-opt` see pintac's dialects and passes."""

from xdsl.universe import Universe

from pintac.dialects import get_all_dialects
from pintac.passes import get_all_passes

PINTAC_UNIVERSE = Universe(all_dialects=get_all_dialects(), all_passes=get_all_passes())
