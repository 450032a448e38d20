"""INTERIM adapter, to be replaced at the merge of issue 12 (the lead's redesign).

The redesign gives `Colorizer.predict_scores([prepared]) -> [scores (313, h, w)]` and
`colorization.model.annealed_mean(scores, points, scale) -> ab`; until then the web server gets both from here, and
from nowhere else, so the swap is these two names.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..model_files import ModelFiles
from ..network import OUTPUT_LAYER, ColorizationNetwork

SCORES_LAYER = "conv8_313"
"""The raw 313-bin logits, before the annealing scale layer."""

_scores_networks: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def attach_scores_network(colorizer, files: ModelFiles, backend: str = "auto") -> None:
    """Engines other than `caffe` hide the logits: load the Caffe net alongside for the scores alone."""
    if not has_scores_layer(colorizer.network):
        _scores_networks[colorizer] = ColorizationNetwork(files, backend)


def has_scores_layer(network) -> bool:
    net = getattr(network, "net", None)
    return isinstance(network, ColorizationNetwork) and net is not None and SCORES_LAYER in set(net.getLayerNames())


def scores_network(colorizer) -> ColorizationNetwork:
    if has_scores_layer(colorizer.network):
        return colorizer.network
    if colorizer in _scores_networks:
        return _scores_networks[colorizer]
    raise RuntimeError("this colorizer's engine gives no 313-bin scores: call attach_scores_network first")


def points_of(colorizer) -> np.ndarray:
    """The 313x2 ab cluster centres the colorizer decodes with."""
    net = scores_network(colorizer).net
    decoder = net.getLayer(net.getLayerId(OUTPUT_LAYER)).blobs[0]
    return np.ascontiguousarray(decoder.reshape(2, -1).T, np.float32)


def predict_scores(colorizer, prepared_list) -> list[np.ndarray]:
    """One forward pass to the raw conv8_313 logits, each (313, size/4, size/4) float32."""
    network = scores_network(colorizer)
    blob = np.stack([p.network_input for p in prepared_list])[:, None, :, :].astype(np.float32)
    network.net.setInput(blob)
    output = network.net.forward(SCORES_LAYER)
    return [np.ascontiguousarray(item, np.float32) for item in output]


def annealed_mean(scores: np.ndarray, points: np.ndarray, scale: float) -> np.ndarray:
    """Softmax of scores x scale over the 313 bins, then the mean of the cluster centres: ab (h, w, 2) float32."""
    bins, height, width = scores.shape
    logits = scores.reshape(bins, -1) * np.float32(scale)
    logits -= logits.max(axis=0, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=0, keepdims=True)
    ab = np.asarray(points, np.float32).T @ logits
    return np.ascontiguousarray(ab.reshape(2, height, width).transpose(1, 2, 0))
