"""A folder's run from start to end: the plan, the network loaded only if there is work, the middle (this
machine's threads or a Ray cluster), and the summary and report, the same whatever ran the middle."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from ..errors import ColorizationError, Terminated, UsageError
from ..paths import display_path
from ..pipeline import Colorizer
from ..progress import progress_bar
from ..status import Status
from .listing import SPECIAL_FILE
from .planning import Job, Plan, plan_batch
from .report import BatchRecord, BatchSummary, check_report_path, nothing_found, write_report
from .settings import BatchSettings
from .stages import Recorder, colorize_jobs

log = logging.getLogger(__name__)


class FolderRun(Protocol):
    """The middle of a folder's run, between the plan and the summary: this machine's threads, or a Ray cluster."""

    @property
    def backend(self) -> str:
        """Where the network runs, for the summary line and the report."""

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None: ...


@dataclass
class ThreadedRun:
    """One network in this process, with threads reading and writing beside it."""

    colorizer: Colorizer
    settings: BatchSettings

    @property
    def backend(self) -> str:
        return self.colorizer.device

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None:
        settings = self.settings
        colorize_jobs(self.colorizer, jobs, recorder, settings.workers, settings.batch_size, settings.max_pixels)


def colorize_folder(
    settings: BatchSettings, load_colorizer: Callable[[], Colorizer], quiet: bool = False
) -> BatchSummary:
    """Plan, load the network only if there is work, colorize in threads beside it, and write the report."""
    return run_folder(settings, lambda: ThreadedRun(load_colorizer(), settings), quiet)


def run_folder(settings: BatchSettings, start: Callable[[], FolderRun], quiet: bool = False) -> BatchSummary:
    """Plan, `start` the run only if there is work, colorize, and write the report; Ctrl-C ends the run early
    with the files not reached marked `interrupted`. The plan, the summary and the report are the same whatever
    runs the middle."""
    check_report_path(settings.report, settings.input_root)
    plan = plan_batch(settings)
    try:
        settings.output_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"{display_path(settings.output_root)}: cannot create the output folder ({error.strerror or error})"
        ) from None
    report_settled(plan, settings)
    run = start() if plan.jobs else None
    started = time.perf_counter()
    terminated = False
    with progress_bar(len(plan.jobs), "image", "colorizing", quiet) as bar:
        recorder = Recorder(bar)
        try:
            if run is not None:
                run.colorize(plan.jobs, recorder)
        except KeyboardInterrupt as interruption:
            terminated = isinstance(interruption, Terminated)
            log.warning(
                "%s: writing what was done; run the same command again to finish",
                "terminated" if terminated else "interrupted",
            )
    finished = {record.source for record in recorder.records}
    not_reached = [
        BatchRecord(job.source, job.destination, Status.INTERRUPTED, "the run was stopped first")
        for job in plan.jobs
        if job.source not in finished
    ]
    summary = BatchSummary(
        sorted(plan.settled + recorder.records + not_reached, key=lambda record: str(record.source)),
        time.perf_counter() - started,
        run.backend if run is not None else "not loaded, nothing to colorize",
        settings.shard,
        plan.filtered,
        terminated,
    )
    if settings.report is not None:
        try:
            write_report(settings.report, summary, settings)
        except ColorizationError as error:
            summary.report_error = str(error)
    return summary


def report_settled(plan: Plan, settings: BatchSettings) -> None:
    """Before any work, one line for each file that failed in planning or cannot be read safely, and one when
    nothing at all matched."""
    for record in plan.settled:
        if record.status == Status.FAILED:
            log.error("error: %s", record.reason)
        elif record.reason == SPECIAL_FILE:
            log.warning("skipped %s: %s", display_path(record.source), record.reason)
    if not plan.jobs and nothing_found(plan.settled):
        log.error(
            "error: no pictures in %s%s",
            display_path(settings.input_root),
            " matching the filters" if plan.filtered else "",
        )
