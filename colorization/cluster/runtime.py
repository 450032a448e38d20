"""Connecting to Ray, and getting one model to every worker: the driver resolves (and if need be downloads) the
files once and puts their bytes in Ray's object store; a worker uses the shared model folder when it sees the same
files there, else writes the bytes once per node into a local folder. Never one download per worker."""

from __future__ import annotations

import hashlib
import logging
import socket
import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import write_bytes_atomically
from ..errors import UsageError
from ..fetch import ensure_release_files
from ..settings import ColorizerSettings

if TYPE_CHECKING:
    from ..pipeline import Colorizer

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "default"
"""Bare `--ray`: Ray's own rule (RAY_ADDRESS, else a cluster started on this machine, else a new local one)."""
INSTALL_HINT = "pip install 'zhang-colorization[cluster]', or pip install -r requirements-cluster.txt"
PROBE_SECONDS = 5
"""How long `connected` waits for a named address to answer before saying it cannot be reached."""
NODE_MODEL_FOLDER = "colorization-ray-models"
"""Below the node's temporary folder: where a worker writes the model it got from the object store."""


def import_ray():
    """Ray, or a one-line error naming the install command (it is an optional extra)."""
    try:
        import ray
    except ImportError:
        raise UsageError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def check_address(text: str) -> str:
    """`local`, `auto`, `ray://HOST:PORT` or `HOST:PORT`; checked when parsed, before anything loads."""
    text = text.strip()
    if text in ("local", "auto", DEFAULT_ADDRESS):
        return text
    rest = text[len("ray://") :] if text.startswith("ray://") else text
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{text!r} is not a Ray address: use local, auto, ray://HOST:PORT or HOST:PORT")
    return text


def unreachable(address: str, reason: str) -> UsageError:
    return UsageError(
        f"cannot connect to the Ray cluster at {address} ({reason}): start one with `ray start --head`, "
        "or use --ray local for this machine alone"
    )


def check_reachable(address: str) -> None:
    """Ray retries an address where nothing listens for minutes: a quick TCP connection first makes that one line."""
    rest = address[len("ray://") :] if address.startswith("ray://") else address
    host, _, port = rest.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS):
            pass
    except OSError as error:
        raise unreachable(address, error.strerror or str(error) or type(error).__name__) from None


def package_folder() -> Path:
    """The colorization package itself, shipped to workers of a remote cluster that may not have it installed."""
    return Path(__file__).resolve().parent.parent


@contextmanager
def connected(address: str):
    """Ray, connected to (or started at) `address` for the duration of the block, and shut down after it."""
    ray = import_ray()
    runtime_env = {"py_modules": [str(package_folder())]}
    # Ray's own notices (token set-up, object sizes) only with -v; a failure still reaches the user as our one line.
    level = logging.INFO if log.isEnabledFor(logging.INFO) else logging.ERROR
    settings = {"logging_level": level, "log_to_driver": False, "runtime_env": runtime_env}
    if address not in ("local", "auto", DEFAULT_ADDRESS):
        check_reachable(address)
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, **settings)
        elif address == DEFAULT_ADDRESS:
            ray.init(**settings)
        else:
            ray.init(address=address, **settings)
    except Exception as error:  # Ray raises bare Exception when its processes do not come up in time
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        with suppress(Exception):
            ray.shutdown()
        if address == "local":
            raise UsageError(
                f"could not start Ray on this machine ({reason}): try again when the machine is less busy, "
                "or start it once with `ray start --head` and pass --ray auto"
            ) from None
        raise unreachable(address, reason) from None
    try:
        yield ray
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class WorkerPlan:
    """How many model actors, what each reserves, and how many threads a CPU actor's network uses (None: all of
    its node's cores, as a one-machine run does)."""

    workers: int
    gpus: float
    threads: int | None = None

    def describe(self) -> str:
        if self.gpus:
            each = f"{self.gpus:g} GPU each"
        else:
            threads = (
                "all cores of its node"
                if self.threads is None
                else f"{self.threads} thread{'s' if self.threads != 1 else ''}"
            )
            each = f"CPU, {threads} each"
        return f"{self.workers} model worker{'s' if self.workers != 1 else ''} ({each})"


