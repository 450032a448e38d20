"""colorization/batch/report.py: the summary line, the CSV and JSON reports (every input with its status, reason,
output, size and time), a report path refused before any work, and a report the disk refuses after it."""

import csv
import errno
import json
from pathlib import Path

import pytest

from colorization.batch import report as batch_report
from colorization.batch.listing import HIDDEN_FILE, NOT_A_PICTURE
from colorization.batch.report import BatchRecord, BatchSummary, check_report_path, nothing_found, write_report
from colorization.batch.settings import BatchSettings
from colorization.errors import UsageError
from colorization.outputs import OUTPUT_EXISTS
from colorization.status import Status
from tests.support.batch_folders import files_under, put_picture, run_in_process
from tests.support.tiny_model import model_arguments


def summary_of(tmp_path: Path, shard=(1, 1)) -> BatchSummary:
    records = [
        BatchRecord(
            tmp_path / "a.jpg",
            tmp_path / "out" / "a.jpg",
            Status.DONE,
            seconds=0.5,
            width=64,
            height=48,
            output_bytes=900,
        ),
        BatchRecord(tmp_path / "b.jpg", tmp_path / "out" / "b.jpg", Status.SKIPPED, OUTPUT_EXISTS, output_bytes=800),
        BatchRecord(tmp_path / ".c", None, Status.SKIPPED, HIDDEN_FILE),
        BatchRecord(tmp_path / "d.txt", None, Status.SKIPPED, NOT_A_PICTURE),
        BatchRecord(tmp_path / "e.png", tmp_path / "out" / "e.png", Status.FAILED, "e.png: truncated", 0.25),
        BatchRecord(tmp_path / "f.png", tmp_path / "out" / "f.png", Status.INTERRUPTED, "the run was stopped first"),
    ]
    return BatchSummary(records, 2.0, "CPU, fp32", shard, filtered=3)


def test_the_summary_line_counts_each_status_and_why_files_were_skipped(tmp_path):
    assert summary_of(tmp_path).line() == (
        "1 done, 3 skipped (1 already done, 1 hidden, 1 not pictures), 1 failed in 2.0 s (0.50 images/s, backend: CPU, fp32), "
        "1 not reached (interrupted: run the same command again to finish)"
    )
    assert summary_of(tmp_path, shard=(2, 8)).line().endswith("; shard 2/8")


