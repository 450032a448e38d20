"""colorization/cluster/runtime.py without a cluster: addresses, the worker plan on given resources, the model
reaching a worker that cannot see the driver's files (written once per node), and Ray missing."""

import argparse
import re
import sys

import pytest

from colorization.cluster import runtime
from colorization.cluster.runtime import (
    ModelShipment,
    ShippedFile,
    check_address,
    model_paths_on_this_node,
    plan_workers,
)
from colorization.commands import arguments as command_arguments
from colorization.commands import running
from colorization.errors import UsageError


class FakeRay:
    """What plan_workers and the model shipment ask of Ray: the cluster's resources, its nodes, and get."""

    def __init__(self, cpus=8, gpus=0, nodes=1, objects=None):
        self.resources = {"CPU": cpus, **({"GPU": gpus} if gpus else {})}
        self.alive = nodes
        self.objects = objects or {}
        self.fetched = []

    def cluster_resources(self):
        return self.resources

    def nodes(self):
        return [{"Alive": True}] * self.alive + [{"Alive": False}]

    def get(self, reference):
        self.fetched.append(reference)
        return self.objects[reference]


@pytest.mark.parametrize("text", ["local", "auto", "default", "ray://head:10001", "10.0.0.5:6379", " auto "])
def test_addresses_ray_takes(text):
    assert check_address(text) == text.strip()


@pytest.mark.parametrize("text", ["nowhere", "ray://head", "head:port", ":6379"])
def test_other_addresses_are_refused_when_parsed(text):
    with pytest.raises(ValueError, match="is not a Ray address"):
        check_address(text)
    with pytest.raises(argparse.ArgumentTypeError, match="local, auto, ray://HOST:PORT or HOST:PORT"):
        command_arguments.ray_address(text)


def test_one_actor_per_gpu_or_per_node_and_cpu_actors_share_the_cores():
    assert plan_workers(FakeRay(gpus=8), None, None) == runtime.WorkerPlan(8, 1.0)
    assert plan_workers(FakeRay(gpus=2), None, 0.5) == runtime.WorkerPlan(4, 0.5)
    assert plan_workers(FakeRay(cpus=32, nodes=4), None, None) == runtime.WorkerPlan(4, 0.0)
    assert plan_workers(FakeRay(cpus=32, nodes=4), 8, None) == runtime.WorkerPlan(8, 0.0, 4)
    assert plan_workers(FakeRay(gpus=8), None, 0) == runtime.WorkerPlan(1, 0.0), "0 GPUs asks for CPU actors"
    assert runtime.WorkerPlan(8, 0.0, 4).describe() == "8 model workers (CPU, 4 threads each)"


@pytest.mark.parametrize(
    "workers, gpus, message",
    [
        (None, 1, "--gpus-per-worker 1: the cluster has 0 GPU(s)"),
        (3, 1, "--ray-workers 3 with 1 GPU each need 3 GPUs; the cluster has 2"),
    ],
)
def test_gpus_the_cluster_lacks_are_a_usage_error(workers, gpus, message):
    cluster = FakeRay(gpus=0 if workers is None else 2)
    with pytest.raises(UsageError, match=re.escape(message)):
        plan_workers(cluster, workers, gpus)


def test_a_model_the_worker_cannot_see_is_written_once_per_node(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime.tempfile, "tempdir", str(tmp_path / "node"))
    data = {"prototxt": b"layer {}", "caffemodel": bytes(range(256)) * 40, "points": b"\x93NUMPY"}
    shipment = ModelShipment(
        {
            role: ShippedFile(f"{role}.bin", str(tmp_path / "driver-only" / role), len(content), f"{index:064x}", role)
            for index, (role, content) in enumerate(data.items())
        }
    )
    cluster = FakeRay(objects=data)
    paths = model_paths_on_this_node(cluster, shipment)
    assert {role: path.read_bytes() for role, path in paths.items()} == data
    assert all(str(path).startswith(str(tmp_path / "node" / runtime.NODE_MODEL_FOLDER)) for path in paths.values())
    assert model_paths_on_this_node(cluster, shipment) == paths
    assert sorted(cluster.fetched) == sorted(data), "each file fetched from the object store once on this node"


def test_a_model_on_a_shared_filesystem_is_used_where_it_is(tmp_path):
    shared = tmp_path / "models" / "points.npy"
    shared.parent.mkdir()
    shared.write_bytes(b"points")
    shipment = ModelShipment({"points": ShippedFile("points.npy", str(shared), 6, "0" * 64, "points")})
    cluster = FakeRay(objects={})
    assert model_paths_on_this_node(cluster, shipment) == {"points": shared}
    assert cluster.fetched == []


def test_ray_missing_is_one_line_naming_the_install(tmp_path, monkeypatch, capfd, dominant_model):
    from colorization.commands import batch
    from tests.support.batch_folders import put_picture
    from tests.support.tiny_model import model_arguments

    monkeypatch.setitem(sys.modules, "ray", None)
    put_picture(tmp_path / "scans" / "photo.jpg")
    arguments = [str(tmp_path / "scans"), str(tmp_path / "out"), "--ray", "local", *model_arguments(dominant_model)]
    assert running.run(batch.main, arguments) == 2
    assert capfd.readouterr().err.strip() == f"error: --ray needs Ray, which is not installed: {runtime.INSTALL_HINT}"


def test_ray_that_cannot_start_here_is_one_line_not_its_traceback(monkeypatch):
    import ray

    def timed_out(**settings):
        raise Exception("The current node timed out during startup.\nmore details")

    monkeypatch.setattr(ray, "init", timed_out)
    with (
        pytest.raises(
            UsageError, match=r"could not start Ray on this machine \(The current node timed out during startup\.\)"
        ) as caught,
        runtime.connected("local"),
    ):
        pass
    assert "\n" not in str(caught.value) and "--ray auto" in str(caught.value)
