"""python -m colorization eval DIR as a user runs it: the table, the CSV, the skipped and the failed."""
import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support import REPO

from colorization import metrics
from colorization.evaluation import grey_of
from tests.support.tiny_model import model_arguments
from tests.support.checks import mean_chroma



def run_evaluate(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "colorization", "eval", *map(str, arguments)], capture_output=True, text=True, cwd=REPO
    )


@pytest.fixture
def folder(tmp_path, photos):
    """Two small colour photos, one grey picture and one broken file."""
    folder = tmp_path / "truth"
    folder.mkdir()
    colour = [p for p in photos if mean_chroma(p) > 2]
    for name, photo in zip(("a.png", "b.jpg"), colour):
        cv2.imwrite(str(folder / name), cv2.resize(photo, (160, 120), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(folder / "grey.png"), np.full((40, 50), 90, np.uint8))
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


def test_scores_each_colour_photo_against_its_original(folder, lightness_model, tmp_path):
    result = run_evaluate(
        folder, "--csv", tmp_path / "scores.csv", "--save-to", tmp_path / "out", "--saturation", "1.2", *model_arguments(lightness_model)
    )
    assert result.returncode == 1, "the broken file failed, the rest was scored"
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert "skipped grey.png: it has no colour" in result.stderr.replace(str(folder) + "/", "")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("settings:") and "saturation 1.2" in lines[0] and "upsample guided" in lines[0]
    assert [line.split()[0] for line in lines[2:4]] == ["a.png", "b.jpg"]
    assert lines[4].startswith("mean of 2") and lines[5].startswith("grey (no colour)")

    rows = list(csv.DictReader((tmp_path / "scores.csv").open()))
    assert [row["name"] for row in rows] == ["a.png", "b.jpg"]
    for row in rows:
        original = cv2.imread(str(folder / row["name"])).astype(np.float32) / 255
        saved = cv2.imread(str(tmp_path / "out" / Path(row["name"]).with_suffix(".png"))).astype(np.float32) / 255
        # The numbers are the shared metrics of the saved result against the original, and of the grey baseline.
        assert float(row["psnr"]) == pytest.approx(metrics.psnr(saved, original, 1.0), abs=1e-6)
        assert float(row["ssim"]) == pytest.approx(metrics.ssim(saved, original, 1.0), abs=1e-6)
        assert float(row["colourfulness"]) == pytest.approx(metrics.colourfulness(saved * 255), abs=1e-4)
        assert float(row["original_colourfulness"]) == pytest.approx(metrics.colourfulness(original * 255), abs=1e-4)
        assert float(row["grey_psnr"]) == pytest.approx(metrics.psnr(grey_of(original), original, 1.0), abs=1e-6)
        assert float(row["colourfulness"]) > 5, "the lightness model adds colour"
    mean_psnr = float(lines[4].split()[3])
    assert mean_psnr == pytest.approx(np.mean([float(row["psnr"]) for row in rows]), abs=0.006)


def test_settings_change_the_scores(folder, bimodal_model):
    """Users compare settings by their means: lower temperature gives a more colourful result on the same folder."""
    colourful = []
    for temperature in ("1.0", "0.1"):
        result = run_evaluate(folder, "--temperature", temperature, "-q", *model_arguments(bimodal_model))
        assert result.returncode == 1
        mean_line = next(line for line in result.stdout.splitlines() if line.startswith("mean of"))
        colourful.append(float(mean_line.split()[5]))
    assert colourful[0] < colourful[1]


def test_folder_without_pictures_is_a_usage_error(tmp_path, dominant_model):
    result = run_evaluate(tmp_path, *model_arguments(dominant_model))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: no pictures in") and len(result.stderr.strip().splitlines()) == 1
