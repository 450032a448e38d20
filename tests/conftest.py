import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings as hypothesis_settings

from colorization.model_files import POINTS, PROTOTXT
from tests.support import DOMINANT_AB, IMAGES_ENV, REFERENCE_ENV, REPO
from tests.support.caffe_writer import write_random_caffemodel
from tests.support.mini_model import MINI_PROTOTXT
from tests.support.tiny_model import symmetric_points, write_tiny_model

# No test reaches the internet: a missing release file never starts a download unless a test clears this.
os.environ["COLORIZE_NO_DOWNLOAD"] = "1"
for _variable in ("COLORIZE_MIRRORS", "COLORIZE_MIRRORS_ONLY"):
    os.environ.pop(_variable, None)

# Property tests: in CI the same examples every run (a red build is never a roll of the dice) and no example
# database left in the clone; locally, new examples each run, remembered when they fail.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
hypothesis_settings.register_profile("default", deadline=2000)

RELEASE_SMALL_FILES = (PROTOTXT.name, POINTS.name)


@pytest.fixture(scope="session")
def release_points() -> np.ndarray:
    """The release's cluster centres when COLORIZE_REFERENCE_DIR has them, else 313 bins of the same kind
    (tests/support/release_model.py)."""
    from tests.support import release_model

    authentic = release_model.reference_files()
    return np.load(authentic["points"]) if authentic else release_model.gamut_ab_bins()


@pytest.fixture
def dominant_model(tmp_path, release_points):
    """Every pixel gets DOMINANT_AB."""
    bias = np.zeros(313, np.float32)
    bias[np.flatnonzero((release_points == DOMINANT_AB).all(axis=1))[0]] = 20.0
    return write_tiny_model(tmp_path / "dominant", bias, release_points)


@pytest.fixture
def grey_model(tmp_path):
    """A symmetric distribution over symmetric points: the output must stay grey."""
    points = symmetric_points()
    return write_tiny_model(tmp_path / "grey", -np.hypot(points[:, 0], points[:, 1]) / 40.0, points)


@pytest.fixture
def lightness_model(tmp_path, release_points):
    """Bright areas turn towards +a (red), dark ones towards -a (green): output varies across the picture."""
    near_grey = -np.hypot(release_points[:, 0], release_points[:, 1]).astype(np.float32) / 15.0
    slope = release_points[:, 0].astype(np.float32) / 500.0
    return write_tiny_model(tmp_path / "lightness", near_grey, release_points, slope)


@pytest.fixture
def bimodal_model(tmp_path, release_points):
    """Two colourful modes, one slightly likelier: the plain mean is dull, annealing moves it to the stronger mode."""
    bias = np.full(313, -10.0, np.float32)
    for ab, logit in (((40, 40), 2.0), ((-40, -40), 1.5)):
        bias[np.flatnonzero((release_points == ab).all(axis=1))[0]] = logit
    return write_tiny_model(tmp_path / "bimodal", bias, release_points)


def sample_photos() -> list[Path]:
    """The shared real photos, or none when they are not beside the repository."""
    folder = Path(os.environ.get(IMAGES_ENV, REPO.parent / "shared" / "images"))
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg")) if folder.is_dir() else []


