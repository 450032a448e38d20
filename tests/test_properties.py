"""Property-based tests (Hypothesis) of everything that reads what users or clients give: every typed option of
every command, the web API's query values, multipart bodies and ZIP requests, and picture headers (random bytes
after a real signature) through the one picture reader. Whatever the input, the only way out is the documented
error: a usage error (exit 2, one line), a WebError with its status, or an ImageError / ModelFileError."""

from __future__ import annotations

import io
import json
import struct

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from colorization.commands import COMMANDS
from colorization.errors import ImageError, ModelFileError, UsageError
from colorization.hints import HintError, hints_from_json, parse_colour, parse_hint
from colorization.image_io import decode_picture
from colorization.model_files import load_points
from colorization.outputs import check_suffix
from colorization.photo_metadata import exif_orientation, repaired_exif, with_orientation
from colorization.web.photos import RenderSettings, WebError, display_name, parse_format
from colorization.web.uploads import picture_from_body, upload_label

REQUIRED = {"photo": ["-i", "x.png"], "video": ["-i", "x.mp4"], "eval": ["folder"]}
"""What each command needs besides the option under test for its arguments to parse."""
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", "9" * 400, "1/0", "0/0", "3/2", "１２", "²", " 7 "]
    ),
    st.integers().map(str),
    st.floats().map(repr),
)
"""User text: anything, and the numbers that break naive parsers (NaN, infinities, overflows, unicode digits)."""


def typed_options():
    """(command, option) for every option of every command that parses its value."""
    import importlib

    found = []
    for name, (module, _) in COMMANDS.items():
        parser = importlib.import_module(f"colorization.commands.{module}").build_parser()
        found += [
            (name, action.option_strings[-1]) for action in parser._actions if action.option_strings and action.type
        ]
    return found


@pytest.mark.parametrize("command, option", typed_options())
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_every_typed_option_takes_a_value_or_says_why_in_one_line(command, option, text, capsys):
    import importlib

    parser = importlib.import_module(f"colorization.commands.{COMMANDS[command][0]}").build_parser()
    try:
        parser.parse_args([*REQUIRED.get(command, []), f"{option}={text}"])
    except SystemExit as exit:
        assert exit.code == 2
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1 and option in error


@settings(max_examples=200)
@given(text=st.text(max_size=30))
def test_a_suffix_is_part_of_a_name_or_refused(text):
    try:
        suffix = check_suffix(text)
    except UsageError:
        return
    assert "/" not in suffix and "\\" not in suffix and "\0" not in suffix and suffix not in (".", "..")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
"""What a client can put in a query string or a JSON body."""


HINT_VALUES = st.lists(
    st.fixed_dictionaries(
        {
            "x": st.integers(-5, 5000) | st.floats(),
            "y": st.integers(-5, 5000) | st.floats(),
            "colour": st.sampled_from(["red", "#b22222", "#12345", "notacolour", "#fff", ""]) | st.text(max_size=8),
        },
        optional={"radius": JSON_VALUES, "color": st.just("red"), "z": st.just(1)},
    ),
    max_size=4,
)
"""Hint lists as a client may send them: mostly well formed, with the mistakes users make."""
HINTS = HINT_VALUES | HINT_VALUES.map(json.dumps) | JSON_VALUES | TEXT


@settings(max_examples=300)
@given(
    temperature=JSON_VALUES | TEXT,
    saturation=JSON_VALUES | TEXT,
    upsample=JSON_VALUES | TEXT,
    format_name=JSON_VALUES | TEXT,
    quality=JSON_VALUES | TEXT,
    hints=HINTS,
)
def test_web_settings_are_parsed_or_refused_with_400(temperature, saturation, upsample, format_name, quality, hints):
    try:
        parsed = RenderSettings.parse(temperature, saturation, upsample, hints)
        assert parsed.temperature is None or 0.01 <= parsed.temperature <= 10
        assert parsed.saturation is None or 0 <= parsed.saturation <= 4
        assert isinstance(parsed.hints, tuple) and hash(parsed) is not None
        parsed.check_fits(640, 480)
        assert all(hint.fraction or (hint.x < 640 and hint.y < 480) for hint in parsed.hints)
        name, level = parse_format(format_name, quality)
        assert name in ("jpeg", "png") and 1 <= level <= 100
    except WebError as error:
        assert error.status == 400 and "\n" not in error.message


