"""The bad-input corpus's web server: the web command run as users run it, with small limits, and the requests it
must answer with a status and a one-line JSON error (tests/test_bad_inputs.py)."""

from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import quote

from PIL import Image

from tests.support import bad_inputs as bad
from tests.support.bounded_runs import Bounded, Finished, command
from tests.support.corpus_scene import Outcome, Scene
from tests.support.tiny_model import model_arguments


@dataclass(frozen=True)
class WebCase:
    name: str
    status: int
    names: str
    method: str = "POST"
    path: str = "/api/colorize"
    upload: str = ""
    """The picture sent as the multipart field `file` (the case's file name), from the corpus's pictures."""
    body: bytes | str | None = None
    content_type: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    """Form fields sent beside the upload."""


WEB_PICTURE_STATUS = {
    "empty": 422,
    "text": 415,
    "garbage_png": 422,
    "truncated_png": 422,
    "truncated_jpeg": 422,
    "png_bomb": 413,
    "jpeg_claiming_60000": 413,
    "bmp_claiming": 413,
    "gif_claiming": 413,
    "webp_claiming": 422,
    "pnm_claiming": 413,
    "float_tiff": 422,
    "multipage_tiff": 422,
    "animated_gif": 422,
    "animated_png": 422,
    "animated_webp": 422,
    "broken_exif": 200,
    "avif": 200,
}
WEB_LIMIT_ARGUMENTS = ("--max-pixels", "1200", "--max-upload-mb", "1", "--max-film-mb", "1")
"""The corpus's server takes pictures up to 1200 pixels (the good one exactly) and uploads, films too, up to 1 MB."""
PHOTO = "{photo}"
"""Stands for the id of a photo the server holds."""


def hints_query(*hints: dict) -> str:
    return "hints=" + quote(json.dumps(list(hints)))


