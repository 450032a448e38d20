"""colorization/batch/stages.py: each picture read, through the network and written in threads, the same as the
one-image path; a failure in any stage is one report line naming the file and the rest go on; memory bounded."""

import csv
import errno
import json
import time
from pathlib import Path

import cv2
import numpy as np

from colorization import Colorizer, read_image
from colorization.batch import stages
from colorization.batch.planning import Job
from colorization.batch.stages import Recorder, colorize_jobs, failure_reason
from colorization.errors import ImageError
from colorization.status import Status
from tests.support.batch_folders import files_under, is_colourful, put_picture, run_batch, run_in_process
from tests.support.failing_engine import OUT_OF_MEMORY, fail_forward_when
from tests.support.tiny_model import model_arguments


def test_a_failure_reason_names_the_file_once_whatever_went_wrong(tmp_path):
    source = tmp_path / "scan.png"
    assert failure_reason(source, OSError(errno.EACCES, "Permission denied")) == f"{source}: Permission denied"
    assert failure_reason(source, MemoryError()) == f"{source}: not enough memory for this picture"
    assert failure_reason(source, ImageError(f"{source}: not a picture")) == f"{source}: not a picture"
    assert (
        failure_reason(source, cv2.error("one\n(-215) the last line counts\n"))
        == f"{source}: OpenCV: (-215) the last line counts"
    )
    assert failure_reason(source, KeyError("x")) == f"{source}: unexpected KeyError: 'x'"