@settings(max_examples=300)
@given(
    name=st.one_of(st.none(), st.text(max_size=100), st.sampled_from(["../../etc/passwd", "..", "a\\b\\c.png", "\0x"]))
)
def test_a_clients_file_name_is_only_ever_a_label(name):
    for label in (display_name(name), upload_label(name)):
        assert label and "/" not in label and "\\" not in label and "\0" not in label and not label.startswith("..")


MULTIPART_TYPES = st.one_of(
    st.text(max_size=60),
    st.just("multipart/form-data"),
    st.text(max_size=20).map(lambda b: f"multipart/form-data; boundary={b}"),
)


def hints_form(boundary: str, hints: bytes, filename: bool) -> bytes:
    """A form with a small picture field and a `hints` field (a file part when `filename`)."""
    named = '; filename="h.json"' if filename else ""
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.png"\r\n\r\nPNG\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="hints"{named}\r\n\r\n'
        ).encode()
        + hints
        + f"\r\n--{boundary}--\r\n".encode()
    )


@settings(max_examples=300)
@given(
    content_type=MULTIPART_TYPES,
    body=st.binary(max_size=300),
    boundary=st.sampled_from(["b", "zz", "--"]),
    hints=st.binary(max_size=60) | HINT_VALUES.map(lambda value: json.dumps(value).encode()),
    filename=st.booleans(),
)
def test_request_bodies_give_a_picture_or_a_4xx(content_type, body, boundary, hints, filename):
    forms = [
        (content_type, body),
        (f"multipart/form-data; boundary={boundary}", f"--{boundary}\r\n".encode() + body),
        (f"multipart/form-data; boundary={boundary}", hints_form(boundary, hints, filename)),
    ]
    for kind, data in forms:
        try:
            picture, name, fields = picture_from_body(kind, data, 1000)
            assert len(picture) <= 1000 and isinstance(name, str) and set(fields) <= {"hints"}
            if data is forms[2][1] and not set(b"\r\n-") & set(hints):
                assert fields == {"hints": hints.decode("utf-8", "replace")}
        except WebError as error:
            assert 400 <= error.status < 500 and "\n" not in error.message


@settings(max_examples=300)
@given(
    text=TEXT
    | st.builds(
        lambda *parts: ",".join(parts), TEXT, TEXT, TEXT | st.sampled_from(["red", "#b22222", "#fff", "skyblue"])
    )
)
def test_a_hint_is_parsed_or_one_hint_error(text):
    try:
        hint = parse_hint(text)
    except HintError as error:
        assert "\n" not in str(error)
        return
    assert hint is not None and parse_colour(hint.colour)


@settings(max_examples=200)
@given(
    data=JSON_VALUES.map(json.dumps)
    | st.binary(max_size=60)
    | st.sampled_from(["[" * 5000, '[{"x": 1e999, "y": 0, "colour": "red"}]'])
)
def test_a_hints_file_is_hints_or_one_hint_error(data):
    try:
        hints = hints_from_json(data, "h.json")
    except HintError as error:
        assert "\n" not in str(error) and str(error).startswith("h.json")
        return
    assert isinstance(hints, list)


def signature_files() -> dict[str, bytes]:
    """A small real picture in each format the reader takes: their first bytes are the signatures."""
    image = np.tile(np.arange(48, dtype=np.uint8) * 5, (32, 1))
    extensions = (".png", ".jpg", ".tif", ".webp", ".bmp", ".pgm", ".jp2", ".avif")
    found = {extension: cv2.imencode(extension, image)[1].tobytes() for extension in extensions}
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "GIF")
    found[".gif"] = buffer.getvalue()
    return found


