"""python -m colorization engines: the table of this machine's engines, the fastest stored for --engine auto and
honoured by later runs, measuring one engine at a time in the memory of one."""

import os
import re
import subprocess
import sys
import time

import pytest

from colorization import Colorizer
from colorization.commands import engines, running
from colorization.engines import choice, registry
from tests.support import REPO
from tests.support.tiny_model import model_arguments


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(choice, "cuda_available", lambda: False)
    monkeypatch.setattr(choice.ort, "has_cuda", lambda: False)
    monkeypatch.setattr(choice.openvino, "has_intel_gpu", lambda: False)


def slowed(monkeypatch, *names: str, seconds: float = 0.05):
    for name in names:
        engine_class = registry.ENGINES[name]

        def slow_forward(self, blob, forward=engine_class.forward):
            time.sleep(seconds)
            return forward(self, blob)

        monkeypatch.setattr(engine_class, "forward", slow_forward)


def test_the_table_names_each_engine_and_the_fastest_is_kept_for_auto(
    dominant_model, monkeypatch, capsys, no_gpu, simulated_bf16
):
    slowed(monkeypatch, "openvino", "onnx")
    assert running.run(engines.main, [*model_arguments(dominant_model), "--runs", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.match(r".+, \d+ cores, \d+ threads; native bf16: ", lines[0])
    assert lines[1].split() == ["engine", "precision", "device", "load", "first", "forward", "memory", "chosen", "for"]
    assert [line.split()[:2] for line in lines[2:6]] == [
        ["openvino", "bf16"],
        ["openvino", "fp32"],
        ["onnxruntime", "fp32"],
        ["onnx", "fp32"],
    ]
    assert lines[4].endswith("--precision auto, --precision fp32")
    assert lines[-1].startswith(
        "--engine auto --backend auto runs from now on: --precision auto: onnxruntime; --precision fp32: onnxruntime; --precision bf16: openvino"
    )
    assert Colorizer.load(**dominant_model).engine.name == "onnxruntime", "later runs honour the measurement"
    assert Colorizer.load(**dominant_model, precision="bf16").engine.name == "openvino"


def test_no_store_prints_only_and_forget_drops_the_choice(dominant_model, monkeypatch, capsys, no_gpu):
    slowed(monkeypatch, "openvino", "onnx")
    assert running.run(engines.main, [*model_arguments(dominant_model), "--runs", "1", "--no-store"]) == 0
    assert not choice.choice_path().exists() and Colorizer.load(**dominant_model).engine.name == "openvino"
    assert running.run(engines.main, [*model_arguments(dominant_model), "--runs", "1"]) == 0
    assert Colorizer.load(**dominant_model).engine.name == "onnxruntime"
    capsys.readouterr()
    assert running.run(engines.main, ["--forget"]) == 0
    assert capsys.readouterr().out.startswith("dropped the stored engine choice for --backend auto in ")
    assert Colorizer.load(**dominant_model).engine.name == "openvino"


def test_a_broken_runtime_is_said_and_the_others_measured(dominant_model, monkeypatch, capsys, no_gpu):
    def broken(*arguments):
        raise choice.ColorizationError("ONNX Runtime could not load the compiled model: delete it to rebuild it")

    monkeypatch.setitem(registry.ENGINES, "onnxruntime", broken)
    assert running.run(engines.main, [*model_arguments(dominant_model), "--runs", "1", "--no-store"]) == 0
    captured = capsys.readouterr()
    assert "warning: onnxruntime not measured: ONNX Runtime could not load" in captured.err
    assert {line.split()[0] for line in captured.out.splitlines()[2:-1]} == {"openvino", "onnx"}


def test_measuring_the_release_architecture_holds_one_engine_at_a_time(release_architecture, tmp_path):
    """The process's peak is about the largest engine's own (cv2.dnn's Winograd weights), far from their sum."""
    command = [
        sys.executable,
        "-m",
        "colorization",
        "engines",
        "--runs",
        "1",
        "--no-store",
        *model_arguments(release_architecture),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLORIZE_CACHE_DIR": str(tmp_path)},
    )
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read()
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read()
    memory = [float(value) for value in re.findall(r"(\d+) MiB", output)]
    assert len(memory) >= 3, output
    peak = usage.ru_maxrss / 1024
    start_up = 250
    """A Python process with OpenCV, NumPy and the package imported holds less than this."""
    assert peak < start_up + max(memory) + 150 < start_up + sum(memory), f"peak {peak:.0f} MiB, engines {memory}"


def test_a_choice_that_cannot_be_stored_is_one_line_and_exit_2(dominant_model, tmp_path, monkeypatch, capsys, no_gpu):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the user cache folder cannot be made
    assert running.run(engines.main, [*model_arguments(dominant_model), "--runs", "1"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()[-1:]
    assert line.startswith("error: cannot write the engine choice ") and line.endswith(
        "set COLORIZE_CACHE_DIR to a writable folder"
    )
