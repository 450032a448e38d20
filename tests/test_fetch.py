"""Fetching release files into a folder: the user's own files recognised by hash, mirrors from the environment, the
public sources only when allowed, one fetch per folder at a time, and what to do when every source fails."""

import fcntl
import os
import threading
import time

import pytest

from colorization import fetch, fetch_report
from colorization.errors import UsageError
from colorization.fetch import fetch_release_files
from colorization.model_files import POINTS, PROTOTXT
from tests.support.fetching import (
    DEFINITION,
    FAST,
    LFS_POINTER,
    WEIGHTS,
    assert_nothing_left,
    fixture_server,
    models_folder,
    only,
    pinned,
)

server = pytest.fixture(fixture_server, name="server")
dest = pytest.fixture(models_folder, name="dest")


def test_imports_are_recognised_by_hash_whatever_their_name(tmp_path, dest):
    mine = tmp_path / "downloaded (1).bin"
    mine.write_bytes(WEIGHTS)
    stranger = tmp_path / "other.bin"
    stranger.write_bytes(b"x" * 300_000)
    pointer = tmp_path / "pointer.bin"
    pointer.write_bytes(LFS_POINTER)
    report = fetch_release_files(
        [pinned("weights.bin", WEIGHTS), pinned("definition.txt", DEFINITION)],
        dest,
        imports=[mine, stranger, pointer, tmp_path / "nope"],
        mirrors_only=True,
    )
    weights, definition = report.results
    assert (
        weights.outcome == "fetched" and weights.source == str(mine) and (dest / "weights.bin").read_bytes() == WEIGHTS
    )
    assert definition.outcome == "failed"
    assert report.rejected_imports == [
        (stranger, "has the size of weights.bin but not its SHA-256 (damaged or a different file)"),
        (pointer, "is a Git LFS pointer, not the model"),
        (tmp_path / "nope", "does not exist"),
    ]
    assert mine.read_bytes() == WEIGHTS, "the user's file is copied, never moved"
    assert "--from other.bin: not imported" in "\n".join(fetch_report.failure_lines(report)).replace(
        str(tmp_path) + os.sep, ""
    )


def test_every_source_failing_explains_what_to_do(server, dest):
    release = pinned("weights.bin", WEIGHTS, [server.base + "/a/weights.bin", server.base + "/b/weights.bin"])
    report = fetch_release_files([release], dest, settings=FAST)
    assert not report.ok
    assert_nothing_left(dest, "weights.bin")
    failures = fetch_report.failure_lines(report)
    assert failures[0] == "weights.bin: FAILED, no source served the release file:"
    assert failures[1:] == [
        f"    {server.base}/a/weights.bin: HTTP 404 (not found)",
        f"    {server.base}/b/weights.bin: HTTP 404 (not found)",
    ]
    advice = "\n".join(fetch.advice_lines(report))
    assert "1 of 1 files could not be fetched" in advice
    assert (
        "python fetch_models.py --from PATH/TO/FILE" in advice
        and "python fetch_models.py --mirror URL_OR_FOLDER" in advice
    )


def test_mirrors_only_never_tries_the_public_sources(server, dest):
    public = server.serve("public/weights.bin", WEIGHTS)
    report = fetch_release_files([pinned("weights.bin", WEIGHTS, [public])], dest, mirrors_only=True, settings=FAST)
    assert not report.ok and server.log == []


def test_environment_mirrors(tmp_path, monkeypatch):
    monkeypatch.setenv(fetch.MIRRORS_ENV, f"https://lab.example/models/ ; {tmp_path}")
    assert fetch.environment_mirrors() == ["https://lab.example/models/", str(tmp_path)]
    assert (
        fetch.mirror_location("https://lab.example/models/", PROTOTXT)
        == "https://lab.example/models/colorization_deploy_v2.prototxt"
    )
    monkeypatch.setenv(fetch.MIRRORS_ENV, str(tmp_path / "absent"))
    with pytest.raises(UsageError, match="neither an http"):
        fetch.environment_mirrors()


def test_authentic_release_files_pass_the_real_pinned_hashes(dest, reference_files):
    reference = reference_files["prototxt"].parent
    report = fetch_release_files([PROTOTXT, POINTS], dest, mirrors=[str(reference)], mirrors_only=True)
    assert report.ok
    assert [(result.release.name, result.outcome, result.source) for result in report.results] == [
        (PROTOTXT.name, "fetched", str(reference / PROTOTXT.name)),
        (POINTS.name, "fetched", str(reference / POINTS.name)),
    ]
    assert fetch.check_release_files([PROTOTXT, POINTS], dest) == [
        (PROTOTXT, dest / PROTOTXT.name, None),
        (POINTS, dest / POINTS.name, None),
    ]


def test_a_second_fetch_into_the_same_folder_waits_then_finds_the_files(server, dest):
    url = server.serve("weights.bin", WEIGHTS)
    release = pinned("weights.bin", WEIGHTS, [url])
    dest.mkdir()
    other_process = os.open(dest, os.O_RDONLY)
    fcntl.flock(other_process, fcntl.LOCK_EX)
    reports = []
    waiting = threading.Thread(target=lambda: reports.append(fetch_release_files([release], dest, settings=FAST)))
    waiting.start()
    time.sleep(0.2)
    assert not reports and server.log == [], "the second fetch waits while the folder is locked"
    (dest / "weights.bin").write_bytes(WEIGHTS)  # what the first process fetched meanwhile
    os.close(other_process)
    waiting.join(5)
    assert only(reports[0]).outcome == "present" and server.log == []
