"""Before any model loads: where each picture's output goes, what is already settled (skipped, impossible), each
picture's colour hints, and the temporaries of killed runs cleaned up."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..atomic import remove_abandoned_temporaries
from ..errors import UsageError
from ..hints import SIDECAR_SUFFIX, Hint, HintError, check_fits, read_hints
from ..image_io import writable_extension
from ..outputs import OUTPUT_EXISTS, check_suffix
from ..paths import display_path, is_inside
from ..status import Status
from .listing import in_shard, list_folder
from .report import BatchRecord
from .settings import BatchSettings

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One picture to colorize, where its output goes, and its colour hints (from PHOTO.hints.json)."""

    source: Path
    destination: Path
    hints: tuple[Hint, ...] = ()


@dataclass
class Plan:
    """This run's share of the folder: pictures to colorize, and lines already settled (skipped, failed)."""

    jobs: list[Job] = field(default_factory=list)
    settled: list[BatchRecord] = field(default_factory=list)
    filtered: int = 0


def check_folders(settings: BatchSettings) -> None:
    """Refuse folders that would mix outputs with inputs, before any work."""
    check_suffix(settings.suffix)
    source, target = settings.input_root, settings.output_root
    if not source.exists():
        raise UsageError(f"{display_path(source)}: no such folder")
    if not source.is_dir():
        raise UsageError(f"{display_path(source)} is a file, not a folder: use colorize.py -i for single pictures")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{display_path(target)} is a file: the output must be a folder")
    real_source, real_target = Path(os.path.realpath(source)), Path(os.path.realpath(target))
    if real_source == real_target:
        raise UsageError(
            f"the output folder {display_path(target)} is the input folder: choose another one, "
            "so outputs never overwrite or mix with the pictures they come from"
        )
    if settings.recursive and (real_source in real_target.parents or real_target in real_source.parents):
        inner, outer = (target, source) if real_source in real_target.parents else (source, target)
        raise UsageError(
            f"{display_path(inner)} is inside {display_path(outer)}: a recursive run would read outputs as inputs; "
            "choose an output folder outside the input folder (or pass --no-recursive)"
        )


def output_path(settings: BatchSettings, relative: PurePosixPath) -> Path:
    """The same place below the output folder; the input's extension unless one is forced or it cannot be written."""
    extension = writable_extension(settings.output_extension or relative.suffix)
    return settings.output_root.joinpath(*relative.parent.parts, f"{relative.stem}{settings.suffix}{extension}")


def plan_batch(settings: BatchSettings) -> Plan:
    """Pair each picture of this shard with its output; settle what needs no work; clean up after killed runs."""
    check_folders(settings)
    listing = list_folder(
        settings.input_root, settings.recursive, settings.extensions, settings.patterns, settings.output_root
    )
    plan = Plan(filtered=listing.filtered)
    for folder, reason in listing.unlisted:
        plan.settled.append(
            BatchRecord(folder, None, Status.FAILED, f"{display_path(folder)}: cannot list this folder ({reason})")
        )
    for relative, reason in listing.ignored:
        if in_shard(relative, settings.shard):
            plan.settled.append(BatchRecord(settings.input_root / relative, None, Status.SKIPPED, reason))
    claimed: dict[Path, Path] = {}
    real_inputs: set[str] = set()
    real_output = os.path.realpath(settings.output_root)
    for relative in listing.images:
        if not in_shard(relative, settings.shard):
            continue
        source, destination = settings.input_root / relative, output_path(settings, relative)
        exists = destination.exists()
        if exists and not real_inputs:  # only an existing file can be an input (through a link): look only then
            real_inputs = {os.path.realpath(settings.input_root / image) for image in listing.images}
        if destination in claimed:
            hint = (
                ": rename one, or keep each input's type with --output-ext auto"
                if settings.output_extension
                else ": rename one"
            )
            plan.settled.append(
                BatchRecord(
                    source,
                    destination,
                    Status.FAILED,
                    (
                        f"{display_path(source)}: its output {display_path(destination)} is also {display_path(claimed[destination])}'s{hint}"
                    ),
                )
            )
        elif exists and os.path.realpath(destination) in real_inputs:
            plan.settled.append(
                BatchRecord(
                    source, destination, Status.FAILED, f"{display_path(destination)} is an input: not overwriting it"
                )
            )
        elif not is_inside(destination, real_output):
            plan.settled.append(
                BatchRecord(
                    source,
                    destination,
                    Status.FAILED,
                    (
                        f"{display_path(source)}: its output {display_path(destination)} leads out of {display_path(settings.output_root)} "
                        "through a link: outputs are only written inside the output folder"
                    ),
                )
            )
        elif exists and not settings.overwrite:
            claimed[destination] = source
            plan.settled.append(
                BatchRecord(source, destination, Status.SKIPPED, OUTPUT_EXISTS, output_bytes=destination.stat().st_size)
            )
        else:
            claimed[destination] = source
            plan.jobs.append(Job(source, destination))
    for folder in {destination.parent for destination in claimed}:
        for temporary in remove_abandoned_temporaries(folder, claimed):
            log.info("removed %s, left by a run that was stopped mid-write", display_path(temporary))
    attach_hints(plan.jobs, listing.sidecars, settings.input_root)
    return plan


def attach_hints(jobs: list[Job], sidecars: set[PurePosixPath], root: Path) -> None:
    """Give each job its PHOTO.hints.json, read and checked against the picture's size before any model loads: a
    bad one is a usage error naming the file, as --hints is for colorize.py, since nothing has been done yet."""
    problems = []
    for job in jobs:
        relative = PurePosixPath(job.source.relative_to(root).as_posix())
        sidecar = relative.with_name(relative.stem + SIDECAR_SUFFIX)
        if sidecar in sidecars:
            try:
                job.hints = tuple(read_hints(root / sidecar))
                check_fits(job.hints, job.source)
                log.info("%s: %d colour hints from %s", display_path(job.source), len(job.hints), sidecar.name)
            except HintError as error:
                problems.append(str(error))
    for problem in problems[:-1]:
        log.error("error: %s", problem)
    if problems:
        more = f" (and {len(problems) - 1} more hints files above)" if len(problems) > 1 else ""
        raise HintError(problems[-1] + more)