OUTSIDE = {"x": 5000, "y": 1, "colour": "red"}
WEB_CASES = [
    *(
        WebCase(f"upload-{name}", status, f"{name}{extension}" if status != 200 else "", upload=f"{name}{extension}")
        for name, status in WEB_PICTURE_STATUS.items()
        for extension in [{**bad.PICTURE_BYTES, **bad.PICTURES_READ}[name][0]]
    ),
    WebCase("upload-at-the-pixel-limit", 200, "", upload="good.jpg"),
    WebCase("upload-past-the-pixel-limit", 413, "past_limit.png", upload="past_limit.png"),
    WebCase("upload-past-the-byte-limit", 413, "--max-upload-mb", body=b"\0" * ((1 << 20) + (64 << 10) + 1)),
    WebCase(
        "multipart-without-file",
        400,
        "'file'",
        body=b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n',
        content_type="multipart/form-data; boundary=b",
    ),
    WebCase("multipart-without-boundary", 400, "multipart", body=b"--b\r\n\r\n", content_type="multipart/form-data"),
    *(
        WebCase(f"query-{key}={value}", 400, key, path=f"/api/colorize?{key}={value}", upload="good.jpg")
        for key, value in (
            ("temperature", "nan"),
            ("temperature", "inf"),
            ("temperature", "1e999"),
            ("temperature", "-1"),
            ("temperature", "abc"),
            ("saturation", "nan"),
            ("saturation", "5"),
            ("upsample", "evil"),
            ("format", "gif"),
            ("quality", "1e999"),
            ("quality", "0"),
            ("quality", "nan"),
        )
    ),
    WebCase(
        "hints-outside-the-picture",
        400,
        "is outside the picture",
        path=f"/api/colorize?{hints_query(OUTSIDE)}",
        upload="good.jpg",
    ),
    WebCase(
        "hints-#12345",
        400,
        "'#12345' is not a colour",
        path=f"/api/colorize?{hints_query({'x': 1, 'y': 1, 'colour': '#12345'})}",
        upload="good.jpg",
    ),
    WebCase(
        "hints-notacolour-in-the-form",
        400,
        "'notacolour' is not a colour",
        upload="good.jpg",
        fields=(("hints", '[{"x": 1, "y": 1, "colour": "notacolour"}]'),),
    ),
    WebCase("hints-malformed-json", 400, "hints is not valid JSON", upload="good.jpg", fields=(("hints", '[{"x": 1'),)),
    WebCase(
        "hints-too-many",
        400,
        "10000 hints, more than the 1000 allowed",
        upload="good.jpg",
        fields=(("hints", json.dumps([{"x": 1, "y": 1, "colour": "red"}] * 10_000)),),
    ),
    WebCase("hints-deeply-nested", 400, "nests too deep", upload="good.jpg", fields=(("hints", "[" * 100_000),)),
    WebCase(
        "preview-hints-outside",
        400,
        "is outside the picture",
        "GET",
        f"/api/photos/{PHOTO}/preview?{hints_query(OUTSIDE)}",
    ),
    WebCase(
        "download-hints-nan",
        400,
        "x must be a number",
        "GET",
        f"/api/photos/{PHOTO}/download?{hints_query({'x': 'NaN', 'y': 1, 'colour': 'red'})}",
    ),
    WebCase(
        "zip-hints-not-a-list",
        400,
        "photo 1: hints must be a JSON list",
        path="/api/zip",
        body=json.dumps({"photos": [{"id": PHOTO, "hints": {"x": 1}}]}),
    ),
    WebCase("zip-deeply-nested", 400, "JSON", path="/api/zip", body="[" * 100_000),
    WebCase("zip-not-a-list", 400, "JSON", path="/api/zip", body='{"photos": "x"}'),
    WebCase("zip-climbing-id", 404, "no such photo", path="/api/zip", body='{"photos": [{"id": "../../etc/passwd"}]}'),
    WebCase(
        "zip-infinite-temperature",
        400,
        "temperature",
        path="/api/zip",
        body='{"photos": [{"id": "' + PHOTO + '", "temperature": 1e999}]}',
    ),
    WebCase("zip-too-many", 400, "at most", path="/api/zip", body=json.dumps({"photos": [{"id": PHOTO}] * 101})),
    WebCase("preview-nan", 400, "temperature", "GET", f"/api/photos/{PHOTO}/preview?temperature=nan"),
    WebCase("preview-bad-id", 404, "no such", "GET", "/api/photos/..%2F..%2Fetc/preview"),
    WebCase("preview-id-with-dots", 404, "no such photo", "GET", "/api/photos/....etc.passwd.../preview"),
    WebCase("preview-gone", 410, "no longer", "GET", "/api/photos/AAAAAAAAAAAAAAAAAAAAAAAA/preview"),
    WebCase("download-quality-inf", 400, "quality", "GET", f"/api/photos/{PHOTO}/download?quality=inf"),
    WebCase("film-text", 415, "not a film", path="/api/films", upload="text.jpg"),
    WebCase("film-picture", 415, "a picture, not a film", path="/api/films", upload="good.jpg"),
    WebCase("film-empty", 422, "empty", path="/api/films", upload="empty.png"),
    WebCase("film-truncated-gif", 422, "does not decode", path="/api/films", upload="gif_claiming.gif"),
    WebCase(
        "film-past-the-byte-limit", 413, "--max-film-mb", path="/api/films", body=b"\0" * ((1 << 20) + (64 << 10) + 1)
    ),
    WebCase("film-temperature-nan", 400, "temperature", path="/api/films?temperature=nan", upload="good.jpg"),
    WebCase("film-start-maybe", 400, "start", path="/api/films?start=maybe", upload="good.jpg"),
    WebCase("film-climbing-id", 404, "no such", "GET", "/api/films/..%2F..%2Fetc%2Fpasswd/download"),
    WebCase("film-id-with-dots", 404, "no such film", "GET", "/api/films/....etc.passwd.../download"),
    WebCase("film-unknown-cancel", 404, "no such film", path="/api/films/AAAAAAAAAAAAAAAAAAAA/cancel"),
]
"""Requests the corpus's web server must answer with the status, and a one-line JSON error naming what is wrong."""


