"""Moving one release file's bytes, against a real local HTTP server and real folders, with a test manifest of pinned
hashes: retries, resumes, refusals by size, hash and first bytes, and nothing left under the final name on failure."""

import collections
import os
import time

import pytest

from colorization import fetch, fetch_report, fetch_transfer
from colorization.fetch import fetch_release_files
from colorization.fetch_transfer import FetchSettings
from tests.support.fetching import (
    FAST,
    LFS_POINTER,
    WEIGHTS,
    assert_nothing_left,
    fixture_server,
    models_folder,
    only,
    pinned,
    record_progress,
)
from tests.support.fixture_server import FixtureServer

server = pytest.fixture(fixture_server, name="server")
dest = pytest.fixture(models_folder, name="dest")


@pytest.fixture
def progress_record(monkeypatch):
    return record_progress(monkeypatch)


def test_downloads_from_a_mirror_verifies_and_renames(server, dest, progress_record):
    server.serve("mirror/weights.bin", WEIGHTS)
    release = pinned("weights.bin", WEIGHTS)
    report = fetch_release_files([release], dest, mirrors=[server.base + "/mirror/"], settings=FAST)
    result = only(report)
    assert report.ok and result.outcome == "fetched" and result.source == server.base + "/mirror/weights.bin"
    assert (dest / "weights.bin").read_bytes() == WEIGHTS
    assert sorted(os.listdir(dest)) == ["weights.bin"]
    assert [(bar.total, bar.initial, bar.updated) for bar in progress_record] == [(len(WEIGHTS), 0, len(WEIGHTS))]


def test_first_source_404_then_second(server, dest):
    live = server.serve("live/weights.bin", WEIGHTS)
    release = pinned("weights.bin", WEIGHTS, [server.base + "/dead/weights.bin", live])
    result = only(fetch_release_files([release], dest, settings=FAST))
    assert result.outcome == "fetched" and result.source == live
    assert result.failures == [(server.base + "/dead/weights.bin", "HTTP 404 (not found)")]
    assert len(server.requests_for("dead/weights.bin")) == 1, "a 404 is not retried"
    assert any(
        "skipped " + server.base + "/dead/weights.bin: HTTP 404" in line
        for line in fetch_report.done_lines(fetch_report.FetchReport(dest, [result]))
    )


def test_server_error_is_retried_with_backoff(server, dest):
    url = server.serve("flaky/weights.bin", WEIGHTS, failures=2)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "fetched" and result.failures == []
    assert [served.status for served in server.requests_for("flaky/weights.bin")] == [500, 500, 200]


def test_persistent_server_error_moves_to_the_next_source(server, dest):
    broken = server.serve("broken/weights.bin", WEIGHTS, failures=100)
    live = server.serve("live/weights.bin", WEIGHTS)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [broken, live])], dest, settings=FAST))
    assert result.source == live
    assert result.failures == [(broken, "HTTP 500 (Internal Server Error); gave up after 3 attempts")]
    assert len(server.requests_for("broken/weights.bin")) == FAST.retries + 1


def test_dropped_connection_resumes_with_range_without_fetching_bytes_again(server, dest, progress_record):
    url = server.serve("drop/weights.bin", WEIGHTS, drops=1, drop_after=100_000)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "fetched" and (dest / "weights.bin").read_bytes() == WEIGHTS
    first, second = server.requests_for("drop/weights.bin")
    assert first.range is None and first.sent == 100_000
    assert second.status == 206 and second.range == f"bytes={second.start}-"
    # The resume starts where the saved bytes end (at most one unsaved chunk before the drop) and sends only the rest.
    assert 100_000 - FAST.chunk_size <= second.start <= 100_000
    assert second.sent == len(WEIGHTS) - second.start
    assert [(bar.initial, bar.updated) for bar in progress_record] == [(0, second.start), (second.start, second.sent)]


def test_server_ignoring_range_starts_again_from_zero(server, dest):
    url = server.serve("norange/weights.bin", WEIGHTS, drops=1, drop_after=100_000, ignore_range=True)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "fetched" and (dest / "weights.bin").read_bytes() == WEIGHTS
    first, second = server.requests_for("norange/weights.bin")
    assert second.range is not None and second.status == 200 and second.sent == len(WEIGHTS)


def test_interrupted_fetch_keeps_the_part_and_the_next_run_resumes(server, dest):
    url = server.serve("drop/weights.bin", WEIGHTS, drops=1, drop_after=100_000)
    release = pinned("weights.bin", WEIGHTS, [url])
    report = fetch_release_files([release], dest, settings=FetchSettings(timeout=0.25, retries=0, chunk_size=16384))
    assert not report.ok and not (dest / "weights.bin").exists()
    assert only(report).failures == [(url, "the connection dropped in the middle of the file; gave up after 1 attempt")]
    kept = (dest / "weights.bin.part").stat().st_size
    assert 0 < kept <= 100_000
    assert any(
        "weights.bin.part is kept: running the command again resumes it" in line for line in fetch.advice_lines(report)
    )
    again = only(fetch_release_files([release], dest, settings=FAST))
    assert again.outcome == "fetched" and (dest / "weights.bin").read_bytes() == WEIGHTS
    assert server.requests_for("drop/weights.bin")[-1].range == f"bytes={kept}-"


def test_wrong_hash_is_refused_and_nothing_is_left(server, dest):
    damaged = bytearray(WEIGHTS)
    damaged[123_456] ^= 1
    url = server.serve("damaged/weights.bin", bytes(damaged))
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "failed"
    assert result.failures == [
        (url, "the bytes served do not match the release file's SHA-256 (damaged or a different file)")
    ]
    assert_nothing_left(dest, "weights.bin")


