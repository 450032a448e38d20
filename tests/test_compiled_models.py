"""The cache of compiled models: built once, reused, one per option set, the least recently used removed."""

import numpy as np
import onnx
import pytest

from colorization import ColorizationError, Colorizer, ModelFiles, compiled_models
from tests.support.mini_model import ONNX_ENGINES, compiled_graph


@pytest.fixture
def build_counter(monkeypatch):
    calls = []
    original = compiled_models.build

    def counting_build(*arguments):
        calls.append(arguments[1:])
        return original(*arguments)

    monkeypatch.setattr(compiled_models, "build", counting_build)
    return calls


def compiled_files(model: dict) -> list:
    """The compiled models (without the runtimes' optimized copies of them)."""
    return sorted(path for path in model["caffemodel"].parent.glob("*.onnx") if "-" not in path.name)


def runtime_copies(model: dict) -> list:
    return sorted(path for path in model["caffemodel"].parent.glob("*.onnxruntime-*.onnx"))


def test_compiled_once_beside_the_caffemodel_and_reused(dominant_model, build_counter):
    Colorizer.load(**dominant_model, engine="onnx")
    (compiled,) = compiled_files(dominant_model)
    assert compiled.name.startswith("tiny.224px.") and len(build_counter) == 1
    modified = compiled.stat().st_mtime_ns
    for engine in ONNX_ENGINES:
        Colorizer.load(**dominant_model, engine=engine)
    assert len(build_counter) == 1, "the second load reuses the compiled model"
    assert compiled_files(dominant_model) == [compiled] and compiled.stat().st_mtime_ns == modified
    assert not [p for p in compiled.parent.iterdir() if ".partial-" in p.name]


def test_temperature_size_and_weights_each_get_their_own(dominant_model, build_counter, release_points):
    Colorizer.load(**dominant_model, engine="onnx")
    Colorizer.load(**dominant_model, engine="onnx", temperature=0.5)
    Colorizer.load(**dominant_model, engine="onnx", size=160)
    assert len(build_counter) == 3 and len(compiled_files(dominant_model)) == 3
    Colorizer.load(**dominant_model, engine="onnx", temperature=0.5)
    assert len(build_counter) == 3
    # New weights in the same file: a new compiled model, with the new colour.
    from tests.support.tiny_model import write_tiny_model

    bias = np.full(313, -5.0, np.float32)
    bias[np.flatnonzero((release_points == (-30, 40)).all(axis=1))[0]] = 20.0
    write_tiny_model(dominant_model["caffemodel"].parent, bias, release_points)
    colorizer = Colorizer.load(**dominant_model, engine="onnx")
    assert len(build_counter) == 4
    ab = colorizer.engine.forward(np.zeros((1, 1, 224, 224), np.float32))
    np.testing.assert_allclose(ab[0, :, 0, 0], [-30, 40], atol=1e-3)


@pytest.mark.parametrize("temperature, scale", [(None, np.float32(2.606)), (0.5, np.float32(2.0))])
def test_annealing_scale_is_baked_into_the_graph(dominant_model, temperature, scale):
    graph = compiled_graph(dominant_model, 224, temperature)
    (value,) = [onnx.numpy_helper.to_array(t) for t in graph.initializer if t.name == "conv8_313_rh_annealing"]
    assert value == scale


def test_cache_folder_can_be_chosen(dominant_model, tmp_path, monkeypatch):
    monkeypatch.setenv(compiled_models.CACHE_ENV, str(tmp_path / "cache"))
    Colorizer.load(**dominant_model, engine="onnxruntime")
    assert len(list((tmp_path / "cache").glob("tiny.224px.????????????????.onnx"))) == 1
    assert compiled_files(dominant_model) == []


