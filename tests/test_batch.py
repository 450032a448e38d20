"""batch_colorize.py as users run it on folder trees: what is written where, what is skipped, failures, reports,
shards, interruptions (kill -9 and Ctrl-C) and exit codes; and the threaded pipeline against the one-image path."""
import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.support import REPO

from colorization.commands import batch as batch_command
from colorization import Colorizer, read_image
from colorization.commands import running
from colorization.atomic import PARTIAL_MARKER
from colorization.batch import BatchSettings, Job, Recorder, colorize_jobs, plan_batch
from tests.support.failing_engine import OUT_OF_MEMORY, fail_forward_when
from tests.support.tiny_model import model_arguments
from tests.support.checks import mean_chroma



def scan(height=48, width=64, seed=0) -> np.ndarray:
    """A small grey picture with a gradient, an edge and grain."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(30, 220, width, dtype=np.float32)[None, :] + np.linspace(-20, 20, height, dtype=np.float32)[:, None]
    gradient[height // 3 : height // 2, width // 4 : width // 2] = 90
    return np.clip(gradient + rng.normal(0, 5, (height, width)), 0, 255).astype(np.uint8)


def put_picture(path: Path, height=48, width=64, seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, scan(height, width, seed))
    assert ok
    path.write_bytes(data.tobytes())
    return path


def run_batch(*arguments):
    return subprocess.run([sys.executable, str(REPO / "batch_colorize.py"), *map(str, arguments)], capture_output=True, text=True)


def run_in_process(*arguments) -> int:
    """Faster than a subprocess for the many small runs; same code, same exit codes."""
    return running.run(batch_command.main, [str(argument) for argument in arguments])


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def is_colourful(path: Path) -> bool:
    colour = cv2.imread(str(path))
    return mean_chroma(colour) > 5


def snapshot(folder: Path) -> dict:
    """Modification time, inode and content of every file: a rename-into-place gives a new inode."""
    state = {}
    for name in files_under(folder):
        status = (folder / name).stat()
        state[name] = (status.st_mtime_ns, status.st_ino, (folder / name).read_bytes())
    return state


@pytest.fixture
def tree(tmp_path):
    """Same-named pictures in nested folders (each its own size, to tell them apart), plus a hidden file and folder."""
    root = tmp_path / "scans"
    put_picture(root / "photo.jpg", 40, 60, 1)
    put_picture(root / "1950s" / "photo.jpg", 44, 66, 2)
    put_picture(root / "1950s" / "beach" / "photo.jpg", 50, 70, 3)
    put_picture(root / "1960s" / "photo.png", 52, 72, 4)
    put_picture(root / "1960s" / "portrait.JPEG", 56, 76, 5)
    put_picture(root / ".thumbnails" / "photo.jpg", 10, 10, 6)
    (root / ".DS_Store").write_bytes(b"\0\1")
    return root


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
    assert not any("libpng" in line or "[ERROR" in line for line in result.stderr.splitlines()), "OpenCV's own noise is kept out"
    assert len(files_under(tmp_path / "colour")) == 5
    assert "5 done, 3 skipped (2 hidden, 1 not pictures), 3 failed" in result.stderr
    rows = {row["input"]: row for row in csv.DictReader(report.open())}
    assert rows[str(tree / "empty.jpg")]["status"] == "failed" and "empty" in rows[str(tree / "empty.jpg")]["reason"]
    assert rows[str(tree / "notes.txt")]["status"] == "skipped"


def test_existing_outputs_are_skipped_and_overwrite_redoes_them(tree, tmp_path, dominant_model):
    output = tmp_path / "colour"
    assert run_in_process(tree, output, "-q", *model_arguments(dominant_model)) == 0
    first = snapshot(output)
    (output / "photo.jpg").unlink()
    result = run_batch(tree, output, *model_arguments(dominant_model))
    assert result.returncode == 0
    assert "1 done, 6 skipped (4 already done, 2 hidden)" in result.stderr
    second = snapshot(output)
    assert {name: second[name] for name in first if name != "photo.jpg"} == {name: first[name] for name in first if name != "photo.jpg"}
    assert run_in_process(tree, output, "-q", "--overwrite", *model_arguments(dominant_model)) == 0
    third = snapshot(output)
    assert all(third[name][1] != second[name][1] for name in second), "every output was written again"


def test_nothing_to_do_does_not_even_load_the_model(tree, tmp_path, dominant_model):
    output = tmp_path / "colour"
    assert run_in_process(tree, output, "-q", *model_arguments(dominant_model)) == 0
    result = run_batch(tree, output, "--caffemodel", tmp_path / "gone.caffemodel")
    assert result.returncode == 0, result.stderr
    assert "0 done, 7 skipped (5 already done, 2 hidden), 0 failed" in result.stderr


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_shards_cover_every_file_exactly_once(tmp_path, count):
    root = tmp_path / "archive"
    for index in range(23):
        put_picture(root / f"box{index % 4}" / f"scan{index}.jpg", 8, 8)
    (root / "box1" / "index.txt").write_text("list")
    seen: list[Path] = []
    for shard in range(1, count + 1):
        plan = plan_batch(BatchSettings(root, tmp_path / "out", shard=(shard, count)))
        seen += [job.source for job in plan.jobs] + [record.source for record in plan.settled]
    assert sorted(seen) == sorted(path for path in root.rglob("*") if path.is_file())
    assert len(seen) == len(set(seen)) == 24


def test_shards_from_the_command_line_together_do_the_whole_archive(tree, tmp_path, dominant_model):
    output, done = tmp_path / "colour", []
    for shard in ("1/3", "2/3", "3/3"):
        report = tmp_path / f"shard{shard[0]}.json"
        assert run_in_process(tree, output, "-q", "--shard", shard, "--report", report, *model_arguments(dominant_model)) == 0
        data = json.loads(report.read_text())
        assert data["shard"] == shard
        done += [row["input"] for row in data["files"] if row["status"] == "done"]
    assert len(done) == len(set(done)) == 5
    assert len(files_under(output)) == 5


def test_report_lists_every_input_with_status_output_size_and_time(tree, tmp_path, dominant_model):
    (tree / "empty.png").write_bytes(b"")
    output = tmp_path / "colour"
    put_picture(output / "photo.jpg", 40, 60, 1)  # already done by an earlier run
    assert run_in_process(tree, output, "-q", "--report", tmp_path / "report.json", *model_arguments(dominant_model)) == 1
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["counts"] == {"done": 4, "skipped": 3, "failed": 1, "interrupted": 0}
    assert data["backend"] in ("CPU, fp32", "CPU, bf16"), "where and in which precision the network ran"
    rows = {Path(row["input"]).relative_to(tree).as_posix(): row for row in data["files"]}
    assert set(rows) == {"photo.jpg", "1950s/photo.jpg", "1950s/beach/photo.jpg", "1960s/photo.png", "1960s/portrait.JPEG",
                         ".thumbnails", ".DS_Store", "empty.png"}
    beach = rows["1950s/beach/photo.jpg"]
    assert beach["status"] == "done" and beach["reason"] == ""
    assert beach["output"] == str(output / "1950s" / "beach" / "photo.jpg")
    assert (beach["width"], beach["height"]) == (70, 50)
    assert beach["output_bytes"] == (output / "1950s" / "beach" / "photo.jpg").stat().st_size
    assert beach["seconds"] > 0
    assert rows["photo.jpg"]["status"] == "skipped" and "exists" in rows["photo.jpg"]["reason"]
    assert rows["empty.png"]["status"] == "failed" and "empty" in rows["empty.png"]["reason"]
    assert rows[".thumbnails"]["reason"] == "hidden folder" and rows[".DS_Store"]["reason"] == "hidden file"

    assert run_in_process(tree, output, "-q", "--report", tmp_path / "report.csv", *model_arguments(dominant_model)) == 1
    with open(tmp_path / "report.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["input", "output", "status", "reason", "width", "height", "output_bytes", "seconds"]
    assert [row["status"] for row in table].count("skipped") == 7
    assert [row["status"] for row in table].count("failed") == 1


def test_filters_pattern_ext_and_no_recursive(tree, tmp_path, dominant_model):
    def colorized(*options) -> list[str]:
        output = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        assert run_in_process(tree, output, "-q", *options, *model_arguments(dominant_model)) == 0
        return files_under(output)

    assert colorized("--no-recursive") == ["photo.jpg"]
    assert colorized("--ext", "jpg") == ["1950s/beach/photo.jpg", "1950s/photo.jpg", "1960s/portrait.JPEG", "photo.jpg"]
    assert colorized("--ext", "png") == ["1960s/photo.png"]
    assert colorized("--pattern", "portrait*") == ["1960s/portrait.JPEG"]
    assert colorized("--pattern", "1950s/*", "--pattern", "*.png") == ["1950s/beach/photo.jpg", "1950s/photo.jpg", "1960s/photo.png"]
    assert colorized("--output-ext", "png", "--suffix", "_colour", "--pattern", "1950s/*") == [
        "1950s/beach/photo_colour.png", "1950s/photo_colour.png"
    ]


def test_two_inputs_that_would_share_an_output_name_fail_without_overwriting(tmp_path, dominant_model):
    root = tmp_path / "scans"
    put_picture(root / "a.jpg", seed=1)
    put_picture(root / "a.tif", seed=2)
    result = run_batch(root, tmp_path / "colour", "--output-ext", "png", *model_arguments(dominant_model))
    assert result.returncode == 1
    assert files_under(tmp_path / "colour") == ["a.png"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "a.tif" in errors[0] and "--output-ext auto" in errors[0]


def test_overlapping_folders_are_refused(tree, tmp_path, dominant_model):
    for output in (tree, tree / "colour", tree / "1950s"):
        result = run_batch(tree, output, *model_arguments(dominant_model))
        assert result.returncode == 2, output
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    result = run_batch(tree / "1950s", tree, *model_arguments(dominant_model))
    assert result.returncode == 2 and "inside" in result.stderr
    assert not (tree / "colour").exists()
    # Without recursion a sub-folder of the input is never read, so it may hold the outputs.
    assert run_in_process(tree, tree / "colour", "--no-recursive", "-q", *model_arguments(dominant_model)) == 0
    assert run_in_process(tree, tree / "colour", "--no-recursive", "-q", *model_arguments(dominant_model)) == 0
    assert files_under(tree / "colour") == ["photo.jpg"]


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


INTERRUPTIBLE_COUNT = 60
"""Enough pictures that a run is still going when the signal lands, even with the fastest engine (24 was not, once)."""


def make_archive(root: Path, count: int) -> list[Path]:
    """Enough work (PNG encoding of 1.5 MP) that a run lasts long enough to be stopped in the middle."""
    return [put_picture(root / f"roll{index % 3}" / f"frame{index:02d}.png", 1000, 1500, index) for index in range(count)]


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
    command = [sys.executable, str(REPO / "batch_colorize.py"), str(root), str(output), "-q", *model_arguments(dominant_model)]
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
    command = [sys.executable, str(REPO / "batch_colorize.py"), str(root), str(output), "--report", str(report), *model_arguments(dominant_model)]
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


def test_abandoned_temporaries_are_removed_and_live_ones_kept(tree, tmp_path, dominant_model):
    output = tmp_path / "colour"
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    (output / "1950s").mkdir(parents=True)
    abandoned = output / "1950s" / f".photo{PARTIAL_MARKER}{finished.pid}.jpg"
    abandoned.write_bytes(b"half a picture")
    live = output / f".photo{PARTIAL_MARKER}{os.getpid()}.jpg"
    live.write_bytes(b"being written by a process that still runs (this test's)")
    assert run_batch(tree, output, "-q", *model_arguments(dominant_model)).returncode == 0
    assert not abandoned.exists()
    assert live.exists(), "only temporaries whose writer is gone are removed"


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
    assert sorted(record.status for record in recorder.records) == ["done"] * len(sources)
    for job in jobs:
        expected = colorizer.colorize(read_image(job.source))
        np.testing.assert_array_equal(read_image(job.destination), expected)


def test_overwrite_never_writes_over_an_input_reached_through_a_link(tmp_path, dominant_model):
    root, output = tmp_path / "scans", tmp_path / "colour"
    original = put_picture(root / "a.jpg").read_bytes()
    output.mkdir()
    (output / "a.jpg").symlink_to(root / "a.jpg")
    assert run_in_process(root, output, "-q", "--overwrite", "--report", tmp_path / "report.json", *model_arguments(dominant_model)) == 1
    assert (root / "a.jpg").read_bytes() == original
    (row,) = json.loads((tmp_path / "report.json").read_text())["files"]
    assert row["status"] == "failed" and "is an input" in row["reason"]


def test_a_forward_pass_failing_on_one_picture_fails_that_one_and_the_rest_are_done(tmp_path, dominant_model, monkeypatch):
    """The network raising mid-run (out of GPU memory, an engine error) on one picture: reported on one line and in
    the report, the other pictures written, exit 1."""
    root, output, report = tmp_path / "scans", tmp_path / "colour", tmp_path / "report.json"
    for index in range(4):
        put_picture(root / f"scan{index}.png", seed=index)
    black = root / "black.png"
    cv2.imwrite(str(black), np.zeros((48, 64), np.uint8))
    fail_forward_when(monkeypatch, lambda blob: np.all(blob == -50.0))
    assert run_in_process(root, output, "-q", "--workers", "2", "--report", report, *model_arguments(dominant_model)) == 1
    rows = {Path(row["input"]).name: row for row in json.loads(report.read_text())["files"]}
    assert {name: row["status"] for name, row in rows.items()} == {
        "black.png": "failed", **{f"scan{index}.png": "done" for index in range(4)}
    }
    assert rows["black.png"]["reason"] == f"{black}: unexpected RuntimeError: {OUT_OF_MEMORY}"
    assert files_under(output) == [f"scan{index}.png" for index in range(4)]
    assert all(is_colourful(output / f"scan{index}.png") for index in range(4))


def test_same_names_in_many_folders_spread_evenly_over_the_shards(tmp_path):
    """2000 files with only two names (each box's front.jpg and back.jpg) over 4 shards: each gets 500 +- 15% (a
    fair slice strays 4 standard deviations less), which slices chosen by file name alone (two non-empty shards at
    most) cannot give; and both names land in every shard."""
    root = tmp_path / "archive"
    for decade in range(1900, 2000, 10):
        for box in range(100):
            folder = root / f"{decade}s" / f"box{box:02d}"
            folder.mkdir(parents=True)
            for name in ("front.jpg", "back.jpg"):
                (folder / name).write_bytes(b"")
    shards = [plan_batch(BatchSettings(root, tmp_path / "out", shard=(index, 4))).jobs for index in range(1, 5)]
    sizes = [len(jobs) for jobs in shards]
    assert len({job.source for jobs in shards for job in jobs}) == sum(sizes) == 2000
    assert all(425 <= size <= 575 for size in sizes), sizes
    for jobs in shards:
        fronts = sum(job.source.name == "front.jpg" for job in jobs)
        assert 0.4 < fronts / len(jobs) < 0.6, "both names in every shard"


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


def test_a_link_to_the_output_folder_is_never_read(tmp_path, dominant_model, capfd):
    root, out = tmp_path / "tree", tmp_path / "out"
    put_picture(root / "photo.jpg")
    (root / "outlink").symlink_to(out, target_is_directory=True)
    report = tmp_path / "report.json"
    for _ in range(3):
        assert run_in_process(root, out, "--report", report, *model_arguments(dominant_model)) == 0
    assert files_under(out) == ["photo.jpg"]
    skipped = {row["input"]: row["reason"] for row in json.loads(report.read_text())["files"] if row["status"] == "skipped"}
    assert skipped[str(root / "outlink")] == "a link to the output folder: outputs are never read as inputs"
    assert "1 output folder" in capfd.readouterr().err


def test_a_pattern_that_matches_nothing_says_so_and_exits_1(tree, tmp_path, dominant_model, capfd):
    assert run_in_process(tree, tmp_path / "out", "--pattern", "*.nothing", *model_arguments(dominant_model)) == 1
    assert "error: no pictures in" in capfd.readouterr().err


def test_a_report_the_full_disk_refuses_still_leaves_the_summary(tree, tmp_path, dominant_model, capfd, monkeypatch):
    import colorization.batch

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(colorization.batch, "write_bytes_atomically", disk_full)
    code = run_in_process(tree, tmp_path / "out", "--report", tmp_path / "report.csv", *model_arguments(dominant_model))
    err = capfd.readouterr().err
    assert code == 1
    assert err.splitlines()[-2].startswith("5 done, ")
    assert err.splitlines()[-1] == f"error: --report {tmp_path / 'report.csv'}: cannot write (No space left on device)"
    assert len(files_under(tmp_path / "out")) == 5


def test_a_slow_writer_never_has_more_pictures_waiting_than_keep_each_stage_busy(tree, tmp_path, dominant_model, monkeypatch):
    """A 12-megapixel picture is some 50 MB prepared: one per reader, per network batch and per writer at most."""
    from colorization import batch

    alive, most = set(), [0]
    read_and_prepare, compose_and_write = batch.read_and_prepare, batch.compose_and_write

    def counted_read(job, work, started):
        alive.add(job.source)
        most[0] = max(most[0], len(alive))
        return read_and_prepare(job, work, started)

    def slow_write(item, ab, work):
        time.sleep(0.05)
        record = compose_and_write(item, ab, work)
        alive.discard(item.job.source)
        return record

    monkeypatch.setattr(batch, "read_and_prepare", counted_read)
    monkeypatch.setattr(batch, "compose_and_write", slow_write)
    assert run_in_process(tree, tmp_path / "out", "-q", "--workers", "1", *model_arguments(dominant_model)) == 0
    assert most[0] == 3 and not alive, "a reader, the network and a writer"


def two_tone(path: Path) -> Path:
    picture = np.full((60, 80), 170, np.uint8)
    picture[:, :38] = 80
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), picture)
    return path


def test_a_sidecar_gives_its_photo_hints_and_is_never_an_input(tmp_path, dominant_model):
    """PHOTO.hints.json beside PHOTO.png colours that photo (as Colorizer.colorize does with the same hints), is
    not listed as an input; one whose picture is missing is reported, not read."""
    from colorization.hints import read_hints

    root = tmp_path / "scans"
    hinted, plain = two_tone(root / "1950s" / "wedding.png"), two_tone(root / "beach.png")
    (root / "1950s" / "wedding.hints.json").write_text('[{"x": 10, "y": 30, "colour": "#2e8b57"}, {"x": 0.9, "y": 0.5, "colour": "navy"}]')
    (root / "lost.hints.json").write_text("[]")
    output = tmp_path / "colour"
    assert run_in_process(root, output, "-q", "--report", tmp_path / "report.json", *model_arguments(dominant_model)) == 0
    assert files_under(output) == ["1950s/wedding.png", "beach.png"]
    rows = {Path(row["input"]).relative_to(root).as_posix(): row for row in json.loads((tmp_path / "report.json").read_text())["files"]}
    assert set(rows) == {"1950s/wedding.png", "beach.png", "lost.hints.json"}
    assert rows["lost.hints.json"]["status"] == "skipped" and "for a picture that is not here" in rows["lost.hints.json"]["reason"]
    colorizer = Colorizer.load(**dominant_model, conversion="fast")
    hints = read_hints(root / "1950s" / "wedding.hints.json")
    np.testing.assert_array_equal(read_image(output / "1950s" / "wedding.png"), colorizer.colorize(read_image(hinted), hints))
    np.testing.assert_array_equal(read_image(output / "beach.png"), colorizer.colorize(read_image(plain)))
    assert not np.array_equal(read_image(output / "1950s" / "wedding.png"), read_image(output / "beach.png"))


def test_a_bad_sidecar_stops_the_run_before_the_model_loads(tmp_path, capfd):
    root = tmp_path / "scans"
    two_tone(root / "a.png")
    two_tone(root / "b.png")
    (root / "a.hints.json").write_text('[{"x": 80, "y": 30, "colour": "red"}]')
    (root / "b.hints.json").write_text('[{"x": 1, "y": 2, "colour": "#12345"}]')
    # No model files: had the model been loaded first, the error would be about them.
    assert run_in_process(root, tmp_path / "colour", "--model-dir", tmp_path / "no-models") == 2
    errors = capfd.readouterr().err.strip().splitlines()
    assert errors[0] == f"error: {root / 'a.png'}: hint 80,30,#ff0000 is outside the picture, which is 80x60 pixels (x 0 to 79, y 0 to 59); or give fractions such as 0.5,0.25"
    assert errors[1].startswith(f"error: {root / 'b.hints.json'}: hint 1: '#12345' is not a colour") and errors[1].endswith("(and 1 more hints files above)")
    assert len(errors) == 2 and not (tmp_path / "colour").exists()
