"""fetch_models.py and the first-use download of the scripts, as users meet them.

In-process tests pin the registry to the tiny model's files (a test manifest under the release names) so every
path can succeed offline; subprocess tests use the real registry with the authentic prototxt and points.
"""

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorization import fetch, model_files
from colorization.commands import arguments as command_arguments
from colorization.commands import fetch as fetch_command
from colorization.commands import running
from colorization.errors import ModelFileError
from colorization.model_files import CAFFEMODELS, POINTS, PROTOTXT, ReleaseFile
from tests.support import REPO
from tests.support.checks import mean_chroma
from tests.support.fixture_server import FixtureServer
from tests.support.tiny_model import model_arguments

RELEASE_NAMES = [PROTOTXT.name, CAFFEMODELS["release"].name, POINTS.name]


@pytest.fixture(autouse=True)
def restore_logger():
    """In-process runs configure the package logger; later tests must not inherit their handlers."""
    logger = logging.getLogger("colorization")
    saved = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def tiny_registry(monkeypatch, dominant_model, tmp_path):
    """The registry pinned to the tiny model's files under the release names, and a folder mirror holding them."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    pinned = {}
    for key, release in (("prototxt", PROTOTXT), ("caffemodel", CAFFEMODELS["release"]), ("points", POINTS)):
        body = dominant_model[key].read_bytes()
        (mirror / release.name).write_bytes(body)
        pinned[key] = ReleaseFile(release.name, len(body), hashlib.sha256(body).hexdigest(), ())
    monkeypatch.setattr(model_files, "PROTOTXT", pinned["prototxt"])
    monkeypatch.setattr(model_files, "POINTS", pinned["points"])
    monkeypatch.setitem(model_files.CAFFEMODELS, "release", pinned["caffemodel"])
    return mirror


def run_main(*argv) -> int:
    return running.run(fetch_command.main, [str(argument) for argument in argv])


def run_script(script, *arguments, env=None):
    return subprocess.run(
        [sys.executable, str(REPO / script), *map(str, arguments)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def allow_downloads(monkeypatch, mirrors):
    monkeypatch.delenv(fetch.NO_DOWNLOAD_ENV)
    monkeypatch.setenv(fetch.MIRRORS_ENV, mirrors)


def colorize_args(*argv):
    parser = command_arguments.new_parser("test", "")
    command_arguments.add_model_options(parser)
    command_arguments.add_verbosity_options(parser)
    return parser.parse_args([str(argument) for argument in argv])


# fetch_models.py


def test_fetch_from_a_mirror_then_check(tiny_registry, tmp_path, capsys):
    dest = tmp_path / "models"
    assert run_main("--dest", dest, "--mirror", tiny_registry) == 0
    out = capsys.readouterr().out
    assert f"All 3 files are in {dest}, verified." in out
    assert f"copied from {tiny_registry / POINTS.name}" in out
    assert sorted(os.listdir(dest)) == sorted(RELEASE_NAMES)
    assert run_main("--model-dir", dest, "--check") == 0
    assert capsys.readouterr().out.count("ok   ") == 3


def test_check_missing_and_truncated_exit_1(tiny_registry, tmp_path, capsys):
    dest = tmp_path / "models"
    assert run_main("--dest", dest, "--check") == 1
    captured = capsys.readouterr()
    assert captured.err.count("is missing") == 3 and not dest.exists(), "--check downloads nothing"
    assert f"3 of 3 files are missing or damaged: run python fetch_models.py --dest {dest}" in captured.err
    assert run_main("--dest", dest, "--mirror", tiny_registry, "-q") == 0
    caffemodel = dest / CAFFEMODELS["release"].name
    caffemodel.write_bytes(caffemodel.read_bytes()[:-10])
    assert run_main("--dest", dest, "--check") == 1
    captured = capsys.readouterr()
    assert captured.out.count("ok   ") == 2
    assert f"BAD  {caffemodel} is {model_files.CAFFEMODELS['release'].size - 10} bytes, not the" in captured.err


def test_from_imports_a_file_the_user_has(tiny_registry, tmp_path, capsys):
    mine = tmp_path / "my weights.caffemodel"
    mine.write_bytes((tiny_registry / CAFFEMODELS["release"].name).read_bytes())
    dest = tmp_path / "models"
    assert run_main("--dest", dest, "--from", mine, "--mirror", tiny_registry) == 0
    out = capsys.readouterr().out
    assert f"{CAFFEMODELS['release'].name}  copied from {mine} (" in out


def test_failure_exit_1_with_every_source_and_advice(tiny_registry, tmp_path, capsys):
    server = FixtureServer()
    try:
        assert run_main("--dest", tmp_path / "models", "--mirror", server.base + "/dead", "--timeout", "0.5") == 1
    finally:
        server.close()
    err = capsys.readouterr().err
    assert f"{PROTOTXT.name}: FAILED, no source served the release file:" in err
    assert f"    {server.base}/dead/{PROTOTXT.name}: HTTP 404 (not found)" in err
    assert (
        "3 of 3 files could not be fetched" in err and "--from PATH/TO/FILE" in err and "--mirror URL_OR_FOLDER" in err
    )
    assert not any((tmp_path / "models").iterdir())


def test_usage_errors_exit_2(tmp_path, capsys):
    assert run_main("--mirror", tmp_path / "absent") == 2
    assert "--mirror" in capsys.readouterr().err
    for argv in (["--mirrors-only"], ["--check", "--mirror", tmp_path], ["--timeout", "0"]):
        with pytest.raises(SystemExit) as raised:
            run_main(*argv)
        assert raised.value.code == 2


def test_real_registry_from_the_reference_folder(tmp_path, reference_files):
    reference = reference_files["prototxt"].parent
    dest = tmp_path / "models"
    result = run_script("fetch_models.py", "--dest", dest, "--mirror", reference, "--mirrors-only")
    assert result.returncode == 1, result.stderr
    assert f"{PROTOTXT.name}" in result.stdout and f"{POINTS.name}" in result.stdout
    assert "colorization_release_v2.caffemodel: FAILED" in result.stderr
    assert f"{Path(reference) / 'colorization_release_v2.caffemodel'}: no such file" in result.stderr
    assert sorted(os.listdir(dest)) == [PROTOTXT.name, POINTS.name]
    check = run_script("fetch_models.py", "--dest", dest, "--check")
    assert check.returncode == 1 and check.stdout.count("ok   ") == 2
    assert "colorization_release_v2.caffemodel is missing" in check.stderr
    norebal = run_script("fetch_models.py", "--dest", dest, "--check", "--variant", "norebal")
    assert (
        "colorization_release_v2_norebal.caffemodel is missing" in norebal.stderr
        and "--variant norebal" in norebal.stderr
    )


def test_real_registry_from_import(tmp_path, reference_files):
    prototxt = reference_files["prototxt"]
    result = run_script("fetch_models.py", "--dest", tmp_path, "--from", prototxt, "--mirrors-only")
    assert (
        result.stdout.startswith(f"{PROTOTXT.name} ")
        and f" copied from {prototxt} (9.7 KiB, SHA-256 verified)" in result.stdout
    )
    assert (tmp_path / PROTOTXT.name).read_bytes() == prototxt.read_bytes()


# First use: the scripts fetch what is missing


def test_first_use_downloads_missing_release_files_then_colorizes(tiny_registry, tmp_path, monkeypatch):
    server = FixtureServer()
    try:
        for name in RELEASE_NAMES:
            server.serve(f"share/{name}", (tiny_registry / name).read_bytes())
        allow_downloads(monkeypatch, server.base + "/share")
        dest = tmp_path / "models"
        colorizer = command_arguments.colorizer_from_args(colorize_args("--model-dir", dest, "-q"))
    finally:
        server.close()
    # Beside the release files, only the compiled model the default engine caches there and its runtime's own form
    # of it (colorization.compiled_models: NAME.224px.KEY.onnx, NAME.224px.KEY.RUNTIME-KEY.*).
    created = sorted(name for name in os.listdir(dest) if ".224px." not in name)
    assert created == sorted(RELEASE_NAMES)
    assert sorted(served.path.rsplit("/", 1)[1] for served in server.log) == sorted(RELEASE_NAMES)
    colour = colorizer.colorize(np.full((40, 60, 3), 128, np.uint8))
    assert mean_chroma(colour) > 5


def test_first_use_repairs_a_damaged_release_file(tiny_registry, tmp_path, monkeypatch):
    dest = tmp_path / "models"
    dest.mkdir()
    for name in RELEASE_NAMES:
        (dest / name).write_bytes((tiny_registry / name).read_bytes())
    (dest / CAFFEMODELS["release"].name).write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n")
    allow_downloads(monkeypatch, str(tiny_registry))
    command_arguments.colorizer_from_args(colorize_args("--model-dir", dest, "-q"))
    assert (dest / CAFFEMODELS["release"].name).read_bytes() == (
        tiny_registry / CAFFEMODELS["release"].name
    ).read_bytes()


def test_verify_checks_the_hash_of_the_weights_only_when_asked(tiny_registry, tmp_path, monkeypatch):
    dest = tmp_path / "models"
    dest.mkdir()
    for name in RELEASE_NAMES:
        (dest / name).write_bytes((tiny_registry / name).read_bytes())
    caffemodel = dest / CAFFEMODELS["release"].name
    damaged = bytearray(caffemodel.read_bytes())
    damaged[-1] ^= 1  # the last weight's last byte: still a valid model of the right size, only the hash can tell
    caffemodel.write_bytes(bytes(damaged))
    command_arguments.colorizer_from_args(colorize_args("--model-dir", dest))
    with pytest.raises(ModelFileError) as raised:
        command_arguments.colorizer_from_args(colorize_args("--model-dir", dest, "--verify"))
    assert f"{caffemodel.name} has the release file's size but not its SHA-256" in str(raised.value)
    assert "automatic download is off: COLORIZE_NO_DOWNLOAD is set" in str(raised.value)
    allow_downloads(monkeypatch, str(tiny_registry))
    command_arguments.colorizer_from_args(colorize_args("--model-dir", dest, "--verify", "-q"))
    assert caffemodel.read_bytes() == (tiny_registry / caffemodel.name).read_bytes()


def test_small_release_files_are_always_hash_checked(tiny_registry, tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    for name in RELEASE_NAMES:
        (dest / name).write_bytes((tiny_registry / name).read_bytes())
    damaged = bytearray((dest / POINTS.name).read_bytes())
    damaged[-1] ^= 1  # still a valid 313x2 array of the right size: only the hash can tell
    (dest / POINTS.name).write_bytes(bytes(damaged))
    with pytest.raises(ModelFileError) as raised:
        command_arguments.colorizer_from_args(colorize_args("--model-dir", dest))
    assert f"{POINTS.name} has the release file's size but not its SHA-256" in str(raised.value)
    assert "fetch_models.py --check names every damaged file" in str(raised.value)


def test_explicit_files_are_never_hash_checked_nor_fetched(tiny_registry, dominant_model, tmp_path, monkeypatch):
    allow_downloads(monkeypatch, str(tiny_registry))
    command_arguments.colorizer_from_args(
        colorize_args("--model-dir", tmp_path / "models", "--verify", *model_arguments(dominant_model))
    )
    assert not (tmp_path / "models").exists()


def test_no_download_names_the_exact_command(tmp_path):
    dest = tmp_path / "my models"
    picture = tmp_path / "grandpa.png"
    cv2.imwrite(str(picture), np.full((20, 20), 90, np.uint8))
    for extra, env, reason in (
        (["--no-download"], {fetch.NO_DOWNLOAD_ENV: ""}, "--no-download"),
        ([], {}, "COLORIZE_NO_DOWNLOAD is set"),
    ):
        result = run_script("colorize.py", "-i", picture, "--model-dir", dest, *extra, env=env)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr == (
            f"error: {dest / PROTOTXT.name} (and 2 more) is missing: "
            f"run python fetch_models.py --dest '{dest}' (automatic download is off: {reason})\n"
        )
    norebal = run_script("colorize.py", "-i", picture, "--model-dir", dest, "--variant", "norebal")
    assert "--variant norebal" in norebal.stderr
    assert not dest.exists()


def test_colorize_first_use_fetches_from_a_mirror_named_in_the_environment(tmp_path, reference_files):
    reference = str(reference_files["prototxt"].parent)
    dest = tmp_path / "models"
    picture = tmp_path / "grandpa.png"
    cv2.imwrite(str(picture), np.full((20, 20), 90, np.uint8))
    env = {fetch.NO_DOWNLOAD_ENV: "", fetch.MIRRORS_ENV: reference, fetch.MIRRORS_ONLY_ENV: "1"}
    result = run_script("colorize.py", "-i", picture, "--model-dir", dest, env=env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert "is missing: downloading the release files" in lines[0]
    assert lines[-1].startswith("error: could not download colorization_release_v2.caffemodel from any source")
    assert sorted(os.listdir(dest)) == [PROTOTXT.name, POINTS.name], "what could be fetched is in place, verified"
    assert fetch.check_release_files([PROTOTXT, POINTS], dest) == [
        (PROTOTXT, dest / PROTOTXT.name, None),
        (POINTS, dest / POINTS.name, None),
    ]
    assert not picture.with_name("grandpa_colorized.png").exists()
