"""The engines that run the network: the registry, one module per runtime, and the choice `--engine auto` makes."""

from .base import Engine
from .choice import load_engine
from .registry import BACKENDS, ENGINE_CHOICES, ENGINES

__all__ = ["BACKENDS", "ENGINE_CHOICES", "ENGINES", "Engine", "load_engine"]
