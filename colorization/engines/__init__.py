"""The engines that run the network (one module per runtime) and the selector that picks one."""
from .base import Engine
from .selection import BACKENDS, ENGINE_CHOICES, ENGINES, load_engine

__all__ = ["BACKENDS", "ENGINE_CHOICES", "ENGINES", "Engine", "load_engine"]
