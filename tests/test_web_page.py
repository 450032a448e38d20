"""The page in a real browser: Debian's headless Chromium driven by Playwright, against a local server.

Upload a photo, wait for the before/after comparison, drag the divider, move the vividness slider and see the
preview change, download the JPEG at full size; no request may go anywhere but this server. In CI (CI=true) a
missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import sample_photos, synthetic_photo
from tests.support import REPO
from tests.support.tiny_model import write_tiny_model
from tests.support.web_server import serving

CHROMIUM = Path(os.environ.get("COLORIZE_CHROMIUM", "/usr/bin/chromium"))
UPDATE_SCREENSHOTS = "COLORIZE_UPDATE_SCREENSHOTS"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """Where a screenshot goes: into docs/ (the pictures docs/web.md shows) only when COLORIZE_UPDATE_SCREENSHOTS=1
    asks for them, else into the test's own folder, so that a test run leaves the tree as it found it."""
    return (REPO / "docs" if os.environ.get(UPDATE_SCREENSHOTS) == "1" else tmp_path) / name


def browser_or_skip():
    """Playwright's API and Debian's Chromium; in CI their absence is a failure."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem, sync_playwright = "Playwright is not installed (pip install -r requirements-dev.txt)", None
    if problem is None and not CHROMIUM.is_file():
        problem = f"no Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser test cannot run in CI: {problem}")
        pytest.skip(problem)
    return sync_playwright


def sepia_model(directory: Path, points: np.ndarray) -> dict:
    """A tiny model with a believable old-photo palette: warm shadows and midtones, cooler highlights."""
    a, b = points[:, 0].astype(np.float32), points[:, 1].astype(np.float32)
    bias = -np.hypot(a - 12, b - 22) / 9.0
    slope = -(b + a * 0.3) / 900.0
    return write_tiny_model(directory, bias, points, slope)


@pytest.fixture
def server(tmp_path, release_points):
    from colorization import Colorizer
    from colorization.web import WebSettings, create_app

    colorizer = Colorizer.load(engine="caffe", **sepia_model(tmp_path / "model", release_points))
    with serving(create_app(colorizer, WebSettings(preview_side=1024))) as address:
        yield address


@contextlib.contextmanager
def browser_page(tmp_path):
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            accept_downloads=True,
            viewport={"width": 1180, "height": 860},
            device_scale_factor=1,
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture
def grey_photo(tmp_path) -> Path:
    found = [p for p in sample_photos() if p.stem == "coffee"] or sample_photos()
    image = cv2.imread(str(found[0])) if found else synthetic_photo(480, 640)
    path = tmp_path / "grandpa.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


SHOWN_IMAGE = """(selector) => {
  const image = document.querySelector(selector);
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  canvas.getContext("2d").drawImage(image, 0, 0);
  return canvas.toDataURL("image/png");
}"""


def shown_image(page, selector: str) -> np.ndarray:
    """The picture an <img> of the page shows, at its own size (BGR), as the browser decoded it."""
    import base64

    data = base64.b64decode(page.evaluate(SHOWN_IMAGE, selector).split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def shown_chroma(page, selector: str) -> float:
    """How far an <img>'s picture is from grey on average (|red - blue|): moves when its colour does."""
    image = shown_image(page, selector).astype(int)
    return float(np.abs(image[:, :, 2] - image[:, :, 0]).mean())


