"""A folder on a Ray cluster (`batch_colorize.py --ray`): the same plan, files, report and summary as
colorization.batch.run, with only the middle spread out.

Reading and preparing, and composing and writing, are CPU tasks; the network runs in the run's pool of model
workers (cluster/pool.py), each loading it once. The driver keeps a bounded window of pictures in flight, hands each
batch to whichever worker is free (so faster machines do more), and moves one progress bar. A lost worker's batch
goes to the next free one while the pool replaces the lost one; tasks lost with a worker process or a node are rerun
by Ray, or read again by the driver once Ray gives up; a picture is done only when its writing task says so.
Outputs are written atomically, so a write repeated after a loss is harmless; the temporary a writing task lost
mid-write leaves behind is removed once the run's writing has settled. A killed driver's run is finished by running
the same command again (the plan skips what exists and removes the temporaries of killed runs).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, replace

from ..atomic import remove_abandoned_temporaries
from ..batch.planning import Job
from ..batch.report import BatchRecord, BatchSummary
from ..batch.run import run_folder
from ..batch.settings import BatchSettings
from ..batch.stages import PictureWork, Recorder, compose_and_write, failed_record, failure_reason, read_and_prepare
from ..errors import UsageError
from ..paths import display_path
from ..pipeline import ColourSettings
from ..settings import ColorizerSettings
from ..status import Status
from .pool import ACTOR_CPUS, WorkerLost, WorkerPool, first_line
from .runtime import connected, plan_workers, ship_model

log = logging.getLogger(__name__)

TASK_CPUS = 0.5
"""What each reading or writing task reserves: a fraction, so that they run beside the model actors on every node."""
TASK_RETRIES = 3
"""Ray reruns a reading or writing task whose worker process or node was lost, up to this many times."""
PICTURE_ATTEMPTS = 3
"""A picture whose worker or tasks were lost is tried this many times in all: one that brings down every worker it
meets then fails on its own, and the run goes on."""
POLL_SECONDS = 0.5
DRAIN_SECONDS = 30
"""On Ctrl-C, how long the driver waits for the pictures already being written before leaving the rest."""


def read_task(job: Job, work: PictureWork):
    """(None, the network input, the picture) or (why it failed, None, None): a bad file is a report line, not a
    task error."""
    started = time.perf_counter()
    try:
        item = read_and_prepare(job, work, started)
    except Exception as error:  # one bad file must not stop the archive
        return failure_reason(job.source, error), None, None
    return None, item.prepared.network_input, item


def write_task(item, batch_ab: list, index: int, work: PictureWork) -> BatchRecord:
    try:
        return compose_and_write(item, batch_ab[index], work)
    except Exception as error:  # one bad file must not stop the archive
        return failed_record(item.job, item.started, error)


def predict_batch(colorizer, *network_inputs) -> list:
    """A model worker's share of a batch: the network's ab for each picture's network input."""
    return colorizer.predict_ab_of(list(network_inputs))


@dataclass
class Picture:
    """A job on its way through the cluster: its object references, and how often it was tried."""

    job: Job
    started: float
    network_input: object = None
    item: object = None
    attempts: int = 1