SIGNED = signature_files()


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(sorted(SIGNED)),
    keep=st.integers(0, 64),
    tail=st.binary(max_size=400),
    flips=st.lists(st.integers(0, 10**6), max_size=4),
)
def test_random_bytes_after_a_real_signature_are_a_picture_or_one_image_error(kind, keep, tail, flips):
    """Headers kept in part and the rest random, or a real file with bytes flipped: a Picture, or an ImageError;
    never another exception, never more than the (small) pixel limit decoded."""
    real = SIGNED[kind]
    for data in (real[: min(keep, len(real))] + tail, flipped(real, flips)):
        try:
            picture = decode_picture(data, f"x{kind}", max_pixels=100_000)
        except ImageError as error:
            assert "\n" not in str(error) and str(error).startswith(f"x{kind}")
            continue
        assert (
            picture.image.dtype in (np.uint8, np.uint16) and picture.image.shape[0] * picture.image.shape[1] <= 100_000
        )


def flipped(data: bytes, positions: list[int]) -> bytes:
    changed = bytearray(data)
    for position in positions:
        changed[position % len(changed)] ^= 0xFF
    return bytes(changed)


@settings(max_examples=400)
@given(order=st.sampled_from([b"II*\x00", b"MM\x00*"]), rest=st.binary(max_size=300))
def test_any_exif_block_is_repaired_or_dropped_never_an_error(order, rest):
    block = order + rest
    repaired = repaired_exif(block)
    exif_orientation(b"\xff\xd8\xff\xe1" + struct.pack(">H", len(block) + 8) + b"Exif\0\0" + block)
    if repaired is not None:
        assert len(repaired) == len(block) and repaired_exif(repaired) == repaired
        assert with_orientation(repaired, 1) is not None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.dictionaries(
        st.sampled_from(["descr", "fortran_order", "shape"]), JSON_VALUES | st.sampled_from(["<f4", "|O", "<U3", "<c8"])
    ),
    data=st.binary(max_size=64),
)
def test_points_files_load_or_are_one_model_error(tmp_path_factory, header, data):
    path = tmp_path_factory.mktemp("points") / "points.npy"
    text = repr(header).encode()
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + 1) + text + b"\n" + data)
    try:
        points = load_points(path)
    except ModelFileError as error:
        assert "\n" not in str(error)
        return
    assert points.shape == (313, 2) and np.isfinite(points).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON_VALUES.map(json.dumps) | st.text(max_size=50))
def test_zip_requests_are_answered_with_json_never_a_500(zip_client, body):
    answer = zip_client.post("/api/zip", content=body)
    assert answer.status_code in (400, 404, 410) and "\n" not in answer.json()["error"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hints=HINTS)
def test_hints_in_a_zip_request_give_the_zip_or_one_400(zip_client, zip_photo, hints):
    body = json.dumps({"photos": [{"id": zip_photo, "hints": hints}]})  # NaN and Infinity too, as Python writes them
    answer = zip_client.post("/api/zip", content=body)
    if answer.status_code != 200:
        assert answer.status_code == 400 and "\n" not in answer.json()["error"]


@pytest.fixture(scope="module")
def zip_photo(zip_client) -> str:
    """A 64x48 photo the ZIP client's server holds (hints past it are outside)."""
    grey = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
    return zip_client.post("/api/photos", content=cv2.imencode(".png", grey)[1].tobytes()).json()["id"]


@pytest.fixture(scope="module")
def zip_client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from colorization.pipeline import Colorizer
    from colorization.web import create_app
    from tests.support.tiny_model import symmetric_points, write_tiny_model

    files = write_tiny_model(tmp_path_factory.mktemp("model"), np.zeros(313, np.float32), symmetric_points())
    with TestClient(create_app(Colorizer.load(engine="caffe", **files)), base_url="http://127.0.0.1:8000") as client:
        yield client


def test_signatures_are_real_pictures():
    """The property above starts from real files: each decodes whole."""
    for kind, data in SIGNED.items():
        assert decode_picture(data, kind).image.shape[:2] == (32, 48), kind
