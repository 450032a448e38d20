"""What a folder's run tells: one record per file, the summary line, and the CSV or JSON report (--report)."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..atomic import write_bytes_atomically
from ..errors import ColorizationError, UsageError
from ..image_files import ImageResult
from ..outputs import OUTPUT_EXISTS
from ..paths import display_path, is_inside
from ..status import Status
from .listing import HIDDEN_FILE, HIDDEN_FOLDER, NOT_A_PICTURE, ORPHAN_HINTS, OUTPUT_FOLDER, SPECIAL_FILE
from .settings import BatchSettings

REPORT_FORMATS = (".csv", ".json")
REPORT_COLUMNS = ("input", "output", "status", "reason", "width", "height", "output_bytes", "seconds")
SKIP_LABELS = {
    OUTPUT_EXISTS: "already done",
    HIDDEN_FILE: "hidden",
    HIDDEN_FOLDER: "hidden",
    NOT_A_PICTURE: "not pictures",
    OUTPUT_FOLDER: "output folder",
    ORPHAN_HINTS: "not pictures",
    SPECIAL_FILE: "special files",
}
"""Why a file is skipped (the report's reason) and how the summary line counts it."""


@dataclass
class BatchRecord(ImageResult):
    """One line of the report."""

    width: int | None = None
    height: int | None = None
    output_bytes: int | None = None

    def row(self) -> dict:
        return {
            "input": str(self.source),
            "output": "" if self.destination is None else str(self.destination),
            "status": self.status.value,
            "reason": self.reason,
            "width": self.width,
            "height": self.height,
            "output_bytes": self.output_bytes,
            "seconds": round(self.seconds, 3),
        }


def nothing_found(records: list[BatchRecord]) -> bool:
    """No picture matched: every line is a file or folder left out, none is work to do, done, kept or failed."""
    return not any(record.status != Status.SKIPPED or record.reason == OUTPUT_EXISTS for record in records)


@dataclass
class BatchSummary:
    records: list[BatchRecord]
    seconds: float
    backend: str
    shard: tuple[int, int]
    filtered: int = 0
    terminated: bool = False
    report_error: str = ""
    """Why the report could not be written (a full disk...): the summary line is still printed, with this after it."""

    @property
    def found_nothing(self) -> bool:
        return nothing_found(self.records)

    def count(self, status: Status, reason: str | None = None) -> int:
        return sum(r.status == status and (reason is None or r.reason == reason) for r in self.records)

    @property
    def images_per_second(self) -> float:
        return self.count(Status.DONE) / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        labels = [SKIP_LABELS[record.reason] for record in self.records if record.status == Status.SKIPPED]
        counts = [f"{labels.count(label)} {label}" for label in dict.fromkeys(SKIP_LABELS.values()) if label in labels]
        details = f" ({', '.join(counts)})" if counts else ""
        text = (
            f"{self.count(Status.DONE)} done, {self.count(Status.SKIPPED)} skipped{details}, "
            f"{self.count(Status.FAILED)} failed "
            f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s, backend: {self.backend})"
        )
        if self.count(Status.INTERRUPTED):
            text += (
                f", {self.count(Status.INTERRUPTED)} not reached (interrupted: run the same command again to finish)"
            )
        if self.shard != (1, 1):
            text += f"; shard {self.shard[0]}/{self.shard[1]}"
        return text

    def as_json(self, settings: BatchSettings) -> dict:
        return {
            "input": str(settings.input_root),
            "output": str(settings.output_root),
            "shard": f"{self.shard[0]}/{self.shard[1]}",
            "backend": self.backend,
            "seconds": round(self.seconds, 3),
            "images_per_second": round(self.images_per_second, 3),
            "counts": {status.value: self.count(status) for status in Status},
            "not_matching_filters": self.filtered,
            "files": [record.row() for record in self.records],
        }


def check_report_path(report: Path | None, input_root: Path) -> None:
    """Before any work: a report that cannot be written should not be discovered after hours of colorizing, and a
    report never lands among the inputs (which are never written)."""
    if report is None:
        return
    if report.suffix.lower() not in REPORT_FORMATS:
        raise UsageError(f"--report {display_path(report)}: name a .csv or .json file")
    if os.path.realpath(report) == os.path.realpath(input_root) or is_inside(report, os.path.realpath(input_root)):
        raise UsageError(
            f"--report {display_path(report)} is inside the input folder, which is never written: put it elsewhere"
        )
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"--report {display_path(report)}: cannot create its folder ({error.strerror or error})"
        ) from None


def write_report(path: Path, summary: BatchSummary, settings: BatchSettings) -> None:
    """The summary as JSON (counts and every file) or as CSV (one row per file), by the file's extension."""
    if path.suffix.lower() == ".json":
        data = json.dumps(summary.as_json(settings), indent=2, ensure_ascii=False).encode("utf-8")
    else:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(record.row() for record in summary.records)
        data = text.getvalue().encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(path, data)
    except OSError as error:
        raise ColorizationError(f"--report {display_path(path)}: cannot write ({error.strerror or error})") from None