def start_server(scene: Scene, *arguments) -> tuple[Bounded, str]:
    """The web command on a free port, under the corpus's bounds, once it answers."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Bounded(command("web", "--no-browser", "--port", port, *arguments), scene.root).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.process.poll() is None:
        printed = os.pread(server.outputs[0].fileno(), 4096, 0).decode()
        found = re.search(r"Serving on (http://127\.0\.0\.1:\d+)/", printed)
        if found:
            try:
                httpx.get(f"{found.group(1)}/api/health", timeout=5)
                return server, found.group(1)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    finished = server.wait(1)
    raise AssertionError(f"the web server did not start: {finished.stderr[-2000:]}")


def ask(address: str, case: WebCase, scene: Scene, photo: str) -> tuple[int, list[str], float]:
    """One request: its status, its error line (or the whole answer for /api/health), and how long it took."""
    import httpx

    path = case.path.replace(PHOTO, photo)
    body = case.body.replace(PHOTO, photo) if isinstance(case.body, str) else case.body
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    files = None
    if case.upload:
        folder = scene.root / ("web" if case.upload == "past_limit.png" else "pictures")
        files = {"file": (case.upload, (folder / case.upload).read_bytes())}
    started = time.monotonic()
    answer = httpx.request(
        case.method,
        address + path,
        content=body,
        files=files,
        data=dict(case.fields) or None,
        headers=headers,
        timeout=60,
    )
    seconds = time.monotonic() - started
    if case.path == "/api/health":
        return answer.status_code, [answer.text], seconds
    is_json = answer.headers.get("content-type", "").startswith("application/json")
    return answer.status_code, [answer.json()["error"]] if is_json and answer.status_code >= 400 else [], seconds


def serve_and_ask(scene: Scene) -> dict[str, Outcome]:
    """The corpus's requests to one server with small limits, then a server whose model loads but cannot run."""
    import httpx

    bad.good_picture((scene.root / "web").mkdir() or scene.root / "web" / "good.png")
    Image.new("L", (30, 41), 90).save(scene.root / "web" / "past_limit.png")
    server, address = start_server(scene, *scene.model, *WEB_LIMIT_ARGUMENTS, "--work-dir", scene.root / "web-films")
    added = httpx.post(
        f"{address}/api/photos",
        files={"file": ("good.jpg", (scene.root / "pictures" / "good.jpg").read_bytes())},
        timeout=60,
    )
    answers = {case.name: ask(address, case, scene, added.json()["id"]) for case in WEB_CASES}
    server.stop(2)  # SIGINT: the way a user stops it
    finished = server.wait()
    outcomes = {name: as_outcome(answer, finished) for name, answer in answers.items()}
    files = {**scene.files, "prototxt": scene.root / "bad-model" / "misspelt.prototxt"}
    server, address = start_server(scene, *model_arguments(files))
    answers = {
        "misspelt-model-health": ask(address, WebCase("health", 200, "", "GET", "/api/health"), scene, ""),
        "misspelt-model-upload": ask(address, WebCase("upload", 503, "", upload="good.jpg"), scene, ""),
    }
    server.stop(2)
    finished = server.wait()
    return {**outcomes, **{name: as_outcome(answer, finished) for name, answer in answers.items()}}


def as_outcome(answer: tuple[int, list[str], float], server: Finished) -> Outcome:
    """A request's outcome, bounded as the server that answered it: its time is the request's own."""
    status, lines, seconds = answer
    request = Finished(server.argv, status, "", server.stderr, seconds, server.peak_bytes, server.timed_out)
    return Outcome(status, lines, request)
