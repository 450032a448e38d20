"""`pip install .` gives working commands: the wheel is built, installed into a folder of its own and run from
elsewhere, so nothing is imported from this clone and every hint names the command an installed user has."""

import os
import re
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pytest

from tests.support import REPO
from tests.support.tiny_model import model_arguments

COMMANDS = (
    "colorize",
    "colorize-batch",
    "colorize-video",
    "colorize-fetch",
    "colorize-eval",
    "colorize-web",
    "colorize-engines",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (path,) = folder.glob("zhang_colorization-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return target


def run_installed(installed, tmp_path, command, *arguments):
    """An installed command, run from an empty folder with an empty home: the clone is nowhere on its path."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("COLORIZE_MODEL_DIR")}
    environment.update(
        PYTHONPATH=str(installed), HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "home" / ".cache")
    )
    executable = [str(installed / "bin" / command)] if command != "-m" else [sys.executable, "-m"]
    return subprocess.run(
        [*executable, *map(str, arguments)], capture_output=True, text=True, cwd=tmp_path, env=environment
    )


def test_the_wheel_holds_the_package_its_commands_and_licence(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "colorization/commands/colorize.py",
        "colorization/engines/choice.py",
        "colorization/video/io.py",
        "colorization/data/max_chroma_table.npy",
        "colorization/__main__.py",
        "colorization/web/app.py",
        "colorization/web/static/index.html",
    ):
        assert module in names
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: BSD-2-Clause" in metadata
    assert any(name.endswith("licenses/LICENSE") for name in names)
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert all(f"{command} = colorization.commands." in entry_points for command in COMMANDS)


def test_an_installed_command_colorizes_a_picture(installed, tmp_path, dominant_model):
    picture = tmp_path / "old.png"
    cv2.imwrite(str(picture), np.full((60, 80), 128, np.uint8))
    result = run_installed(installed, tmp_path, "colorize", "-i", picture, *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(tmp_path / "old_colorized.png")).shape == (60, 80, 3)
    assert run_installed(installed, tmp_path, "colorize", "--version").stdout.startswith("colorize 0.")


def test_installed_hints_name_the_installed_commands_and_the_cache_folder(installed, tmp_path):
    check = run_installed(installed, tmp_path, "colorize-fetch", "--check")
    assert check.returncode == 1
    assert "BAD  home/.cache/colorization/models/colorization_deploy_v2.prototxt is missing" in check.stderr
    assert check.stderr.rstrip().endswith("run colorize-fetch"), "the default folder needs no --dest"
    picture = tmp_path / "old.png"
    cv2.imwrite(str(picture), np.full((60, 80), 128, np.uint8))
    missing = run_installed(installed, tmp_path, "colorize", "-i", picture, "--no-download")
    assert (
        missing.returncode == 2 and "run colorize-fetch" in missing.stderr and "fetch_models.py" not in missing.stderr
    )
    assert "Traceback" not in missing.stderr + check.stderr


def test_python_dash_m_runs_every_command(installed, tmp_path):
    listing = run_installed(installed, tmp_path, "-m", "colorization", "--help")
    assert listing.returncode == 0 and all(
        name in listing.stdout for name in ("photo", "batch", "video", "fetch", "eval", "web")
    )
    helped = run_installed(installed, tmp_path, "-m", "colorization", "batch", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: python -m colorization batch")
    unknown = run_installed(installed, tmp_path, "-m", "colorization", "paint")
    assert unknown.returncode == 2 and "no command 'paint'" in unknown.stderr


def pyproject_extras() -> dict[str, list[str]]:
    """[project.optional-dependencies] of pyproject.toml: each extra's requirements, comments left out."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    table = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    table = "\n".join(line.split("#", 1)[0] for line in table.splitlines())
    return {
        name: re.findall(r'"([^"]+)"', body) for name, body in re.findall(r"^(\w+) = \[(.*?)\]$", table, re.M | re.S)
    }


@pytest.mark.parametrize(
    "name, extra",
    [("requirements.txt", None), ("requirements-dev.txt", "dev"), ("requirements-cluster.txt", "cluster")],
)
def test_the_requirement_files_install_this_project_with_pyprojects_lists(name, extra):
    """One source of truth: each file installs the project (and one extra), never a list of its own to drift."""
    lines = [line.strip() for line in (REPO / name).read_text(encoding="utf-8").splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["-e ." + (f"[{extra}]" if extra else "")]
    if extra:
        assert extra in pyproject_extras()


def test_the_dev_extra_holds_what_ci_runs():
    extras = pyproject_extras()
    dev = {re.split(r"[<>=\[]", requirement, maxsplit=1)[0] for requirement in extras["dev"]}
    assert {"pytest", "hypothesis", "httpx", "playwright", "ruff", "mypy"} <= dev
    assert "zhang-colorization[cpu,cluster]" in extras["dev"], "ONNX Runtime and Ray come from their own extras"
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert all(
        command in ci
        for command in ("ruff check .", "ruff format --check .", "mypy colorization", "-r requirements-dev.txt")
    )
