"""batch_colorize.py --ray on the session's Ray head (tests/conftest.py's ray_address): the same files, report and
summary as the threaded run; failures, resume, a model actor or a whole node lost mid-run, the driver killed, and
usage errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import pytest

from colorization.atomic import PARTIAL_MARKER, temporary_path
from colorization.batch.planning import Job
from colorization.batch.stages import Recorder
from colorization.cluster import batch as cluster_batch
from colorization.status import Status
from tests.support import REPO
from tests.support.batch_folders import files_under, put_picture, run_in_process
from tests.support.ray_cluster import join_node, kill_session, stop_head
from tests.support.tiny_model import model_arguments

ACTOR_TITLE = b"ray::ModelWorker"
"""The process title Ray gives a model actor's worker process; `.run` follows it while it holds a batch."""
BUSY_TITLE = ACTOR_TITLE + b".run"


def make_tree(root: Path, count: int, size=(48, 64)) -> list[Path]:
    pictures = [
        put_picture(root / f"roll{index % 2}" / f"frame{index:02d}{'.png' if index % 3 else '.jpg'}", *size, index)
        for index in range(count)
    ]
    put_picture(root / ".hidden" / "frame.jpg", 10, 10, 99)
    return pictures


def contents(folder: Path) -> dict:
    return {name: (folder / name).read_bytes() for name in files_under(folder)}


def report_rows(path: Path) -> list[dict]:
    """The report without what differs between two runs of the same job: times, the backend and the folder."""
    data = json.loads(path.read_text())
    rows = [{key: value for key, value in row.items() if key != "seconds"} for row in data["files"]]
    for row in rows:
        row["output"] = row["output"] and Path(row["output"]).relative_to(data["output"]).as_posix()
    return [data["counts"], data["not_matching_filters"], rows]