class RayRun:
    """The middle of a folder's run on a connected cluster: the model workers started and loaded, then `colorize`."""

    def __init__(
        self,
        ray,
        settings: ColorizerSettings,
        batch_size: int,
        max_pixels: int,
        tasks_per_worker: int | None,
        workers: int | None,
        gpus_per_worker: float | None,
    ):
        self.ray = ray
        self.work = PictureWork(settings.size, ColourSettings.from_settings(settings), max_pixels)
        plan = plan_workers(ray, workers, gpus_per_worker)
        cpus = float(ray.cluster_resources().get("CPU", 0))
        room = cpus - plan.workers * ACTOR_CPUS
        if room < TASK_CPUS:
            raise UsageError(
                f"{plan.describe()} need {plan.workers * ACTOR_CPUS:g} of the cluster's {cpus:g} CPUs and "
                "leave none for reading and writing: ask for fewer with --ray-workers"
            )
        self.batch_size = batch_size
        self.tasks_per_worker = tasks_per_worker or max(1, int(room / TASK_CPUS / plan.workers))
        self.pool = WorkerPool(ray, plan, ship_model(ray, settings))
        self.backend = f"Ray, {plan.describe()}: {', '.join(self.pool.devices)}"
        # Reading is spread over the nodes; writing goes where the picture already is (Ray's locality).
        self.read = ray.remote(read_task).options(
            num_cpus=TASK_CPUS, num_returns=3, max_retries=TASK_RETRIES, scheduling_strategy="SPREAD"
        )
        self.write = ray.remote(write_task).options(num_cpus=TASK_CPUS, max_retries=TASK_RETRIES)

    @property
    def in_flight_limit(self) -> int:
        """Pictures between being read and written, over the whole cluster: a batch in each worker's hands, the
        next one ready, and the reading and writing tasks beside them; never more, so memory on every node stays
        bounded whatever the archive's size."""
        return self.pool.plan.workers * (2 * self.batch_size + self.tasks_per_worker)

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None:
        flight = Flight(self, recorder, jobs)
        try:
            while flight.unfinished:
                flight.start_reading()
                flight.start_predicting()
                if not (flight.reading or flight.writing):
                    self.pool.check_alive()
                own = [*flight.reading, *flight.writing]
                done, _ = self.ray.wait([*own, *self.pool.waiting_on], num_returns=1, timeout=POLL_SECONDS)
                for reference in self.pool.settle(done):
                    flight.finished(reference)
        except KeyboardInterrupt:
            flight.stop()
            raise
        finally:
            if not flight.writing:
                remove_lost_writers_temporaries(jobs)