def plan_workers(ray, workers: int | None, gpus_per_worker: float | None) -> WorkerPlan:
    """One actor per GPU (or per `gpus_per_worker`) when the cluster has GPUs; else one CPU actor per node, its
    network on all the node's cores while reading and writing tasks run beside it, as threads do in a one-machine
    run. `workers` overrides the count; CPU actors then share the cluster's cores between them."""
    resources = ray.cluster_resources()
    gpus_total = float(resources.get("GPU", 0))
    gpus = (1.0 if gpus_total else 0.0) if gpus_per_worker is None else float(gpus_per_worker)
    if gpus > gpus_total:
        raise UsageError(
            f"--gpus-per-worker {gpus:g}: the cluster has {gpus_total:g} GPU(s); ask for fewer, or 0 for CPU workers"
        )
    if gpus:
        count = workers or max(1, int(gpus_total // gpus))
        if count * gpus > gpus_total:
            raise UsageError(
                f"--ray-workers {count} with {gpus:g} GPU each need {count * gpus:g} GPUs; the cluster has {gpus_total:g}"
            )
        return WorkerPlan(count, gpus)
    nodes = max(1, sum(1 for node in ray.nodes() if node.get("Alive")))
    if workers is None or workers <= nodes:
        return WorkerPlan(workers or nodes, 0.0)
    return WorkerPlan(workers, 0.0, max(1, int(float(resources.get("CPU", 1)) // workers)))


@dataclass
class ShippedFile:
    """One model file as a worker will see it: its path on the driver (used when the worker shares that
    filesystem and sees the same size) and its bytes in the object store otherwise."""

    name: str
    path: str
    size: int
    digest: str
    bytes_ref: object


@dataclass
class ModelShipment:
    """What a worker needs to build the same Colorizer as the driver: the files and the driver's settings."""

    files: dict[str, ShippedFile]
    settings: ColorizerSettings = field(default_factory=ColorizerSettings)


def ship_model(ray, settings: ColorizerSettings) -> ModelShipment:
    """Resolve the model on the driver (downloading missing release files once, here), and put each file's bytes
    in the object store."""
    files = settings.model_files()
    ensure_release_files(files, download=settings.download, verify=settings.verify, quiet=settings.quiet)
    files.check()
    shipped = {}
    for role, model_file in zip(("prototxt", "caffemodel", "points"), files):
        data = model_file.path.read_bytes()
        shipped[role] = ShippedFile(
            model_file.path.name,
            str(model_file.path.resolve()),
            len(data),
            hashlib.sha256(data).hexdigest(),
            ray.put(data),
        )
    return ModelShipment(shipped, settings)


def node_model_folder() -> Path:
    return Path(tempfile.gettempdir()) / NODE_MODEL_FOLDER


def model_paths_on_this_node(ray, shipment: ModelShipment) -> dict[str, Path]:
    """Each file's path here: the driver's own file when this node sees it with the same size (a shared
    filesystem), else the object store's bytes, written once per node under a name that holds their hash."""
    paths = {}
    for role, shipped in shipment.files.items():
        shared = Path(shipped.path)
        if shared.is_file() and shared.stat().st_size == shipped.size:
            paths[role] = shared
            continue
        local = node_model_folder() / shipped.digest[:16] / shipped.name
        if not (local.is_file() and local.stat().st_size == shipped.size):
            local.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomically(local, ray.get(shipped.bytes_ref))
        paths[role] = local
    return paths


def load_shipped_colorizer(ray, shipment: ModelShipment) -> Colorizer:
    """The Colorizer a worker runs: the driver's settings, with the shipped files (fetched and checked there)."""
    from ..pipeline import Colorizer

    paths = model_paths_on_this_node(ray, shipment)
    return Colorizer.load(shipment.settings, **paths, download=False, verify=False, quiet=True)
