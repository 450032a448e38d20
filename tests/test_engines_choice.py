"""--engine auto: the fixed preference, the choice `python -m colorization engines` stores and later runs honour, a
run's own timings never revising it, measuring one engine at a time, and a run importing only the runtime it runs."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
import weakref

import cv2
import pytest

from colorization import Colorizer, ModelFiles
from colorization.engines import choice, registry
from colorization.engines.choice import Measurement
from colorization.engines.onnxruntime import OnnxRuntimeEngine
from colorization.model import RELEASE_SCALE
from tests.support import REPO
from tests.support.tiny_model import model_arguments


@pytest.fixture
def no_gpu(monkeypatch):
    """A machine without CUDA or an Intel GPU, wherever the tests run."""
    monkeypatch.setattr(choice, "cuda_available", lambda: False)
    monkeypatch.setattr(choice.ort, "has_cuda", lambda: False)
    monkeypatch.setattr(choice.openvino, "has_intel_gpu", lambda: False)


def slowed(engine_class, monkeypatch, seconds: float = 0.05):
    """Make one engine's forward `seconds` slower than it is (the tiny model's forward takes a few ms)."""
    forward = engine_class.forward

    def slow_forward(self, blob):
        time.sleep(seconds)
        return forward(self, blob)

    monkeypatch.setattr(engine_class, "forward", slow_forward)


def row(
    engine: str, forward: float, precision: str = "fp32", asked: str = "auto", memory: float | None = 300.0
) -> Measurement:
    return Measurement(engine, asked, precision, "CPU", 0.1, 0.1, forward, memory)


@pytest.mark.parametrize(
    "absent, expected", [((), "openvino"), (("openvino",), "onnxruntime"), (("openvino", "onnxruntime"), "onnx")]
)
def test_auto_runs_the_first_installed_of_openvino_onnxruntime_and_cv2_dnn(
    dominant_model, monkeypatch, no_gpu, absent, expected
):
    for module in absent:
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert Colorizer.load(**dominant_model).engine.name == expected


def test_on_cuda_auto_takes_cv2_dnn_built_with_it_else_onnxruntime_gpu(monkeypatch, no_gpu):
    monkeypatch.setattr(choice, "cuda_available", lambda: True)
    assert [choice.preferred(backend).engine for backend in ("auto", "cuda", "cuda-fp16")] == ["onnx"] * 3
    monkeypatch.setattr(choice, "cuda_available", lambda: False)
    monkeypatch.setattr(choice.ort, "has_cuda", lambda: True)
    assert [choice.preferred(backend).engine for backend in ("auto", "cuda")] == ["onnxruntime"] * 2


def test_a_backend_no_engine_has_here_is_said_once_and_the_cpu_preference_runs(monkeypatch, caplog, no_gpu):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        chosen = choice.preferred("cuda")
    assert (chosen.engine, chosen.backend) == ("openvino", "cpu")
    (warning,) = [record.getMessage() for record in caplog.records]
    assert (
        warning.startswith("warning: --backend cuda asked for, but this OpenCV build has no CUDA")
        and "ONNX Runtime" in warning
    )


def test_opencl_takes_openvino_on_an_intel_gpu_else_cv2_dnn(monkeypatch, no_gpu):
    monkeypatch.setattr(choice.openvino, "has_intel_gpu", lambda: True)
    assert choice.preferred("opencl").engine == "openvino" and choice.preferred("auto").engine == "openvino"
    monkeypatch.setattr(choice.openvino, "has_intel_gpu", lambda: False)
    monkeypatch.setattr(choice, "opencl_available", lambda: True)
    assert (choice.preferred("opencl").engine, choice.preferred("opencl").backend) == ("onnx", "opencl")


def test_the_stored_choice_is_honoured_per_precision(dominant_model, no_gpu, caplog):
    stored = choice.store_choice("auto", [row("onnxruntime", 10), row("openvino", 20), row("onnx", 15, asked="fp32")])
    assert stored == {"auto": "onnxruntime", "fp32": "onnxruntime"}
    with caplog.at_level(logging.INFO, logger="colorization"):
        assert type(Colorizer.load(**dominant_model).engine) is OnnxRuntimeEngine
    assert "engine: onnxruntime for --engine auto: measured fastest here on " in caplog.text
    assert Colorizer.load(**dominant_model, precision="fp32").engine.name == "onnxruntime"
    assert Colorizer.load(**dominant_model, precision="bf16", backend="cpu").engine.name == "openvino", (
        "not measured: the preference"
    )
    assert Colorizer.load(**dominant_model, backend="cpu").engine.name == "openvino", "stored for --backend auto only"


def test_a_stored_engine_no_longer_installed_gives_way_to_the_preference(dominant_model, monkeypatch, no_gpu):
    choice.store_choice("auto", [row("onnxruntime", 10), row("openvino", 20)])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert Colorizer.load(**dominant_model).engine.name == "openvino"


@pytest.mark.parametrize(
    "damage", ["{not json", "[]", '{"x": 1}', "KEY-not-a-record", 'KEY{"engines": {"auto": "tensorrt"}}']
)
def test_a_damaged_choice_file_is_ignored(dominant_model, no_gpu, damage):
    path = choice.choice_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if damage.startswith("KEY"):
        value = damage[3:] if "{" in damage else '"x"'
        damage = "{" + choice.json.dumps(choice.machine_key("auto")) + ": " + value + "}"
    path.write_text(damage)
    assert Colorizer.load(**dominant_model).engine.name == "openvino"


def test_a_run_s_own_slow_forwards_never_revise_the_choice(dominant_model, monkeypatch, no_gpu, photos):
    """Forwards inside a busy pipeline are slower than measured ones: they are timed for -v, and that is all."""
    choice.store_choice("auto", [row("onnxruntime", 10), row("openvino", 20)])
    stored = choice.choice_path().read_bytes()
    colorizer = Colorizer.load(**dominant_model)
    assert colorizer.engine.name == "onnxruntime"
    assert not {"forward", "forward_scores"} & set(vars(colorizer.engine)), "nothing wraps the engine's own methods"
    slowed(OnnxRuntimeEngine, monkeypatch, 0.06)
    for _ in range(7):
        colorizer.colorize(photos[0])
    assert colorizer.network_times.first >= 0.06 and min(colorizer.network_times.per_picture) >= 0.06
    assert choice.choice_path().read_bytes() == stored
    assert Colorizer.load(**dominant_model).engine.name == "onnxruntime"


def test_without_a_measurement_nothing_is_measured_or_written(dominant_model, monkeypatch, no_gpu, photos):
    monkeypatch.setattr(choice, "measure_engines", lambda *arguments: pytest.fail("measured during a run"))
    slowed(registry.ENGINES["openvino"], monkeypatch, 0.06)
    first = Colorizer.load(**dominant_model)
    for _ in range(7):
        first.colorize(photos[0])
    assert Colorizer.load(**dominant_model).engine.name == first.engine.name == "openvino"
    assert not choice.choice_path().exists()


def test_forgetting_goes_back_to_the_preference(dominant_model, no_gpu):
    choice.store_choice("auto", [row("onnxruntime", 10)])
    assert choice.forget_choice("auto") and not choice.forget_choice("auto")
    assert Colorizer.load(**dominant_model).engine.name == "openvino"


def test_the_fastest_forward_wins_unless_as_fast_holds_less_memory():
    rows = [row("onnx", 100, memory=1000), row("onnxruntime", 104, memory=400), row("openvino", 150, memory=300)]
    assert choice.fastest(rows, "auto").engine == "onnxruntime", "within 5%: the one holding less"
    rows[1] = row("onnxruntime", 110, memory=400)
    assert choice.fastest(rows, "auto").engine == "onnx"
    rows.append(row("openvino", 40, precision="bf16"))
    assert choice.fastest(rows, "auto").engine == "openvino" and choice.fastest(rows, "bf16").engine == "openvino"
    assert choice.fastest(rows, "fp32").engine == "onnx" and choice.fastest(rows, "fp16") is None


@pytest.fixture
def live_engines(monkeypatch) -> dict:
    """How many engines exist at once: each one made is counted until it is freed."""
    counts = {"live": 0, "most": 0, "made": 0}

    def freed():
        counts["live"] -= 1

    for engine_class in registry.ENGINES.values():

        def tracked(self, *arguments, original=engine_class.__init__, **keywords):
            original(self, *arguments, **keywords)
            counts["made"] += 1
            counts["live"] += 1
            counts["most"] = max(counts["most"], counts["live"])
            weakref.finalize(self, freed)

        monkeypatch.setattr(engine_class, "__init__", tracked)
    return counts


def test_measuring_holds_one_engine_at_a_time(dominant_model, no_gpu, simulated_bf16, live_engines):
    files = ModelFiles.resolve(None, dominant_model["prototxt"], dominant_model["caffemodel"], dominant_model["points"])
    rows = choice.measure_engines(files, "auto", RELEASE_SCALE, 224, runs=2)
    assert [(r.engine, r.asked, r.precision) for r in rows] == [
        ("openvino", "auto", "bf16"),
        ("openvino", "fp32", "fp32"),
        ("onnxruntime", "auto", "fp32"),
        ("onnx", "auto", "fp32"),
    ]
    assert live_engines["made"] == 4 and live_engines["most"] == 1 and live_engines["live"] == 0
    assert all(r.load > 0 and r.first > 0 and r.forward > 0 and (r.memory is None or r.memory >= 0) for r in rows)


def test_a_network_the_converter_cannot_translate_runs_in_caffe_under_auto(dominant_model, monkeypatch, caplog, no_gpu):
    def refuse(*arguments):
        raise choice.ConversionError("the ONNX converter does not translate layer 'x' of type Crop")

    monkeypatch.setattr(registry, "compiled_model", refuse)
    with caplog.at_level(logging.INFO, logger="colorization"):
        assert Colorizer.load(**dominant_model).engine.name == "caffe"
    assert "running the Caffe engine instead" in caplog.text
    with pytest.raises(choice.ConversionError, match="use --engine caffe"):
        Colorizer.load(**dominant_model, engine="openvino")


def imported_runtimes(picture, model: dict, *options: str) -> list[str]:
    """The runtimes and optional libraries a photo command imported, in a process of its own."""
    script = (
        "import sys\nfrom colorization.commands import colorize\n"
        f"assert colorize.main({['-i', str(picture), '--overwrite', '-q', *model_arguments(model), *options]!r}) == 0\n"
        "print(sorted(name for name in ('openvino', 'onnxruntime', 'onnx', 'requests', 'tqdm', 'urllib3') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip())


def test_a_photo_run_imports_the_runtime_it_runs_and_no_other(dominant_model, tmp_path, photos):
    """Importing a runtime costs start-up time: the default run imports OpenVINO (what it runs) and nothing else
    optional, nor the converter, the downloader or the progress bar once the compiled model exists."""
    picture = tmp_path / "photo.png"
    cv2.imwrite(str(picture), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    Colorizer.load(**dominant_model)  # compiled once: what follows are cached starts
    assert imported_runtimes(picture, dominant_model) == ["openvino"]
    assert imported_runtimes(picture, dominant_model, "--engine", "onnxruntime") == ["onnxruntime"]
    assert imported_runtimes(picture, dominant_model, "--engine", "caffe") == []


def test_verbose_photo_run_says_which_engine_why_and_where_the_time_went(dominant_model, tmp_path, photos):
    pictures = []
    for index in range(2):
        pictures += ["-i", str(tmp_path / f"photo{index}.png")]
        cv2.imwrite(pictures[-1], cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    command = [
        sys.executable,
        str(REPO / "colorize.py"),
        *pictures,
        "-o",
        str(tmp_path / "out"),
        "-v",
        *model_arguments(dominant_model),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("compiling", "compiled model"))]
    assert lines[0].startswith("engine: openvino for --engine auto: the first installed of openvino, onnxruntime, onnx")
    assert re.fullmatch(r"engine: OpenVINO [\d.]+, backend: (CPU|Intel GPU.*), precision: (bf16|fp32|fp16)", lines[1])
    (start_up,) = [line for line in lines if line.startswith("start-up: ")]
    assert re.fullmatch(r"start-up: imports \d+\.\d\d s, model load \d+\.\d\d s, first forward \d+\.\d\d s", start_up)
    (per_picture,) = [line for line in lines if line.startswith("per picture: ")]
    assert re.search(r"\d\.\d\d s \(median of 2, .*network \d\.\d\d s", per_picture)
    assert re.search(r"2 colorized, 0 failed \(backend: CPU, (bf16|fp32)\)$", result.stderr.strip())