def test_unwritable_cache_is_named(dominant_model, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv(compiled_models.CACHE_ENV, str(blocker))
    with pytest.raises(ColorizationError, match=f"set {compiled_models.CACHE_ENV} to a writable folder"):
        Colorizer.load(**dominant_model, engine="onnx")


def test_only_the_most_recently_used_compiled_models_are_kept(dominant_model, build_counter):
    temperatures = [0.3, 0.4, 0.5, 0.6]
    for temperature in temperatures:
        Colorizer.load(**dominant_model, engine="onnx", temperature=temperature)
    first_built = compiled_graph_path(dominant_model, temperatures[0])
    Colorizer.load(**dominant_model, engine="onnx", temperature=temperatures[0])  # used again: now the newest
    Colorizer.load(**dominant_model, engine="onnx", temperature=0.7)
    kept = compiled_files(dominant_model)
    assert len(kept) == compiled_models.KEEP_COMPILED == 4 and len(build_counter) == 5
    assert first_built in kept and compiled_graph_path(dominant_model, temperatures[1]) not in kept
    (dominant_model["caffemodel"].parent / "unrelated.224px.0123456789abcdef.onnx").write_bytes(b"")
    Colorizer.load(**dominant_model, engine="onnx", temperature=0.8)
    assert (dominant_model["caffemodel"].parent / "unrelated.224px.0123456789abcdef.onnx").exists()


def compiled_graph_path(model: dict, temperature: float):
    files = ModelFiles.resolve(**model)
    return files.caffemodel.path.parent / compiled_models.compiled_name(
        files, 224, compiled_models.cache_key(files, 1 / temperature, 224)
    )


@pytest.fixture
def no_full_hash(monkeypatch):
    """A start with nothing changed never reads the weights through: SHA-256 is for --verify and fetching."""
    from colorization import fetch, model_files

    def refuse(path, *arguments):
        pytest.fail(f"hashed {path} on a start")

    monkeypatch.setattr(model_files, "sha256_of", refuse)
    monkeypatch.setattr(fetch, "sha256_of", refuse)


def test_a_start_with_nothing_changed_reads_no_weights_through(dominant_model, build_counter, no_full_hash):
    Colorizer.load(**dominant_model, engine="onnx")
    Colorizer.load(**dominant_model, engine="onnx")
    assert len(build_counter) == 1


def test_touched_weights_are_compiled_again(dominant_model, build_counter, no_full_hash):
    import os

    Colorizer.load(**dominant_model, engine="onnx")
    caffemodel = dominant_model["caffemodel"]
    status = caffemodel.stat()
    os.utime(caffemodel, ns=(status.st_atime_ns, status.st_mtime_ns + 1000))
    Colorizer.load(**dominant_model, engine="onnx")
    assert len(build_counter) == 2


def test_weights_replaced_by_another_file_of_the_same_size_and_time_are_compiled_again(
    dominant_model, build_counter, release_points, tmp_path
):
    import os

    from tests.support.tiny_model import write_tiny_model

    Colorizer.load(**dominant_model, engine="onnx")
    caffemodel = dominant_model["caffemodel"]
    before = caffemodel.stat()
    bias = np.full(313, -5.0, np.float32)
    bias[np.flatnonzero((release_points == (-30, 40)).all(axis=1))[0]] = 20.0
    other = write_tiny_model(tmp_path / "other", bias, release_points)["caffemodel"]
    assert other.stat().st_size == before.st_size
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(other, caffemodel)  # a new inode under the old name, with the old size and modification time
    colorizer = Colorizer.load(**dominant_model, engine="onnx")
    assert len(build_counter) == 2
    ab = colorizer.engine.forward(np.zeros((1, 1, 224, 224), np.float32))
    np.testing.assert_allclose(ab[0, :, 0, 0], [-30, 40], atol=1e-3)


@pytest.fixture
def onnxruntime_loads(monkeypatch) -> list:
    """The model file each ONNX Runtime engine on the CPU loads."""
    from colorization.engines import onnxruntime

    paths = []
    optimized_model = onnxruntime.optimized_model
    monkeypatch.setattr(onnxruntime, "optimized_model", lambda path: paths.append(optimized_model(path)) or paths[-1])
    return paths


def test_onnxruntime_runs_its_own_optimized_copy_made_once(dominant_model, onnxruntime_loads):
    import onnxruntime

    colorizer = Colorizer.load(**dominant_model, engine="onnxruntime", backend="cpu")
    (copy,) = runtime_copies(dominant_model)
    (compiled,) = compiled_files(dominant_model)
    made = copy.stat().st_mtime_ns
    Colorizer.load(**dominant_model, engine="onnxruntime", backend="cpu")
    assert onnxruntime_loads == [copy, copy] and copy.stat().st_mtime_ns == made
    blob = np.random.default_rng(0).uniform(-50, 50, (1, 1, 224, 224)).astype(np.float32)
    plain = onnxruntime.InferenceSession(str(compiled), providers=["CPUExecutionProvider"])
    expected = plain.run(["class8_ab"], {plain.get_inputs()[0].name: blob})[0]
    np.testing.assert_allclose(colorizer.engine.forward(blob), expected, atol=1e-4)


def test_onnxruntime_copy_goes_with_its_compiled_model(dominant_model):
    Colorizer.load(**dominant_model, engine="onnxruntime", backend="cpu", temperature=0.3)
    (copy,) = runtime_copies(dominant_model)
    for temperature in (0.4, 0.5, 0.6, 0.7):
        Colorizer.load(**dominant_model, engine="onnx", temperature=temperature)
    assert len(compiled_files(dominant_model)) == compiled_models.KEEP_COMPILED and not copy.exists()


def test_onnxruntime_runs_the_compiled_model_when_its_copy_cannot_be_made(
    dominant_model, onnxruntime_loads, monkeypatch
):
    from colorization.engines import onnxruntime

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(onnxruntime, "atomic_output", refuse)
    Colorizer.load(**dominant_model, engine="onnxruntime", backend="cpu")
    assert onnxruntime_loads == compiled_files(dominant_model) and runtime_copies(dominant_model) == []


def openvino_copies(model: dict) -> list:
    return sorted(model["caffemodel"].parent.glob("*.openvino-*"))


def test_openvino_reads_its_own_form_made_once_and_it_goes_with_its_compiled_model(dominant_model):
    colorizer = Colorizer.load(**dominant_model, engine="openvino", precision="fp32", temperature=0.3)
    copies = openvino_copies(dominant_model)
    assert [path.suffix for path in copies] == [".bin", ".xml"]
    made = [path.stat().st_mtime_ns for path in copies]
    again = Colorizer.load(**dominant_model, engine="openvino", precision="fp32", temperature=0.3)
    assert [path.stat().st_mtime_ns for path in copies] == made
    blob = np.random.default_rng(0).uniform(-50, 50, (1, 1, 224, 224)).astype(np.float32)
    reference = Colorizer.load(**dominant_model, engine="onnx", temperature=0.3).engine.forward(blob)
    np.testing.assert_allclose(again.engine.forward(blob), reference, atol=1e-3)
    np.testing.assert_allclose(colorizer.engine.forward(blob), reference, atol=1e-3)
    for temperature in (0.4, 0.5, 0.6, 0.7):
        Colorizer.load(**dominant_model, engine="onnx", temperature=temperature)
    assert not any(path.exists() for path in copies), "removed with the compiled model it was made from"


def test_a_reduced_precision_reads_the_weights_stored_in_half_precision(dominant_model):
    from colorization.engines import openvino

    Colorizer.load(**dominant_model, engine="onnx")
    (compiled,) = compiled_files(dominant_model)
    full, half = (openvino.openvino_model(compiled, precision) for precision in ("fp32", "bf16"))
    assert full != half and half == openvino.openvino_model(compiled, "fp16")
    assert half.with_suffix(".bin").stat().st_size < full.with_suffix(".bin").stat().st_size * 0.6


def test_openvino_reads_the_compiled_model_when_its_form_cannot_be_saved(dominant_model, monkeypatch):
    from colorization.engines import openvino

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(openvino, "atomic_output", refuse)
    colorizer = Colorizer.load(**dominant_model, engine="openvino", precision="fp32")
    assert openvino_copies(dominant_model) == []
    ab = colorizer.engine.forward(np.zeros((1, 1, 224, 224), np.float32))
    assert ab.shape == (1, 2, 56, 56)
