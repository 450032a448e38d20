"""The read -> predict -> write pipeline that folders and films share.

Worker threads read and prepare items, the calling thread runs the network on batches of them, and worker threads
compose and write the results. OpenCV, the codecs and the pipes release the GIL, so decoding, inference, composing
and encoding overlap. Bounded queues keep memory a few items deep however many items there are, and with one
worker on each side the items stay in order (films need that).
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, TypeVar

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")
Result = TypeVar("Result")

END = object()
"""Put on the writers' queue once per writer when there is nothing more to write."""
POLL_SECONDS = 0.1
READER_STOP_SECONDS = 10
"""How long a stopped run waits for a reader to finish the item in hand (a decoder pipe can block a little)."""


def run_stages(
    items: Iterable[Item],
    prepare: Callable[[Item], "Prepared | None"],
    predict: Callable[[list[Prepared]], list[Result]],
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
    may return fewer results than it was given (those it reported as failed). An exception in any stage stops all of
    them and is raised here, once every thread has stopped: no thread may still be inside OpenCV when the process
    exits, or C++ aborts it. Ctrl-C and SIGTERM stop the reading; what is already predicted is still finished.
    """
    stop = threading.Event()
    errors: list[BaseException] = []
    source = iter(items)
    source_lock = threading.Lock()
    prepared: queue.Queue = queue.Queue(maxsize=max(batch_size, depth))
    predicted: queue.Queue = queue.Queue(maxsize=max(workers, depth))

    def put(target: queue.Queue, value) -> bool:
        while not stop.is_set():
            try:
                target.put(value, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def fail(error: BaseException) -> None:
        errors.append(error)
        stop.set()

    slots = threading.Semaphore(in_flight) if in_flight else None

    def take_slot() -> bool:
        """Wait for a place for one more item; False once the run is stopping."""
        while not stop.is_set():
            if slots is None or slots.acquire(timeout=POLL_SECONDS):
                return True
        return False

    def release(count: int = 1) -> None:
        if slots is not None and count > 0:
            slots.release(count)

    def read() -> None:
        try:
            while take_slot():
                with source_lock:
                    item = next(source, END)
                if item is END:
                    return
                ready = prepare(item)
                if ready is None:
                    release()
                elif not put(prepared, ready):
                    return
        except BaseException as error:  # handed to the calling thread, which raises it
            fail(error)

    def write() -> None:
        for ready, result in iter(predicted.get, END):
            if errors:
                continue
            try:
                finish(ready, result)
            except BaseException as error:  # handed to the calling thread, which raises it
                fail(error)
            release()

    readers = [threading.Thread(target=read, name=f"read-{n}", daemon=True) for n in range(workers)]
    writers = [threading.Thread(target=write, name=f"write-{n}", daemon=True) for n in range(workers)]
    for thread in readers + writers:
        thread.start()
    try:
        while not stop.is_set():
            batch = next_batch(prepared, batch_size, readers, stop)
            if not batch:
                break
            results = predict(batch)
            release(len(batch) - len(results))  # those it reported as failed: they go no further
            for pair in zip(batch, results):
                if not put(predicted, pair):
                    break
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=READER_STOP_SECONDS)
        for _ in writers:
            predicted.put(END)
        for thread in writers:
            thread.join()
    if errors:
        raise errors[0]


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
