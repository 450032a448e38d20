"""benchmarks/precision.py runs to the end where bf16 runs: on a tiny model, with bf16 itself where the processor has
it and simulated where it does not, so that the table is checked on any machine."""

import re

import cv2

from benchmarks import precision
from colorization.engines import openvino


def test_the_precision_table_compares_bf16_with_fp32_on_the_same_engine(
    lightness_model, photos, tmp_path, capsys, request
):
    if "bf16" not in openvino.device_precisions(openvino.CPU_DEVICE):
        request.getfixturevalue("simulated_bf16")
    for index, photo in enumerate(photos[:2]):
        cv2.imwrite(str(tmp_path / f"photo{index}.png"), photo)
    arguments = ["--images", str(tmp_path), "--runs", "1", "--warmup", "0"]
    for role in ("prototxt", "caffemodel", "points"):
        arguments += [f"--{role}", str(lightness_model[role])]
    assert precision.main(arguments) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("reduced precision against fp32 on 2 photos")
    rows = {line.split("  ")[0].strip(): line for line in lines if re.match(r"(fp32|bf16|OpenCV sample)", line)}
    assert set(rows) == {"fp32 (reference)", "fp32", "bf16", "OpenCV sample"}
    assert "OpenVINO" in rows["bf16"] and "precision: bf16" in rows["bf16"]
    ab_mean, ab_p99, ab_max = (float(value) for value in rows["bf16"].split("precision: bf16")[1].split()[:3])
    assert 0 < ab_mean <= ab_p99 <= ab_max < 5, "bf16 moves the colours a little, never far"
    assert re.search(r"\d+\.\d ms +\d+\.\d\dx$", rows["bf16"]), "its forward time beside the sample's"
    assert any(line.startswith("fp16: not available here (") for line in lines), "no fp16 on a CPU: said, not crashed"
