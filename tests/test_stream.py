"""The read -> predict -> write threads of colorization.stream: order, batches, errors, interruption, bounded memory."""

import threading
import time

import pytest

from colorization.stream import run_stages


def stage_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(("read-", "write-"))]


def test_one_worker_each_side_keeps_the_order_and_batches_never_wait_to_fill():
    written, batches = [], []

    def predict(batch):
        batches.append(len(batch))
        return [item * 10 for item in batch]

    run_stages(range(50), lambda item: item, predict, lambda item, result: written.append((item, result)), batch_size=4)
    assert written == [(item, item * 10) for item in range(50)]
    assert sum(batches) == 50 and max(batches) <= 4


def test_items_a_stage_has_dealt_with_go_no_further():
    written = []
    run_stages(
        range(10),
        lambda item: None if item % 3 == 0 else item,  # reported by prepare itself
        lambda batch: [None if item == 5 else item for item in batch],  # 5 failed in the network, reported there
        lambda item, result: written.append(item),
        workers=2,
    )
    assert sorted(written) == [1, 2, 4, 7, 8]


def test_a_predict_that_returns_fewer_results_than_items_is_an_error_not_a_wrong_pairing():
    """Paired by position, results missing from the middle of a batch would go to the wrong items: the run stops
    with a message that says what predict must return, once every thread is done, and nothing is mispaired."""
    written = []

    def partial(batch):
        return [item * 10 for item in batch if item != 5]  # 5 left out without saying so

    with pytest.raises(
        ValueError, match=r"predict returned \d results for a batch of \d items: it must return one per item"
    ):
        run_stages(
            range(10),
            lambda item: item,
            partial,
            lambda item, result: written.append((item, result)),
            batch_size=2,
            depth=2,
        )
    assert all(result == item * 10 for item, result in written), "no result reached another item"
    assert 5 not in [item for item, _ in written]
    assert not [thread for thread in stage_threads() if thread.is_alive()]


def test_a_predict_that_returns_more_results_than_items_is_an_error():
    with pytest.raises(ValueError, match="predict returned 2 results for a batch of 1 items"):
        run_stages(range(3), lambda item: item, lambda batch: batch * 2, lambda item, result: None)


@pytest.mark.parametrize("stage", ["prepare", "predict", "finish"])
def test_an_error_in_any_stage_stops_all_and_is_raised_once_every_thread_is_done(stage):
    def failing(name, value):
        if stage == name and value == 7:
            raise ValueError(f"{name} failed")
        return value

    with pytest.raises(ValueError, match=f"{stage} failed"):
        run_stages(
            range(1000),
            lambda item: failing("prepare", item),
            lambda batch: [failing("predict", item) for item in batch],
            lambda item, result: failing("finish", item),
            workers=2,
        )
    assert not [thread for thread in stage_threads() if thread.is_alive()]


def test_ctrl_c_stops_reading_but_finishes_what_was_predicted():
    read, predicted, written = [], [], []

    def predict(batch):
        if len(predicted) == 5:
            raise KeyboardInterrupt
        predicted.extend(batch)
        return batch

    def finish(item, result):
        time.sleep(0.01)
        written.append(item)

    with pytest.raises(KeyboardInterrupt):
        run_stages(range(1000), lambda item: read.append(item) or item, predict, finish)
    assert written == predicted == list(range(5))
    assert len(read) < 20, "reading stopped with the network"
    assert not [thread for thread in stage_threads() if thread.is_alive()]


def test_memory_stays_a_few_items_deep_however_many_items_there_are():
    in_flight, most = 0, 0
    lock = threading.Lock()

    def prepare(item):
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        return item

    def finish(item, result):
        nonlocal in_flight
        time.sleep(0.002)
        with lock:
            in_flight -= 1

    run_stages(range(300), prepare, lambda batch: batch, finish, workers=1, batch_size=2, depth=2)
    assert in_flight == 0
    assert most <= 8, f"{most} items were held at once"


def test_in_flight_bounds_the_items_between_prepare_and_finish_even_those_that_go_no_further():
    """With a slow writer the queues would fill: the bound keeps one item per stage, and items dropped by prepare
    or the network give their place back (or the run would stall)."""
    lock, alive, most, written = threading.Lock(), set(), [0], []

    def prepare(item):
        with lock:
            alive.add(item)
            most[0] = max(most[0], len(alive))
        if item % 5 == 0:
            alive.discard(item)
            return None
        return item

    def predict(batch):
        dropped = [item for item in batch if item % 7 == 0]
        alive.difference_update(dropped)
        return [item if item % 7 else None for item in batch]

    def finish(item, result):
        time.sleep(0.005)
        written.append(item)
        with lock:
            alive.discard(item)

    run_stages(range(60), prepare, predict, finish, in_flight=3)
    assert most[0] == 3 and written == [item for item in range(60) if item % 5 and item % 7]
    most[0] = 0
    run_stages(range(60), prepare, predict, finish, depth=8)
    assert most[0] > 3, "without the bound, the queues hold more: the check above means something"