def test_resumed_file_failing_its_hash_is_fetched_again_from_the_first_byte(server, dest):
    dest.mkdir()
    (dest / "weights.bin.part").write_bytes(b"\0" * 50_000)  # left by an earlier run from a source that served junk
    url = server.serve("good/weights.bin", WEIGHTS)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "fetched" and (dest / "weights.bin").read_bytes() == WEIGHTS
    assert [(served.range, served.sent) for served in server.requests_for("good/weights.bin")] == [
        ("bytes=50000-", len(WEIGHTS) - 50_000),
        (None, len(WEIGHTS)),
    ]


@pytest.mark.parametrize(
    "body, reason",
    [
        (LFS_POINTER, "served a Git LFS pointer, not the model"),
        (
            b"\n  <!DOCTYPE html><html><body>Sign in to download</body></html>",
            "served a web page (HTML), not the model",
        ),
        (WEIGHTS + WEIGHTS, "serves 600000 bytes, not the 300000 of the release file"),
    ],
    ids=["lfs-pointer", "html", "wrong-length"],
)
def test_impostor_bodies_are_named_and_the_next_source_is_tried(server, dest, body, reason):
    impostor = server.serve("impostor/weights.bin", body)
    live = server.serve("live/weights.bin", WEIGHTS)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [impostor, live])], dest, settings=FAST))
    assert result.source == live
    assert result.failures[0][0] == impostor and result.failures[0][1].startswith(reason)
    assert len(server.requests_for("impostor/weights.bin")) == 1


def test_impostor_from_the_only_source_leaves_nothing(server, dest):
    url = server.serve("impostor/weights.bin", LFS_POINTER)
    report = fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST)
    assert not report.ok
    assert_nothing_left(dest, "weights.bin")


def test_slow_server_hits_the_timeout_then_the_next_source_serves(server, dest):
    slow = server.serve("slow/weights.bin", WEIGHTS, delay=2.0)
    live = server.serve("live/weights.bin", WEIGHTS)
    settings = FetchSettings(timeout=0.15, retries=1, backoff=0.01, chunk_size=16384)
    started = time.perf_counter()
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [slow, live])], dest, settings=settings))
    assert time.perf_counter() - started < 1.5, "the timeout, not the server, decides how long we wait"
    assert result.source == live
    assert result.failures == [(slow, "timed out (no data for 0.15 s); gave up after 2 attempts")]


def test_unreachable_host_is_not_retried(dest):
    closed_port = FixtureServer()
    url = closed_port.base + "/weights.bin"
    closed_port.close()
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "failed"
    ((source, reason),) = result.failures
    assert source == url and reason.startswith("could not connect (") and "gave up" not in reason


def test_directory_mirror(tmp_path, dest):
    empty, truncated, full = (tmp_path / name for name in ("empty", "truncated", "full"))
    for folder in (empty, truncated, full):
        folder.mkdir()
    (truncated / "weights.bin").write_bytes(WEIGHTS[:1000])
    (full / "weights.bin").write_bytes(WEIGHTS)
    result = only(
        fetch_release_files([pinned("weights.bin", WEIGHTS)], dest, mirrors=[str(empty), str(truncated), str(full)])
    )
    assert result.outcome == "fetched" and result.source == str(full / "weights.bin")
    assert result.failures == [
        (str(empty / "weights.bin"), "no such file"),
        (str(truncated / "weights.bin"), "is 1000 bytes, not the 300000 of the release file"),
    ]
    assert (dest / "weights.bin").read_bytes() == WEIGHTS and not (dest / "weights.bin.part").exists()


def test_directory_mirror_with_damaged_copy(tmp_path, dest):
    mirror = tmp_path / "share"
    mirror.mkdir()
    (mirror / "weights.bin").write_bytes(WEIGHTS[::-1])
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS)], dest, mirrors=[str(mirror)]))
    assert result.failures == [
        (str(mirror / "weights.bin"), "has the release file's size but not its SHA-256 (damaged or a different file)")
    ]
    assert_nothing_left(dest, "weights.bin")


def test_present_files_are_verified_and_not_downloaded_again(server, dest):
    url = server.serve("weights.bin", WEIGHTS)
    release = pinned("weights.bin", WEIGHTS, [url])
    assert only(fetch_release_files([release], dest, settings=FAST)).outcome == "fetched"
    before = os.stat(dest / "weights.bin").st_mtime_ns
    again = fetch_release_files([release], dest, settings=FAST)
    assert only(again).outcome == "present" and again.ok
    assert len(server.log) == 1, "nothing is downloaded when everything is present"
    assert os.stat(dest / "weights.bin").st_mtime_ns == before


def test_bad_file_under_the_final_name_is_replaced(server, dest):
    dest.mkdir()
    (dest / "weights.bin").write_bytes(LFS_POINTER)
    url = server.serve("weights.bin", WEIGHTS)
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "fetched" and result.replaced == "is a Git LFS pointer, not the model"
    assert (dest / "weights.bin").read_bytes() == WEIGHTS


def test_not_enough_disk_space_is_said_before_downloading(server, dest, monkeypatch):
    url = server.serve("weights.bin", WEIGHTS)
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(fetch_transfer.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    result = only(fetch_release_files([pinned("weights.bin", WEIGHTS, [url])], dest, settings=FAST))
    assert result.outcome == "failed" and "not enough disk space" in result.failures[0][1]
    assert server.log == []
