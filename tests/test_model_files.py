import shutil
import time
from dataclasses import replace

import cv2
import numpy as np
import pytest

from colorization import Colorizer, ModelFileError, ModelFiles, model_files
from colorization.errors import ColorizationError
from colorization.model_files import CAFFEMODELS, MODEL_DIR_ENV, POINTS, PROTOTXT, default_model_dir, sha256_of
from tests.support.release_model import write_release_files


@pytest.fixture
def release_prototxt(tmp_path, monkeypatch):
    """The release-shaped prototxt, registered as the release file (its own size and SHA-256): the checks of the
    release files then run on it as they would on the authentic one, in any clone."""
    prototxt = write_release_files(tmp_path / "release-shaped")["prototxt"]
    monkeypatch.setattr(
        model_files, "PROTOTXT", replace(PROTOTXT, size=prototxt.stat().st_size, sha256=sha256_of(prototxt))
    )
    return prototxt


def release_dir_with(tmp_path, caffemodel_bytes: bytes, prototxt):
    """A model directory with a given caffemodel body, the release prototxt and a wrong points file."""
    directory = tmp_path / "models"
    directory.mkdir()
    shutil.copy(prototxt, directory / PROTOTXT.name)
    np.save(directory / POINTS.name, np.zeros((313, 2), np.int64))
    (directory / CAFFEMODELS["release"].name).write_bytes(caffemodel_bytes)
    return directory


def load_error(**kwargs) -> str:
    with pytest.raises(ModelFileError) as raised:
        Colorizer.load(**kwargs)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_missing_files_say_to_fetch(tmp_path):
    message = load_error(model_dir=tmp_path / "empty", download=False)
    assert "colorization_deploy_v2.prototxt (and 2 more) is missing" in message
    assert "python fetch_models.py" in message and "automatic download is off: --no-download" in message


def test_git_lfs_pointer_is_named(tmp_path, release_prototxt):
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 128946764\n"
    message = load_error(model_dir=release_dir_with(tmp_path, pointer, release_prototxt))
    assert (
        "colorization_release_v2.caffemodel (and 1 more) is a Git LFS pointer, not the model: run python fetch_models.py"
        in message
    )


def test_html_page_is_named(tmp_path, release_prototxt):
    message = load_error(
        model_dir=release_dir_with(tmp_path, b"\n<!DOCTYPE html><html><body>Not found</body></html>", release_prototxt)
    )
    assert "web page (HTML)" in message and "fetch_models.py" in message


def test_truncated_release_file_is_named(tmp_path, release_prototxt):
    message = load_error(model_dir=release_dir_with(tmp_path, b"\x0a\x05" + b"\x00" * 1000, release_prototxt))
    assert "is 1002 bytes, not the 128946764 of the release file" in message


def test_points_of_wrong_shape(tmp_path, dominant_model):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((312, 2)))
    message = load_error(**{**dominant_model, "points": bad})
    assert "shape (312, 2)" in message and "313x2" in message


def test_pickled_points_are_refused(tmp_path, dominant_model):
    pickled = tmp_path / "pickled.npy"
    evil = np.empty((313, 2), dtype=object)
    evil[:] = [[{"evil": 1}, {"evil": 2}]] * 313
    np.save(pickled, evil, allow_pickle=True)
    message = load_error(**{**dominant_model, "points": pickled})
    assert "holds object values" in message


@pytest.mark.parametrize(
    "engine, expected", [("caffe", "OpenCV could not read"), ("auto", "is not a valid caffemodel")]
)
def test_explicit_caffemodel_is_not_size_checked_but_must_parse(tmp_path, dominant_model, engine, expected):
    garbage = tmp_path / "garbage.caffemodel"
    garbage.write_bytes(b"\x0a" + np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    message = load_error(**{**dominant_model, "caffemodel": garbage}, engine=engine)
    assert expected in message and "garbage.caffemodel" in message


def test_explicit_missing_file_names_the_path(tmp_path, dominant_model):
    message = load_error(**{**dominant_model, "caffemodel": tmp_path / "nope.caffemodel"})
    assert "nope.caffemodel does not exist" in message


@pytest.mark.parametrize("engine", ["caffe", "auto"])
def test_prototxt_without_the_colorization_layers(tmp_path, dominant_model, engine):
    other = tmp_path / "other.prototxt"
    other.write_text(dominant_model["prototxt"].read_text().replace("class8_ab", "something_else"))
    message = load_error(**{**dominant_model, "prototxt": other}, engine=engine)
    assert "other.prototxt has no layer 'class8_ab'" in message


def test_model_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    assert ModelFiles.resolve().prototxt.path == default_model_dir() / PROTOTXT.name
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "from_env"))
    assert ModelFiles.resolve().caffemodel.path == tmp_path / "from_env" / CAFFEMODELS["release"].name
    assert ModelFiles.resolve(tmp_path / "flag").points.path == tmp_path / "flag" / POINTS.name
    norebal = ModelFiles.resolve(tmp_path, variant="norebal").caffemodel
    assert norebal.path.name == "colorization_release_v2_norebal.caffemodel" and norebal.release.size == 128946454


