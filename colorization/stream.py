"""The read -> predict -> write pipeline that folders and films share.

Worker threads read and prepare items, the calling thread runs the network on batches of them, and worker threads
compose and write the results. OpenCV, the codecs and the pipes release the GIL, so decoding, inference, composing
and encoding overlap. Bounded queues keep memory a few items deep however many items there are, and with one
worker on each side the items stay in order (films need that).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from typing import Callable, TypeVar

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Result = TypeVar("Result")

END = object()
"""Put on the writers' queue once per writer when there is nothing more to write."""
POLL_SECONDS = 0.1
READER_STOP_SECONDS = 10
"""How long a stopped run waits for a reader to finish the item in hand (a decoder pipe can block a little)."""


class Stages:
    """What the threads of one run_stages call share: the stop flag, the first error, the queues between the stages
    and the places for items in flight."""

    def __init__(self, items: Iterable, workers: int, batch_size: int, depth: int, in_flight: int | None):
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.source = iter(items)
        self.source_lock = threading.Lock()
        self.prepared: queue.Queue = queue.Queue(maxsize=max(batch_size, depth))
        self.predicted: queue.Queue = queue.Queue(maxsize=max(workers, depth))
        self.slots = threading.Semaphore(in_flight) if in_flight else None

    def put(self, target: queue.Queue, value: object) -> bool:
        """Put `value` on a queue, waiting for room; False once the run is stopping."""
        while not self.stop.is_set():
            try:
                target.put(value, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def fail(self, error: BaseException) -> None:
        self.errors.append(error)
        self.stop.set()

    def take_slot(self) -> bool:
        """Wait for a place for one more item; False once the run is stopping."""
        while not self.stop.is_set():
            if self.slots is None or self.slots.acquire(timeout=POLL_SECONDS):
                return True
        return False

    def release(self) -> None:
        """An item's place is free again: it was finished, or a stage dealt with it."""
        if self.slots is not None:
            self.slots.release()

    def read(self, prepare: Callable) -> None:
        """A reading thread: take items from the source and queue them prepared, until it runs dry or the run stops."""
        try:
            while self.take_slot():
                with self.source_lock:
                    item = next(self.source, END)
                if item is END:
                    return
                ready = prepare(item)
                if ready is None:
                    self.release()
                elif not self.put(self.prepared, ready):
                    return
        except BaseException as error:  # handed to the calling thread, which raises it
            self.fail(error)

    def write(self, finish: Callable) -> None:
        """A writing thread: finish each (prepared, result) pair until END; after an error, only drain the queue."""
        for ready, result in iter(self.predicted.get, END):
            if self.errors:
                continue
            try:
                finish(ready, result)
            except BaseException as error:  # handed to the calling thread, which raises it
                self.fail(error)
            self.release()

    def hand_on(self, batch: list, results: list) -> bool:
        """Queue each prepared item of `batch` with its result for the writers; an item whose result is None was
        dealt with by `predict` and goes no further. False once the run is stopping."""
        if len(results) != len(batch):
            raise ValueError(
                f"predict returned {len(results)} results for a batch of {len(batch)} items: it must return one per "
                "item, in order (None for an item it dealt with itself), or results would go to the wrong items"
            )
        for ready, result in zip(batch, results):
            if result is None:
                self.release()
            elif not self.put(self.predicted, (ready, result)):
                return False
        return True


def run_stages(
    items: Iterable[Item],
    prepare: Callable[[Item], Prepared | None],
    predict: Callable[[list[Prepared]], list[Result | None]],
    finish: Callable[[Prepared, Result], None],
    *,
    workers: int = 1,
    batch_size: int = 1,
    depth: int = 1,
    in_flight: int | None = None,
) -> None:
    """Run `prepare` on each item in `workers` threads, `predict` on batches of up to `batch_size` prepared items
    in this thread (never waiting to fill a batch), and `finish` on each (prepared, result) pair in `workers` threads.
    `in_flight` bounds the items between the start of `prepare` and the end of `finish`, whatever waits in the
    queues: for large items (12-megapixel scans) the queues would otherwise hold one more each than keeps the
    slowest stage busy.

    `prepare` returns None for an item it has dealt with itself (a file it could not read and reported); `predict`
    returns one result per item, in order, None for an item it has dealt with itself (reported as failed), and a
    list of another length is an error. An exception in any stage stops all of them and is raised here, once every
    thread has stopped: no thread may still be inside OpenCV when the process exits, or C++ aborts it. Ctrl-C and
    SIGTERM stop the reading; what is already predicted is still finished.
    """
    stages = Stages(items, workers, batch_size, depth, in_flight)
    readers = [
        threading.Thread(target=stages.read, args=(prepare,), name=f"read-{n}", daemon=True) for n in range(workers)
    ]
    writers = [
        threading.Thread(target=stages.write, args=(finish,), name=f"write-{n}", daemon=True) for n in range(workers)
    ]
    for thread in readers + writers:
        thread.start()
    try:
        while not stages.stop.is_set():
            batch = next_batch(stages.prepared, batch_size, readers, stages.stop)
            if not batch or not stages.hand_on(batch, predict(batch)):
                break
    finally:
        stages.stop.set()
        for thread in readers:
            thread.join(timeout=READER_STOP_SECONDS)
        for _ in writers:
            stages.predicted.put(END)
        for thread in writers:
            thread.join()
    if stages.errors:
        raise stages.errors[0]


def next_batch(prepared: queue.Queue, batch_size: int, readers: list[threading.Thread], stop: threading.Event) -> list:
    """Wait for one prepared item (or for every reader to be done), then take whatever else is ready, up to
    batch_size; an empty list means there is nothing more."""
    batch: list = []
    while len(batch) < batch_size and not stop.is_set():
        try:
            batch.append(prepared.get(timeout=POLL_SECONDS) if not batch else prepared.get_nowait())
        except queue.Empty:
            if batch or not any(thread.is_alive() for thread in readers) and prepared.empty():
                break
    return batch
