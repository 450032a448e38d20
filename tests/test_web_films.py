"""Films through the web server (colorization/web/films.py and its routes, jobs and uploads) with the tiny model: the
same film as video_colorize.py makes, settings, cancel, a killed server, what is and is not a film, the limits,
the token rule and the work folder. Clips are made by the ffmpeg imageio-ffmpeg ships."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests
from fastapi.testclient import TestClient

from colorization import Colorizer
from colorization.commands import video as video_command
from colorization.errors import UsageError
from colorization.pipeline import Colorizer as PipelineColorizer
from colorization.video.ffmpeg import probe
from colorization.video.io import VideoWriter
from colorization.web import WebSettings, create_app, film_uploads
from colorization.web.film_jobs import FilmSettings
from tests.conftest import synthetic_photo
from tests.support import REPO
from tests.support.tiny_model import model_arguments
from tests.support.web_server import serving
from tests.test_video_colorize import NTSC, audio_seconds, make_clip, read_frames
from tests.test_web_app import LOOPBACK, TOKEN

FINISHED = ("done", "failed", "cancelled")


@pytest.fixture(scope="module")
def film_clips(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("film-clips")


@pytest.fixture(scope="module")
def reel(film_clips) -> Path:
    """3 s of a moving grey test pattern, 320x240 at 29.97 fps (90 frames), with an AAC sound track."""
    return make_clip(
        film_clips / "reel.mp4", "testsrc2=size=320x240:rate=30000/1001", 3, filters="format=gray,format=yuv420p"
    )


@pytest.fixture(scope="module")
def short_reel(film_clips) -> Path:
    """1 s, 160x120 at 25 fps, with sound: for what needs a film, not the 3-second one."""
    return make_clip(film_clips / "short.mp4", "testsrc2=size=160x120:rate=25", 1, filters="format=gray,format=yuv420p")


@pytest.fixture
def tiny_colorizer(lightness_model):
    return Colorizer.load(engine="caffe", **lightness_model)


@contextlib.contextmanager
def film_server(colorizer, work: Path, base_url: str = LOOPBACK, web: dict | None = None, **films):
    settings = WebSettings(films=FilmSettings(work_dir=work, **films), **(web or {}))
    with TestClient(create_app(colorizer, settings), base_url=base_url) as client:
        yield client


def upload(client, path: Path | None = None, data: bytes | None = None, name: str = "reel.mp4", **params):
    content = path.read_bytes() if data is None else data
    return client.post("/api/films", params=params, files={"file": (name, content, "video/mp4")})


def wait_for(client, film_id: str, until=lambda status: status["state"] in FINISHED, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/films/{film_id}").json()
        if until(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def film_folders(work: Path) -> list[Path]:
    return sorted(path for path in work.iterdir() if path.is_dir()) if work.is_dir() else []


def slow_network(monkeypatch, seconds: float = 0.05) -> None:
    """Each forward takes a little longer, so a 3-second clip runs long enough to be caught mid-film."""
    for name in ("predict_ab", "predict_scores"):
        real = getattr(PipelineColorizer, name)

        def slow(colorizer, batch, real=real):
            time.sleep(seconds)
            return real(colorizer, batch)

        monkeypatch.setattr(PipelineColorizer, name, slow)


def test_a_film_posted_comes_back_as_video_colorize_py_makes_it(tiny_colorizer, lightness_model, reel, tmp_path):
    """Frame count, rate, size, duration and sound kept; the frames those of video_colorize.py (within 1 level)."""
    with film_server(tiny_colorizer, tmp_path / "work") as client:
        answer = upload(client, reel)
        assert answer.status_code == 202 and answer.json()["status_url"] == f"/api/films/{answer.json()['id']}"
        film_id = answer.json()["id"]
        status = wait_for(client, film_id)
        assert status["state"] == "done" and status["frames_done"] == status["frames_total"] == 90, status
        assert status["fps"] > 0 and status["error"] is None and status["problems"] == []
        downloaded = client.get(f"/api/films/{film_id}/download")
        assert downloaded.headers["content-type"] == "video/mp4"
        assert 'filename="reel_colorized.mp4"' in downloaded.headers["content-disposition"]
    served, command = tmp_path / "served.mp4", tmp_path / "command.mp4"
    served.write_bytes(downloaded.content)
    assert (
        video_command.main(
            ["-i", str(reel), "-o", str(command), "--engine", "caffe", "-q", *model_arguments(lightness_model)]
        )
        == 0
    )
    source, ours, theirs = probe(reel), probe(served), probe(command)
    assert (theirs.width, theirs.height, theirs.rate) == (ours.width, ours.height, ours.rate)
    assert (ours.width, ours.height, ours.rate) == (source.width, source.height, source.rate) == (320, 240, NTSC)
    assert abs(ours.duration - source.duration) <= 1 / float(NTSC)
    assert ours.audio_codecs == ("aac",) and abs(audio_seconds(served) - audio_seconds(reel)) < 0.05
    (_, our_frames), (_, their_frames) = read_frames(served), read_frames(command)
    assert len(our_frames) == len(their_frames) == 90
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(our_frames, their_frames)) <= 1
    assert not (tmp_path / "work").exists(), "a clean exit removes the server's films"


def test_page_settings_give_video_colorize_py_with_those_options(
    tiny_colorizer, lightness_model, short_reel, tmp_path, monkeypatch
):
    """Another temperature is decoded from the net's scores; with saturation and upsampling it gives the frames of
    video_colorize.py --temperature --saturation --upsample, compared losslessly as they go into the encoder."""
    fed = defaultdict(list)
    real_write = VideoWriter.write
    monkeypatch.setattr(
        VideoWriter,
        "write",
        lambda writer, frame: (fed[writer.destination.name].append(frame.copy()), real_write(writer, frame)),
    )
    settings = {"temperature": "0.25", "saturation": "1.3", "upsample": "bilinear"}
    with film_server(tiny_colorizer, tmp_path / "work") as client:
        film_id = upload(client, short_reel, start="false").json()["id"]
        assert client.post(f"/api/films/{film_id}/start", params=settings).status_code == 202
        status = wait_for(client, film_id)
    assert status["state"] == "done" and status["settings"] == {
        "temperature": 0.25,
        "saturation": 1.3,
        "upsample": "bilinear",
    }
    options = [item for key, value in settings.items() for item in (f"--{key}", value)]
    command = [
        "-i",
        str(short_reel),
        "-o",
        str(tmp_path / "command.mp4"),
        "--engine",
        "caffe",
        "-q",
        *options,
        *model_arguments(lightness_model),
    ]
    assert video_command.main(command) == 0
    ours, theirs = fed["colorized.mp4"], fed["command.mp4"]
    assert len(ours) == len(theirs) == 25
    assert max(np.abs(a.astype(int) - b).max() for a, b in zip(ours, theirs)) <= 1


def test_cancel_stops_the_film_within_frames_and_leaves_no_partial_file(
    tiny_colorizer, short_reel, tmp_path, monkeypatch
):
    slow_network(monkeypatch)
    work = tmp_path / "work"
    with film_server(tiny_colorizer, work) as client:
        film_id = upload(client, short_reel).json()["id"]
        running = wait_for(client, film_id, lambda status: status["frames_done"] >= 3)
        assert running["state"] == "running" and running["queue_position"] == 0 and running["eta_seconds"] > 0
        asked = time.monotonic()
        cancelled = client.post(f"/api/films/{film_id}/cancel").json()
        assert cancelled["state"] == "cancelled" and time.monotonic() - asked < 3
        assert cancelled["frames_done"] < 25
        assert sorted(path.name for path in (work / film_id).iterdir()) == ["job.json", "original"]
        assert client.get(f"/api/films/{film_id}/download").status_code == 409
        assert client.post(f"/api/films/{film_id}/cancel").status_code == 409
        monkeypatch.undo()
        assert client.post(f"/api/films/{film_id}/start").status_code == 202
        assert wait_for(client, film_id)["state"] == "done"
        slow_network(monkeypatch)
        second = upload(client, short_reel).json()["id"]
        wait_for(client, second, lambda status: status["frames_done"] >= 3)
        deleted = client.delete(f"/api/films/{second}")
        assert deleted.json() == {"id": second, "deleted": True, "state": "cancelled"}
        assert client.get(f"/api/films/{second}").status_code == 404
        assert film_folders(work) == [work / film_id]
        assert not [path for path in work.rglob("*") if "partial" in path.name]


@pytest.fixture(scope="module")
def long_reel(film_clips) -> Path:
    return make_clip(film_clips / "long.mp4", "testsrc2=size=320x240:rate=25", 10, filters="format=gray,format=yuv420p")


def test_a_server_killed_mid_film_says_it_failed_when_started_again(
    tiny_colorizer, lightness_model, long_reel, tmp_path
):
    from colorization.commands.web import bind

    work, sock = tmp_path / "work", bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    command = [
        sys.executable,
        str(REPO / "web_colorize.py"),
        "--no-browser",
        "--port",
        str(port),
        "--work-dir",
        str(work),
        "--engine",
        "caffe",
        "-q",
        *model_arguments(lightness_model),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        base = re.search(r"http://[^/\s]+", server.stdout.readline()).group(0)
        film_id = requests.post(
            f"{base}/api/films", files={"file": ("long.mp4", long_reel.read_bytes())}, timeout=60
        ).json()["id"]
        deadline = time.monotonic() + 30
        while (
            requests.get(f"{base}/api/films/{film_id}", timeout=10).json()["frames_done"] < 2
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        assert requests.get(f"{base}/api/films/{film_id}", timeout=10).json()["state"] == "running"
    finally:
        server.kill()
        server.wait(30)
    with film_server(tiny_colorizer, work) as client:
        status = client.get(f"/api/films/{film_id}").json()
        assert (
            status["state"] == "failed" and "the server stopped while this film was being colorized" in status["error"]
        )
        assert not [path for path in work.rglob("*") if "partial" in path.name or path.name == "colorized.mp4"]
        assert client.post(f"/api/films/{film_id}/start").json()["state"] in ("queued", "running")
        assert client.delete(f"/api/films/{film_id}").status_code == 200


def test_what_a_film_is_is_decided_by_probing_never_by_the_name(tiny_colorizer, short_reel, film_clips, tmp_path):
    work = tmp_path / "work"
    plain = make_clip(film_clips / "plain.mp4", "testsrc2=size=160x120:rate=25", 2)
    faststart = make_clip(
        film_clips / "faststart.mp4",
        "testsrc2=size=160x120:rate=25",
        2,
        video_codec=("-c:v", "libx264", "-threads", "1", "-movflags", "+faststart"),
    )
    with film_server(tiny_colorizer, work) as client:
        text = upload(client, data=b"my notes on the reel, not a film\n" * 50, name="holiday.mp4")
        assert text.status_code == 415 and "not a film" in text.json()["error"]
        picture = upload(client, data=cv2.imencode(".png", synthetic_photo())[1].tobytes(), name="reel.mp4")
        assert picture.status_code == 415 and "picture" in picture.json()["error"]
        assert upload(client, data=b"", name="reel.mp4").status_code == 422
        cut = upload(client, data=plain.read_bytes()[: plain.stat().st_size // 2], name="cut.mp4")
        assert cut.status_code == 422 and "truncated" in cut.json()["error"]
        assert film_folders(work) == []
        renamed = upload(client, short_reel, name="notes.txt")
        assert renamed.status_code == 202 and wait_for(client, renamed.json()["id"])["state"] == "done"
        partly = upload(client, data=faststart.read_bytes()[: faststart.stat().st_size * 6 // 10], name="cut.mp4")
        assert partly.status_code == 202
        status = wait_for(client, partly.json()["id"])
    assert status["state"] == "done" and 0 < status["frames_done"] < 50
    assert f"only {status['frames_done']} of about 50 frames could be decoded" in status["problems"]


def test_a_full_queue_is_503_with_retry_after_and_positions_are_reported(
    tiny_colorizer, short_reel, tmp_path, monkeypatch
):
    slow_network(monkeypatch, 0.1)
    work = tmp_path / "work"
    with film_server(tiny_colorizer, work, queue_size=1) as client:
        first = upload(client, short_reel).json()["id"]
        wait_for(client, first, lambda status: status["state"] == "running")
        second = upload(client, short_reel).json()
        assert second["state"] == "queued" and second["queue_position"] == 1 and second["eta_seconds"] > 0
        refused = upload(client, short_reel)
        assert refused.status_code == 503 and refused.headers["retry-after"].isdigit()
        assert "queue is full" in refused.json()["error"]
        later = upload(client, short_reel, start="false")
        assert later.status_code == 201 and later.json()["state"] == "ready"
        assert client.post(f"/api/films/{later.json()['id']}/start").status_code == 503
        assert len(film_folders(work)) == 3
        listed = client.get("/api/films").json()
        assert [film["id"] for film in listed["films"]] == [later.json()["id"], second["id"], first]
        assert listed["limits"]["queue"] == 1
        for film_id in (first, second["id"], later.json()["id"]):
            assert client.delete(f"/api/films/{film_id}").status_code == 200
        assert film_folders(work) == []


def test_an_upload_over_the_limit_is_413_without_being_written(tiny_colorizer, tmp_path, monkeypatch):
    """Refused from its declared length before a byte is read; streamed without one, refused as it passes the limit,
    while the client is still sending, with no more than the limit ever written."""
    written = []
    real_write = film_uploads.write_out

    async def counted(target, data):
        written.append(len(data))
        await real_write(target, data)

    monkeypatch.setattr(film_uploads, "write_out", counted)
    monkeypatch.setattr(film_uploads, "FLUSH_BYTES", 64 * 1024)
    work, limit = tmp_path / "work", 1 << 20
    with film_server(tiny_colorizer, work, max_bytes=limit) as client:
        declared = client.post("/api/films", content=b"\0" * (3 * limit), headers={"Content-Type": "video/mp4"})
        assert declared.status_code == 413 and "--max-film-mb" in declared.json()["error"] and written == []
    app = create_app(tiny_colorizer, WebSettings(films=FilmSettings(work_dir=work, max_bytes=limit)))
    with serving(app) as address:
        answer, sent = post_chunked(address, b"\0" * (64 * 1024), 1024)
    assert answer.startswith(b"HTTP/1.1 413") and b"--max-film-mb" in answer
    assert sent < 1024 * 64 * 1024 and 0 < sum(written) <= limit
    assert film_folders(work) == []


def post_chunked(address: str, chunk: bytes, count: int) -> tuple[bytes, int]:
    """POST /api/films with chunked encoding (no declared length), stopping when the server answers; (the answer,
    the bytes sent)."""
    import select
    import socket

    host, port = address.split("//")[1].split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"POST /api/films HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: video/mp4\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for _ in range(count):
            if select.select([connection], [], [], 0)[0]:
                break
            try:
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except OSError:  # the server answered and closed
                break
            sent += len(chunk)
        answer = b""
        while b"}" not in answer:  # the JSON error ends the answer
            data = connection.recv(65536)
            if not data:
                break
            answer += data
        return answer, sent


def test_a_disk_short_of_space_is_507(tiny_colorizer, short_reel, tmp_path, monkeypatch):
    work = tmp_path / "work"
    monkeypatch.setattr(
        shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 << 30, (10 << 30) - (50 << 20), 50 << 20)
    )
    with film_server(tiny_colorizer, work) as client:
        answer = upload(client, short_reel)
    assert answer.status_code == 507 and "short of space" in answer.json()["error"]
    assert film_folders(work) == []


def test_the_token_rule_covers_films(tiny_colorizer, short_reel, tmp_path):
    work = tmp_path / "work"
    with film_server(
        tiny_colorizer, work, "http://192.168.1.20:8000", {"token": TOKEN, "allowed_hosts": None}
    ) as client:
        assert client.get("/api/films").status_code == 401
        refused = upload(client, short_reel)
        assert refused.status_code == 401 and film_folders(work) == []
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        film_id = upload(client, short_reel, start="false").json()["id"]
        assert client.get(f"/api/films/{film_id}/preview").status_code == 200
        del client.headers["Authorization"]
        assert client.get(f"/api/films/{film_id}/preview").status_code == 401
        assert client.delete(f"/api/films/{film_id}").status_code == 401


def test_stills_render_live_from_kept_scores_then_the_film_starts(tiny_colorizer, reel, tmp_path, monkeypatch):
    work = tmp_path / "work"
    with film_server(tiny_colorizer, work) as client:
        added = upload(client, reel, start="false", name="Grandpa's reel.mp4")
        assert added.status_code == 201
        film = added.json()
        assert (film["state"], film["name"], film["width"], film["height"], film["frame_rate"]) == (
            "ready",
            "Grandpa_s reel",
            320,
            240,
            29.97,
        )
        assert film["duration"] == pytest.approx(3.0, abs=0.05) and film["sound"] and film["frames_total"] == 90
        assert (
            film["estimate_seconds"] > 0 and len(film["stills"]) == 4 and 0 < film["stills"][0] < film["stills"][-1] < 3
        )
        at = film["stills"][1]
        first = client.get(f"/api/films/{film['id']}/preview", params={"at": at, "temperature": 1})
        forwards = []
        monkeypatch.setattr(PipelineColorizer, "predict_scores", lambda *args: forwards.append(1))
        vivid = client.get(f"/api/films/{film['id']}/preview", params={"at": at, "temperature": 0.1, "saturation": 1.5})
        assert first.headers["content-type"] == vivid.headers["content-type"] == "image/jpeg" and forwards == []
        assert not np.array_equal(
            cv2.imdecode(np.frombuffer(first.content, np.uint8), 1),
            cv2.imdecode(np.frombuffer(vivid.content, np.uint8), 1),
        )
        monkeypatch.undo()
        grey = cv2.imdecode(np.frombuffer(client.get(f"/api/films/{film['id']}/grey").content, np.uint8), 1).astype(int)
        assert grey.shape == (240, 320, 3) and np.abs(grey[:, :, 0] - grey[:, :, 2]).max() <= 2
        for bad in ("99", "abc", "-1"):
            assert client.get(f"/api/films/{film['id']}/preview", params={"at": bad}).status_code == 400
        assert client.get(f"/api/films/{film['id']}/download").status_code == 409
        assert client.get(f"/api/films/{film['id']}/original").content == reel.read_bytes()
        part = client.get(
            f"/api/films/{film['id']}/original", headers={"Range": "bytes=100-199"}
        )  # how a <video> seeks
        assert (
            part.status_code == 206
            and part.content == reel.read_bytes()[100:200]
            and part.headers["content-type"] == "video/mp4"
        )
        assert client.post(f"/api/films/{film['id']}/start", params={"saturation": "9"}).status_code == 400
        assert client.post(f"/api/films/{film['id']}/start").status_code == 202
        assert wait_for(client, film["id"])["state"] == "done"
        assert client.post(f"/api/films/{film['id']}/start").status_code == 409
        assert client.get("/api/films/nope").status_code == 404


def test_films_expire_and_a_clean_exit_removes_only_the_servers_films(tiny_colorizer, short_reel, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("not the server's")
    with film_server(tiny_colorizer, work, keep_seconds=0.5) as client:
        idle = upload(client, short_reel, start="false").json()["id"]
        time.sleep(0.6)
        running = upload(client, short_reel).json()["id"]
        assert wait_for(client, running)["state"] == "done"
        deadline = time.monotonic() + 5  # the worker sweeps once the film is done
        while client.get(f"/api/films/{idle}").status_code != 404 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "no such film" in client.get(f"/api/films/{idle}").json()["error"]
        assert film_folders(work) == [work / running]
    assert sorted(path.name for path in work.iterdir()) == ["notes.txt"]


def test_the_commands_film_options(tmp_path):
    from colorization.commands import web

    def settings(*argv):
        return web.settings_from_args(web.build_parser().parse_args(list(argv))).films

    default = settings()
    assert (default.max_bytes, default.max_seconds, default.keep_seconds, default.queue_size) == (
        2048 << 20,
        10800,
        86400,
        4,
    )
    assert default.folder.name == "web-films"
    chosen = settings(
        "--work-dir",
        str(tmp_path),
        "--max-film-mb",
        "10",
        "--max-film-minutes",
        "2",
        "--keep-films-hours",
        "1",
        "--film-queue",
        "0",
    )
    assert (chosen.folder, chosen.max_bytes, chosen.max_seconds, chosen.keep_seconds, chosen.queue_size) == (
        tmp_path,
        10 << 20,
        120,
        3600,
        0,
    )
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a folder this server can write films in"):
        settings("--work-dir", str(tmp_path / "file"))
    for argv in (
        ("--max-film-mb", "0"),
        ("--film-queue", "-1"),
        ("--film-queue", "1.5"),
        ("--keep-films-hours", "nan"),
    ):
        with pytest.raises(SystemExit) as refused:
            settings(*argv)
        assert refused.value.code == 2


def test_a_film_over_the_length_limit_is_refused(tiny_colorizer, reel, tmp_path):
    with film_server(tiny_colorizer, tmp_path / "work", max_seconds=2) as client:
        answer = upload(client, reel)
    assert answer.status_code == 413 and "--max-film-minutes" in answer.json()["error"]


def test_a_stalled_upload_is_cut_with_408_and_leaves_nothing(tiny_colorizer, tmp_path):
    import socket

    work = tmp_path / "work"
    app = create_app(tiny_colorizer, WebSettings(body_idle_seconds=0.3, films=FilmSettings(work_dir=work)))
    with serving(app) as address:
        host, port = address.split("//")[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(
                f"POST /api/films HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: video/mp4\r\n"
                "Content-Length: 100000\r\n\r\n".encode()
                + b"\0" * 1000
            )
            asked = time.monotonic()
            answer = connection.recv(65536)
            while b"}" not in answer:
                answer += connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408") and b"stalled" in answer and time.monotonic() - asked < 5
    assert film_folders(work) == []


def test_the_film_api_is_described_and_the_page_may_play_films(client_with_films):
    policy = client_with_films.get("/").headers["content-security-policy"]
    assert "media-src 'self' blob:" in policy and "default-src 'none'" in policy
    script = client_with_films.get("/static/films.js").text
    assert "http://" not in script and "https://" not in script
    paths = client_with_films.get("/openapi.json").json()["paths"]
    assert {
        "/api/films",
        "/api/films/{film_id}",
        "/api/films/{film_id}/start",
        "/api/films/{film_id}/preview",
        "/api/films/{film_id}/download",
        "/api/films/{film_id}/cancel",
    } <= set(paths)
    assert set(paths["/api/films/{film_id}"]) == {"get", "delete"}
    assert "false: upload and probe only" in client_with_films.get("/docs").text


@pytest.fixture
def client_with_films(tiny_colorizer, tmp_path):
    with film_server(tiny_colorizer, tmp_path / "work") as client:
        yield client
