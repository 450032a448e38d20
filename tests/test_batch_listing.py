"""colorization/batch/listing.py: which files of a tree are inputs, which are left out and why (hidden, not pictures,
hints sidecars, special files, the output folder), the filters, and the shards."""

import json
import os
from pathlib import Path, PurePosixPath

import pytest

from colorization.batch.listing import (
    HIDDEN_FILE,
    HIDDEN_FOLDER,
    NOT_A_PICTURE,
    ORPHAN_HINTS,
    OUTPUT_FOLDER,
    SPECIAL_FILE,
    in_shard,
    list_folder,
    matches,
)
from colorization.batch.planning import plan_batch
from colorization.batch.settings import BatchSettings
from tests.support.batch_folders import files_under, put_picture, run_in_process
from tests.support.tiny_model import model_arguments


def test_every_file_is_an_input_a_sidecar_filtered_or_left_out_with_its_reason(tree, tmp_path):
    (tree / "1950s" / "photo.hints.json").write_text("[]")
    (tree / "lost.hints.json").write_text("[]")
    (tree / "notes.txt").write_text("box 3")
    os.mkfifo(tree / "pipe.png")
    output = tmp_path / "colour"
    output.mkdir()
    (tree / "outlink").symlink_to(output, target_is_directory=True)
    listing = list_folder(tree, extensions=(".jpg", ".jpeg", ".jpe"), output_root=output)
    assert listing.images == [
        PurePosixPath(name) for name in ("photo.jpg", "1950s/photo.jpg", "1950s/beach/photo.jpg", "1960s/portrait.JPEG")
    ]
    assert sorted(listing.ignored) == sorted(
        [
            (PurePosixPath(".thumbnails"), HIDDEN_FOLDER),
            (PurePosixPath(".DS_Store"), HIDDEN_FILE),
            (PurePosixPath("lost.hints.json"), ORPHAN_HINTS),
            (PurePosixPath("notes.txt"), NOT_A_PICTURE),
            (PurePosixPath("pipe.png"), SPECIAL_FILE),
            (PurePosixPath("outlink"), OUTPUT_FOLDER),
        ]
    )
    assert listing.sidecars == {PurePosixPath("1950s/photo.hints.json")}
    assert listing.filtered == 1, "1960s/photo.png: a picture, but not a type asked for"
    assert listing.unlisted == []


def test_without_recursion_only_the_top_folder_is_listed(tree):
    listing = list_folder(tree, recursive=False)
    assert listing.images == [PurePosixPath("photo.jpg")]
    assert listing.ignored == [(PurePosixPath(".DS_Store"), HIDDEN_FILE)], "sub-folders are not even looked at"


def test_a_pattern_matches_the_name_or_the_path_below_the_input_folder():
    picture = PurePosixPath("1950s/beach/photo.jpg")
    assert matches(picture, ())
    assert matches(picture, ("photo.*",)) and matches(picture, ("1950s/*",)) and matches(picture, ("*.png", "*beach*"))
    assert not matches(picture, ("beach",)) and not matches(picture, ("1960s/*",))


def test_filters_pattern_ext_and_no_recursive(tree, tmp_path, dominant_model):
    def colorized(*options) -> list[str]:
        output = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        assert run_in_process(tree, output, "-q", *options, *model_arguments(dominant_model)) == 0
        return files_under(output)

    assert colorized("--no-recursive") == ["photo.jpg"]
    assert colorized("--ext", "jpg") == ["1950s/beach/photo.jpg", "1950s/photo.jpg", "1960s/portrait.JPEG", "photo.jpg"]
    assert colorized("--ext", "png") == ["1960s/photo.png"]
    assert colorized("--pattern", "portrait*") == ["1960s/portrait.JPEG"]
    assert colorized("--pattern", "1950s/*", "--pattern", "*.png") == [
        "1950s/beach/photo.jpg",
        "1950s/photo.jpg",
        "1960s/photo.png",
    ]
    assert colorized("--output-ext", "png", "--suffix", "_colour", "--pattern", "1950s/*") == [
        "1950s/beach/photo_colour.png",
        "1950s/photo_colour.png",
    ]


def test_a_link_to_the_output_folder_is_never_read(tmp_path, dominant_model, capfd):
    root, out = tmp_path / "tree", tmp_path / "out"
    put_picture(root / "photo.jpg")
    (root / "outlink").symlink_to(out, target_is_directory=True)
    report = tmp_path / "report.json"
    for _ in range(3):
        assert run_in_process(root, out, "--report", report, *model_arguments(dominant_model)) == 0
    assert files_under(out) == ["photo.jpg"]
    skipped = {
        row["input"]: row["reason"] for row in json.loads(report.read_text())["files"] if row["status"] == "skipped"
    }
    assert skipped[str(root / "outlink")] == "a link to the output folder: outputs are never read as inputs"
    assert "1 output folder" in capfd.readouterr().err


def test_a_file_is_in_exactly_one_shard_and_always_the_same_one():
    for name in ("a.jpg", "box1/scan7.tif", "1950s/beach/photo.jpg", "é/ü.png"):
        relative = PurePosixPath(name)
        for count in (1, 2, 3, 8):
            shards = [index for index in range(1, count + 1) if in_shard(relative, (index, count))]
            assert len(shards) == 1, (name, count)
            assert in_shard(relative, (shards[0], count)), "the same answer every time"


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
