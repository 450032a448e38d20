"""colorize.py as a user runs it: a subprocess, its files, its messages and its exit codes."""

import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support import REPO
from tests.support.checks import mean_chroma
from tests.support.tiny_model import model_arguments


def run_colorize(*arguments, cwd=None):
    return subprocess.run(
        [sys.executable, str(REPO / "colorize.py"), *map(str, arguments)], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture
def picture(tmp_path, photos):
    path = tmp_path / "grandpa.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    return path


def test_default_output_beside_input(picture, dominant_model):
    before = picture.read_bytes()
    result = run_colorize("-i", picture, *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    output = picture.with_name("grandpa_colorized.jpg")
    colour = cv2.imread(str(output))
    assert colour.shape[:2] == cv2.imread(str(picture)).shape[:2]
    assert mean_chroma(colour) > 5
    assert picture.read_bytes() == before, "the input is never modified"
    assert sorted(p.name for p in picture.parent.iterdir()) == ["dominant", "grandpa.jpg", "grandpa_colorized.jpg"]


def test_output_file_and_format_from_extension(picture, dominant_model, tmp_path):
    result = run_colorize("-i", picture, "-o", tmp_path / "colour.png", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "colour.png").read_bytes()[:4] == b"\x89PNG"


def test_several_inputs_into_a_folder_with_suffix_and_compare(picture, dominant_model, tmp_path):
    second = tmp_path / "other.png"
    cv2.imwrite(str(second), np.full((50, 70), 120, np.uint8))
    result = run_colorize(
        "-i",
        picture,
        "-i",
        second,
        "-o",
        tmp_path / "out",
        "--suffix",
        "_c",
        "--compare",
        *model_arguments(dominant_model),
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["grandpa_c.jpg", "grandpa_c_compare.jpg", "other_c.png", "other_c_compare.png"]
    compare = cv2.imread(str(tmp_path / "out" / "other_c_compare.png"))
    assert compare.shape == (50, 140, 3)


def test_bad_input_reported_others_done_exit_1(picture, dominant_model, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    result = run_colorize("-i", broken, "-i", picture, "-i", tmp_path / "absent.png", *model_arguments(dominant_model))
    assert result.returncode == 1
    assert picture.with_name("grandpa_colorized.jpg").is_file()
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "broken.jpg" in errors[0] and "absent.png" in errors[1]
    assert not broken.with_name("broken_colorized.jpg").exists()
    assert re.search(r"1 colorized, 2 failed \(backend: CPU, (fp32|bf16)\)", result.stderr)


def test_refuses_to_overwrite_the_input(picture, dominant_model):
    result = run_colorize("-i", picture, "-o", picture, *model_arguments(dominant_model))
    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr and "Traceback" not in result.stderr


def test_two_inputs_to_one_file_is_a_usage_error(picture, dominant_model, tmp_path):
    result = run_colorize("-i", picture, "-i", picture, "-o", tmp_path / "one.png", *model_arguments(dominant_model))
    assert result.returncode == 2 and "need a folder" in result.stderr


def test_model_error_is_one_line_exit_2(picture, tmp_path):
    result = run_colorize("-i", picture, "--model-dir", tmp_path / "no-models")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "is missing: run python fetch_models.py" in result.stderr


def test_verbose_names_backend_and_quiet_is_quiet(picture, dominant_model):
    verbose = run_colorize("-i", picture, "-v", *model_arguments(dominant_model))
    assert "backend: CPU" in verbose.stderr and "grandpa_colorized.jpg" in verbose.stderr
    quiet = run_colorize("-i", picture, "-q", *model_arguments(dominant_model))
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_cuda_request_on_cpu_build_warns_and_runs(picture, dominant_model):
    result = run_colorize("-i", picture, "--backend", "cuda", *model_arguments(dominant_model))
    assert result.returncode == 0
    assert result.stderr.count("no CUDA DNN backend") == 1


def test_help_shows_defaults():
    result = run_colorize("--help")
    assert result.returncode == 0
    for expected in ("--temperature", "2.606", "(default: 224)", "(default: auto)", "(default: _colorized)"):
        assert expected in result.stdout


def test_usage_error_exit_2():
    assert run_colorize().returncode == 2
    assert run_colorize("-i", "x.jpg", "--size", "abc").returncode == 2


def test_single_input_into_existing_folder(picture, dominant_model, tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    result = run_colorize("-i", picture, "-o", folder, *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in folder.iterdir()] == ["grandpa_colorized.jpg"]


def test_several_files_after_one_i_and_repeats(picture, dominant_model, tmp_path):
    second, third = (put_grey(tmp_path / name) for name in ("b.png", "c.png"))
    result = run_colorize("-i", picture, second, "-i", third, *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert all(path.with_name(f"{path.stem}_colorized{path.suffix}").is_file() for path in (picture, second, third))
    assert re.fullmatch(r"3 colorized, 0 failed \(backend: CPU, (fp32|bf16)\)\n", result.stderr)


def put_grey(path, value=120):
    cv2.imwrite(str(path), np.full((30, 40), value, np.uint8))
    return path


def test_trailing_slash_makes_a_new_folder_for_one_input(picture, dominant_model, tmp_path):
    result = run_colorize("-i", picture, "-o", f"{tmp_path / 'new_folder'}/", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new_folder" / "grandpa_colorized.jpg").is_file()


def test_existing_output_is_kept_unless_overwrite(picture, dominant_model):
    output = picture.with_name("grandpa_colorized.jpg")
    output.write_bytes(b"kept")
    result = run_colorize("-i", picture, *model_arguments(dominant_model))
    assert result.returncode == 0 and output.read_bytes() == b"kept"
    assert "skipped" in result.stderr and "--overwrite" in result.stderr
    assert result.stderr.splitlines()[-1] == "0 colorized, 1 skipped (output exists), 0 failed"
    result = run_colorize("-i", picture, "--overwrite", *model_arguments(dominant_model))
    assert result.returncode == 0 and output.read_bytes()[:2] == b"\xff\xd8"
    assert run_colorize("--help").stdout.count("--skip-existing") >= 1


@pytest.mark.parametrize("output", ["file.png/sub/", "file.png/sub/out.png"])
def test_output_folder_that_cannot_be_created_fails_before_the_model_loads(picture, tmp_path, output):
    (tmp_path / "file.png").write_bytes(b"a file")
    # No model files at all: the impossible output must be reported without loading one.
    result = run_colorize(
        "-i", picture, "-o", f"{tmp_path}/{output}", "--model-dir", tmp_path / "no-models", cwd=tmp_path
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    shown = output if output.endswith(".png") else output + "grandpa_colorized.jpg"
    assert result.stderr.splitlines() == [
        f"error: {shown}: cannot create its folder, file.png is a file",
        "0 colorized, 1 failed",
    ]


def test_output_folder_failing_at_write_time_is_one_line_and_the_others_are_done(
    picture, dominant_model, tmp_path, monkeypatch
):
    from colorization import image_files
    from colorization.commands import arguments as command_arguments
    from colorization.commands import colorize as colorize_command

    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self.name == "refused":
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    second = put_grey(tmp_path / "b.png")
    pairs = [(picture, tmp_path / "refused" / "a.jpg"), (second, tmp_path / "fine" / "b.png")]
    results = image_files.colorize_files(
        command_arguments.colorizer_from_args(
            colorize_command.build_parser().parse_args(["-i", str(picture), *model_arguments(dominant_model)])
        ),
        pairs,
    )
    assert [result.status for result in results] == ["failed", "done"]
    assert results[0].reason.endswith("a.jpg: cannot create its folder (Permission denied)")


def test_gif_gives_a_png_and_an_animated_one_is_refused(dominant_model, tmp_path):
    from PIL import Image

    still, animated = tmp_path / "old.gif", tmp_path / "anim.gif"
    Image.fromarray(np.full((20, 30), 90, np.uint8)).save(still)
    frames = [Image.fromarray(np.full((20, 30), value, np.uint8)) for value in (40, 240)]
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = run_colorize("-i", still, animated, *model_arguments(dominant_model))
    assert result.returncode == 1
    assert tmp_path.joinpath("old_colorized.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("anim_colorized*"))
    assert "anim.gif is animated (2 frames)" in result.stderr


def test_a_link_to_itself_is_one_line(dominant_model, tmp_path):
    (tmp_path / "self.jpg").symlink_to("self.jpg")
    result = run_colorize("-i", tmp_path / "self.jpg", *model_arguments(dominant_model))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {tmp_path / 'self.jpg'}: cannot read (Too many levels of symbolic links)"
    ]


def test_max_pixels_flag(picture, dominant_model):
    result = run_colorize("-i", picture, "--max-pixels", "1000", *model_arguments(dominant_model))
    assert result.returncode == 1 and "above the limit" in result.stderr and "--max-pixels" in result.stderr
    assert run_colorize("-i", picture, "--max-pixels", "0", *model_arguments(dominant_model)).returncode == 0


@pytest.fixture
def two_tone(tmp_path):
    """A 320x240 grey picture, dark left of a sharp edge and light right of it."""
    picture = np.full((240, 320), 170, np.uint8)
    picture[:, :150] = 80
    path = tmp_path / "two_tone.png"
    cv2.imwrite(str(path), picture)
    return path


def test_hints_on_the_command_line_give_the_python_apis_pixels(two_tone, dominant_model, tmp_path):
    """The same hints and settings give the same pixels from colorize.py and from Colorizer.colorize."""
    from colorization import Colorizer, read_image
    from colorization.hints import Hint

    hints_file = tmp_path / "hints.json"
    hints_file.write_text('[{"x": 0.9, "y": 0.1, "colour": "steelblue", "radius": 0.2}]')
    settings = ("--temperature", "0.5", "--saturation", "1.5")
    result = run_colorize(
        "-i",
        two_tone,
        "-o",
        tmp_path / "hinted.png",
        "--hint",
        "40,120,#2e8b57",
        "--hints",
        hints_file,
        *settings,
        *model_arguments(dominant_model),
    )
    assert result.returncode == 0, result.stderr
    colorizer = Colorizer.load(**dominant_model, temperature=0.5, saturation=1.5)
    hints = [Hint(0.9, 0.1, "steelblue", 0.2, fraction=True), Hint(40, 120, "#2e8b57")]
    expected = colorizer.colorize(read_image(two_tone), hints)
    assert np.array_equal(cv2.imread(str(tmp_path / "hinted.png")), expected)
    assert np.abs(expected.astype(int) - colorizer.colorize(read_image(two_tone))).max() > 20, "the hints count"


def test_fractions_and_pixels_on_the_command_line_are_the_same_place(two_tone, dominant_model, tmp_path):
    for name, hint in (("pixels.png", "159.5,119.5,#2e8b57"), ("fractions.png", "0.5,0.5,#2e8b57")):
        result = run_colorize("-i", two_tone, "-o", tmp_path / name, "--hint", hint, *model_arguments(dominant_model))
        assert result.returncode == 0, result.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / "pixels.png")), cv2.imread(str(tmp_path / "fractions.png")))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--hint", "320,10,red"], "two_tone.png: hint 320,10,#ff0000 is outside the picture, which is 320x240 pixels"),
        (["--hint", "0.5,0.5,#12345"], "--hint 0.5,0.5,#12345: '#12345' is not a colour: give #rrggbb"),
        (["--hint", "0.5,0.5,notacolour"], "--hint 0.5,0.5,notacolour: 'notacolour' is not a colour"),
        (["--hint", "0.5,0.5"], "--hint 0.5,0.5: not X,Y,COLOUR"),
        (["--hints", "malformed.json"], "malformed.json is not valid JSON (line 1 column"),
        (["--hints", "many.json"], "many.json: 10000 hints, more than the 1000 allowed"),
        (["--hints", "absent.json"], "absent.json: cannot read the hints (No such file or directory)"),
    ],
)
def test_every_bad_hint_is_one_line_and_exit_2_before_the_model_loads(two_tone, tmp_path, arguments, message):
    (tmp_path / "malformed.json").write_text('[{"x": 1, "y": 2, "colour": "red"')
    (tmp_path / "many.json").write_text("[" + ", ".join(['{"x": 1, "y": 1, "colour": "red"}'] * 10_000) + "]")
    # No model files at all: had the model been loaded first, the error would be about them.
    result = run_colorize("-i", two_tone, *arguments, "--model-dir", tmp_path / "no-models", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert not list(tmp_path.glob("two_tone_colorized*"))