def test_page_upload_compare_slide_download(server, grey_photo, tmp_path):
    height, width = cv2.imread(str(grey_photo)).shape[:2]
    requests_seen, console_errors = [], []
    with browser_page(tmp_path) as page:
        page.on("request", lambda request: requests_seen.append(request.url))
        page.on("console", lambda entry: console_errors.append(entry.text) if entry.type == "error" else None)
        page.goto(server + "/")
        page.set_input_files("#picker", str(grey_photo))
        card = page.locator(".card.ready")
        card.wait_for(timeout=20_000)
        page.locator('.card .after[data-rendered="1"]').wait_for(timeout=20_000)
        assert page.locator(".card .size").inner_text() == f"{width} \u00d7 {height}"

        box = page.locator(".card .compare").bounding_box()
        middle_y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.5, middle_y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.3, middle_y, steps=5)
        page.mouse.up()
        position = int(page.locator(".card .divider").get_attribute("aria-valuenow"))
        assert 25 <= position <= 35

        before = shown_chroma(page, ".card .after")
        slider = page.locator(".card .vividness")
        slider.focus()
        page.keyboard.press("End")
        assert slider.input_value() == "100"
        page.locator('.card .after[data-rendered="2"]').wait_for(timeout=20_000)
        page.wait_for_timeout(300)
        after = shown_chroma(page, ".card .after")
        assert abs(after - before) > 0.5, (before, after)

        with page.expect_download() as download_info:
            page.locator(".card .jpeg").click()
        download = download_info.value
        assert download.suggested_filename == "grandpa_colorized.jpg"
        saved = tmp_path / "download.jpg"
        download.save_as(saved)
        result = cv2.imread(str(saved))
        assert result is not None and result.shape[:2] == (height, width)

        slider.fill("55")
        page.locator('.card .after[data-rendered="3"]').wait_for(timeout=20_000)
        box = page.locator(".card .compare").bounding_box()
        middle_y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.42, middle_y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.45, middle_y, steps=2)
        page.mouse.up()
        page.mouse.move(0, 0)
        page.wait_for_timeout(200)
        page.screenshot(path=str(screenshot_path("web_page.png", tmp_path)), full_page=True)
    outside = [url for url in requests_seen if not url.startswith((server + "/", "blob:", "data:"))]
    assert not outside, outside
    assert not [text for text in console_errors if "Content Security Policy" in text], console_errors


def test_page_says_when_the_model_is_missing(tmp_path):
    from colorization.errors import ModelFileError
    from colorization.web import create_app

    def loader():
        raise ModelFileError(
            "models/colorization_release_v2.caffemodel is missing: run python fetch_models.py --dir models "
            "(automatic download is off: --no-download)"
        )

    with serving(create_app(loader)) as address, browser_page(tmp_path) as page:
        page.goto(address + "/")
        banner = page.locator("#problem")
        banner.wait_for(timeout=10_000)
        assert page.locator("#problem-command").inner_text() == "python fetch_models.py --dir models"


DROP_AND_PASTE = """([pictures, how]) => {
  const files = pictures.map(([name, base64]) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return new File([bytes], name, { type: "image/png" });
  });
  const transfer = new DataTransfer();
  files.forEach((file) => transfer.items.add(file));
  if (how === "drop") {
    document.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  } else {
    document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
  }
}"""


def test_drop_and_paste_several_photos_then_zip(server, tmp_path):
    import base64
    import zipfile

    pictures = []
    for seed in range(3):
        data = cv2.imencode(".png", cv2.cvtColor(synthetic_photo(120 + 20 * seed, 160, seed), cv2.COLOR_BGR2GRAY))[1]
        pictures.append((f"scan{seed}.png", base64.b64encode(data.tobytes()).decode()))
    with browser_page(tmp_path) as page:
        page.goto(server + "/")
        page.evaluate(DROP_AND_PASTE, [pictures[:2], "drop"])
        page.evaluate(DROP_AND_PASTE, [pictures[2:], "paste"])
        page.locator(".card.ready").nth(2).wait_for(timeout=20_000)
        names = page.locator(".card .name").all_inner_texts()
        assert names == ["scan2.png", "scan0.png", "scan1.png"]
        with page.expect_download() as download_info:
            page.locator("#zip").click()
        saved = tmp_path / "all.zip"
        download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["scan0_colorized.jpg", "scan1_colorized.jpg", "scan2_colorized.jpg"]
