import json
import logging
import math
import re
import time

import cv2
import numpy as np
import pytest

from colorization import Colorizer, ColorizationError
from colorization.compiled_models import compiled_model
from colorization.engines import selection
from colorization.model_files import ModelFiles
from colorization.engines.onnxruntime import OnnxRuntimeEngine
from colorization.engines.opencv_dnn import CaffeEngine, OnnxEngine, opencv_backend


@pytest.fixture(autouse=True)
def without_openvino(monkeypatch):
    """These tests are about choosing between ONNX Runtime and cv2.dnn; OpenVINO's place is in test_engines_openvino."""
    monkeypatch.setattr(selection.openvino, "import_openvino", lambda: None)


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_cpu_is_cpu():
    backend = opencv_backend(selection.opencv_backend_for("cpu"))
    assert (backend.backend_id, backend.target_id) == (cv2.dnn.DNN_BACKEND_OPENCV, cv2.dnn.DNN_TARGET_CPU)


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16"])
def test_cuda_missing_warns_once_and_falls_back(monkeypatch, caplog, requested):
    monkeypatch.setattr(selection, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.opencv_backend_for(requested) == "cpu"
    (warning,) = warnings_of(caplog)
    assert "no CUDA DNN backend" in warning and f"--backend {requested}" in warning


def test_auto_is_silent_without_cuda(monkeypatch, caplog):
    monkeypatch.setattr(selection, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.opencv_backend_for("auto") == "cpu"
    assert not caplog.records


@pytest.mark.parametrize("requested, expected", [("auto", "cuda"), ("cuda", "cuda"), ("cuda-fp16", "cuda-fp16")])
def test_cuda_chosen_when_present(monkeypatch, requested, expected):
    monkeypatch.setattr(selection, "cuda_available", lambda: True)
    chosen = selection.opencv_backend_for(requested)
    assert chosen == expected and opencv_backend(chosen).backend_id == cv2.dnn.DNN_BACKEND_CUDA


def test_opencl_falls_back_when_absent(monkeypatch, caplog):
    monkeypatch.setattr(selection, "opencl_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.opencv_backend_for("opencl") == "cpu"
    assert "OpenCL" in caplog.text


def test_unknown_backend_and_engine(dominant_model):
    with pytest.raises(ColorizationError, match="unknown backend"):
        Colorizer.load(**dominant_model, backend="tpu")
    with pytest.raises(ColorizationError, match="unknown engine"):
        Colorizer.load(**dominant_model, engine="tensorrt")


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16", "opencl"])
def test_onnxruntime_without_the_backend_warns_once(monkeypatch, caplog, requested):
    monkeypatch.setattr(selection.ort, "available_providers", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.onnxruntime_backend_for(requested) == "cpu"
    (warning,) = warnings_of(caplog)
    assert f"--backend {requested}" in warning and "running on the CPU" in warning


def test_registry_names_every_engine():
    assert selection.ENGINES == {
        "caffe": CaffeEngine, "onnx": OnnxEngine, "onnxruntime": OnnxRuntimeEngine, "openvino": selection.openvino.OpenVinoEngine,
    }
    assert all(name == engine.name for name, engine in selection.ENGINES.items())


@pytest.mark.parametrize(
    "backend, providers, opencv_cuda, expected",
    [
        ("auto", ["CPUExecutionProvider"], False, (("onnxruntime", "onnx"), "cpu")),
        ("auto", [], False, (("onnx",), "cpu")),
        ("cpu", ["CPUExecutionProvider"], True, (("onnxruntime", "onnx"), "cpu")),
        ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], False, (("onnxruntime",), "cuda")),
        ("cuda", ["CPUExecutionProvider"], True, (("onnx",), "cuda")),
        ("cuda-fp16", ["CUDAExecutionProvider", "CPUExecutionProvider"], True, (("onnx",), "cuda-fp16")),
        ("opencl", ["CPUExecutionProvider"], False, (("onnx",), "opencl")),
    ],
)
def test_auto_engine_choice(monkeypatch, backend, providers, opencv_cuda, expected):
    monkeypatch.setattr(selection.ort, "available_providers", lambda: providers)
    monkeypatch.setattr(selection, "cuda_available", lambda: opencv_cuda)
    monkeypatch.setattr(selection, "opencl_available", lambda: True)
    assert selection.auto_candidates(backend) == expected


def slowed(engine_class, monkeypatch):
    """Make one engine's forward 80 ms slower than it is (the tiny model's forward takes a few ms)."""
    forward = engine_class.forward

    def slow_forward(self, blob):
        time.sleep(0.08)
        return forward(self, blob)

    monkeypatch.setattr(engine_class, "forward", slow_forward)


def record_of(model: dict) -> dict:
    (entry,) = json.loads((model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).read_text()).values()
    return entry


@pytest.mark.parametrize("slow, fast", [(OnnxRuntimeEngine, OnnxEngine), (OnnxEngine, OnnxRuntimeEngine)])
def test_auto_on_the_cpu_measures_both_onnx_engines_and_runs_the_faster(dominant_model, monkeypatch, caplog, slow, fast):
    slowed(slow, monkeypatch)
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.load(**dominant_model, backend="cpu", workload="batch")
    assert type(colorizer.engine) is fast
    assert f"engine: {fast.name} for 100 pictures (batch): {fast.name} " in caplog.text
    (measurement,) = record_of(dominant_model)["measurements"]
    assert measurement[slow.name]["steady"] > measurement[fast.name]["steady"] + 40
    assert measurement[slow.name]["first"] > 80 and all(measurement[name]["load"] > 0 for name in measurement)


def test_the_measured_choice_is_remembered_and_measured_again_for_other_options(dominant_model, monkeypatch, caplog):
    slowed(OnnxRuntimeEngine, monkeypatch)
    Colorizer.load(**dominant_model)
    monkeypatch.setattr(selection, "measure_engines", lambda *arguments: pytest.fail("measured again"))
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.load(**dominant_model)
    assert type(colorizer.engine) is OnnxEngine and "medians of 1 measurement(s) in" in caplog.text
    with_costs(monkeypatch, onnxruntime=(1, 1, 1), onnx=(1, 1, 2))
    assert type(Colorizer.load(**dominant_model, temperature=0.5).engine) is OnnxRuntimeEngine
    records = json.loads((dominant_model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).read_text())
    assert len(records) == 2, "another compiled model is another measurement"


def with_costs(monkeypatch, **costs) -> list:
    """Measuring loads the engines for real but reports these (load, first, later) milliseconds; returns the calls."""
    calls = []

    def measure(path, size, backend, candidates):
        calls.append(candidates)
        engines = {name: selection.load_compiled(name, path, size, backend) for name in candidates}
        return engines, {name: selection.EngineCost(*costs[name]) for name in candidates}

    monkeypatch.setattr(selection, "measure_engines", measure)
    return calls


QUICK_TO_START = (100, 100, 300)
"""ONNX Runtime as on this kind of machine: little to start, slower forwards ..."""
QUICK_PER_PICTURE = (50, 1500, 200)
"""... cv2.dnn: its first forward prepares the Winograd weights, its later ones are faster."""


@pytest.mark.parametrize(
    "workload, expected",
    [("photo", OnnxRuntimeEngine), (3, OnnxRuntimeEngine), ("batch", OnnxEngine), (100, OnnxEngine), ("video", OnnxEngine), ("server", OnnxEngine)],
)
def test_auto_weighs_start_up_against_per_picture_cost_for_the_work(dominant_model, monkeypatch, caplog, workload, expected):
    calls = with_costs(monkeypatch, onnxruntime=QUICK_TO_START, onnx=QUICK_PER_PICTURE)
    with caplog.at_level(logging.INFO, logger="colorization"):
        assert type(Colorizer.load(**dominant_model, workload=workload).engine) is expected
    assert len(calls) == 1 and f"engine: {expected.name} for " in caplog.text


def test_one_measurement_serves_a_photo_and_a_folder_each_its_engine(dominant_model, monkeypatch, caplog):
    calls = with_costs(monkeypatch, onnxruntime=QUICK_TO_START, onnx=QUICK_PER_PICTURE)
    assert type(Colorizer.load(**dominant_model, workload="batch").engine) is OnnxEngine
    with caplog.at_level(logging.INFO, logger="colorization"):
        assert type(Colorizer.load(**dominant_model, workload="photo").engine) is OnnxRuntimeEngine
    assert len(calls) == 1, "the photo run used the folder run's measurement"
    assert "engine: onnxruntime for 1 picture (photo): onnxruntime 0.20 s = load 100 + first 100" in caplog.text
    assert "onnx 1.55 s = load 50 + first 1500 + 200 ms per later picture" in caplog.text


def test_of_engines_as_fast_for_the_work_the_one_holding_less_memory_runs(dominant_model, monkeypatch, caplog):
    with_costs(monkeypatch, onnxruntime=(100, 100, 204, 250), onnx=(50, 1000, 200, 900))
    with caplog.at_level(logging.INFO, logger="colorization"):
        assert type(Colorizer.load(**dominant_model, workload="batch").engine) is OnnxRuntimeEngine
    assert "ms per later picture, 250 MiB" in caplog.text and "ms per later picture, 900 MiB" in caplog.text


def test_memory_does_not_outweigh_a_measurable_difference_in_speed():
    costs = {"small": selection.EngineCost(10, 10, 300, 250), "fast": selection.EngineCost(10, 10, 200, 900)}
    assert selection.cheapest(costs, 100) == "fast" and selection.cheapest(costs, math.inf) == "fast"
    costs["fast"] = selection.EngineCost(10, 10, 290, 900)
    assert selection.cheapest(costs, 100) == "small" and selection.cheapest(costs, math.inf) == "small"


def test_measuring_records_each_engines_memory_and_older_records_without_it_still_decide(dominant_model, tmp_path):
    files = ModelFiles.resolve(**{key: dominant_model[key] for key in ("prototxt", "caffemodel", "points")})
    path = compiled_model(files, selection.RELEASE_SCALE, 224)
    _, costs = selection.measure_engines(path, 224, "cpu", ("onnx", "onnxruntime"))
    assert all(cost.memory is not None and cost.memory >= 0 for cost in costs.values())
    old = {"measurements": [{"onnx": {"load": 1, "first": 1, "steady": 5}, "onnxruntime": {"load": 1, "first": 1, "steady": 9}}]}
    (measurement,) = selection.recorded_measurements(old, ("onnx", "onnxruntime"))
    assert selection.cheapest(selection.median_costs([measurement]), 100) == "onnx"


def test_a_workload_is_a_kind_of_run_or_a_picture_count(dominant_model):
    for workload in ("films", 0):
        with pytest.raises(ColorizationError, match="workload"):
            Colorizer.load(**dominant_model, workload=workload)


def test_several_measurements_are_compared_by_their_medians():
    measurements = [
        {"a": selection.EngineCost(1, 10, 100), "b": selection.EngineCost(1, 10, 90)},  # taken on a busy machine
        {"a": selection.EngineCost(1, 10, 60), "b": selection.EngineCost(1, 10, 80)},
        {"a": selection.EngineCost(1, 10, 70), "b": selection.EngineCost(1, 10, 85)},
    ]
    costs = selection.median_costs(measurements)
    assert costs["a"] == selection.EngineCost(1, 10, 70) and selection.cheapest(costs, 100) == "a"


def forwards(colorizer, count: int) -> None:
    for _ in range(count):
        colorizer.engine.forward(np.zeros((1, 1, 224, 224), np.float32))


def test_later_forwards_far_slower_than_measured_bring_a_new_measurement(dominant_model, monkeypatch, caplog):
    calls = with_costs(monkeypatch, onnxruntime=(1, 1, 10), onnx=(1, 1, 12))
    Colorizer.load(**dominant_model, workload="batch")
    slowed(OnnxRuntimeEngine, monkeypatch)  # the machine changed: ONNX Runtime's forwards now take 80 ms more
    colorizer = Colorizer.load(**dominant_model, workload="batch")
    assert type(colorizer.engine) is OnnxRuntimeEngine and len(calls) == 1
    with caplog.at_level(logging.INFO, logger="colorization"):
        forwards(colorizer, 1 + selection.STEADY_SAMPLE)
    assert "onnxruntime's forwards take" in caplog.text and "measuring the engines again on the next start" in caplog.text
    assert "ms measured" in record_of(dominant_model)["remeasure"]
    with_costs(monkeypatch, onnxruntime=(1, 1, 40), onnx=(1, 1, 12))
    assert type(Colorizer.load(**dominant_model, workload="batch").engine) is OnnxEngine
    entry = record_of(dominant_model)
    assert len(entry["measurements"]) == 2 and not entry["remeasure"]


def test_a_slowdown_that_changes_nothing_keeps_the_measurement(dominant_model, monkeypatch, caplog):
    with_costs(monkeypatch, onnxruntime=(1, 1, 10), onnx=(1, 1, 1000))
    Colorizer.load(**dominant_model, workload="batch")
    slowed(OnnxRuntimeEngine, monkeypatch)
    colorizer = Colorizer.load(**dominant_model, workload="batch")
    forwards(colorizer, 1 + selection.STEADY_SAMPLE)
    assert not record_of(dominant_model)["remeasure"], "still the faster by far: a busy machine, not a wrong choice"


def test_a_first_forward_far_slower_than_measured_brings_a_new_measurement_for_a_photo(dominant_model, monkeypatch):
    with_costs(monkeypatch, onnxruntime=(1, 1, 100), onnx=(1, 20, 1))
    Colorizer.load(**dominant_model, workload="photo")
    slowed(OnnxRuntimeEngine, monkeypatch)
    colorizer = Colorizer.load(**dominant_model, workload="photo")
    assert type(colorizer.engine) is OnnxRuntimeEngine
    forwards(colorizer, 1)
    assert "onnxruntime's first forward took" in record_of(dominant_model)["remeasure"]


@pytest.mark.parametrize(
    "damage",
    ["{not json", "[]", '{"this machine": "onnx"}', '{"this machine": {"engine": "onnx", "milliseconds": {"onnx": 1}}}'],
    ids=["not-json", "not-a-table", "not-a-record", "old-format"],
)
def test_a_damaged_engine_choice_file_is_measured_again(dominant_model, monkeypatch, damage):
    monkeypatch.setattr(selection, "machine_description", lambda path, candidates: "this machine")
    (dominant_model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).write_text(damage)
    calls = with_costs(monkeypatch, onnxruntime=(1, 1, 1), onnx=(1, 1, 2))
    assert type(Colorizer.load(**dominant_model).engine) is OnnxRuntimeEngine and len(calls) == 1
    assert len(record_of(dominant_model)["measurements"]) == 1


def test_verbose_photo_run_breaks_its_time_down(dominant_model, tmp_path, photos):
    import subprocess
    import sys

    from tests.support import REPO
    from tests.support.tiny_model import model_arguments

    pictures = []
    for index in range(2):
        pictures += ["-i", str(tmp_path / f"photo{index}.png")]
        cv2.imwrite(pictures[-1], cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))

    def verbose_run(*arguments) -> list[str]:
        command = [sys.executable, str(REPO / "colorize.py"), *arguments, "-v", *model_arguments(dominant_model)]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stderr.splitlines()

    lines = verbose_run(*pictures, "-o", str(tmp_path / "out"))
    (choice,) = [line for line in lines if line.startswith("engine: ") and " for " in line]
    assert " for 2 pictures: " in choice, "the photo command counts its pictures"
    (start_up,) = [line for line in lines if line.startswith("start-up: ")]
    assert re.search(r"imports \d+\.\d\d s, model load \d+\.\d\d s, first forward during the load", start_up)
    (per_picture,) = [line for line in lines if line.startswith("per picture: ")]
    assert re.search(r"\d\.\d\d s \(median of 2, .*network \d\.\d\d s", per_picture)
    (start_up,) = [line for line in verbose_run(*pictures[:2], "-o", str(tmp_path / "one.png")) if line.startswith("start-up: ")]
    assert re.search(r"first forward \d\.\d\d s", start_up), "measured before: this run's own first forward"


def test_auto_without_onnxruntime_runs_onnx_in_opencv(dominant_model, monkeypatch):
    monkeypatch.setattr(selection.ort, "import_onnxruntime", lambda: None)
    assert isinstance(Colorizer.load(**dominant_model).engine, OnnxEngine)


def test_missing_onnxruntime_is_one_clear_line(dominant_model, monkeypatch):
    monkeypatch.setattr(selection.ort, "import_onnxruntime", lambda: None)
    with pytest.raises(ColorizationError) as raised:
        Colorizer.load(**dominant_model, engine="onnxruntime")
    message = str(raised.value)
    assert "\n" not in message and "pip install onnxruntime" in message


def test_unknown_engine_or_backend_is_refused(dominant_model):
    with pytest.raises(ColorizationError, match="unknown engine 'tensorrt'"):
        Colorizer.load(**dominant_model, engine="tensorrt")
    with pytest.raises(ColorizationError, match="unknown backend 'tpu'"):
        Colorizer.load(**dominant_model, engine="onnxruntime", backend="tpu")


def test_a_cached_photo_start_imports_no_downloader_progress_bar_or_onnx(dominant_model, tmp_path, photos):
    import subprocess
    import sys

    from tests.support import REPO
    from tests.support.tiny_model import model_arguments

    picture = tmp_path / "photo.png"
    cv2.imwrite(str(picture), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    Colorizer.load(**dominant_model, workload="photo")  # compiled and measured: what follows is a cached start
    script = (
        "import sys\nfrom colorization.commands import colorize\n"
        f"assert colorize.main({['-i', str(picture), *model_arguments(dominant_model)]!r}) == 0\n"
        "print(sorted(name for name in ('requests', 'tqdm', 'onnx', 'urllib3') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
