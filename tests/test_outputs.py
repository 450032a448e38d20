"""Where outputs go, decided before any model loads: beside each input or in -o, never over an input."""

from pathlib import Path

import pytest

from colorization.errors import UsageError
from colorization.image_io import WRITE_FORMATS
from colorization.outputs import compare_path, plan_outputs


def test_beside_each_input_with_the_suffix(tmp_path):
    sources = [tmp_path / "a.jpg", tmp_path / "sub" / "b.png"]
    assert plan_outputs(sources, None, "_colorized") == [
        (sources[0], tmp_path / "a_colorized.jpg"),
        (sources[1], tmp_path / "sub" / "b_colorized.png"),
    ]


def test_one_input_one_output_file_several_inputs_a_folder(tmp_path):
    assert plan_outputs([tmp_path / "a.jpg"], tmp_path / "colour.png", "_c") == [
        (tmp_path / "a.jpg", tmp_path / "colour.png")
    ]
    folder = tmp_path / "out"
    pairs = plan_outputs([tmp_path / "a.jpg", tmp_path / "b.jpg"], folder, "_c")
    assert [destination for _, destination in pairs] == [folder / "a_c.jpg", folder / "b_c.jpg"]


def test_a_file_name_for_several_inputs_is_refused(tmp_path):
    with pytest.raises(UsageError, match="2 inputs need a folder"):
        plan_outputs([tmp_path / "a.jpg", tmp_path / "b.jpg"], tmp_path / "both.png", "_c", WRITE_FORMATS)
    # A name whose extension is no picture type is a folder name for pictures (but not for films, which take any).
    assert plan_outputs([tmp_path / "a.jpg", tmp_path / "b.jpg"], tmp_path / "out.v2", "_c", WRITE_FORMATS)
    with pytest.raises(UsageError, match="2 inputs need a folder"):
        plan_outputs([tmp_path / "a.mp4", tmp_path / "b.mp4"], tmp_path / "out.v2", "_c")


def test_an_input_is_never_an_output(tmp_path):
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"")
    with pytest.raises(UsageError, match="is an input: refusing to overwrite it"):
        plan_outputs([photo], photo, "_c")
    (tmp_path / "link.jpg").symlink_to(photo)
    with pytest.raises(UsageError, match="is an input"):
        plan_outputs([photo], tmp_path / "link.jpg", "_c")
    with pytest.raises(UsageError, match="is an input"):
        plan_outputs([tmp_path / "a.jpg", tmp_path / "a_c.jpg"], None, "_c")


def test_two_inputs_never_share_an_output(tmp_path):
    with pytest.raises(UsageError, match="would both be written to"):
        plan_outputs([tmp_path / "x" / "a.jpg", tmp_path / "y" / "a.jpg"], tmp_path / "out", "_c")


def test_comparison_beside_the_output():
    assert compare_path(Path("out/a_colorized.jpg")) == Path("out/a_colorized_compare.jpg")
