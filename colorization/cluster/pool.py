"""The model workers of a Ray run, for folders and films alike: actors that each load the shipped model once, and
one failure policy.

The shipment goes to the object store once and every actor is made from that one reference, which the pool holds
for the whole run. A lost actor (its process or node gone) is not restarted by Ray: the pool kills what is left of
it, starts a replacement, and gives it work only once it has loaded the model (a replacement that cannot be placed,
on a cluster without room, takes nothing with it). The caller learns of the loss as WorkerLost and does that work
again; after REPLACEMENTS_PER_WORKER losses per worker the pool replaces no more, and once no worker is left it
says so (NoWorkersLeft).
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

import cv2

from ..errors import ColorizationError, ModelFileError
from .runtime import ModelShipment, WorkerPlan, import_ray, load_shipped_colorizer

if TYPE_CHECKING:
    from ..pipeline import Colorizer

log = logging.getLogger(__name__)

ACTOR_CPUS = 1.0
"""What a model actor reserves of its node's CPUs (a CPU actor's network uses more: see WorkerPlan.threads)."""
REPLACEMENTS_PER_WORKER = 4
"""Lost actors replaced over a run, per worker of the plan: enough for a few lost machines, not an endless loop
on a model that brings down every process that loads it."""


class NoWorkersLeft(ColorizationError):
    """Every model worker was lost, and the pool replaces no more."""


class WorkerLost(Exception):
    """The actor running a call was lost with it (the pool replaces it while replacements last): the call's work is
    to be done again."""


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class ModelWorker:
    """A model actor: loads the shipped model once, in its constructor, then runs tasks on it."""

    def __init__(self, shipment: ModelShipment, threads: int | None):
        if threads is not None:
            cv2.setNumThreads(threads)
        self.colorizer: Colorizer | None = None
        self.problem: str | None = None
        try:
            self.colorizer = load_shipped_colorizer(import_ray(), shipment)
        except ColorizationError as error:
            self.problem = str(error)

    def ready(self) -> tuple[str | None, str | None]:
        """(where the network runs, None) once the model is loaded, else (None, why it could not be)."""
        return (None, self.problem) if self.colorizer is None else (self.colorizer.device, None)

    def run(self, task: Callable[..., Any], *arguments):
        """`task(colorizer, *arguments)`: a batch's forward pass, a film's segment."""
        return task(self.colorizer, *arguments)


class WorkerPool:
    """The model actors of a run: `submit` a task to an idle one, then `result` its reference once done."""

    def __init__(self, ray, plan: WorkerPlan, shipment: ModelShipment):
        self.ray = ray
        self.plan = plan
        self.actor_class = ray.remote(ModelWorker).options(
            num_cpus=ACTOR_CPUS,
            num_gpus=plan.gpus,
            max_restarts=0,
            max_task_retries=0,
            scheduling_strategy="SPREAD",
        )
        self.shipment = ray.put(shipment)
        self.replacements_left = plan.workers * REPLACEMENTS_PER_WORKER
        self.idle: deque = deque()
        self.running: dict = {}
        """Reference of each call in progress -> the actor running it."""
        self.starting: dict = {}
        """Reference of each replacement's `ready` -> the replacement, until it has loaded the model."""
        actors = [self.actor_class.remote(self.shipment, plan.threads) for _ in range(plan.workers)]
        try:
            answers = ray.get([actor.ready.remote() for actor in actors])
        except ray.exceptions.RayError as error:
            raise ColorizationError(f"the model workers could not load the model: {first_line(error)}") from None
        for _, problem in answers:
            if problem:
                raise ModelFileError(f"a model worker could not load the model: {problem}")
        self.devices = list(dict.fromkeys(device for device, _ in answers))
        """Where the networks run, each said once."""
        self.idle.extend(actors)

    @property
    def waiting_on(self) -> list:
        """References the pool needs the caller to wait for beside its own: calls in progress and starting actors."""
        return [*self.running, *self.starting]

    def check_alive(self) -> None:
        """Raise NoWorkersLeft when no actor is left, running or starting, to do what remains."""
        if not (self.idle or self.running or self.starting):
            raise NoWorkersLeft(
                "every model worker was lost (see the Ray logs): run the same command again to finish the rest"
            )

    def submit(self, task: Callable[..., Any], *arguments):
        """`task(colorizer, *arguments)` on an idle actor (there must be one: see `idle`); its result's reference."""
        actor = self.idle.popleft()
        reference = actor.run.remote(task, *arguments)
        self.running[reference] = actor
        return reference

    def result(self, reference):
        """The call's result; WorkerLost when its actor was lost with it. A task's own error (out of GPU memory, a
        damaged segment) is raised as Ray's RayTaskError, its actor kept."""
        actor = self.running.pop(reference)
        try:
            value = self.ray.get(reference)
        except self.ray.exceptions.RayActorError as error:
            self.replace(actor)
            raise WorkerLost(first_line(error)) from None
        except BaseException:
            self.idle.append(actor)
            raise
        self.idle.append(actor)
        return value

    def started(self, reference) -> None:
        """A replacement answered: it takes work, or, lost or unable to load the model, is replaced in turn."""
        actor = self.starting.pop(reference)
        try:
            _, problem = self.ray.get(reference)
        except self.ray.exceptions.RayActorError as error:
            problem = first_line(error)
        if problem:
            log.warning("warning: a replacement model worker failed (%s)", problem)
            self.replace(actor)
        else:
            self.idle.append(actor)

    def replace(self, actor) -> None:
        with contextlib.suppress(Exception):  # gone already, most often
            self.ray.kill(actor, no_restart=True)
        if self.replacements_left <= 0:
            return
        self.replacements_left -= 1
        replacement = self.actor_class.remote(self.shipment, self.plan.threads)
        self.starting[replacement.ready.remote()] = replacement

    def settle(self, done: list) -> list:
        """The references of `done` that are not the pool's own: replacements answering are dealt with here."""
        others = []
        for reference in done:
            if reference in self.starting:
                self.started(reference)
            else:
                others.append(reference)
        return others
