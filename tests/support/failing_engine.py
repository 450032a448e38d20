"""Failure injection: the network raising on chosen inputs (out of GPU memory, an engine error) in a command run."""

from __future__ import annotations

from typing import Callable

import numpy as np

from colorization.commands import arguments

OUT_OF_MEMORY = "CUDA error: out of memory"


def fail_forward_when(monkeypatch, failing: Callable[[np.ndarray], bool], message: str = OUT_OF_MEMORY) -> None:
    """Commands run in this test load a colorizer whose engine raises RuntimeError(message) on each blob (the
    (N, 1, S, S) L - 50 batch) for which `failing` is true, and runs the network as usual otherwise."""
    load = arguments.colorizer_from_args

    def load_failing(args, **keywords):
        colorizer = load(args, **keywords)
        forward = colorizer.engine.forward

        def forward_or_fail(blob: np.ndarray) -> np.ndarray:
            if failing(blob):
                raise RuntimeError(message)
            return forward(blob)

        colorizer.engine.forward = forward_or_fail
        return colorizer

    monkeypatch.setattr(arguments, "colorizer_from_args", load_failing)
