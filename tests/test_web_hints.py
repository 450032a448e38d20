"""Colour hints through the REST API and the page's photo endpoints: the `hints` JSON as a query parameter or a form
field, the same pixels as colorize.py --hints and Colorizer.colorize, every bad form a 400 with HintError's line."""

from __future__ import annotations

import io
import json
import zipfile

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from colorization import Colorizer
from colorization.hints import Hint
from colorization.web import create_app
from tests.test_web_app import LOOPBACK, decode, png_bytes

HINTS = [{"x": 40, "y": 120, "colour": "#2e8b57"}, {"x": 0.9, "y": 0.1, "colour": "steelblue", "radius": 0.2}]
"""Pixels as the page sends them, and a fraction with a radius as a hints file may hold them."""
AS_HINTS = [Hint(40, 120, "#2e8b57"), Hint(0.9, 0.1, "steelblue", 0.2, fraction=True)]
SETTINGS = {"temperature": "0.5", "saturation": "1.5"}


@pytest.fixture
def two_tone() -> np.ndarray:
    """A 320x240 grey picture with some grain, dark left of a sharp edge and light right of it."""
    grey = np.full((240, 320), 170, np.uint8)
    grey[:, :150] = 80
    grain = np.random.default_rng(3).normal(0, 4, grey.shape)
    return cv2.cvtColor(np.clip(grey + grain, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


@pytest.fixture
def client(lightness_model):
    with TestClient(create_app(Colorizer.load(engine="caffe", **lightness_model)), base_url=LOOPBACK) as test_client:
        yield test_client


def test_page_cli_api_and_python_give_the_same_pixels(client, lightness_model, two_tone, tmp_path):
    """The page's full-size download, colorize.py --hints, POST /api/colorize (query parameter, form field, file
    part) and Colorizer.colorize: one picture for the same hints and settings."""
    from tests.support.tiny_model import colorize_with_caffe

    source, written, hints_file = tmp_path / "two_tone.png", tmp_path / "colour.png", tmp_path / "hints.json"
    cv2.imwrite(str(source), two_tone)
    hints_file.write_text(json.dumps(HINTS))
    options = ["--temperature", "0.5", "--saturation", "1.5", "--hints", str(hints_file)]
    assert colorize_with_caffe(source, written, lightness_model, *options) == 0
    expected = Colorizer.load(engine="caffe", temperature=0.5, saturation=1.5, **lightness_model).colorize(
        two_tone, AS_HINTS
    )
    data, text = png_bytes(two_tone), json.dumps(HINTS)
    photo_id = client.post("/api/photos", content=data).json()["id"]
    client.get(f"/api/photos/{photo_id}/preview", params={"hints": json.dumps(HINTS[:1])})  # a slider move meanwhile
    results = {
        "colorize.py": cv2.imread(str(written)),
        "page download": client.get(
            f"/api/photos/{photo_id}/download", params={**SETTINGS, "format": "png", "hints": text}
        ),
        "API query": client.post("/api/colorize", params={**SETTINGS, "format": "png", "hints": text}, content=data),
        "API form field": client.post(
            "/api/colorize", params={**SETTINGS, "format": "png"}, files={"file": ("p.png", data)}, data={"hints": text}
        ),
        "API file part": client.post(
            "/api/colorize",
            params={**SETTINGS, "format": "png"},
            files={"file": ("p.png", data), "hints": ("hints.json", text.encode())},
        ),
    }
    for name, result in results.items():
        image = result if isinstance(result, np.ndarray) else decode(result.content)
        assert np.abs(image.astype(int) - expected).max() <= 1, name
    unhinted = Colorizer.load(engine="caffe", temperature=0.5, saturation=1.5, **lightness_model).colorize(two_tone)
    assert np.abs(expected.astype(int) - unhinted).max() > 20, "the hints count"


def lab_of(response) -> np.ndarray:
    return cv2.cvtColor(decode(response.content).astype(np.float32) / 255, cv2.COLOR_BGR2Lab)


def test_hints_keep_their_colour_as_vividness_changes_and_saturation_scales_it(bimodal_model, two_tone):
    """Vividness changes the net's colour where no hint reaches, not the picked one; saturation scales both alike."""
    with TestClient(create_app(Colorizer.load(engine="caffe", **bimodal_model)), base_url=LOOPBACK) as client:
        photo_id = client.post("/api/photos", content=png_bytes(two_tone)).json()["id"]

        def preview(**settings):
            return lab_of(
                client.get(f"/api/photos/{photo_id}/preview", params={"hints": json.dumps(HINTS[:1]), **settings})
            )

        vivid, dull, faint = preview(temperature=0.1), preview(temperature=1), preview(temperature=0.1, saturation=0.5)
    hinted, elsewhere = (slice(60, 180), slice(20, 130)), (slice(60, 180), slice(190, 300))
    target = np.array(AS_HINTS[0].ab)
    assert np.linalg.norm(vivid[hinted][:, :, 1:] - target, axis=2).mean() < 8, (
        "the picked colour (as far as sRGB has it)"
    )
    assert np.abs(vivid[hinted][:, :, 1:] - dull[hinted][:, :, 1:]).mean() < 1
    assert np.abs(vivid[elsewhere][:, :, 1:] - dull[elsewhere][:, :, 1:]).mean() > 5
    ratio = (
        np.linalg.norm(faint[hinted][:, :, 1:], axis=2).mean() / np.linalg.norm(vivid[hinted][:, :, 1:], axis=2).mean()
    )
    assert 0.4 < ratio < 0.7, ratio  # half, and a little more where sRGB had clipped the full colour


MANY = json.dumps([{"x": 1, "y": 1, "colour": "red"}] * 10_000)
BAD_HINTS = [
    ('[{"x": 320, "y": 10, "colour": "red"}]', "hint 320,10,#ff0000 is outside the picture, which is 320x240 pixels"),
    ('[{"x": 1, "y": 1, "colour": "#12345"}]', "hints: hint 1: '#12345' is not a colour: give #rrggbb"),
    ('[{"x": 1, "y": 1, "colour": "notacolour"}]', "hints: hint 1: 'notacolour' is not a colour"),
    ('[{"x": 1, "y": 1, "colour": "red"}', "hints is not valid JSON (line 1 column"),
    ('{"x": 1, "y": 1, "colour": "red"}', "hints must be a JSON list of hints"),
    ('[{"x": 1, "y": 1, "colour": "red", "size": 3}]', "hints: hint 1: unknown key 'size'"),
    ('[{"x": -1, "y": 1, "colour": "red"}]', "hints: hint 1: x must be a number of at least 0"),
    (MANY, "hints: 10000 hints, more than the 1000 allowed"),
]


@pytest.mark.parametrize("hints, reason", BAD_HINTS, ids=lambda value: value[:30])
def test_every_bad_hint_is_400_with_the_reason_wherever_it_comes(client, two_tone, hints, reason):
    data = png_bytes(two_tone)
    photo_id = client.post("/api/photos", content=data).json()["id"]
    in_query = {"hints": hints} if len(hints) < 20_000 else None  # 10 000 hints do not fit in an address
    answers = {
        "API form field": client.post("/api/colorize", files={"file": ("p.png", data)}, data={"hints": hints}),
        "ZIP": client.post("/api/zip", json={"photos": [{"id": photo_id, "hints": hints}]}),
    }
    if in_query:
        answers["API query"] = client.post("/api/colorize", params=in_query, content=data)
        answers["preview"] = client.get(f"/api/photos/{photo_id}/preview", params=in_query)
        answers["download"] = client.get(f"/api/photos/{photo_id}/download", params=in_query)
    for name, answer in answers.items():
        assert answer.status_code == 400, (name, answer.text)
        error = answer.json()["error"]
        assert reason in error and "\n" not in error, (name, error)
        assert error.startswith("photo 1: ") == (name == "ZIP"), error


def test_hints_once_and_zip_lists(client, two_tone):
    data = png_bytes(two_tone)
    twice = client.post("/api/colorize", params={"hints": "[]"}, files={"file": ("p.png", data)}, data={"hints": "[]"})
    assert twice.status_code == 400 and "send them once" in twice.json()["error"]
    photo_id = client.post("/api/photos", content=data).json()["id"]
    listed = client.post(
        "/api/zip", json={"format": "png", "photos": [{"id": photo_id, "hints": HINTS}, {"id": photo_id}]}
    )
    with zipfile.ZipFile(io.BytesIO(listed.content)) as archive:
        hinted, plain = (decode(archive.read(name)) for name in sorted(archive.namelist()))
    download = client.get(f"/api/photos/{photo_id}/download", params={"format": "png", "hints": json.dumps(HINTS)})
    assert np.array_equal(hinted, decode(download.content)) and np.abs(hinted.astype(int) - plain).max() > 20
