"""colorization/batch/planning.py: where each output goes, what is settled before any model loads (outputs that
exist, collisions, inputs reached through links, folders that overlap), hints sidecars, and killed runs' temporaries."""

import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from colorization import Colorizer, read_image
from colorization.atomic import PARTIAL_MARKER
from colorization.batch.planning import output_path, plan_batch
from colorization.batch.settings import BatchSettings
from colorization.errors import UsageError
from colorization.outputs import EXISTS_NOTE
from colorization.status import Status
from tests.support.batch_folders import files_under, put_picture, run_batch, run_in_process, snapshot, two_tone
from tests.support.tiny_model import model_arguments


def test_each_output_mirrors_its_input_with_the_suffix_and_a_writable_type(tmp_path):
    settings = BatchSettings(tmp_path / "in", tmp_path / "out", suffix="_colour")
    assert (
        output_path(settings, PurePosixPath("1950s/beach/photo.JPEG"))
        == tmp_path / "out" / "1950s" / "beach" / "photo_colour.JPEG"
    )
    assert output_path(settings, PurePosixPath("scan.gif")) == tmp_path / "out" / "scan_colour.png", (
        "GIF cannot be written"
    )
    settings.output_extension = ".tif"
    assert output_path(settings, PurePosixPath("a/photo.jpg")) == tmp_path / "out" / "a" / "photo_colour.tif"


def test_the_plan_keeps_outputs_that_exist_and_settles_what_needs_no_work(tree, tmp_path):
    output = tmp_path / "colour"
    kept = put_picture(output / "1950s" / "photo.jpg")
    plan = plan_batch(BatchSettings(tree, output))
    assert sorted(job.source.relative_to(tree).as_posix() for job in plan.jobs) == [
        "1950s/beach/photo.jpg",
        "1960s/photo.png",
        "1960s/portrait.JPEG",
        "photo.jpg",
    ]
    settled = {record.source.relative_to(tree).as_posix(): record for record in plan.settled}
    assert {name: record.status for name, record in settled.items()} == {
        "1950s/photo.jpg": Status.SKIPPED,
        ".thumbnails": Status.SKIPPED,
        ".DS_Store": Status.SKIPPED,
    }
    existing = settled["1950s/photo.jpg"]
    assert existing.reason == f"output {EXISTS_NOTE}", "one wording for outputs that exist, in every command"
    assert existing.destination == kept and existing.output_bytes == kept.stat().st_size
    overwrite = plan_batch(BatchSettings(tree, output, overwrite=True))
    assert len(overwrite.jobs) == 5 and all(record.status == Status.SKIPPED for record in overwrite.settled)


def test_a_suffix_that_leads_to_another_folder_is_refused_before_any_work(tree, tmp_path):
    with pytest.raises(UsageError, match="--suffix"):
        plan_batch(BatchSettings(tree, tmp_path / "out", suffix="/../x"))


def test_existing_outputs_are_skipped_and_overwrite_redoes_them(tree, tmp_path, dominant_model):
    output = tmp_path / "colour"
    assert run_in_process(tree, output, "-q", *model_arguments(dominant_model)) == 0
    first = snapshot(output)
    (output / "photo.jpg").unlink()
    result = run_batch(tree, output, *model_arguments(dominant_model))
    assert result.returncode == 0
    assert "1 done, 6 skipped (4 already done, 2 hidden)" in result.stderr
    second = snapshot(output)
    assert {name: second[name] for name in first if name != "photo.jpg"} == {
        name: first[name] for name in first if name != "photo.jpg"
    }
    assert run_in_process(tree, output, "-q", "--overwrite", *model_arguments(dominant_model)) == 0
    third = snapshot(output)
    assert all(third[name][1] != second[name][1] for name in second), "every output was written again"


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


def test_overwrite_never_writes_over_an_input_reached_through_a_link(tmp_path, dominant_model):
    root, output = tmp_path / "scans", tmp_path / "colour"
    original = put_picture(root / "a.jpg").read_bytes()
    output.mkdir()
    (output / "a.jpg").symlink_to(root / "a.jpg")
    assert (
        run_in_process(
            root, output, "-q", "--overwrite", "--report", tmp_path / "report.json", *model_arguments(dominant_model)
        )
        == 1
    )
    assert (root / "a.jpg").read_bytes() == original
    (row,) = json.loads((tmp_path / "report.json").read_text())["files"]
    assert row["status"] == "failed" and "is an input" in row["reason"]


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


def test_a_sidecar_gives_its_photo_hints_and_is_never_an_input(tmp_path, dominant_model):
    """PHOTO.hints.json beside PHOTO.png colours that photo (as Colorizer.colorize does with the same hints), is
    not listed as an input; one whose picture is missing is reported, not read."""
    from colorization.hints import read_hints

    root = tmp_path / "scans"
    hinted, plain = two_tone(root / "1950s" / "wedding.png"), two_tone(root / "beach.png")
    (root / "1950s" / "wedding.hints.json").write_text(
        '[{"x": 10, "y": 30, "colour": "#2e8b57"}, {"x": 0.9, "y": 0.5, "colour": "navy"}]'
    )
    (root / "lost.hints.json").write_text("[]")
    output = tmp_path / "colour"
    assert (
        run_in_process(root, output, "-q", "--report", tmp_path / "report.json", *model_arguments(dominant_model)) == 0
    )
    assert files_under(output) == ["1950s/wedding.png", "beach.png"]
    rows = {
        Path(row["input"]).relative_to(root).as_posix(): row
        for row in json.loads((tmp_path / "report.json").read_text())["files"]
    }
    assert set(rows) == {"1950s/wedding.png", "beach.png", "lost.hints.json"}
    assert (
        rows["lost.hints.json"]["status"] == "skipped"
        and "for a picture that is not here" in rows["lost.hints.json"]["reason"]
    )
    colorizer = Colorizer.load(**dominant_model, conversion="fast")
    hints = read_hints(root / "1950s" / "wedding.hints.json")
    np.testing.assert_array_equal(
        read_image(output / "1950s" / "wedding.png"), colorizer.colorize(read_image(hinted), hints)
    )
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
    assert (
        errors[0]
        == f"error: {root / 'a.png'}: hint 80,30,#ff0000 is outside the picture, which is 80x60 pixels (x 0 to 79, y 0 to 59); or give fractions such as 0.5,0.25"
    )
    assert errors[1].startswith(f"error: {root / 'b.hints.json'}: hint 1: '#12345' is not a colour") and errors[
        1
    ].endswith("(and 1 more hints files above)")
    assert len(errors) == 2 and not (tmp_path / "colour").exists()