class Flight:
    """The pictures of a run on their way through the cluster, each in one stage, known by the reference of the Ray
    call working on it."""

    def __init__(self, run: RayRun, recorder: Recorder, jobs: list[Job]):
        self.run = run
        self.ray = run.ray
        self.recorder = recorder
        self.waiting = deque(Picture(job, 0.0) for job in jobs)
        self.reading: dict = {}
        self.ready: deque[Picture] = deque()
        self.predicting: dict = {}
        self.writing: dict = {}

    @property
    def unfinished(self) -> bool:
        return bool(self.waiting or self.reading or self.ready or self.predicting or self.writing)

    def start_reading(self) -> None:
        """Read the next pictures, up to the run's limit of pictures in flight."""
        in_flight = len(self.reading) + len(self.ready) + sum(map(len, self.predicting.values())) + len(self.writing)
        while self.waiting and in_flight < self.run.in_flight_limit:
            picture = self.waiting.popleft()
            picture.started = picture.started or time.perf_counter()
            status, picture.network_input, picture.item = self.run.read.remote(picture.job, self.run.work)
            self.reading[status] = picture
            in_flight += 1

    def start_predicting(self) -> None:
        """A batch of the pictures read to each idle model worker."""
        while self.run.pool.idle and self.ready:
            batch = [self.ready.popleft() for _ in range(min(self.run.batch_size, len(self.ready)))]
            self.predicting[self.run.pool.submit(predict_batch, *(picture.network_input for picture in batch))] = batch

    def finished(self, reference) -> None:
        if reference in self.reading:
            self.read(reference)
        elif reference in self.predicting:
            self.predicted(reference)
        else:
            self.written(reference)

    def read(self, reference) -> None:
        picture = self.reading.pop(reference)
        try:
            reason = self.ray.get(reference)
        except self.ray.exceptions.RayError as error:  # its worker or node lost more often than Ray retries
            self.retry(picture, first_line(error), self.waiting)
            return
        if reason is None:
            self.ready.append(picture)
        else:
            job = picture.job
            self.recorder.add(
                BatchRecord(job.source, job.destination, Status.FAILED, reason, time.perf_counter() - picture.started)
            )

    def predicted(self, reference) -> None:
        batch = self.predicting.pop(reference)
        try:
            self.run.pool.result(reference)
        except WorkerLost as error:
            for picture in reversed(batch):
                self.retry(picture, str(error), self.ready)
            return
        except self.ray.exceptions.RayTaskError as error:  # e.g. out of GPU memory: these fail, the rest go on
            for picture in batch:
                self.recorder.add(failed_record(picture.job, picture.started, error.cause or error))
            return
        except self.ray.exceptions.RayError as error:  # its inputs lost with their node: read them again
            for picture in reversed(batch):
                self.retry(picture, first_line(error), self.waiting)
            return
        for position, picture in enumerate(batch):
            self.writing[self.run.write.remote(picture.item, reference, position, self.run.work)] = picture

    def written(self, reference) -> None:
        picture = self.writing.pop(reference)
        try:
            record = self.ray.get(reference)
        except self.ray.exceptions.RayError as error:  # lost with what it needed: read it again
            self.retry(picture, first_line(error), self.waiting)
            return
        # Seconds from reading to written as the driver saw them: the nodes' clocks are not one clock.
        self.recorder.add(replace(record, seconds=time.perf_counter() - picture.started))

    def retry(self, picture: Picture, why: str, stage: deque) -> None:
        """Try a lost picture again (from `stage`), or fail it once it was lost too often."""
        if picture.attempts >= PICTURE_ATTEMPTS:
            self.recorder.add(
                BatchRecord(
                    picture.job.source,
                    picture.job.destination,
                    Status.FAILED,
                    f"{display_path(picture.job.source)}: lost {picture.attempts} times on the cluster ({why})",
                    time.perf_counter() - picture.started,
                )
            )
        else:
            picture.attempts += 1
            stage.appendleft(picture)

    def stop(self) -> None:
        """Ctrl-C: nothing new starts, and what is being written is waited for (a while) and kept."""
        for reference in [*self.reading, *self.predicting]:
            with contextlib.suppress(Exception):  # best effort: a task that just finished cannot be cancelled
                self.ray.cancel(reference)
        if not self.writing:
            return
        done, _ = self.ray.wait(list(self.writing), num_returns=len(self.writing), timeout=DRAIN_SECONDS)
        for reference in done:
            picture = self.writing.pop(reference)
            with contextlib.suppress(self.ray.exceptions.RayError):
                self.recorder.add(replace(self.ray.get(reference), seconds=time.perf_counter() - picture.started))


def remove_lost_writers_temporaries(jobs: list[Job]) -> None:
    """With no writing task of the run left in flight, a temporary beside one of its outputs was being written by
    a task lost with its process or node (its picture was written again, or failed): remove it now, not at the next
    run, whatever process id it names (another machine's)."""
    destinations = {job.destination for job in jobs}
    for folder in {destination.parent for destination in destinations}:
        for temporary in remove_abandoned_temporaries(folder, destinations, writers_ended=True):
            log.info("removed %s, left by a writing task lost mid-write", display_path(temporary))


def colorize_folder_on_ray(
    settings: BatchSettings,
    address: str,
    colorizer_settings: ColorizerSettings,
    *,
    tasks_per_worker: int | None = None,
    workers: int | None = None,
    gpus_per_worker: float | None = None,
    quiet: bool = False,
) -> BatchSummary:
    """colorize_folder with the middle on Ray: connected, model shipped and actors loaded only if there is work."""
    with ExitStack() as stack:

        def start() -> RayRun:
            ray = stack.enter_context(connected(address))
            return RayRun(
                ray,
                colorizer_settings,
                settings.batch_size,
                settings.max_pixels,
                tasks_per_worker,
                workers,
                gpus_per_worker,
            )

        return run_folder(settings, start, quiet)
