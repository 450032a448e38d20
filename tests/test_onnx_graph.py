"""The graph builder's phase layout, run by ONNX's own reference evaluator: a map tiled into its phase images with
zero gutters and joined back is the map itself, and a grid whose gutters a layer filled gets them cleared again."""

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from colorization.model import OUTPUT_LAYER, SCORES_LAYER
from colorization.onnx_convert import IR_VERSION, OPSET
from colorization.onnx_graph import GraphBuilder, Tensor


def run(builder: GraphBuilder, inputs: dict[str, np.ndarray], outputs: list[str]) -> list[np.ndarray]:
    graph = helper.make_graph(
        builder.nodes,
        "test",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(array.shape)) for name, array in inputs.items()],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["n", "c", "h", "w"]) for name in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    builder.move_initializers(model)
    onnx.checker.check_model(model)
    return ReferenceEvaluator(model).run(outputs, inputs)


def test_a_map_tiled_into_phase_images_and_joined_back_is_itself():
    picture = np.random.default_rng(0).normal(size=(1, 3, 8, 10)).astype(np.float32)
    builder = GraphBuilder()
    builder.names.add("x")
    grid = builder.to_grid(Tensor("x", 3, 8, 10), block=2, gutter=1)
    assert (grid.block, grid.gutter) == (2, 1)
    joined = builder.to_ordinary(grid)
    assert (joined.block, joined.gutter) == (1, 0)
    tiled, back = run(builder, {"x": picture}, [grid.name, joined.name])
    np.testing.assert_array_equal(back, picture)
    assert tiled.shape == (1, 3, 2 * 4 + 1, 2 * 5 + 1), "two tiles each way and one gutter between them"
    np.testing.assert_array_equal(tiled[:, :, :4, :5], picture[:, :, 0::2, 0::2])
    np.testing.assert_array_equal(tiled[:, :, :4, 6:], picture[:, :, 0::2, 1::2])
    np.testing.assert_array_equal(tiled[:, :, 5:, :5], picture[:, :, 1::2, 0::2])
    np.testing.assert_array_equal(tiled[:, :, 5:, 6:], picture[:, :, 1::2, 1::2])
    assert not tiled[:, :, 4, :].any() and not tiled[:, :, :, 5].any(), "the gutters are zero"


def test_gutters_filled_by_a_layer_are_cleared_and_the_tiles_kept():
    picture = np.random.default_rng(1).normal(size=(1, 2, 6, 6)).astype(np.float32)
    builder = GraphBuilder()
    builder.names.add("x")
    grid = builder.to_grid(Tensor("x", 2, 6, 6), block=2, gutter=1)
    biased = builder.node("Add", [grid.name, builder.constant("bias", np.float32(5))], "biased")
    cleared = builder.with_zero_gutters(Tensor(biased, 2, 6, 6, grid.block, grid.gutter))
    filled, result = run(builder, {"x": picture}, [biased, cleared.name])
    assert np.all(filled[:, :, 3, :] == 5), "the bias filled the gutter row"
    assert not result[:, :, 3, :].any() and not result[:, :, :, 3].any()
    np.testing.assert_allclose(result[:, :, :3, :3], picture[:, :, 0::2, 0::2] + 5)
    assert builder.with_zero_gutters(Tensor("plain", 2, 6, 6)).name == "plain", "an ordinary map has no gutters"


def test_node_names_are_unique_and_never_take_an_output_name_early():
    builder = GraphBuilder()
    assert builder.unique("conv") == "conv" and builder.unique("conv") == "conv_2"
    assert builder.unique(OUTPUT_LAYER) != OUTPUT_LAYER and builder.unique(SCORES_LAYER) != SCORES_LAYER
    renamed = builder.output(Tensor("conv_2", 2, 4, 4), OUTPUT_LAYER)
    assert renamed.name == OUTPUT_LAYER and builder.nodes[-1].op_type == "Identity"
