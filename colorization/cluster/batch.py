"""A folder on a Ray cluster (`batch_colorize.py --ray`): the same plan, files, report and summary as
colorization.batch.run, with only the middle spread out.

Reading and preparing, and composing and writing, are CPU tasks; the network runs in a pool of model actors that
each load it once. The driver keeps a bounded window of pictures in flight, hands each batch to whichever actor is
free (so faster machines do more), and moves one progress bar. A lost actor's batch goes to the next free actor
while Ray restarts the lost one; tasks lost with a worker process or a node are rerun by Ray. Outputs are written
atomically, so a write repeated after a loss is harmless, and a killed driver's run is finished by running the same
command again (the plan skips what exists).
"""
from __future__ import annotations

import contextlib
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, replace

import cv2

from ..batch.planning import Job
from ..batch.report import BatchRecord, BatchSummary
from ..batch.run import run_folder
from ..batch.settings import BatchSettings
from ..batch.stages import PictureWork, Recorder, compose_and_write, failed_record, failure_reason, read_and_prepare
from ..errors import ColorizationError, UsageError
from ..paths import display_path
from ..pipeline import ColourSettings
from ..status import Status
from .runtime import connected, import_ray, load_shipped_colorizer, plan_workers, ship_model

ACTOR_CPUS = 1.0
"""What a model actor reserves of its node's CPUs (a CPU actor's network uses more: see WorkerPlan.threads)."""
TASK_CPUS = 0.5
"""What each reading or writing task reserves: a fraction, so that they run beside the model actors on every node."""
TASK_RETRIES = 3
"""Ray reruns a reading or writing task whose worker process or node was lost, up to this many times."""
ACTOR_RESTARTS = 4
"""Ray restarts a lost model actor (on another node when its own is gone) up to this many times."""
PICTURE_ATTEMPTS = 3
"""A picture whose actor or tasks were lost is tried this many times in all: one that brings down every worker it
meets then fails on its own, and the run goes on."""
POLL_SECONDS = 0.5
PROBE_SECONDS = 1.0
"""After losing a model actor, how long the driver waits before asking whether Ray has restarted it; until the
answer comes, the actor gets no batch (a batch sent to an actor still restarting would be lost again at once)."""
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


class ModelWorker:
    """One network, loaded once from the shipped model, predicting the batches the driver hands it.

    The shipment comes with each call rather than to the constructor: Ray restarts a lost actor by running its
    constructor again, and constructor arguments held in the object store could be gone by then."""

    def __init__(self, threads: int | None):
        if threads is not None:
            cv2.setNumThreads(threads)
        self.colorizer = None

    def loaded(self, shipment):
        if self.colorizer is None:
            self.colorizer = load_shipped_colorizer(import_ray(), shipment)
        return self.colorizer

    def device(self, shipment) -> str:
        return self.loaded(shipment).device

    def predict(self, shipment, *network_inputs) -> list:
        return self.loaded(shipment).predict_ab_of(list(network_inputs))


@dataclass
class Picture:
    """A job on its way through the cluster: its object references, and how often it was tried."""

    job: Job
    started: float
    network_input: object = None
    item: object = None
    attempts: int = 1


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def picture_work(load_arguments: dict, max_pixels: int) -> PictureWork:
    """The CPU tasks' share of the colorizer's settings, checked as Colorizer.load checks them."""
    colour = ColourSettings.of(load_arguments["upsample"], load_arguments["saturation"], load_arguments["conversion"])
    return PictureWork(load_arguments["size"], colour, max_pixels)