def test_threaded_batched_pipeline_gives_the_one_image_results(tmp_path, lightness_model, photos):
    """Several sizes, grey and colour, through 2 reader and 2 writer threads and batches of 3."""
    sources = []
    for index, photo in enumerate(photos * 2):
        picture = photo if index % 2 else cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
        picture = cv2.resize(picture, (picture.shape[1] // (1 + index % 3), picture.shape[0] // (1 + index % 3)))
        sources.append(tmp_path / "in" / f"{index}.png")
        sources[-1].parent.mkdir(exist_ok=True)
        cv2.imwrite(str(sources[-1]), picture)
    colorizer = Colorizer.load(**lightness_model, conversion="fast")
    recorder = Recorder()
    jobs = [Job(source, tmp_path / "out" / source.name) for source in sources]
    colorize_jobs(colorizer, jobs, recorder, workers=2, batch_size=3)
    assert sorted(record.status for record in recorder.records) == [Status.DONE] * len(sources)
    for job in jobs:
        expected = colorizer.colorize(read_image(job.source))
        np.testing.assert_array_equal(read_image(job.destination), expected)


def test_a_network_failing_on_whole_batches_fails_each_of_their_pictures_and_nothing_is_lost(tmp_path, dominant_model):
    """predict reports every picture of a batch it could not run: each one a failed line with the reason, none
    written, none missing, and the run ends (it neither waits for them nor pairs them with other pictures)."""
    jobs = [
        Job(put_picture(tmp_path / "in" / f"{index}.png", seed=index), tmp_path / "out" / f"{index}.png")
        for index in range(7)
    ]
    colorizer = Colorizer.load(**dominant_model, conversion="fast")

    def out_of_memory(prepared):
        raise RuntimeError(OUT_OF_MEMORY)

    colorizer.predict_ab = out_of_memory
    recorder = Recorder()
    colorize_jobs(colorizer, jobs, recorder, workers=2, batch_size=3)
    assert sorted(record.source for record in recorder.records) == sorted(job.source for job in jobs)
    assert all(record.status == Status.FAILED and OUT_OF_MEMORY in record.reason for record in recorder.records)
    assert not (tmp_path / "out").exists()


def test_bad_files_fail_on_one_line_each_and_the_rest_is_done(tree, tmp_path, dominant_model):
    (tree / "empty.jpg").write_bytes(b"")
    good_png = (tree / "1960s" / "photo.png").read_bytes()
    (tree / "1960s" / "truncated.png").write_bytes(good_png[: len(good_png) // 2])
    (tree / "letter.jpg").write_text("Dear Ann, the photos are in the blue box.")
    (tree / "notes.txt").write_text("box 3")
    report = tmp_path / "report.csv"
    result = run_batch(tree, tmp_path / "colour", "--report", report, *model_arguments(dominant_model))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = sorted(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert len(errors) == 3
    assert "truncated.png" in errors[0] and "empty.jpg" in errors[1] and "letter.jpg" in errors[2]
    assert not any("libpng" in line or "[ERROR" in line for line in result.stderr.splitlines()), (
        "OpenCV's own noise is kept out"
    )
    assert len(files_under(tmp_path / "colour")) == 5
    assert "5 done, 3 skipped (2 hidden, 1 not pictures), 3 failed" in result.stderr
    rows = {row["input"]: row for row in csv.DictReader(report.open())}
    assert rows[str(tree / "empty.jpg")]["status"] == "failed" and "empty" in rows[str(tree / "empty.jpg")]["reason"]
    assert rows[str(tree / "notes.txt")]["status"] == "skipped"


def test_a_forward_pass_failing_on_one_picture_fails_that_one_and_the_rest_are_done(
    tmp_path, dominant_model, monkeypatch
):
    """The network raising mid-run (out of GPU memory, an engine error) on one picture: reported on one line and in
    the report, the other pictures written, exit 1."""
    root, output, report = tmp_path / "scans", tmp_path / "colour", tmp_path / "report.json"
    for index in range(4):
        put_picture(root / f"scan{index}.png", seed=index)
    black = root / "black.png"
    cv2.imwrite(str(black), np.zeros((48, 64), np.uint8))
    fail_forward_when(monkeypatch, lambda blob: np.all(blob == -50.0))
    assert (
        run_in_process(root, output, "-q", "--workers", "2", "--report", report, *model_arguments(dominant_model)) == 1
    )
    rows = {Path(row["input"]).name: row for row in json.loads(report.read_text())["files"]}
    assert {name: row["status"] for name, row in rows.items()} == {
        "black.png": "failed",
        **{f"scan{index}.png": "done" for index in range(4)},
    }
    assert rows["black.png"]["reason"] == f"{black}: unexpected RuntimeError: {OUT_OF_MEMORY}"
    assert files_under(output) == [f"scan{index}.png" for index in range(4)]
    assert all(is_colourful(output / f"scan{index}.png") for index in range(4))


def test_a_link_to_itself_is_one_failure_and_the_rest_is_done(tmp_path, dominant_model, capfd):
    root = tmp_path / "tree"
    put_picture(root / "good.jpg")
    (root / "self.jpg").symlink_to("self.jpg")
    out = tmp_path / "out"
    for _ in range(2):  # and a rerun ends the same way, not with an interrupted reader
        assert run_in_process(root, out, *model_arguments(dominant_model)) == 1
        errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "self.jpg" in errors[0] and "symbolic links" in errors[0]
    assert files_under(out) == ["good.jpg"]


def test_a_slow_writer_never_has_more_pictures_waiting_than_keep_each_stage_busy(
    tree, tmp_path, dominant_model, monkeypatch
):
    """A 12-megapixel picture is some 50 MB prepared: one per reader, per network batch and per writer at most."""
    alive, most = set(), [0]
    read_and_prepare, compose_and_write = stages.read_and_prepare, stages.compose_and_write

    def counted_read(job, work, started):
        alive.add(job.source)
        most[0] = max(most[0], len(alive))
        return read_and_prepare(job, work, started)

    def slow_write(item, ab, work):
        time.sleep(0.05)
        record = compose_and_write(item, ab, work)
        alive.discard(item.job.source)
        return record

    monkeypatch.setattr(stages, "read_and_prepare", counted_read)
    monkeypatch.setattr(stages, "compose_and_write", slow_write)
    assert run_in_process(tree, tmp_path / "out", "-q", "--workers", "1", *model_arguments(dominant_model)) == 0
    assert most[0] == 3 and not alive, "a reader, the network and a writer"
