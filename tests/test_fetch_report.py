"""A fetch's outcome in words: what is in place and where it came from, every refused source and why, and the exact
command for what is missing (the folder and the variant included only where they differ from the defaults)."""

from pathlib import Path

from colorization.fetch_report import FetchReport, done_lines, failure_lines, fetch_command_for
from colorization.fetch_transfer import FetchedFile, human_size
from colorization.model_files import CAFFEMODELS, POINTS, PROTOTXT, fetch_command, resolve_model_dir
from colorization.paths import display_path


def test_done_lines_say_where_each_file_came_from_and_which_sources_were_skipped(tmp_path):
    present = FetchedFile(PROTOTXT, tmp_path / PROTOTXT.name, "present")
    fetched = FetchedFile(
        POINTS,
        tmp_path / POINTS.name,
        "fetched",
        "https://mirror.example/pts_in_hull.npy",
        replaced="is damaged",
        failures=[("https://dead.example/pts_in_hull.npy", "HTTP 404 (not found)")],
    )
    copied = FetchedFile(CAFFEMODELS["release"], tmp_path / "w.caffemodel", "fetched", "/media/usb/w.caffemodel")
    failed = FetchedFile(CAFFEMODELS["release"], tmp_path / "x.caffemodel", "failed")
    lines = done_lines(FetchReport(tmp_path, [present, fetched, copied, failed]))
    assert len(lines) == 4, "one line per file in place and one per skipped source; nothing for a failed file"
    assert lines[0].startswith(PROTOTXT.name) and lines[0].endswith("already present, size and SHA-256 verified")
    assert "downloaded from https://mirror.example/pts_in_hull.npy (" in lines[1]
    assert lines[1].endswith("SHA-256 verified, replacing a file that is damaged)")
    assert lines[2].strip() == "skipped https://dead.example/pts_in_hull.npy: HTTP 404 (not found)"
    assert (
        f"copied from /media/usb/w.caffemodel ({human_size(CAFFEMODELS['release'].size)}, SHA-256 verified)" in lines[3]
    )


def test_failure_lines_name_every_source_and_every_refused_import(tmp_path):
    failed = FetchedFile(
        POINTS,
        tmp_path / POINTS.name,
        "failed",
        replaced="is damaged",
        failures=[("https://a.example/p.npy", "timed out (no data for 30 s)"), ("/mnt/share/p.npy", "no such file")],
    )
    report = FetchReport(
        tmp_path,
        [failed],
        rejected_imports=[(tmp_path / "other.bin", "is 12 bytes, the size of none of the release files")],
    )
    assert not report.ok and report.failed == [failed]
    assert failure_lines(report) == [
        f"{POINTS.name}: FAILED, no source served the release file:",
        "    https://a.example/p.npy: timed out (no data for 30 s)",
        "    /mnt/share/p.npy: no such file",
        f"    (the {POINTS.name} already there is damaged; it was left as it was)",
        f"--from {display_path(tmp_path / 'other.bin')}: not imported: it is 12 bytes, the size of none of the release files",
    ]


def test_the_command_names_the_folder_and_variant_only_where_they_are_not_the_defaults(tmp_path):
    assert fetch_command_for(resolve_model_dir(), [PROTOTXT, CAFFEMODELS["release"]]) == fetch_command()
    other = fetch_command_for(tmp_path / "my models", [CAFFEMODELS["norebal"]])
    assert other.startswith(fetch_command() + " --dest '") and other.endswith("my models' --variant norebal")
    assert fetch_command_for(Path(resolve_model_dir()), [POINTS]) == fetch_command()
