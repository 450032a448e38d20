"""Building the ONNX graph of the colorization net: named nodes and weights, and the phase layout that turns a
dilated convolution into an ordinary one (colorization.onnx_convert says why and translates the Caffe layers).

A map of dilation d is held as its d*d phase images tiled in a d x d grid, with a gutter of zeros between tiles
so that an ordinary convolution padded by the gutter sees each tile alone; layers that act per pixel keep the
grid, and it is joined back into the ordinary layout where a layer needs that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .model import OUTPUT_LAYER, SCORES_LAYER


@dataclass(frozen=True)
class Tensor:
    """A value of the graph being built, of a height x width map. `block` is 1 for the ordinary layout, or d when
    the map is held as its d*d phase images tiled in a d x d grid with `gutter` pixels between tiles, zero when
    the grid is made (so a convolution padded by `gutter` sees each tile alone); a convolution's bias or a
    normalisation fills them, so a grid kept from an earlier layer has them cleared before the next convolution.
    `unnormalised` marks a softmax whose exponentials are not yet divided by their sum over the channels."""

    name: str
    channels: int
    height: int
    width: int
    block: int = 1
    gutter: int = 0
    unnormalised: bool = False


class GraphBuilder:
    def __init__(self):
        self.nodes = []
        self.initializers = []
        self.names: set[str] = set()
        self.reserved = {OUTPUT_LAYER, SCORES_LAYER}

    def unique(self, name: str) -> str:
        candidate, number = (f"{name}_1" if name in self.reserved else name), 1
        while candidate in self.names:
            number += 1
            candidate = f"{name}_{number}"
        self.names.add(candidate)
        return candidate

    def constant(self, name: str, array: np.ndarray) -> str:
        """Kept as an array until the model is made (see move_initializers)."""
        name = self.unique(name)
        self.initializers.append((name, np.ascontiguousarray(array)))
        return name

    def move_initializers(self, model) -> None:
        """Into the model one at a time, each array dropped once copied: the weights are held twice at most (the
        caller's and the model's), not once more per protobuf copy of a whole graph."""
        from onnx import numpy_helper

        self.initializers.reverse()
        while self.initializers:
            name, array = self.initializers.pop()
            model.graph.initializer.append(numpy_helper.from_array(array, name))

    def node(self, op: str, inputs: list[str], name: str, **attributes) -> str:
        from onnx import helper

        output = self.unique(name)
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def output(self, tensor: Tensor, name: str) -> Tensor:
        """The tensor under a fixed output name, the Caffe layer's, whatever the node that made it was called."""
        from onnx import helper

        if tensor.name != name:
            self.nodes.append(helper.make_node("Identity", [tensor.name], [name], name=name))
        return replace(tensor, name=name)

    def slice(self, tensor: str, starts: list[int], ends: list[int], axes: list[int], name: str) -> str:
        bounds = [
            self.constant(f"{name}_{what}", np.array(values, np.int64))
            for what, values in (("starts", starts), ("ends", ends), ("axes", axes))
        ]
        return self.node("Slice", [tensor, *bounds], name)

    def to_grid(self, tensor: Tensor, block: int, gutter: int) -> Tensor:
        """Space-to-depth, then each phase image padded by the gutter on its right and bottom (except the last
        column and row of tiles) and the tiles joined: a dilated convolution becomes an ordinary one on one map
        barely larger than the original, which the runtimes' fast kernels (Winograd among them) take whole."""
        tensor = self.to_ordinary(tensor)
        channels = tensor.channels
        phases = self.node("SpaceToDepth", [tensor.name], f"{tensor.name}_phases", blocksize=block)
        rows = []
        for row in range(block):
            tiles = []
            for column in range(block):
                index = row * block + column
                tile = self.slice(
                    phases, [index * channels], [(index + 1) * channels], [1], f"{tensor.name}_phase_{index}"
                )
                right, bottom = gutter * (column < block - 1), gutter * (row < block - 1)
                if right or bottom:
                    pads = self.constant(f"{tile}_pads", np.array([0, 0, 0, 0, 0, 0, bottom, right], np.int64))
                    tile = self.node("Pad", [tile, pads], f"{tile}_padded")
                tiles.append(tile)
            rows.append(self.node("Concat", tiles, f"{tensor.name}_grid_row_{row}", axis=3))
        name = self.node("Concat", rows, f"{tensor.name}_grid", axis=2)
        return replace(tensor, name=name, block=block, gutter=gutter)

    def with_zero_gutters(self, tensor: Tensor) -> Tensor:
        """A grid kept from the layer before, its gutters zeroed again (that layer's bias filled them)."""
        if tensor.gutter == 0:
            return tensor
        block, gutter = tensor.block, tensor.gutter
        mask = np.ones((block, tensor.height // block + gutter, block, tensor.width // block + gutter), np.float32)
        mask[:, -gutter:, :, :] = 0
        mask[:, :, :, -gutter:] = 0
        mask = mask.reshape(1, 1, block * mask.shape[1], block * mask.shape[3])[:, :, :-gutter, :-gutter]
        name = self.node(
            "Mul", [tensor.name, self.constant(f"{tensor.name}_gutter_mask", mask)], f"{tensor.name}_cleared"
        )
        return replace(tensor, name=name)

    def to_ordinary(self, tensor: Tensor) -> Tensor:
        """The inverse of `to_grid`: the tiles cut out, stacked along the channels, and depth-to-space."""
        if tensor.block == 1:
            return tensor
        block, gutter = tensor.block, tensor.gutter
        height, width = tensor.height // block, tensor.width // block
        tiles = [
            self.slice(
                tensor.name,
                [row * (height + gutter), column * (width + gutter)],
                [row * (height + gutter) + height, column * (width + gutter) + width],
                [2, 3],
                f"{tensor.name}_tile_{row * block + column}",
            )
            for row in range(block)
            for column in range(block)
        ]
        stacked = self.node("Concat", tiles, f"{tensor.name}_depth", axis=1)
        name = self.node("DepthToSpace", [stacked], f"{tensor.name}_joined", blocksize=block, mode="DCR")
        return replace(tensor, name=name, block=1, gutter=0)
