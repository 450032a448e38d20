"""colorization/commands/batch.py: batch_colorize.py's options (folders, --ext families, --shard) and its exit
codes for usage and model errors."""

import argparse

import pytest

from colorization.commands.batch import extensions, shard
from tests.support.batch_folders import run_batch, run_in_process
from tests.support.tiny_model import model_arguments


def test_an_extension_takes_every_spelling_of_its_type():
    assert extensions("jpg") == (".jpg", ".jpeg", ".jpe")
    assert extensions(" TIFF, png ,") == (".tif", ".tiff", ".png")
    for text in ("doc", ", ,"):
        with pytest.raises(argparse.ArgumentTypeError):
            extensions(text)


def test_a_shard_is_k_of_n():
    assert shard("2/8") == (2, 8) and shard("1/1") == (1, 1)
    for text in ("0/3", "4/3", "2", "a/b"):
        with pytest.raises(argparse.ArgumentTypeError):
            shard(text)


def test_usage_and_model_errors_exit_2(tree, tmp_path, dominant_model):
    assert run_in_process(tmp_path / "nowhere", tmp_path / "colour", *model_arguments(dominant_model)) == 2
    assert run_in_process(tree / "photo.jpg", tmp_path / "colour") == 2
    assert run_in_process(tree) == 2
    assert run_in_process(tree, tmp_path / "colour", "--report", tmp_path / "report.txt") == 2
    with pytest.raises(SystemExit) as shard_error:
        run_in_process(tree, tmp_path / "colour", "--shard", "4/3")
    assert shard_error.value.code == 2
    result = run_batch(tree, tmp_path / "colour", "--model-dir", tmp_path / "no-models")
    assert result.returncode == 2 and "fetch_models.py" in result.stderr and result.stderr.count("\n") == 1