def test_opencv_without_caffe_importer_says_how_to_fix(monkeypatch, dominant_model):
    monkeypatch.delattr(cv2.dnn, "readNetFromCaffe")
    with pytest.raises(ColorizationError) as raised:
        Colorizer.load(**dominant_model, engine="caffe")
    assert "no Caffe importer" in str(raised.value) and "--engine auto" in str(raised.value)
    assert "pip install 'opencv-contrib-python<5'" in str(raised.value)


def test_models_live_in_the_clone_or_in_the_user_cache_once_installed(tmp_path, monkeypatch):
    from colorization import model_files

    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    assert model_files.running_from_clone()
    assert (
        default_model_dir() == model_files.SOURCE_TREE / "models"
        and model_files.fetch_command() == "python fetch_models.py"
    )
    monkeypatch.setattr(model_files, "SOURCE_TREE", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_model_dir() == tmp_path / "cache" / "colorization" / "models"
    assert model_files.fetch_command() == "colorize-fetch"
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "mine"))
    assert ModelFiles.resolve().prototxt.path == tmp_path / "mine" / PROTOTXT.name


def test_same_size_edit_of_the_release_prototxt_is_named(tmp_path, reference_files):
    directory = release_dir_with(tmp_path, b"\x0a\x05" + b"\x00" * 1000, reference_files["prototxt"])
    prototxt = directory / PROTOTXT.name
    edited = prototxt.read_bytes().replace(b"Convolution", b"Convolutoin", 1)
    assert len(edited) == PROTOTXT.size
    prototxt.write_bytes(edited)
    message = load_error(model_dir=directory)
    assert "colorization_deploy_v2.prototxt (and 2 more) has the release file's size but not its SHA-256" in message


@pytest.mark.parametrize("engine", ["caffe", "auto"])
@pytest.mark.parametrize("typo", [("Convolution", "Convolutoin"), ("num_output", "num_ouptut")])
def test_prototxt_typo_is_one_model_error(tmp_path, dominant_model, engine, typo):
    misspelt = tmp_path / "misspelt.prototxt"
    misspelt.write_text(dominant_model["prototxt"].read_text().replace(*typo))
    message = load_error(**{**dominant_model, "prototxt": misspelt}, engine=engine)
    assert "misspelt.prototxt" in message or "num_output" in message


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"\x93NUMPY"])
def test_empty_or_garbage_points_file_is_one_model_error(tmp_path, dominant_model, content):
    points = tmp_path / "points.npy"
    points.write_bytes(content)
    message = load_error(**{**dominant_model, "points": points})
    assert "points.npy is not a NumPy" in message


def test_all_zero_caffemodel_of_the_release_size_fails_at_once(tmp_path, release_prototxt):
    directory = release_dir_with(tmp_path, b"", release_prototxt)
    with open(directory / CAFFEMODELS["release"].name, "wb") as handle:
        handle.truncate(CAFFEMODELS["release"].size)  # sparse: the release's size, all zeros
    started = time.perf_counter()
    message = load_error(model_dir=directory)
    assert time.perf_counter() - started < 5
    assert "all zero bytes" in message and "python fetch_models.py --check names every damaged file" in message


def test_random_bytes_named_as_a_custom_caffemodel_fail_at_once(tmp_path, dominant_model):
    garbage = tmp_path / "garbage.caffemodel"
    garbage.write_bytes(b"\x00\x07" + bytes(range(256)) * 20)
    message = load_error(**{**dominant_model, "caffemodel": garbage})
    assert "garbage.caffemodel is not a Caffe model: it does not start with a protobuf field" in message