def synthetic_photo(height=240, width=320, seed=0) -> np.ndarray:
    """A smooth colourful picture with edges, for when no real photos are available."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([127 + 100 * np.sin(x / (17 + 3 * c) + y / 23 + c) for c in range(3)], axis=-1) + rng.normal(
        0, 6, (height, width, 3)
    )
    image[height // 3 : height // 2, width // 4 : width // 2] = (30, 200, 90)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture
def photos():
    import cv2

    found = sample_photos()
    return [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in found] or [synthetic_photo(seed=s) for s in range(3)]


@pytest.fixture(scope="session")
def release_architecture(tmp_path_factory):
    """The release prototxt and points (the authentic ones when COLORIZE_REFERENCE_DIR has them, else written from
    the architecture's facts) with random weights of the release's shapes, made once per session."""
    from tests.support import release_model

    return release_model.release_architecture(tmp_path_factory.mktemp("release"))


@pytest.fixture
def reference_files() -> dict:
    """The authentic release prototxt and points, for the few tests about those files' own bytes (their hashes):
    skipped with the reason without COLORIZE_REFERENCE_DIR (and so a failure in CI, which sets it)."""
    from tests.support import release_model

    files = release_model.reference_files()
    if files is None:
        where = (
            f"{REFERENCE_ENV}={os.environ[REFERENCE_ENV]}"
            if os.environ.get(REFERENCE_ENV)
            else f"{REFERENCE_ENV} is not set"
        )
        pytest.skip(
            f"{where}: this test checks the authentic release files' bytes; point {REFERENCE_ENV} at a folder holding {', '.join(RELEASE_SMALL_FILES)}"
        )
    return files


def in_ci() -> bool:
    """CI services set CI=true (and .ci/run does)."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


hypothesis_settings.load_profile("ci" if in_ci() else "default")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failure: a test that silently stops running proves nothing."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


@pytest.fixture(autouse=True)
def own_user_cache(tmp_path, monkeypatch):
    """Each test its own per-user cache (where `python -m colorization engines` keeps its choice), in this process
    and the commands it starts: a choice stored by one test, or on this machine, never steers another."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


def bf16_of(values: np.ndarray) -> np.ndarray:
    """float32 cut to bfloat16's 8 significant bits, as a bf16 forward rounds what it keeps."""
    bits = np.ascontiguousarray(values, np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
    return bits.view(np.float32)


@pytest.fixture
def simulated_bf16(monkeypatch):
    """A processor with native bf16 (AVX512-BF16 or AMX), wherever the tests run: OpenVINO lists it for the CPU,
    and an engine compiled for bf16 reports bf16 and returns its fp32 results cut to bf16."""
    from colorization.engines import openvino

    monkeypatch.setattr(openvino, "device_precisions", lambda device: ("fp32", "bf16"))
    load = openvino.OpenVinoEngine.__init__

    def load_simulated(engine, path, size, backend="cpu", precision="fp32"):
        simulated = precision in ("bf16", "auto")
        load(engine, path, size, backend, "fp32" if simulated else precision)
        if simulated:
            run = engine.run
            engine.precision = "bf16"
            engine.run = lambda blob, output: bf16_of(run(blob, output))

    monkeypatch.setattr(openvino.OpenVinoEngine, "__init__", load_simulated)


@pytest.fixture
def without_bf16(monkeypatch):
    """A processor without native bf16, wherever the tests run: OpenVINO lists fp32 alone for the CPU."""
    from colorization.engines import openvino

    monkeypatch.setattr(openvino, "device_precisions", lambda device: ("fp32",))


@pytest.fixture
def mini_model(tmp_path, release_points):
    folder = tmp_path / "mini"
    folder.mkdir()
    files = {
        "prototxt": folder / "mini.prototxt",
        "caffemodel": folder / "mini.caffemodel",
        "points": folder / "points.npy",
    }
    files["prototxt"].write_text(MINI_PROTOTXT)
    write_random_caffemodel(files["prototxt"], files["caffemodel"], seed=3)
    np.save(files["points"], release_points)
    return files


@pytest.fixture
def tree(tmp_path):
    """A folder tree for the batch command (tests/support/batch_folders.py: make_tree)."""
    from tests.support.batch_folders import make_tree

    return make_tree(tmp_path / "scans")


@pytest.fixture(scope="session")
def ray_address():
    """The address of a Ray head started once for the session (tests/support/ray_cluster.py)."""
    from tests.support.ray_cluster import start_head, stop_head

    folder = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))
    address, head = start_head(folder)
    try:
        yield address
    finally:
        stop_head(head)
        shutil.rmtree(folder, ignore_errors=True)
