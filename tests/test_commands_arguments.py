"""colorization/commands/arguments.py: the options every command shares, and the one ColorizerSettings they give."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest

from colorization import ColorizerSettings
from colorization.commands import arguments
from colorization.errors import UsageError
from tests.test_settings import CHOSEN

EVERY_SETTING = [
    "--model-dir",
    "/models",
    "--variant",
    "release",
    "--prototxt",
    "net.prototxt",
    "--caffemodel",
    "net.caffemodel",
    "--points",
    "points.npy",
    "--no-download",
    "--verify",
    "--backend",
    "cpu",
    "--engine",
    "caffe",
    "--precision",
    "fp32",
    "--temperature",
    "0.5",
    "--size",
    "160",
    "--conversion",
    "fast",
    "--upsample",
    "bilinear",
    "--guided-spatial-sigma",
    "0.7",
    "--guided-range-sigma",
    "4",
    "--saturation",
    "1.3",
    "-q",
]


def model_parser() -> argparse.ArgumentParser:
    parser = arguments.new_parser("test", "")
    arguments.add_model_options(parser)
    arguments.add_verbosity_options(parser)
    return parser


def test_every_setting_comes_from_its_option():
    settings = arguments.colorizer_settings(model_parser().parse_args(EVERY_SETTING))
    files = dict(model_dir="/models", prototxt="net.prototxt", caffemodel="net.caffemodel", points="points.npy")
    assert settings == ColorizerSettings(**{**CHOSEN, **files})
    defaults = ColorizerSettings()
    changed = {
        field.name
        for field in dataclasses.fields(settings)
        if getattr(settings, field.name) != getattr(defaults, field.name)
    }
    assert changed == {field.name for field in dataclasses.fields(settings)} - {"variant"}, (
        "no option is dropped on the way"
    )


def test_the_defaults_are_the_settings_defaults():
    assert arguments.colorizer_settings(model_parser().parse_args([])) == ColorizerSettings()


def test_a_setting_without_its_option_fails_at_once_not_silently():
    args = model_parser().parse_args([])
    del args.verify
    with pytest.raises(AttributeError, match="verify"):
        arguments.colorizer_settings(args)


def test_a_second_colorizer_differs_only_in_precision_and_engine(monkeypatch):
    loaded = []
    monkeypatch.setattr(arguments.Colorizer, "load", lambda settings, **changes: loaded.append((settings, changes)))
    args = model_parser().parse_args(["--temperature", "0.5", "--model-dir", "/models"])
    arguments.colorizer_from_args(args)
    arguments.colorizer_from_args(args, precision="fp32", engine="openvino")
    assert loaded[0] == (arguments.colorizer_settings(args), {})
    assert loaded[1] == (arguments.colorizer_settings(args), {"precision": "fp32", "engine": "openvino"})


def test_a_usage_error_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exited:
        model_parser().parse_args(["--size", "100"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_help_shows_each_real_default_once(capsys):
    with pytest.raises(SystemExit):
        model_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: 224)" in text and "(default: None)" not in text and "(default: False)" not in text


def test_cluster_options_need_ray():
    parser = arguments.new_parser("test", "")
    arguments.add_cluster_options(parser)
    arguments.check_cluster_options(parser.parse_args(["--ray", "local", "--ray-workers", "2"]))
    with pytest.raises(UsageError, match="--ray-workers and --gpus-per-worker need --ray"):
        arguments.check_cluster_options(parser.parse_args(["--ray-workers", "2", "--gpus-per-worker", "1"]))


def test_file_options_take_several_inputs_and_keep_the_output_text():
    parser = arguments.new_parser("test", "")
    arguments.add_file_options(parser, "IMAGE", "inputs", "output", "_colour")
    args = parser.parse_args(["-i", "a.jpg", "b.jpg", "-i", "c.jpg", "-o", "out/"])
    assert (
        args.input == [Path("a.jpg"), Path("b.jpg"), Path("c.jpg")]
        and args.output == "out/"
        and args.suffix == "_colour"
    )
