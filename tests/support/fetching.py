"""What the fetcher's tests share: release files pinned to test bodies, and a record of the progress bars opened."""

import hashlib

import numpy as np

from colorization import fetch_transfer
from colorization.fetch_transfer import FetchSettings
from colorization.model_files import ReleaseFile
from tests.support.fixture_server import FixtureServer

FAST = FetchSettings(timeout=0.25, retries=2, backoff=0.01, chunk_size=16384)

WEIGHTS = np.random.default_rng(3).integers(0, 256, 300_000, dtype=np.uint8).tobytes()

DEFINITION = b'name: "fixture"\n' + b"layer { }\n" * 100

LFS_POINTER = b"version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 300000\n"


def pinned(name: str, body: bytes, sources=()) -> ReleaseFile:
    return ReleaseFile(name, len(body), hashlib.sha256(body).hexdigest(), tuple(sources))


def record_progress(monkeypatch) -> list:
    """Every progress bar the fetcher opens from now on: total, initial position and the bytes it was told about."""
    bars = []

    class Recorder:
        def __init__(self, total, unit, description, quiet, **options):
            self.total, self.initial, self.updated = total, options.get("initial", 0), 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, count):
            self.updated += count

    monkeypatch.setattr(fetch_transfer, "progress_bar", Recorder)
    return bars


def only(report):
    assert len(report.results) == 1
    return report.results[0]


def assert_nothing_left(dest, name):
    assert not (dest / name).exists(), "no file may appear under the final name after a failed fetch"
    assert not (dest / f"{name}.part").exists()


def fixture_server():
    """A real local HTTP server, closed after the test: a test module's `server` fixture."""
    running = FixtureServer()
    yield running
    running.close()


def models_folder(tmp_path):
    """Where a test fetches into: a test module's `dest` fixture (not made yet: the fetcher makes it)."""
    return tmp_path / "models"
