"""python -m colorization eval DIR as a user runs it: the table, the CSV, the skipped and the failed."""

import csv
import math
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorization import metrics
from colorization.commands import arguments as command_arguments
from colorization.commands import evaluate, running
from colorization.engines import openvino
from colorization.evaluation import grey_of
from tests.support import REPO
from tests.support.checks import mean_chroma
from tests.support.tiny_model import model_arguments


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
        folder,
        "--csv",
        tmp_path / "scores.csv",
        "--save-to",
        tmp_path / "out",
        "--saturation",
        "1.2",
        *model_arguments(lightness_model),
    )
    assert result.returncode == 1, "the broken file failed, the rest was scored"
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "broken.png" in errors[0]
    assert "skipped grey.png: it has no colour" in result.stderr.replace(str(folder) + "/", "")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("settings:") and "saturation 1.2" in lines[0] and "upsample guided" in lines[0]
    assert re.search(r"precision (fp32|bf16)$", lines[0]), "the precision that ran: bf16 where the processor has it"
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


def test_compare_precision_scores_fp32_and_the_reduced_one_side_by_side(
    folder, lightness_model, tmp_path, monkeypatch, capsys, simulated_bf16
):
    loaded = []
    load = command_arguments.colorizer_from_args

    def load_counted(args, **keywords):
        loaded.append((keywords.get("precision"), keywords.get("engine")))
        return load(args, **keywords)

    monkeypatch.setattr(command_arguments, "colorizer_from_args", load_counted)
    arguments = [folder, "--compare-precision", "bf16", "--csv", tmp_path / "scores.csv", "--save-to", tmp_path / "out"]
    code = running.run(evaluate.main, [*map(str, arguments), *model_arguments(lightness_model)])
    assert code == 1, "the broken file failed, the rest was scored"
    assert loaded == [("bf16", "auto"), ("fp32", "openvino")], "each precision loaded once, fp32 on bf16's engine"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("settings:") and lines[0].endswith("precision fp32")
    assert "fp32 on OpenVINO" in lines[1] and "bf16 on OpenVINO" in lines[1] and "precision: bf16" in lines[1]
    assert lines[2].split() == [
        "photo",
        "fp32",
        "PSNR",
        "fp32",
        "SSIM",
        "bf16",
        "PSNR",
        "bf16",
        "SSIM",
        "bf16",
        "vs",
        "fp32",
        "dB",
    ]
    assert [line.split()[0] for line in lines[3:5]] == ["a.png", "b.jpg"]
    assert lines[5].startswith("mean of 2") and lines[6].startswith("grey (no colour)")

    rows = list(csv.DictReader((tmp_path / "scores.csv").open()))
    assert [row["name"] for row in rows] == ["a.png", "b.jpg"]
    assert list(rows[0])[-5:] == ["bf16_psnr", "bf16_ssim", "bf16_colourfulness", "bf16_vs_fp32_psnr", "settings"]
    for row in rows:
        original = cv2.imread(str(folder / row["name"])).astype(np.float32) / 255
        stem = tmp_path / "out" / Path(row["name"]).stem
        fp32, bf16 = (cv2.imread(f"{stem}{suffix}.png").astype(np.float32) / 255 for suffix in ("", ".bf16"))
        assert float(row["psnr"]) == pytest.approx(metrics.psnr(fp32, original, 1.0), abs=1e-6)
        assert float(row["bf16_psnr"]) == pytest.approx(metrics.psnr(bf16, original, 1.0), abs=1e-6)
        assert float(row["bf16_ssim"]) == pytest.approx(metrics.ssim(bf16, original, 1.0), abs=1e-6)
        assert float(row["bf16_vs_fp32_psnr"]) == pytest.approx(metrics.psnr(bf16, fp32, 1.0), abs=1e-6)
        assert 30 < float(row["bf16_vs_fp32_psnr"]) < math.inf, "bf16 moves the colours a little, not a lot"
    table = dict(zip(["fp32_psnr", "fp32_ssim", "bf16_psnr", "bf16_ssim", "between"], map(float, lines[5].split()[3:])))
    assert table["bf16_psnr"] == pytest.approx(np.mean([float(row["bf16_psnr"]) for row in rows]), abs=0.006)
    assert table["between"] == pytest.approx(np.mean([float(row["bf16_vs_fp32_psnr"]) for row in rows]), abs=0.006)


@pytest.mark.parametrize("verbosity", [[], ["-q"]])
def test_a_compare_precision_that_cannot_run_is_one_line_and_exit_2(
    folder, lightness_model, monkeypatch, capsys, verbosity
):
    monkeypatch.setattr(openvino, "has_intel_gpu", lambda: False)
    arguments = [
        str(folder),
        "--compare-precision",
        "fp16",
        "--engine",
        "openvino",
        *verbosity,
        *model_arguments(lightness_model),
    ]
    assert running.run(evaluate.main, arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == "", "no fp32-against-fp32 table"
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("error: --compare-precision fp16 cannot run here: OpenVINO runs fp16 on Intel GPUs only")
    assert line.endswith("nothing was scored (leave it out to score fp32 alone)")


def test_precision_is_honoured_and_the_one_that_ran_is_reported(
    folder, lightness_model, capsys, monkeypatch, simulated_bf16
):
    assert (
        running.run(evaluate.main, [str(folder), "--precision", "bf16", "-q", *model_arguments(lightness_model)]) == 1
    )
    assert capsys.readouterr().out.splitlines()[0].endswith("precision bf16")
    monkeypatch.setattr(openvino, "has_intel_gpu", lambda: False)
    assert (
        running.run(
            evaluate.main,
            [str(folder), "--precision", "fp16", "--engine", "openvino", *model_arguments(lightness_model)],
        )
        == 1
    )
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].endswith("precision fp32"), "fp16 fell back to fp32, and the table says so"
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert (
        len(warnings) == 1
        and warnings[0].startswith("warning: --precision fp16 asked for")
        and warnings[0].endswith("running fp32")
    )


def test_compare_precision_is_against_fp32_only(folder, lightness_model, capsys):
    arguments = [str(folder), "--compare-precision", "bf16", "--precision", "fp16", *model_arguments(lightness_model)]
    assert running.run(evaluate.main, arguments) == 2
    assert (
        capsys.readouterr().err.strip() == "error: --compare-precision compares with fp32: leave out --precision fp16"
    )
