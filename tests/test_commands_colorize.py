"""colorize.py as a user runs it: a subprocess, its files, its messages and its exit codes."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support import REPO

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
    assert np.abs(cv2.cvtColor(colour, cv2.COLOR_BGR2Lab)[:, :, 1:].astype(int) - 128).mean() > 5
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
        "-i", picture, "-i", second, "-o", tmp_path / "out", "--suffix", "_c", "--compare", *model_arguments(dominant_model)
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
    assert "1 colorized, 2 failed (backend: CPU)" in result.stderr


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
