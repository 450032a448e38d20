"""The rule behind every command: whatever it is fed, it ends with its own one-line messages and a documented exit
code (0 ok, 1 some inputs failed, 2 usage or model error), never a Python traceback, and the good inputs beside a
bad one are still done. Each bad-input class goes to every command that takes that kind of input."""

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from colorization.commands import main as colorization_main
from tests.support import REPO
from tests.support.tiny_model import model_arguments


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def animated_gif(path: Path) -> None:
    frames = [Image.fromarray(np.full((20, 30), value, np.uint8)) for value in (40, 240)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


BAD_PICTURES = {
    "self_link": lambda path: path.symlink_to(path.name),
    "missing": lambda path: None,
    "empty": lambda path: path.write_bytes(b""),
    "garbage": lambda path: path.write_bytes(b"\x89PNG\r\n\x1a\n not really"),
    "bomb": lambda path: path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 20001))
        + png_chunk(b"IEND", b"")
    ),
    "animated_gif": animated_gif,
}
"""Each bad picture, written at `path` (its name is the class, with .png or .gif)."""


@pytest.fixture
def scene(tmp_path, dominant_model):
    """A folder per bad class holding the bad file beside one good colour photo, a plain file where folders are
    asked for, and the model's arguments."""
    for name, writer in BAD_PICTURES.items():
        folder = tmp_path / name
        folder.mkdir()
        writer(folder / f"{name}{'.gif' if name == 'animated_gif' else '.png'}")
        cv2.imwrite(
            str(folder / "good.jpg"), np.dstack([np.full((30, 40), value, np.uint8) for value in (40, 90, 160)])
        )
    (tmp_path / "afile").write_bytes(b"a file, not a folder")
    return tmp_path, model_arguments(dominant_model)


def bad_picture(root: Path, name: str) -> Path:
    return (
        next(path for path in (root / name).iterdir() if path.name != "good.jpg")
        if name != "missing"
        else root / name / "missing.png"
    )


def run_command(capfd, *arguments) -> tuple[int, str]:
    code = colorization_main([str(argument) for argument in arguments])
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception in thread" not in err, err
    return code, err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("name", BAD_PICTURES)
def test_photo_reports_each_bad_picture_once_and_does_the_good_one(scene, capfd, name):
    root, model = scene
    code, err = run_command(
        capfd, "photo", "-i", bad_picture(root, name), root / name / "good.jpg", "-o", f"{root}/out/", *model
    )
    assert code == 1 and len(error_lines(err)) == 1 and name in error_lines(err)[0]
    assert (root / "out" / "good_colorized.jpg").is_file()


@pytest.mark.parametrize("name", [name for name in BAD_PICTURES if name != "missing"])
def test_batch_reports_each_bad_picture_once_and_does_the_good_one(scene, capfd, name):
    root, model = scene
    code, err = run_command(capfd, "batch", root / name, root / "out", *model)
    assert code == 1 and len(error_lines(err)) == 1 and name in error_lines(err)[0]
    assert (root / "out" / "good.jpg").is_file()


@pytest.mark.parametrize("name", [name for name in BAD_PICTURES if name != "animated_gif"])
def test_video_reports_each_bad_input_once(scene, capfd, name):
    root, model = scene
    code, err = run_command(capfd, "video", "-i", bad_picture(root, name), "-o", root / "film.mp4", *model)
    assert code == 1 and len(error_lines(err)) == 1
    assert not (root / "film.mp4").exists()


def test_video_takes_an_animated_gif_as_a_film(scene, capfd):
    root, model = scene
    code, _ = run_command(capfd, "video", "-i", bad_picture(root, "animated_gif"), "-o", root / "film.mp4", *model)
    assert code == 0 and (root / "film.mp4").stat().st_size > 0


@pytest.mark.parametrize("name", [name for name in BAD_PICTURES if name != "missing"])
def test_eval_reports_each_bad_picture_once_and_scores_the_good_one(scene, capfd, name):
    root, model = scene
    code, err = run_command(capfd, "eval", root / name, *model)
    assert code == 1 and len(error_lines(err)) == 1 and name in error_lines(err)[0]