class RayRun:
    """The middle of a folder's run on a connected cluster: model actors started and loaded, then `colorize`."""

    def __init__(self, ray, load_arguments: dict, batch_size: int, max_pixels: int, tasks_per_worker: int | None,
                 workers: int | None, gpus_per_worker: float | None):
        self.ray = ray
        self.work = picture_work(load_arguments, max_pixels)
        self.plan = plan_workers(ray, workers, gpus_per_worker)
        cpus = float(ray.cluster_resources().get("CPU", 0))
        room = cpus - self.plan.workers * ACTOR_CPUS
        if room < TASK_CPUS:
            raise UsageError(
                f"{self.plan.describe()} need {self.plan.workers * ACTOR_CPUS:g} of the cluster's {cpus:g} CPUs and "
                "leave none for reading and writing: ask for fewer with --ray-workers"
            )
        self.batch_size = batch_size
        self.tasks_per_worker = tasks_per_worker or max(1, int(room / TASK_CPUS / self.plan.workers))
        # Kept for the whole run: a restarted actor loads the model from these objects again.
        self.shipment = ship_model(ray, load_arguments)
        actor = ray.remote(ModelWorker).options(
            num_cpus=ACTOR_CPUS, num_gpus=self.plan.gpus, max_restarts=ACTOR_RESTARTS, max_task_retries=0,
            scheduling_strategy="SPREAD",
        )
        self.actors = [actor.remote(self.plan.threads) for _ in range(self.plan.workers)]
        try:
            devices = ray.get([worker.device.remote(self.shipment) for worker in self.actors])
        except ray.exceptions.RayError as error:
            raise ColorizationError(f"the model workers could not load the model: {first_line(error)}") from None
        self.backend = f"Ray, {self.plan.describe()}: {', '.join(dict.fromkeys(devices))}"
        # Reading is spread over the nodes; writing goes where the picture already is (Ray's locality).
        self.read = ray.remote(read_task).options(
            num_cpus=TASK_CPUS, num_returns=3, max_retries=TASK_RETRIES, scheduling_strategy="SPREAD"
        )
        self.write = ray.remote(write_task).options(num_cpus=TASK_CPUS, max_retries=TASK_RETRIES)

    @property
    def in_flight_limit(self) -> int:
        """Pictures between being read and written, over the whole cluster: a batch in each actor's hands, the
        next one ready, and the reading and writing tasks beside them; never more, so memory on every node stays
        bounded whatever the archive's size."""
        return len(self.actors) * (2 * self.batch_size + self.tasks_per_worker)

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None:
        ray = self.ray
        waiting = deque(Picture(job, 0.0) for job in jobs)
        reading: dict = {}
        ready: deque[Picture] = deque()
        predicting: dict = {}
        writing: dict = {}
        free = deque(range(len(self.actors)))
        losses = [0] * len(self.actors)
        recovering: dict = {}
        """Probes of lost actors: each answers once Ray has restarted its actor."""
        probe_due: list[tuple[float, int]] = []

        def lost_actor(index: int) -> None:
            """Probe it again in a while, unless Ray has given up restarting it."""
            losses[index] += 1
            if losses[index] <= ACTOR_RESTARTS:
                probe_due.append((time.monotonic() + PROBE_SECONDS, index))

        def retry(picture: Picture, why: str, stage: deque) -> None:
            """Try a lost picture again (from `stage`), or fail it once it was lost too often."""
            if picture.attempts >= PICTURE_ATTEMPTS:
                recorder.add(BatchRecord(
                    picture.job.source, picture.job.destination, Status.FAILED,
                    f"{display_path(picture.job.source)}: lost {picture.attempts} times on the cluster ({why})",
                    time.perf_counter() - picture.started,
                ))
            else:
                picture.attempts += 1
                stage.appendleft(picture)

        try:
            while waiting or reading or ready or predicting or writing:
                now = time.monotonic()
                for due, index in [entry for entry in probe_due if entry[0] <= now]:
                    probe_due.remove((due, index))
                    recovering[self.actors[index].device.remote(self.shipment)] = index
                in_flight = len(reading) + len(ready) + sum(len(batch) for _, batch in predicting.values()) + len(writing)
                while waiting and in_flight < self.in_flight_limit:
                    picture = waiting.popleft()
                    picture.started = picture.started or time.perf_counter()
                    status, picture.network_input, picture.item = self.read.remote(picture.job, self.work)
                    reading[status] = picture
                    in_flight += 1
                while free and ready:
                    batch = [ready.popleft() for _ in range(min(self.batch_size, len(ready)))]
                    index = free.popleft()
                    predicting[self.actors[index].predict.remote(self.shipment, *(p.network_input for p in batch))] = (index, batch)
                if not (reading or predicting or writing or recovering or probe_due):
                    raise ColorizationError(
                        "every model worker was lost (see the Ray logs): run the same command again to finish the rest"
                    )
                done, _ = ray.wait([*reading, *predicting, *writing, *recovering], num_returns=1, timeout=POLL_SECONDS)
                for reference in done:
                    if reference in recovering:
                        index = recovering.pop(reference)
                        try:
                            ray.get(reference)
                        except ray.exceptions.ActorUnavailableError:  # still restarting: ask again later
                            probe_due.append((time.monotonic() + PROBE_SECONDS, index))
                        except ray.exceptions.RayActorError:
                            lost_actor(index)
                        else:
                            free.append(index)
                    elif reference in reading:
                        picture = reading.pop(reference)
                        try:
                            reason = ray.get(reference)
                        except ray.exceptions.RayError as error:  # its worker or node lost more often than Ray retries
                            retry(picture, first_line(error), waiting)
                            continue
                        if reason is None:
                            ready.append(picture)
                        else:
                            recorder.add(BatchRecord(picture.job.source, picture.job.destination, Status.FAILED, reason, time.perf_counter() - picture.started))
                    elif reference in predicting:
                        index, batch = predicting.pop(reference)
                        try:
                            ray.get(reference)
                        except ray.exceptions.RayActorError as error:  # the actor's process or node was lost
                            lost_actor(index)
                            for picture in reversed(batch):
                                retry(picture, first_line(error), ready)
                            continue
                        except ray.exceptions.RayTaskError as error:  # e.g. out of GPU memory: these fail, the rest go on
                            free.append(index)
                            for picture in batch:
                                recorder.add(failed_record(picture.job, picture.started, error.cause or error))
                            continue
                        free.append(index)
                        for position, picture in enumerate(batch):
                            writing[self.write.remote(picture.item, reference, position, self.work)] = picture
                    else:
                        picture = writing.pop(reference)
                        try:
                            record = ray.get(reference)
                        except ray.exceptions.RayError as error:  # lost with what it needed: read it again
                            retry(picture, first_line(error), waiting)
                            continue
                        # Seconds from reading to written as the driver saw them: the nodes' clocks are not one clock.
                        recorder.add(replace(record, seconds=time.perf_counter() - picture.started))
        except KeyboardInterrupt:
            self.stop(reading, predicting, writing, recorder)
            raise

    def stop(self, reading: dict, predicting: dict, writing: dict, recorder: Recorder) -> None:
        """Ctrl-C: nothing new starts, and what is being written is waited for (a while) and kept."""
        ray = self.ray
        for reference in [*reading, *predicting]:
            with contextlib.suppress(Exception):  # best effort: a task that just finished cannot be cancelled
                ray.cancel(reference)
        if not writing:
            return
        done, _ = ray.wait(list(writing), num_returns=len(writing), timeout=DRAIN_SECONDS)
        for reference in done:
            picture = writing[reference]
            with contextlib.suppress(ray.exceptions.RayError):
                recorder.add(replace(ray.get(reference), seconds=time.perf_counter() - picture.started))


def colorize_folder_on_ray(
    settings: BatchSettings, address: str, load_arguments: dict, *, tasks_per_worker: int | None = None,
    workers: int | None = None, gpus_per_worker: float | None = None, quiet: bool = False,
) -> BatchSummary:
    """colorize_folder with the middle on Ray: connected, model shipped and actors loaded only if there is work."""
    with ExitStack() as stack:

        def start() -> RayRun:
            ray = stack.enter_context(connected(address))
            return RayRun(ray, load_arguments, settings.batch_size, settings.max_pixels, tasks_per_worker, workers, gpus_per_worker)

        return run_folder(settings, start, quiet)
