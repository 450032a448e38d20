"""colorization/cluster/pool.py on the session's Ray head: the model workers of a run get the driver's settings as
they are, load the model once, and are replaced when lost, by one policy for folders and films."""

import dataclasses
import operator
import time
from pathlib import Path

import pytest

from colorization import ColorizerSettings
from colorization.cluster import pool as pool_module
from colorization.cluster.pool import NoWorkersLeft, WorkerLost, WorkerPool
from colorization.cluster.runtime import WorkerPlan, connected, ship_model

ON_THE_WORKER = dict(prototxt=None, caffemodel=None, points=None, download=False, verify=False, quiet=True)
"""What a worker's settings have of their own: the files as it sees them, and no fetching (the driver did that)."""


def kill(ray, actor) -> None:
    """The actor's process dies, as on a lost machine; returns once Ray knows (ray.kill does not wait)."""
    ray.kill(actor, no_restart=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            ray.get(actor.ready.remote(), timeout=30)
        except ray.exceptions.RayActorError:
            return
        time.sleep(0.1)
    raise AssertionError("the killed actor still answers")


def wait_until_ready(pool: WorkerPool, timeout: float = 120) -> None:
    while pool.starting:
        done, _ = pool.ray.wait(pool.waiting_on, num_returns=1, timeout=timeout)
        assert done, "the replacement did not answer"
        assert pool.settle(done) == []


def test_a_worker_runs_with_the_driver_s_settings(dominant_model, ray_address):
    settings = ColorizerSettings(
        **dominant_model, engine="caffe", temperature=0.5, saturation=1.3, size=160, conversion="fast"
    )
    with connected(ray_address) as ray:
        pool = WorkerPool(ray, WorkerPlan(1, 0.0), ship_model(ray, settings))
        received = pool.result(pool.submit(operator.attrgetter("settings")))
        assert dataclasses.replace(received, **ON_THE_WORKER) == dataclasses.replace(settings, **ON_THE_WORKER)
        assert (received.download, received.quiet) == (False, True)
        for role, path in dominant_model.items():
            assert Path(getattr(received, role)).read_bytes() == path.read_bytes(), "the driver's files"
        assert len(pool.devices) == 1 and pool.devices[0].endswith("fp32") and len(pool.idle) == 1

        def fails(colorizer):
            raise RuntimeError("CUDA error: out of memory")

        with pytest.raises(ray.exceptions.RayTaskError, match="out of memory"):
            pool.result(pool.submit(fails))
        assert len(pool.idle) == 1, "a task's own error keeps its worker"


def test_a_lost_worker_is_replaced_and_its_work_given_back(dominant_model, ray_address, monkeypatch):
    monkeypatch.setattr(pool_module, "REPLACEMENTS_PER_WORKER", 1)
    with connected(ray_address) as ray:
        pool = WorkerPool(ray, WorkerPlan(1, 0.0), ship_model(ray, ColorizerSettings(**dominant_model, engine="caffe")))
        kill(ray, pool.idle[0])
        with pytest.raises(WorkerLost):
            pool.result(pool.submit(operator.attrgetter("size")))
        assert not pool.idle and len(pool.starting) == 1, "a replacement loads the model before it gets work"
        wait_until_ready(pool)
        assert pool.result(pool.submit(operator.attrgetter("size"))) == 224

        kill(ray, pool.idle[0])
        with pytest.raises(WorkerLost):
            pool.result(pool.submit(operator.attrgetter("size")))
        assert not pool.starting, "replacements are bounded"
        with pytest.raises(NoWorkersLeft, match="every model worker was lost"):
            pool.check_alive()
