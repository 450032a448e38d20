"""colorization/batch/run.py: a folder's run from plan to report, whatever runs the middle: the network started only
when there is work, the tree mirrored with inputs untouched, and runs stopped (kill -9, Ctrl-C, SIGTERM) finished by
running the same command again."""

import csv
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import pytest

from colorization import read_image
from colorization.atomic import PARTIAL_MARKER
from colorization.batch.planning import Job
from colorization.batch.report import BatchRecord
from colorization.batch.run import run_folder
from colorization.batch.settings import BatchSettings
from colorization.batch.stages import Recorder
from colorization.errors import Terminated
from colorization.status import Status
from tests.support import REPO
from tests.support.batch_folders import files_under, is_colourful, put_picture, run_batch, run_in_process, snapshot
from tests.support.tiny_model import model_arguments


@dataclass
class StoppedRun:
    """A middle that colorizes (pretends to) the first `count` jobs, then is stopped by `stop`."""

    count: int
    stop: KeyboardInterrupt
    backend: str = "test"
    given: list = field(default_factory=list)

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None:
        self.given = list(jobs)
        for job in jobs[: self.count]:
            recorder.add(BatchRecord(job.source, job.destination, Status.DONE))
        raise self.stop


@pytest.mark.parametrize(
    "stop, terminated", [(KeyboardInterrupt(), False), (Terminated(), True)], ids=["ctrl-c", "sigterm"]
)
def test_a_stopped_middle_leaves_the_files_not_reached_interrupted_in_the_summary_and_report(
    tree, tmp_path, stop, terminated
):
    report = tmp_path / "report.json"
    run = StoppedRun(2, stop)
    settings = BatchSettings(tree, tmp_path / "out", report=report, workers=1)
    summary = run_folder(settings, lambda: run, quiet=True)
    assert len(run.given) == 5 and summary.terminated == terminated and summary.backend == "test"
    assert (summary.count(Status.DONE), summary.count(Status.INTERRUPTED), summary.count(Status.SKIPPED)) == (2, 3, 2)
    assert [record.source for record in summary.records] == sorted(
        (record.source for record in summary.records), key=str
    )
    counts = json.loads(report.read_text())["counts"]
    assert counts == {"done": 2, "skipped": 2, "failed": 0, "interrupted": 3}


def test_the_middle_starts_only_when_there_is_work(tmp_path):
    root = tmp_path / "scans"
    root.mkdir()
    (root / "notes.txt").write_text("box 3")

    def start():
        raise AssertionError("started without work")

    summary = run_folder(BatchSettings(root, tmp_path / "out"), start, quiet=True)
    assert summary.backend == "not loaded, nothing to colorize" and summary.found_nothing
    assert (tmp_path / "out").is_dir(), "the output folder is made even so"


def test_mirrors_the_tree_without_collisions_and_leaves_inputs_untouched(tree, tmp_path, dominant_model):
    before = snapshot(tree)
    result = run_batch(tree, tmp_path / "colour", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    output = tmp_path / "colour"
    expected = ["1950s/beach/photo.jpg", "1950s/photo.jpg", "1960s/photo.png", "1960s/portrait.JPEG", "photo.jpg"]
    assert files_under(output) == expected
    for name in expected:
        assert cv2.imread(str(output / name)).shape[:2] == cv2.imread(str(tree / name)).shape[:2], name
        assert is_colourful(output / name)
    assert snapshot(tree) == before, "inputs are never modified, and nothing is added beside them"
    assert "5 done, 2 skipped (2 hidden), 0 failed" in result.stderr
    assert "backend: CPU" in result.stderr and "images/s" in result.stderr


def test_nothing_to_do_does_not_even_load_the_model(tree, tmp_path, dominant_model):
    output = tmp_path / "colour"
    assert run_in_process(tree, output, "-q", *model_arguments(dominant_model)) == 0
    result = run_batch(tree, output, "--caffemodel", tmp_path / "gone.caffemodel")
    assert result.returncode == 0, result.stderr
    assert "0 done, 7 skipped (5 already done, 2 hidden), 0 failed" in result.stderr


def test_a_pattern_that_matches_nothing_says_so_and_exits_1(tree, tmp_path, dominant_model, capfd):
    assert run_in_process(tree, tmp_path / "out", "--pattern", "*.nothing", *model_arguments(dominant_model)) == 1
    assert "error: no pictures in" in capfd.readouterr().err


INTERRUPTIBLE_COUNT = 60
"""Enough pictures that a run is still going when the signal lands, even with the fastest engine (24 was not, once)."""


def make_archive(root: Path, count: int) -> list[Path]:
    """Enough work (PNG encoding of 1.5 MP) that a run lasts long enough to be stopped in the middle."""
    return [
        put_picture(root / f"roll{index % 3}" / f"frame{index:02d}.png", 1000, 1500, index) for index in range(count)
    ]


def wait_for_outputs(process: subprocess.Popen, output: Path, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while sum(1 for path in output.rglob("*.png") if not path.name.startswith(".")) < at_least:
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)


def partial_files(*folders: Path) -> list[Path]:
    return [path for folder in folders for path in folder.rglob("*") if PARTIAL_MARKER in path.name]


def test_kill_9_mid_run_then_rerun_finishes_without_redoing_or_leaving_partials(tmp_path, dominant_model):
    root, output = tmp_path / "archive", tmp_path / "colour"
    inputs = make_archive(root, INTERRUPTIBLE_COUNT)
    command = [
        sys.executable,
        str(REPO / "batch_colorize.py"),
        str(root),
        str(output),
        "-q",
        *model_arguments(dominant_model),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    wait_for_outputs(process, output, 3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    survivors = {name: state[:2] for name, state in snapshot(output).items() if not Path(name).name.startswith(".")}
    assert 3 <= len(survivors) < len(inputs), "killed in the middle"
    for name in survivors:
        assert read_image(output / name).shape[:2] == (1000, 1500), "every file under its final name is complete"

    rerun = run_batch(root, output, "--report", tmp_path / "report.json", *model_arguments(dominant_model))
    assert rerun.returncode == 0, rerun.stderr
    finished = snapshot(output)
    assert sorted(finished) == sorted(str(path.relative_to(root)) for path in inputs)
    assert {name: finished[name][:2] for name in survivors} == survivors, "no completed file was written again"
    assert partial_files(root, output) == []
    counts = json.loads((tmp_path / "report.json").read_text())["counts"]
    assert counts["skipped"] == len(survivors) and counts["done"] == len(inputs) - len(survivors)


@pytest.mark.parametrize("stop, exit_code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_cleanly_with_a_report_and_a_rerun_finishes(tmp_path, dominant_model, stop, exit_code):
    root, output, report = tmp_path / "archive", tmp_path / "colour", tmp_path / "report.csv"
    inputs = make_archive(root, INTERRUPTIBLE_COUNT)
    command = [
        sys.executable,
        str(REPO / "batch_colorize.py"),
        str(root),
        str(output),
        "--report",
        str(report),
        *model_arguments(dominant_model),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    wait_for_outputs(process, output, 2)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == exit_code and "Traceback" not in stderr
    assert "not reached (interrupted: run the same command again to finish)" in stderr
    assert partial_files(root, output) == []
    statuses = [row["status"] for row in csv.DictReader(report.open())]
    assert len(statuses) == len(inputs) and "interrupted" in statuses
    assert statuses.count("done") == len(files_under(output))
    assert run_in_process(root, output, "-q", *model_arguments(dominant_model)) == 0
    assert len(files_under(output)) == len(inputs)