def test_the_reports_write_the_same_words_as_before(tmp_path):
    """The status column holds plain words (done, skipped, failed, interrupted), in CSV and JSON alike."""
    summary, settings = summary_of(tmp_path), BatchSettings(tmp_path, tmp_path / "out")
    write_report(tmp_path / "report.json", summary, settings)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["counts"] == {"done": 1, "skipped": 3, "failed": 1, "interrupted": 1}
    assert (
        data["shard"],
        data["backend"],
        data["seconds"],
        data["images_per_second"],
        data["not_matching_filters"],
    ) == ("1/1", "CPU, fp32", 2.0, 0.5, 3)
    assert data["files"][0] == {
        "input": str(tmp_path / "a.jpg"),
        "output": str(tmp_path / "out" / "a.jpg"),
        "status": "done",
        "reason": "",
        "width": 64,
        "height": 48,
        "output_bytes": 900,
        "seconds": 0.5,
    }
    write_report(tmp_path / "report.csv", summary, settings)
    with open(tmp_path / "report.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [row["status"] for row in table] == ["done", "skipped", "skipped", "skipped", "failed", "interrupted"]
    assert table[2] == {
        "input": str(tmp_path / ".c"),
        "output": "",
        "status": "skipped",
        "reason": HIDDEN_FILE,
        "width": "",
        "height": "",
        "output_bytes": "",
        "seconds": "0.0",
    }


def test_nothing_found_means_only_files_left_out_not_outputs_kept(tmp_path):
    left_out = [BatchRecord(tmp_path / ".c", None, Status.SKIPPED, HIDDEN_FILE)]
    assert nothing_found([]) and nothing_found(left_out)
    assert not nothing_found(
        left_out + [BatchRecord(tmp_path / "b.jpg", tmp_path / "b.jpg", Status.SKIPPED, OUTPUT_EXISTS)]
    )
    assert not nothing_found(left_out + [BatchRecord(tmp_path / "e.png", None, Status.FAILED, "unreadable")])


def test_a_report_path_is_checked_before_any_work(tmp_path):
    check_report_path(None, tmp_path)
    check_report_path(tmp_path / "new" / "report.CSV", tmp_path / "in")
    assert (tmp_path / "new").is_dir(), "its folder is made at once"
    with pytest.raises(UsageError, match="name a .csv or .json file"):
        check_report_path(tmp_path / "report.txt", tmp_path / "in")
    with pytest.raises(UsageError, match="inside the input folder"):
        check_report_path(tmp_path / "in" / "report.json", tmp_path / "in")


def test_report_lists_every_input_with_status_output_size_and_time(tree, tmp_path, dominant_model):
    (tree / "empty.png").write_bytes(b"")
    output = tmp_path / "colour"
    put_picture(output / "photo.jpg", 40, 60, 1)  # already done by an earlier run
    assert (
        run_in_process(tree, output, "-q", "--report", tmp_path / "report.json", *model_arguments(dominant_model)) == 1
    )
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["counts"] == {"done": 4, "skipped": 3, "failed": 1, "interrupted": 0}
    assert data["backend"] in ("CPU, fp32", "CPU, bf16"), "where and in which precision the network ran"
    rows = {Path(row["input"]).relative_to(tree).as_posix(): row for row in data["files"]}
    assert set(rows) == {
        "photo.jpg",
        "1950s/photo.jpg",
        "1950s/beach/photo.jpg",
        "1960s/photo.png",
        "1960s/portrait.JPEG",
        ".thumbnails",
        ".DS_Store",
        "empty.png",
    }
    beach = rows["1950s/beach/photo.jpg"]
    assert beach["status"] == "done" and beach["reason"] == ""
    assert beach["output"] == str(output / "1950s" / "beach" / "photo.jpg")
    assert (beach["width"], beach["height"]) == (70, 50)
    assert beach["output_bytes"] == (output / "1950s" / "beach" / "photo.jpg").stat().st_size
    assert beach["seconds"] > 0
    assert rows["photo.jpg"]["status"] == "skipped" and "exists" in rows["photo.jpg"]["reason"]
    assert rows["empty.png"]["status"] == "failed" and "empty" in rows["empty.png"]["reason"]
    assert rows[".thumbnails"]["reason"] == "hidden folder" and rows[".DS_Store"]["reason"] == "hidden file"

    assert (
        run_in_process(tree, output, "-q", "--report", tmp_path / "report.csv", *model_arguments(dominant_model)) == 1
    )
    with open(tmp_path / "report.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["input", "output", "status", "reason", "width", "height", "output_bytes", "seconds"]
    assert [row["status"] for row in table].count("skipped") == 7
    assert [row["status"] for row in table].count("failed") == 1


def test_shards_from_the_command_line_together_do_the_whole_archive(tree, tmp_path, dominant_model):
    output, done = tmp_path / "colour", []
    for shard in ("1/3", "2/3", "3/3"):
        report = tmp_path / f"shard{shard[0]}.json"
        assert (
            run_in_process(tree, output, "-q", "--shard", shard, "--report", report, *model_arguments(dominant_model))
            == 0
        )
        data = json.loads(report.read_text())
        assert data["shard"] == shard
        done += [row["input"] for row in data["files"] if row["status"] == "done"]
    assert len(done) == len(set(done)) == 5
    assert len(files_under(output)) == 5


def test_a_report_the_full_disk_refuses_still_leaves_the_summary(tree, tmp_path, dominant_model, capfd, monkeypatch):
    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(batch_report, "write_bytes_atomically", disk_full)
    code = run_in_process(tree, tmp_path / "out", "--report", tmp_path / "report.csv", *model_arguments(dominant_model))
    err = capfd.readouterr().err
    assert code == 1
    assert err.splitlines()[-2].startswith("5 done, ")
    assert err.splitlines()[-1] == f"error: --report {tmp_path / 'report.csv'}: cannot write (No space left on device)"
    assert len(files_under(tmp_path / "out")) == 5
