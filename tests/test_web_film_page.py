"""The film card in a real browser (Debian's headless Chromium driven by Playwright, as tests/test_web_page.py): drop
a clip, see the colorized stills and move a control over them, start, see the progress bar move, reload the page
and find the film still there, see the colour film play in a <video> beside the original, download it."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import cv2
import pytest

from colorization.pipeline import Colorizer as PipelineColorizer
from tests.conftest import sample_photos
from tests.support.web_server import serving
from tests.test_video_colorize import ffmpeg, make_clip, read_frames
from tests.test_web_page import browser_page, screenshot_path, sepia_model, shown_chroma

SCREENSHOTS = {"running": "web_film.png", "done": "web_film_done.png"}

DROP_FILM = """([name, base64]) => {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "video/mp4" }));
  document.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""


def film_of_a_photo(path: Path, seconds: float = 3) -> Path:
    """A 320x240 black-and-white 'film' at 29.97 fps with a sound track: a slow push into one of the shared photos
    (the moving test pattern when they are not beside the repository)."""
    found = [photo for photo in sample_photos() if photo.stem == "chelsea"] or sample_photos()
    if not found:
        return make_clip(path, "testsrc2=size=320x240:rate=30000/1001", seconds, filters="format=gray,format=yuv420p")
    frames = round(seconds * 30000 / 1001)
    ffmpeg(
        "-loop",
        "1",
        "-framerate",
        "30000/1001",
        "-i",
        found[0],
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=330:duration={seconds}",
        "-vf",
        f"scale=640:480,setsar=1,zoompan=z='1+0.15*on/{frames}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':d=1:s=320x240:"
        "fps=30000/1001,setsar=1,format=gray,format=yuv420p",
        "-frames:v",
        frames,
        "-c:v",
        "libx264",
        "-threads",
        "1",
        "-c:a",
        "aac",
        path,
    )
    return path


@pytest.fixture
def film_server(tmp_path, release_points, monkeypatch):
    from colorization import Colorizer
    from colorization.web import WebSettings, create_app
    from colorization.web.film_jobs import FilmSettings

    real = PipelineColorizer.predict_ab

    def steady(colorizer, batch):  # the tiny model is so fast that the bar would jump from 0 to the end
        time.sleep(0.04)
        return real(colorizer, batch)

    monkeypatch.setattr(PipelineColorizer, "predict_ab", steady)
    colorizer = Colorizer.load(engine="caffe", **sepia_model(tmp_path / "model", release_points))
    with serving(create_app(colorizer, WebSettings(films=FilmSettings(work_dir=tmp_path / "work")))) as address:
        yield address


def test_film_drop_stills_start_progress_reload_play_download(film_server, tmp_path):
    clip = film_of_a_photo(tmp_path / "reel.mp4")
    screenshots = {moment: screenshot_path(name, tmp_path) for moment, name in SCREENSHOTS.items()}
    taken = set()
    requests_seen, console_errors = [], []
    with browser_page(tmp_path) as page:
        page.on("request", lambda request: requests_seen.append(request.url))
        page.on("console", lambda entry: console_errors.append(entry.text) if entry.type == "error" else None)
        page.goto(film_server + "/")
        page.evaluate(DROP_FILM, ["reel.mp4", base64.b64encode(clip.read_bytes()).decode()])
        card = page.locator(".card.film")
        for index in range(4):
            card.locator(".still img").nth(index).and_(page.locator('[data-rendered="1"]')).wait_for(timeout=30_000)
        page.locator('.card.film .colour[data-rendered="1"]').wait_for(timeout=20_000)
        assert card.locator(".size").inner_text() == "320 \u00d7 240 \u00b7 0:03 \u00b7 29.97 fps \u00b7 sound"
        assert "on this machine" in card.locator(".estimate").inner_text()
        assert not page.locator(".card:not(.film)").count(), "a film makes no photo card"

        before = shown_chroma(page, ".card.film .colour")
        card.locator(".vividness").fill("100")
        page.locator('.card.film .colour[data-rendered="2"]').wait_for(timeout=20_000)
        card.locator(".still img").nth(3).and_(page.locator('[data-rendered="2"]')).wait_for(timeout=20_000)
        assert abs(shown_chroma(page, ".card.film .colour") - before) > 0.5
        card.locator(".vividness").fill("70")
        page.locator('.card.film .colour[data-rendered="3"]').wait_for(timeout=20_000)

        card.locator(".start").click()
        seen = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not seen & {"100"} and len(seen) < 3:
            seen.add(card.locator(".progress-bar").get_attribute("aria-valuenow"))
            if seen - {"0", "100"} and "running" not in taken:
                assert " / 90 frames \u00b7 " in card.locator(".progress-text").inner_text()
                page.screenshot(path=str(screenshots["running"]), full_page=True)
                taken.add("running")
            page.wait_for_timeout(100)
        assert seen - {"0", "100"}, f"the bar went {sorted(seen)}"

        page.reload()
        card = page.locator(".card.film")
        card.wait_for(timeout=10_000)
        assert card.get_attribute("data-state") in ("queued", "running", "done")
        video = card.locator("video.colour-video")
        video.wait_for(state="visible", timeout=60_000)
        page.wait_for_function("() => document.querySelector('video.colour-video').readyState >= 1", timeout=20_000)
        assert abs(page.evaluate("document.querySelector('video.colour-video').duration") - 3.0) < 0.1
        assert card.locator(".vividness").input_value() == "70", "the film's own settings come back with it"

        page.evaluate("document.querySelector('video.colour-video').currentTime = 2.2")
        page.wait_for_function(
            "() => [...document.querySelectorAll('video')].every((v) => v.hidden || v.readyState >= 3 && !v.seeking)",
            timeout=20_000,
        )
        page.wait_for_timeout(1000)
        page.screenshot(path=str(screenshots["done"]), full_page=True)
        taken.add("done")

        with page.expect_download() as download_info:
            card.locator(".download").click()
        download = download_info.value
        assert download.suggested_filename == "reel_colorized.mp4"
        saved = tmp_path / "download.mp4"
        download.save_as(saved)
    assert len(read_frames(saved)[1]) == len(read_frames(clip)[1]) == 90
    assert taken == set(screenshots) and all(cv2.imread(str(path)) is not None for path in screenshots.values())
    outside = [url for url in requests_seen if not url.startswith((film_server + "/", "blob:", "data:"))]
    assert not outside, outside
    assert not [text for text in console_errors if "Content Security Policy" in text], console_errors
