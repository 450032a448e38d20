"""The REST API and page server with the tiny test model: options, errors, limits, token rule, queue, cache."""

from __future__ import annotations

import io
import logging
import socket
import struct
import threading
import time
import zipfile
import zlib

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from colorization import Colorizer
from colorization.errors import ModelFileError
from colorization.model import annealed_mean
from colorization.pipeline import Colorizer as PipelineColorizer
from colorization.web import WebService, WebSettings, app_for, create_app
from colorization.web import photos as web_photos
from tests.test_image_io import jpeg_with_orientation

LOOPBACK = "http://127.0.0.1:8000"
TOKEN = "test-token-0123456789abcdef"


def png_bytes(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


@pytest.fixture
def tiny_colorizer(lightness_model):
    return Colorizer.load(engine="caffe", **lightness_model)


@pytest.fixture
def client(tiny_colorizer):
    with TestClient(create_app(tiny_colorizer), base_url=LOOPBACK) as test_client:
        yield test_client


@pytest.fixture
def photo(photos):
    return cv2.cvtColor(cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def test_health_says_model_engine_backend_and_queue(client):
    health = client.get("/api/health").json()
    assert health["model_loaded"] is True and health["problem"] is None
    assert "Caffe" in health["engine"] and health["backend"] == "CPU, fp32"
    assert health["queue_length"] == 0


def test_scores_decode_to_the_networks_own_annealed_mean(tiny_colorizer, photo):
    prepared = tiny_colorizer.prepare(photo)
    scores = tiny_colorizer.predict_scores([prepared])[0]
    assert scores.shape == (313, 56, 56) and scores.dtype == np.float32
    ab = annealed_mean(scores, tiny_colorizer.points, tiny_colorizer.scale)
    np.testing.assert_allclose(ab, tiny_colorizer.predict_ab([prepared])[0], atol=1e-3)


def test_colorize_multipart_and_raw_body_in_both_formats(client, tiny_colorizer, photo):
    data = png_bytes(photo)
    expected = tiny_colorizer.colorize(photo)
    multipart = client.post("/api/colorize?format=png", files={"file": ("grandpa.png", data, "image/png")})
    raw = client.post("/api/colorize?format=png", content=data, headers={"Content-Type": "application/octet-stream"})
    for response in (multipart, raw):
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert np.abs(decode(response.content).astype(int) - expected).max() <= 1
    jpeg = client.post("/api/colorize", content=data)
    assert jpeg.headers["content-type"] == "image/jpeg" and jpeg.content[:2] == b"\xff\xd8"
    assert decode(jpeg.content).shape == photo.shape


@pytest.mark.parametrize(
    "query, keywords",
    [
        ("temperature=0.2", {"temperature": 0.2}),
        ("temperature=1", {"temperature": 1.0}),
        ("saturation=1.8", {"saturation": 1.8}),
        ("saturation=0", {"saturation": 0.0}),
        ("upsample=bilinear", {"upsample": "bilinear"}),
        (
            "upsample=guided&temperature=0.5&saturation=1.3",
            {"upsample": "guided", "temperature": 0.5, "saturation": 1.3},
        ),
    ],
)
def test_each_option_gives_what_a_fresh_colorization_gives(client, lightness_model, photo, query, keywords):
    """The cached scores re-rendered with new settings equal a fresh run of colorize.py's Colorizer with them."""
    expected = Colorizer.load(engine="caffe", **lightness_model, **keywords).colorize(photo)
    direct = client.post(f"/api/colorize?format=png&{query}", content=png_bytes(photo))
    added = client.post("/api/photos", files={"file": ("p.png", png_bytes(photo))}).json()
    client.get(f"/api/photos/{added['id']}/preview?temperature=0.9&saturation=0.4")
    cached = client.get(f"/api/photos/{added['id']}/download?format=png&{query}")
    for response in (direct, cached):
        assert response.status_code == 200
        assert np.abs(decode(response.content).astype(int) - expected).max() <= 1


def test_cached_scores_re_render_like_a_colorize_py_run(client, lightness_model, photo, tmp_path):
    """Slider moves on the page, then the download: the very pixels `colorize.py` writes with those settings."""
    from tests.support.tiny_model import colorize_with_caffe

    source, written = tmp_path / "grandpa.png", tmp_path / "colour.png"
    cv2.imwrite(str(source), photo)
    options = ["--temperature", "0.3", "--saturation", "1.4", "--upsample", "bilinear"]
    assert colorize_with_caffe(source, written, lightness_model, *options) == 0
    photo_id = client.post("/api/photos", content=source.read_bytes()).json()["id"]
    for temperature in ("0.9", "0.15", "0.5"):
        assert client.get(f"/api/photos/{photo_id}/preview?temperature={temperature}").status_code == 200
    downloaded = client.get(
        f"/api/photos/{photo_id}/download?format=png&temperature=0.3&saturation=1.4&upsample=bilinear"
    )
    difference = np.abs(decode(downloaded.content).astype(int) - cv2.imread(str(written)).astype(int))
    assert difference.max() <= 1


def test_options_change_the_picture(bimodal_model, photo):
    """Two colourful modes: the plain mean (T=1) is dull, annealing (low T) moves to the stronger mode."""
    data = png_bytes(photo)
    colorizer = Colorizer.load(engine="caffe", **bimodal_model)
    with TestClient(create_app(colorizer), base_url=LOOPBACK) as client:

        def chroma(query):
            lab = cv2.cvtColor(
                decode(client.post(f"/api/colorize?format=png&{query}", content=data).content), cv2.COLOR_BGR2Lab
            )
            return np.abs(lab[:, :, 1:].astype(int) - 128).mean()

        assert chroma("saturation=0") < 1 < chroma("saturation=1")
        assert chroma("temperature=0.1") > chroma("temperature=1") + 2
        small = client.post("/api/colorize?quality=20", content=data).content
        large = client.post("/api/colorize?quality=100", content=data).content
    assert len(small) < len(large)


@pytest.mark.parametrize(
    "query, words",
    [
        ("temperature=abc", "temperature must be a number"),
        ("temperature=0", "temperature must be a number"),
        ("temperature=nan", "temperature must be a number"),
        ("saturation=-1", "saturation must be a number"),
        ("upsample=bicubic", "upsample must be one of"),
        ("format=gif", "format must be jpeg or png"),
        ("quality=101", "quality must be a whole number"),
        ("quality=high", "quality must be a whole number"),
    ],
)
def test_bad_options_are_400_with_one_line(client, photo, query, words):
    response = client.post(f"/api/colorize?{query}", content=png_bytes(photo))
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_not_a_picture_is_decided_by_decoding_not_by_name(client, photo):
    text = client.post("/api/colorize", files={"file": ("photo.jpg", b"hello, not a picture", "image/jpeg")})
    assert text.status_code == 415 and "not a picture" in text.json()["error"]
    truncated = png_bytes(photo)[:200]
    broken = client.post("/api/colorize", files={"file": ("photo.png", truncated, "image/png")})
    assert broken.status_code == 422 and "error" in broken.json()
    empty = client.post("/api/colorize", content=b"")
    assert empty.status_code == 422
    renamed = client.post("/api/colorize", files={"file": ("notes.txt", png_bytes(photo), "text/plain")})
    assert renamed.status_code == 200


def test_multipart_without_a_file_field_is_400(client, photo):
    response = client.post("/api/colorize", files={"picture": ("p.png", png_bytes(photo))})
    assert response.status_code == 400 and "'file'" in response.json()["error"]


def test_upload_over_the_limit_is_413(tiny_colorizer, photo):
    settings = WebSettings(max_upload_bytes=10_000)
    with TestClient(create_app(tiny_colorizer, settings), base_url=LOOPBACK) as client:
        response = client.post("/api/colorize", content=png_bytes(photo) + b"\0" * 100_000)
    assert response.status_code == 413 and "--max-upload-mb" in response.json()["error"]


def png_bomb(width: int, height: int) -> bytes:
    """A valid grey PNG of zeros: a few hundred kB that would decode to width x height bytes."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    rows_per_chunk = max(1, (1 << 22) // len(row))
    idat = bytearray()
    for first in range(0, height, rows_per_chunk):
        idat += compressor.compress(row * min(rows_per_chunk, height - first))
    idat += compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", bytes(idat))
        + chunk(b"IEND", b"")
    )


def jpeg_header_claiming(width: int, height: int) -> bytes:
    frame = struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0])
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(frame) + 2) + frame + b"\xff\xd9"


def test_decompression_bomb_is_refused_from_its_header_without_decoding(client, monkeypatch):
    bomb = png_bomb(12_000, 10_000)
    assert len(bomb) < 1_000_000

    def no_decoding(*args, **kwargs):
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(web_photos.cv2, "imdecode", no_decoding)
    for data in (bomb, jpeg_header_claiming(60_000, 60_000)):
        response = client.post("/api/colorize", content=data)
        assert response.status_code == 413 and "--max-pixels" in response.json()["error"]


def test_pixel_limit_counts_the_pictures_own_size(tiny_colorizer, photo):
    with TestClient(create_app(tiny_colorizer, WebSettings(max_pixels=1000)), base_url=LOOPBACK) as client:
        response = client.post("/api/colorize", content=png_bytes(photo))
    assert response.status_code == 413


def test_page_flow_preview_grey_download_zip(client, photo):
    height, width = photo.shape[:2]
    added = client.post("/api/photos", files={"file": ("../../etc/grandpa's photo.png", png_bytes(photo))})
    assert added.status_code == 200
    body = added.json()
    assert (body["width"], body["height"]) == (width, height) and body["name"] == "grandpa_s photo"
    photo_id = body["id"]
    dull = client.get(f"/api/photos/{photo_id}/preview?temperature=1")
    vivid = client.get(f"/api/photos/{photo_id}/preview?temperature=0.1")
    assert dull.status_code == vivid.status_code == 200 and dull.headers["content-type"] == "image/jpeg"
    assert "render;dur=" in vivid.headers["server-timing"]
    assert not np.array_equal(decode(dull.content), decode(vivid.content))
    grey = decode(client.get(f"/api/photos/{photo_id}/grey").content).astype(int)
    assert np.abs(grey[:, :, 0] - grey[:, :, 2]).max() <= 2
    download = client.get(f"/api/photos/{photo_id}/download")
    assert download.headers["content-type"] == "image/jpeg"
    assert 'filename="grandpa_s photo_colorized.jpg"' in download.headers["content-disposition"]
    assert decode(download.content).shape == photo.shape
    second = client.post("/api/photos", content=png_bytes(photo)).json()["id"]
    archive = client.post("/api/zip", json={"photos": [{"id": photo_id, "temperature": 0.3}, {"id": second}]})
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        names = opened.namelist()
        assert len(names) == 2 and all(name.endswith(".jpg") for name in names)
        assert all(decode(opened.read(name)).shape == photo.shape for name in names)
    assert client.post("/api/zip", json={"photos": []}).status_code == 400
    assert client.post("/api/zip", content=b"not json").status_code == 400


def test_preview_is_screen_sized(tiny_colorizer, photo):
    with TestClient(create_app(tiny_colorizer, WebSettings(preview_side=100)), base_url=LOOPBACK) as client:
        photo_id = client.post("/api/photos", content=png_bytes(photo)).json()["id"]
        preview = decode(client.get(f"/api/photos/{photo_id}/preview").content)
    assert max(preview.shape[:2]) == 100


def test_downloads_are_upright_and_full_size(client, photo):
    height, width = photo.shape[:2]
    rotated = jpeg_with_orientation(photo, 6)
    photo_id = client.post("/api/photos", content=rotated).json()["id"]
    assert decode(client.get(f"/api/photos/{photo_id}/download?format=png").content).shape[:2] == (width, height)


def test_unknown_and_evicted_photos(tiny_colorizer, photo):
    with TestClient(create_app(tiny_colorizer, WebSettings(cache_bytes=1)), base_url=LOOPBACK) as client:
        first = client.post("/api/photos", content=png_bytes(photo)).json()["id"]
        second = client.post("/api/photos", content=png_bytes(photo)).json()["id"]
        assert client.get(f"/api/photos/{second}/preview").status_code == 200
        gone = client.get(f"/api/photos/{first}/preview")
        assert gone.status_code == 410 and "add it again" in gone.json()["error"]
        assert client.get("/api/photos/nope/preview").status_code == 404
        assert client.get("/api/health").json()["photos_cached"] == 1


def test_token_rule(tiny_colorizer, photo):
    settings = WebSettings(token=TOKEN, allowed_hosts=None)
    with TestClient(create_app(tiny_colorizer, settings), base_url="http://192.168.1.20:8000") as client:
        for path in ("/", "/api/health", "/static/app.js"):
            refused = client.get(path)
            assert refused.status_code == 401 and "token" in refused.json()["error"]
        assert client.get("/api/health", headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
        assert client.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        colorized = client.post("/api/colorize", content=png_bytes(photo), headers={"Authorization": f"Bearer {TOKEN}"})
        assert colorized.status_code == 200
        entered = client.get(f"/?token={TOKEN}", follow_redirects=False)
        assert entered.status_code == 303 and entered.headers["location"] == "/"
        assert "httponly" in entered.headers["set-cookie"].lower()
        assert client.get("/").status_code == 200
        assert client.get("/api/health").status_code == 200


def test_loopback_server_answers_only_to_loopback_host_names(tiny_colorizer):
    with TestClient(create_app(tiny_colorizer), base_url="http://attacker.example:8000") as client:
        assert client.get("/api/health").status_code == 403
    with TestClient(create_app(tiny_colorizer), base_url="http://localhost:8000") as client:
        assert client.get("/api/health").status_code == 200


def test_full_queue_answers_503_with_retry_after(tiny_colorizer, photo, monkeypatch):
    release = threading.Event()
    started = threading.Event()
    real = PipelineColorizer.predict_scores

    def slow_predict(colorizer, prepared):
        started.set()
        release.wait(10)
        return real(colorizer, prepared)

    monkeypatch.setattr(PipelineColorizer, "predict_scores", slow_predict)
    service = WebService.load(tiny_colorizer, WebSettings(queue_size=1))
    data = png_bytes(photo)
    results = []
    with TestClient(app_for(service), base_url=LOOPBACK) as client:
        workers = [
            threading.Thread(target=lambda: results.append(client.post("/api/colorize", content=data).status_code))
            for _ in range(2)
        ]
        workers[0].start()
        assert started.wait(10)
        workers[1].start()
        deadline = time.monotonic() + 10
        while service.heavy.pending < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/api/health").json()["queue_length"] == 1
        busy = client.post("/api/colorize", content=data)
        assert busy.status_code == 503 and busy.headers["retry-after"].isdigit()
        assert "busy" in busy.json()["error"]
        release.set()
        for worker in workers:
            worker.join(10)
    assert results == [200, 200]


def test_missing_model_is_shown_not_fatal():
    def loader():
        raise ModelFileError(
            "models/colorization_release_v2.caffemodel is missing: run python fetch_models.py (automatic download is off: --no-download)"
        )

    with TestClient(create_app(loader), base_url=LOOPBACK) as client:
        health = client.get("/api/health").json()
        assert health["model_loaded"] is False and "python fetch_models.py" in health["problem"]
        assert client.get("/").status_code == 200
        refused = client.post("/api/colorize", content=b"x")
        assert refused.status_code == 503 and "fetch_models.py" in refused.json()["error"]


def test_unexpected_failure_is_json_without_a_traceback(tiny_colorizer, photo, monkeypatch):
    def broken(*args):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(PipelineColorizer, "predict_scores", broken)
    with TestClient(create_app(tiny_colorizer), base_url=LOOPBACK, raise_server_exceptions=False) as client:
        response = client.post("/api/colorize", content=png_bytes(photo))
    assert response.status_code == 500
    assert response.json() == {"error": "the server failed on this request (the reason is in its log)"}


def test_page_is_self_contained_with_strict_policy(client):
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    for path in ("/", "/static/app.js", "/static/hints.js", "/static/style.css", "/docs"):
        text = client.get(path).text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
    assert client.get("/static/../app.py").status_code == 404
    assert client.get("/nothing").json() == {"error": "no such page or endpoint"}


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/api/colorize", "/api/health"} <= set(schema["paths"])
    names = {parameter["name"] for parameter in schema["paths"]["/api/colorize"]["post"]["parameters"]}
    assert names == {"temperature", "saturation", "upsample", "format", "quality", "hints"}


def test_command_access_rule_and_port(capsys):
    from colorization.commands import web
    from colorization.errors import UsageError

    def settings(*argv):
        return web.settings_from_args(web.build_parser().parse_args(list(argv)))

    assert settings().token is None and settings().allowed_hosts is not None
    exposed = settings("--host", "0.0.0.0")
    assert exposed.token and len(exposed.token) >= 24 and exposed.allowed_hosts is None
    assert settings("--host", "0.0.0.0", "--token", TOKEN).token == TOKEN
    assert settings("--host", "0.0.0.0", "--no-auth").token is None
    for argv in (("--token", "short"), ("--token", TOKEN, "--no-auth")):
        with pytest.raises(UsageError):
            settings(*argv)
    for argv in (
        ("--queue", "-1"),
        ("--max-upload-mb", "inf"),
        ("--max-pixels", "nan"),
        ("--max-megapixels", "nan"),
        ("--port", "70000"),
    ):
        with pytest.raises(SystemExit) as refused:
            settings(*argv)
        assert refused.value.code == 2 and argv[0] in capsys.readouterr().err
    taken = web.bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    try:
        other = web.bind("127.0.0.1", port)
        assert other.getsockname()[1] > port
        other.close()
    finally:
        taken.close()


def test_pixel_limit_is_max_pixels_with_the_old_megapixels_kept_as_a_deprecated_alias(capsys):
    """--max-pixels means what it means in the other commands (0: no limit); --max-megapixels still works, with one
    line on stderr saying what to write instead (silenced by -q, like any warning)."""
    from colorization.commands import arguments, web

    def settings(*argv):
        return web.settings_from_args(arguments.parse_arguments(web.build_parser(), list(argv)))

    assert settings().max_pixels == 100_000_000 and capsys.readouterr().err == ""
    assert settings("--max-pixels", "1200").max_pixels == 1200 and settings("--max-pixels", "0").max_pixels == 0
    assert capsys.readouterr().err == ""
    assert settings("--max-megapixels", "0.0012").max_pixels == 1200
    assert (
        capsys.readouterr().err
        == "warning: --max-megapixels is deprecated: use --max-pixels 1200 (the same limit, in pixels)\n"
    )
    assert settings("-q", "--max-megapixels", "2.5").max_pixels == 2_500_000 and capsys.readouterr().err == ""


def test_pixel_limit_0_is_no_limit(tiny_colorizer, photo):
    """max_pixels 0 is no limit, as --max-pixels 0 is for colorize.py, not a limit no picture passes."""
    with TestClient(create_app(tiny_colorizer, WebSettings(max_pixels=0)), base_url=LOOPBACK) as client:
        response = client.post("/api/colorize", content=png_bytes(photo))
        assert response.status_code == 200 and client.get("/api/health").json()["max_pixels"] == 0


def stalled_upload(address: str, path: str = "/api/colorize") -> socket.socket:
    """A client that declares a 10 MB picture, sends its first kilobyte, and then nothing."""
    host, port = address.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {10 << 20}\r\n\r\n".encode()
        + b"\x89PNG\r\n\x1a\n"
        + b"\0" * 1016
    )
    return connection


def answer_of(connection: socket.socket) -> bytes:
    connection.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def test_stalled_uploads_time_out_and_free_the_queue_while_others_are_served(tiny_colorizer, photo, caplog):
    """Nine slow-loris uploads fill the queue (one running, eight waiting); the page's other requests are served
    meanwhile, each stalled upload is cut with 408 once it has sent nothing for body_idle_seconds, and the queue
    takes photos again."""
    import httpx

    from tests.support.web_server import serving

    settings = WebSettings(queue_size=8, body_idle_seconds=1.0, allowed_hosts=None)
    with serving(create_app(tiny_colorizer, settings), log_config=None) as address:
        started = time.monotonic()
        stalled = [stalled_upload(address) for _ in range(9)]
        time.sleep(0.3)
        assert httpx.get(f"{address}/api/health").json()["queue_length"] == 9
        assert httpx.post(f"{address}/api/colorize", content=png_bytes(photo)).status_code == 503
        answers = [answer_of(connection) for connection in stalled]
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers
        assert time.monotonic() - started < 8
        served = httpx.post(f"{address}/api/colorize", content=png_bytes(photo), timeout=30)
        assert served.status_code == 200 and decode(served.content).shape == photo.shape
        for connection in stalled:
            connection.close()
    assert "Traceback" not in caplog.text and "Exception in ASGI application" not in caplog.text


def test_a_trickling_upload_is_cut_too(tiny_colorizer):
    settings = WebSettings(body_idle_seconds=0.5, min_upload_rate=100_000, allowed_hosts=None)
    from tests.support.web_server import serving

    with serving(create_app(tiny_colorizer, settings), log_config=None) as address:
        connection = stalled_upload(address)
        for _ in range(12):  # 1 byte every 0.1 s: never idle for 0.5 s, but far too slow
            time.sleep(0.1)
            connection.sendall(b"\0")
        assert answer_of(connection).startswith(b"HTTP/1.1 408")
        connection.close()


def test_clients_that_leave_are_not_logged_as_failures(tiny_colorizer, photo, caplog, monkeypatch):
    """Clients that close their connection mid-upload, or before the answer, leave no traceback in the log."""
    from tests.support.web_server import serving

    caplog.set_level(logging.INFO, logger="colorization")
    monkeypatch.setattr(logging.getLogger("colorization"), "propagate", True)  # earlier commands may have stopped it

    data = png_bytes(photo)
    with serving(create_app(tiny_colorizer, WebSettings(allowed_hosts=None)), log_config=None) as address:
        host, port = address.removeprefix("http://").split(":")
        for request in (
            stalled_upload(address),
            stalled_upload(address, "/api/photos"),
        ):
            time.sleep(0.2)
            request.close()
        finished = socket.create_connection((host, int(port)))
        finished.sendall(
            f"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
        )
        finished.close()
        time.sleep(1.5)
    assert "Traceback" not in caplog.text and "Exception in ASGI application" not in caplog.text
    assert "the client disconnected" in caplog.text