def impossible_output_commands(root: Path, model: list) -> dict:
    good = root / "self_link" / "good.jpg"
    return {
        "photo": (["photo", "-i", good, "-o", f"{root}/afile/sub/", *model], 1),
        "batch": (["batch", root / "self_link", root / "afile" / "sub", *model], 2),
        "video": (["video", "-i", good, "-o", f"{root}/afile/sub/", *model], 1),
        "eval --save-to": (["eval", root / "self_link", "--save-to", root / "afile" / "sub", *model], 2),
        "eval --csv": (["eval", root / "self_link", "--csv", root / "afile" / "scores.csv", *model], 2),
        "fetch": (["fetch", "--dest", root / "afile" / "sub", "--from", model[3]], 2),
    }


@pytest.mark.parametrize("command", ["photo", "batch", "video", "eval --save-to", "eval --csv", "fetch"])
def test_an_output_that_cannot_be_written_is_one_line(scene, capfd, command):
    root, model = scene
    arguments, expected = impossible_output_commands(root, model)[command]
    code, err = run_command(capfd, *arguments)
    assert code == expected and len(error_lines(err)) == 1 and "afile" in error_lines(err)[0]


BAD_MODEL_FILES = {
    "--prototxt": lambda files, path: path.write_text(
        files["prototxt"].read_text().replace("Convolution", "Convolutoin")
    ),
    "--points": lambda files, path: path.write_bytes(b""),
    "--caffemodel": lambda files, path: path.write_bytes(b"\x00" * 4096),
}


@pytest.mark.parametrize("flag", BAD_MODEL_FILES)
@pytest.mark.parametrize("command", ["photo", "batch", "video", "eval"])
def test_a_bad_model_file_is_one_line_and_exit_2(scene, capfd, dominant_model, flag, command):
    root, model = scene
    damaged = root / f"damaged{dominant_model[flag.lstrip('-')].suffix}"
    BAD_MODEL_FILES[flag](dominant_model, damaged)
    model = list(model)
    model[model.index(flag) + 1] = str(damaged)
    good = root / "self_link" / "good.jpg"
    inputs = {
        "photo": ["-i", good, "-o", root / "o.png"],
        "batch": [root / "self_link", root / "out"],
        "video": ["-i", good, "-o", root / "o.mp4"],
        "eval": [root / "self_link"],
    }[command]
    code, err = run_command(capfd, command, *inputs, *model)
    assert code == 2 and error_lines(err) == [err.strip()] and "damaged" in err


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["fetch", "--check", "--dest", "afile"], 2),
        (["fetch", "--check", "--dest", "self_link"], 1),
        (["fetch", "--dest", "models", "--from", "self_link/good.jpg"], 1),
        (["fetch", "--dest", "models", "--from", "self_link/self_link.png"], 1),
        (["photo", "--size", "abc", "-i", "x.png"], 2),
        (["batch", "--shard", "3/2", "a", "b"], 2),
        (["video", "--start", "1:75", "-i", "x.mp4"], 2),
        (["eval"], 2),
        (["nonsense"], 2),
    ],
)
def test_fetch_and_usage_errors(scene, capfd, monkeypatch, arguments, expected):
    root, _ = scene
    monkeypatch.chdir(root)
    try:
        code, err = run_command(capfd, *arguments)
    except SystemExit as exit:  # argparse's own usage errors
        code, err = exit.code, capfd.readouterr().err
    assert code == expected and "Traceback" not in err


SCRIPTS = {
    "photo": "colorize.py",
    "batch": "batch_colorize.py",
    "video": "video_colorize.py",
    "fetch": "fetch_models.py",
}


@pytest.mark.parametrize(
    "command, way",
    [
        *((command, way) for command in SCRIPTS for way in ("script", "module")),
        ("eval", "module"),  # eval has no script
    ],
)
def test_scripts_and_python_m_end_in_one_line_too(scene, command, way):
    root, model = scene
    arguments = {
        "photo": ["-i", root / "self_link" / "self_link.png", *model],
        "batch": [root / "self_link", root / "out", *model],
        "video": ["-i", root / "bomb" / "bomb.png", *model],
        "fetch": ["--dest", root / "afile" / "sub", "--from", model[3]],
        "eval": [root / "empty", "--csv", root / "afile" / "x.csv", *model],
    }[command]
    start = [str(REPO / SCRIPTS[command])] if way == "script" else ["-m", "colorization", command]
    result = subprocess.run(
        [sys.executable, *start, *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (1, 2) and error_lines(result.stderr)