def test_the_same_files_report_and_summary_as_the_threaded_run(tmp_path, lightness_model, ray_address, capfd):
    root = tmp_path / "scans"
    make_tree(root, 6)
    (root / "roll1" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (root / "roll0" / "frame02.hints.json").write_text(
        '[{"x": 0.3, "y": 0.5, "colour": "#2e8b57"}]'
    )  # travels with its job
    plain, spread = tmp_path / "plain", tmp_path / "ray"
    assert run_in_process(root, plain, "--report", tmp_path / "plain.json", *model_arguments(lightness_model)) == 1
    plain_summary = capfd.readouterr().err.strip().splitlines()[-1]
    assert (
        run_in_process(
            root,
            spread,
            "--report",
            tmp_path / "ray.json",
            "--ray",
            ray_address,
            "--batch-size",
            "2",
            *model_arguments(lightness_model),
        )
        == 1
    )
    errors = capfd.readouterr().err.strip().splitlines()
    assert contents(spread) == contents(plain) and len(contents(plain)) == 6, "bit for bit the threaded run's files"
    assert report_rows(tmp_path / "ray.json") == report_rows(tmp_path / "plain.json")
    assert sum("broken.jpg" in line for line in errors) == 1, "the corrupt file is one line, and the rest is done"
    assert errors[-1].split(" in ")[0] == plain_summary.split(" in ")[0] == "6 done, 1 skipped (1 hidden), 1 failed"
    assert "backend: Ray, 1 model worker (CPU, all cores of its node each): " in errors[-1]
    assert json.loads((tmp_path / "ray.json").read_text())["backend"].startswith("Ray, 1 model worker")

    (spread / "roll0" / "frame00.jpg").unlink()
    assert (
        run_in_process(
            root,
            spread,
            "-q",
            "--report",
            tmp_path / "rerun.json",
            "--ray",
            ray_address,
            *model_arguments(lightness_model),
        )
        == 1
    )
    counts = json.loads((tmp_path / "rerun.json").read_text())["counts"]
    assert counts == {"done": 1, "skipped": 6, "failed": 1, "interrupted": 0}, "a rerun does only what is missing"
    assert contents(spread) == contents(plain)


def test_without_ray_nothing_imports_it(tmp_path, dominant_model):
    root = tmp_path / "scans"
    make_tree(root, 1)
    code = (
        "import sys; from colorization.commands import batch, running; "
        f"code = running.run(batch.main, {[str(root), str(tmp_path / 'out'), '-q', *model_arguments(dominant_model)]!r}); "
        "sys.exit(10 + code if 'ray' in sys.modules else code)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def model_worker_pids(title: bytes = ACTOR_TITLE) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(title):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_for(condition, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def outputs(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and not path.name.startswith(".")]


def partial_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if PARTIAL_MARKER in path.name]


def batch_on_ray(root, output, model, ray_address, *more) -> list[str]:
    return [
        sys.executable,
        str(REPO / "batch_colorize.py"),
        str(root),
        str(output),
        "--ray",
        ray_address,
        *model_arguments(model),
        *map(str, more),
    ]


def assert_every_picture_done(root: Path, output: Path, pictures: list[Path], report: Path) -> None:
    assert sorted(files_under(output)) == sorted(str(path.relative_to(root)) for path in pictures), (
        "none missing, no temporaries"
    )
    for path in pictures:
        colour = cv2.imread(str(output / path.relative_to(root)))
        assert colour is not None and colour.shape[:2] == (48, 64), "every output complete"
    assert json.loads(report.read_text())["counts"]["done"] == len(pictures)


def start_two_worker_run(tmp_path, root, output, count, release_architecture, ray_address):
    """`count` pictures through the full-size network (random weights, slow enough here to lose a worker in the
    middle) on two model workers, started in the background; its report goes to tmp_path/report.json."""
    pictures = make_tree(root, count)
    model = {key: release_architecture[key] for key in ("prototxt", "caffemodel", "points")}
    command = batch_on_ray(
        root, output, model, ray_address, "--ray-workers", "2", "--size", "160", "--report", tmp_path / "report.json"
    )
    return pictures, subprocess.Popen(command, stderr=subprocess.PIPE, text=True)


def test_a_model_worker_killed_mid_run_loses_nothing(tmp_path, release_architecture, ray_address):
    """The full-size network (random weights) is slow enough here to kill one of its two actors in the middle."""
    root, output = tmp_path / "scans", tmp_path / "colour"
    pictures, run = start_two_worker_run(tmp_path, root, output, 10, release_architecture, ray_address)
    wait_for(lambda: len(outputs(output)) >= 2 and model_worker_pids(BUSY_TITLE))
    os.kill(model_worker_pids(BUSY_TITLE)[0], signal.SIGKILL)
    done_when_killed = len(outputs(output))
    _, errors = run.communicate(timeout=120)
    assert run.returncode == 0, errors
    assert done_when_killed < len(pictures), "killed while it held a batch and there was work left"
    assert_every_picture_done(root, output, pictures, tmp_path / "report.json")


def test_a_node_lost_mid_run_loses_nothing(tmp_path, release_architecture, ray_address):
    """A second machine joins; one model worker runs on it (workers are spread over the nodes), and the whole node
    is taken down while that worker predicts: its pictures are done by the other node."""
    node = join_node(ray_address)
    try:
        root, output = tmp_path / "scans", tmp_path / "colour"
        pictures, run = start_two_worker_run(tmp_path, root, output, 12, release_architecture, ray_address)

        def busy_on_the_node() -> bool:
            return any(session_of(pid) == node.pid for pid in model_worker_pids(BUSY_TITLE))

        wait_for(lambda: len(outputs(output)) >= 2 and busy_on_the_node(), timeout=120)
        kill_session(node.pid)
        done_when_lost = len(outputs(output))
        _, errors = run.communicate(timeout=180)
    finally:
        stop_head(node)
    assert run.returncode == 0, errors
    assert done_when_lost < len(pictures), "lost while there was work left"
    assert_every_picture_done(root, output, pictures, tmp_path / "report.json")


def session_of(pid: int) -> int | None:
    try:
        return os.getsid(pid)
    except ProcessLookupError:  # ended since it was listed
        return None


def dying_mid_write_once(name: str):
    """A writing task that, the first time it writes `name`, leaves half a temporary and dies with its process, as
    on a node lost mid-write; written again, it writes as usual."""
    write = cluster_batch.write_task

    def write_task(item, batch_ab, index, work):
        destination = item.job.destination
        if destination.name == name and not list(destination.parent.glob(f".{destination.stem}{PARTIAL_MARKER}*")):
            destination.parent.mkdir(parents=True, exist_ok=True)
            temporary_path(destination).write_bytes(b"half a picture")
            os._exit(1)
        return write(item, batch_ab, index, work)

    return write_task


@pytest.mark.parametrize("retries", [cluster_batch.TASK_RETRIES, 0], ids=["rerun-by-ray", "read-again-by-the-driver"])
def test_a_writer_lost_mid_write_is_redone_and_its_temporary_removed(
    tmp_path, dominant_model, ray_address, monkeypatch, retries
):
    root, output = tmp_path / "scans", tmp_path / "colour"
    pictures = make_tree(root, 4)
    monkeypatch.setattr(cluster_batch, "write_task", dying_mid_write_once("frame03.jpg"))
    monkeypatch.setattr(cluster_batch, "TASK_RETRIES", retries)
    report = tmp_path / "report.json"
    assert (
        run_in_process(root, output, "-q", "--report", report, "--ray", ray_address, *model_arguments(dominant_model))
        == 0
    )
    assert_every_picture_done(root, output, pictures, report)


def test_a_batch_whose_inputs_were_lost_is_read_again_and_never_counted_done(tmp_path):
    """The network's inputs lost with their node (Ray could not make them again): the pictures go back to be read,
    and one lost too often fails; none is counted done."""
    import ray

    class InputsLost:
        def result(self, reference):
            raise ray.exceptions.ObjectLostError("ab" * 14, None, "")

    flight = cluster_batch.Flight(SimpleNamespace(ray=ray, pool=InputsLost()), Recorder(), [])
    jobs = [Job(tmp_path / f"{name}.png", tmp_path / "out" / f"{name}.png") for name in "abc"]
    batch = [cluster_batch.Picture(job, 1.0, attempts=1) for job in jobs]
    batch[-1].attempts = cluster_batch.PICTURE_ATTEMPTS
    flight.predicting["batch"] = batch
    flight.predicted("batch")
    assert [(picture.job, picture.attempts) for picture in flight.waiting] == [(jobs[0], 2), (jobs[1], 2)]
    assert [(record.source, record.status) for record in flight.recorder.records] == [(jobs[2].source, Status.FAILED)]
    assert "lost 3 times on the cluster" in flight.recorder.records[0].reason
    assert not (flight.ready or flight.writing or flight.predicting)


def test_the_driver_killed_then_the_same_command_finishes_the_rest(tmp_path, release_architecture, ray_address):
    root, output = tmp_path / "scans", tmp_path / "colour"
    pictures = make_tree(root, 8)
    model = {key: release_architecture[key] for key in ("prototxt", "caffemodel", "points")}
    driver = subprocess.Popen(batch_on_ray(root, output, model, ray_address, "-q", "--size", "160"))
    wait_for(lambda: len(outputs(output)) >= 2)
    driver.kill()
    driver.wait()
    survivors = {path: path.stat().st_ino for path in outputs(output)}
    assert 2 <= len(survivors) < len(pictures), "killed in the middle"
    rerun = subprocess.run(
        batch_on_ray(root, output, model, ray_address, "--size", "160", "--report", tmp_path / "report.json"),
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(files_under(output)) == sorted(str(path.relative_to(root)) for path in pictures)
    assert partial_files(output) == []
    assert {path: path.stat().st_ino for path in survivors} == survivors, "nothing done twice"
    counts = json.loads((tmp_path / "report.json").read_text())["counts"]
    assert counts["skipped"] == len(survivors) + 1 and counts["done"] == len(pictures) - len(survivors)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--gpus-per-worker", "1"], "--gpus-per-worker 1: the cluster has 0 GPU(s)"),
        (["--ray-workers", "4"], "leave none for reading and writing"),
    ],
    ids=["gpus-on-a-cpu-cluster", "more-workers-than-cpus"],
)
def test_a_worker_plan_the_cluster_cannot_hold_is_one_line_exit_2(
    tmp_path, dominant_model, ray_address, capfd, arguments, message
):
    root = tmp_path / "scans"
    make_tree(root, 1)
    assert (
        run_in_process(root, tmp_path / "out", "--ray", ray_address, *arguments, *model_arguments(dominant_model)) == 2
    )
    errors = capfd.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and message in errors[0] and errors[0].startswith("error: ")


def test_cluster_options_without_ray_and_an_unreachable_address_are_usage_errors(tmp_path, dominant_model, capfd):
    root = tmp_path / "scans"
    make_tree(root, 1)
    assert run_in_process(root, tmp_path / "out", "--ray-workers", "2", *model_arguments(dominant_model)) == 2
    assert capfd.readouterr().err.strip() == "error: --ray-workers needs --ray (a Ray cluster to run on)"
    started = time.monotonic()
    assert run_in_process(root, tmp_path / "out", "--ray", "127.0.0.1:9", *model_arguments(dominant_model)) == 2
    errors = capfd.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: cannot connect to the Ray cluster at 127.0.0.1:9")
    assert time.monotonic() - started < 30
