"""colorization/batch/settings.py: what a folder's run is asked to do, and its default threads."""

from pathlib import Path

from colorization.batch import settings as batch_settings
from colorization.batch.settings import BatchSettings, default_workers
from colorization.image_io import DEFAULT_MAX_PIXELS, READ_EXTENSIONS


def test_one_reading_and_one_writing_thread_two_from_four_cores(monkeypatch):
    for cores, workers in ((None, 1), (1, 1), (3, 1), (4, 2), (64, 2)):
        monkeypatch.setattr(batch_settings.os, "cpu_count", lambda cores=cores: cores)
        assert default_workers() == workers, cores


def test_the_defaults_take_every_picture_once_into_a_mirror(monkeypatch):
    monkeypatch.setattr(batch_settings.os, "cpu_count", lambda: 8)
    settings = BatchSettings(Path("in"), Path("out"))
    assert (settings.recursive, settings.patterns, settings.extensions, settings.output_extension, settings.suffix) == (
        True,
        (),
        READ_EXTENSIONS,
        None,
        "",
    )
    assert (
        settings.overwrite,
        settings.shard,
        settings.report,
        settings.workers,
        settings.batch_size,
        settings.max_pixels,
    ) == (False, (1, 1), None, 2, 1, DEFAULT_MAX_PIXELS)
