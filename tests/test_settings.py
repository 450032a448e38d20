"""colorization/settings.py: one frozen, checked value for everything a Colorizer is made from, which travels as
it is (pickled) and which Colorizer.load takes."""

import dataclasses
import pickle
from pathlib import Path

import pytest

from colorization import Colorizer, ColorizerSettings
from colorization.errors import ColorizationError, ModelFileError
from colorization.upsampling import Upsampling

CHOSEN = dict(
    model_dir=Path("/models"),
    variant="release",
    download=False,
    verify=True,
    quiet=True,
    engine="caffe",
    backend="cpu",
    precision="fp32",
    temperature=0.5,
    size=160,
    upsample=Upsampling("bilinear", 0.7, 4.0),
    saturation=1.3,
    conversion="fast",
)
"""A value other than the default for every field but the explicit files."""


def test_every_field_is_covered_by_the_chosen_values():
    assert set(CHOSEN) | {"prototxt", "caffemodel", "points"} == {
        field.name for field in dataclasses.fields(ColorizerSettings)
    }
    assert all(getattr(ColorizerSettings(), name) != value for name, value in CHOSEN.items() if name != "variant")


def test_round_trips_through_pickle_as_ray_and_the_server_receive_it(dominant_model):
    settings = ColorizerSettings(**dominant_model, **CHOSEN)
    received = pickle.loads(pickle.dumps(settings))
    assert received == settings and received is not settings
    assert dataclasses.asdict(received) == dataclasses.asdict(settings)
    assert hash(received) == hash(settings), "frozen: usable as a key, never changed on the way"
    with pytest.raises(dataclasses.FrozenInstanceError):
        received.temperature = 1.0  # type: ignore[misc]


def test_an_unknown_field_is_a_type_error_where_the_settings_are_made():
    with pytest.raises(TypeError, match="vividness"):
        ColorizerSettings(vividness=2.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="vividness"):
        Colorizer.load(vividness=2.0)
    with pytest.raises(TypeError, match="vividness"):
        Colorizer.load(ColorizerSettings(), vividness=2.0)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("size", 100, "--size must be a multiple of 8"),
        ("temperature", 50.0, "--temperature must be from"),
        ("precision", "fp8", "unknown precision 'fp8'"),
        ("conversion", "approximate", "unknown conversion 'approximate'"),
        ("saturation", -1.0, "--saturation must be from"),
        ("upsample", "bicubic", "unknown upsampling method 'bicubic'"),
    ],
)
def test_a_bad_value_is_refused_when_made_before_anything_loads(field, value, message):
    with pytest.raises(ColorizationError, match=message):
        ColorizerSettings(**{field: value})


def test_an_upsampling_method_by_name_is_kept_as_its_upsampling():
    assert ColorizerSettings(upsample="bilinear").upsample == Upsampling("bilinear")
    assert ColorizerSettings().upsample == Upsampling()


def test_the_model_files_it_names(tmp_path):
    own = tmp_path / "mine.caffemodel"
    files = ColorizerSettings(model_dir=tmp_path / "models", caffemodel=own).model_files()
    assert files.prototxt.path.parent == tmp_path / "models" and files.prototxt.release is not None
    assert files.caffemodel.path == own and files.caffemodel.release is None


def test_load_takes_the_settings_and_keeps_them(dominant_model, photos):
    settings = ColorizerSettings(**dominant_model, engine="caffe", temperature=0.5, saturation=1.3, size=160)
    colorizer = Colorizer.load(settings)
    assert colorizer.settings is settings
    assert (colorizer.size, colorizer.saturation, colorizer.scale) == (160, 1.3, 2.0)
    by_keywords = Colorizer.load(**dominant_model, engine="caffe", temperature=0.5, saturation=1.3, size=160)
    assert by_keywords.settings == settings
    assert (by_keywords.colorize(photos[0]) == colorizer.colorize(photos[0])).all()


def test_keywords_replace_the_settings_own(dominant_model):
    settings = ColorizerSettings(**dominant_model, engine="caffe", temperature=0.5)
    colorizer = Colorizer.load(settings, temperature=0.8)
    assert colorizer.settings == dataclasses.replace(settings, temperature=0.8) and colorizer.scale == 1 / 0.8


def test_a_path_in_place_of_the_settings_is_the_model_folder(tmp_path):
    with pytest.raises(ModelFileError, match=r"\(and 2 more\) is missing"):
        Colorizer.load(tmp_path / "empty", download=False)
    with pytest.raises(TypeError, match="model_dir"):
        Colorizer.load(tmp_path / "empty", model_dir=tmp_path)
