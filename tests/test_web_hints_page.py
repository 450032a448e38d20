"""Colour hints on the page, in a real browser (static/hints.js): a click on the colour side opens the palette and the
region takes the picked colour, up to its edges (read from the after image's pixels); a dot is dragged, another is
given a colour of the browser's own picker and removed with Delete, one is recoloured; the PNG download, the ZIP and
POST /api/colorize with the page's hints give the same picture; Reset clears them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest

from tests import test_web_page
from tests.conftest import sample_photos
from tests.test_web_page import browser_page, screenshot_path, shown_image

server = test_web_page.server
"""The page tests' server fixture (the tiny warm-palette model, 1024-px previews)."""

HINTED = (0.217, 0.725)
"""Where the first hint goes (fractions of the photo): the saucer in the coffee photo, the dark half in the stand-in."""
MOVED = (0.25, 0.8)
"""Where that hint is dragged: the same region."""
ELSEWHERE = (0.917, 0.125)
"""Another region across an edge: the table top, the light half in the stand-in."""
SCREENSHOT_HINTS = (((0.733, 0.65), "Brick"), ((0.333, 0.5), "Brick"), ((0.933, 0.625), "Wood"), ((0.1, 0.225), "Wood"))
"""More hints for the picture in the README: the rest of the saucer, the cup, the table on either side."""


@pytest.fixture
def hint_photo(tmp_path) -> Path:
    """The coffee photo in grey, or a stand-in of two textured regions split by an edge when it is not beside the
    clone: HINTED and ELSEWHERE lie in different regions of either."""
    found = [path for path in sample_photos() if path.stem == "coffee"]
    if found:
        grey = cv2.cvtColor(cv2.imread(str(found[0])), cv2.COLOR_BGR2GRAY)
    else:
        grey = np.full((400, 600), 170, np.uint8)
        grey[:, :300] = 70
        grey = np.clip(grey + np.random.default_rng(1).normal(0, 6, grey.shape), 0, 255).astype(np.uint8)
    path = tmp_path / "coffee.png"
    cv2.imwrite(str(path), grey)
    return path


def ab_at(image: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    """The mean a, b (CIE Lab) of a 9x9 window at a point given in fractions of the picture."""
    height, width = image.shape[:2]
    x, y = int(point[0] * width), int(point[1] * height)
    window = image[max(0, y - 4) : y + 5, max(0, x - 4) : x + 5].astype(np.float32) / 255
    return cv2.cvtColor(window, cv2.COLOR_BGR2Lab)[:, :, 1:].reshape(-1, 2).mean(axis=0)


class PageHints:
    """The one photo card of the page, as the test works it."""

    def __init__(self, page):
        self.page = page
        self.card = page.locator(".card")
        self.renders = 1

    def at(self, point: tuple[float, float]) -> tuple[float, float]:
        """Page coordinates of a point of the photo, given in fractions of it."""
        box = self.card.locator(".after").bounding_box()
        width, height = self.page.evaluate(
            "() => { const i = document.querySelector('.card .after'); return [i.naturalWidth, i.naturalHeight]; }"
        )
        scale = min(box["width"] / width, box["height"] / height)
        left = box["x"] + (box["width"] - width * scale) / 2
        top = box["y"] + (box["height"] - height * scale) / 2
        return left + point[0] * width * scale, top + point[1] * height * scale

    def rendered(self) -> np.ndarray:
        """The after image once the renders asked for so far have come back."""
        self.page.wait_for_function(
            "n => Number(document.querySelector('.card .after').dataset.rendered) > n && !cards[0].rendering",
            arg=self.renders,
            timeout=20_000,
        )
        self.renders = int(self.card.locator(".after").get_attribute("data-rendered"))
        return shown_image(self.page, ".card .after")

    def place(self, point: tuple[float, float], swatch: str | None = None, free_colour: str | None = None) -> None:
        self.page.mouse.click(*self.at(point))
        picker = self.card.locator(".hint-picker")
        picker.wait_for(state="visible", timeout=5_000)
        if swatch:
            picker.get_by_role("button", name=swatch, exact=True).click()
        else:
            picker.locator(".free-colour").fill(free_colour)

    def dots(self):
        return self.card.locator(".hint-dot")


def test_hints_on_the_page(server, hint_photo, tmp_path):
    import httpx

    with browser_page(tmp_path) as page:
        page.goto(server + "/")
        page.set_input_files("#picker", str(hint_photo))
        page.locator('.card.ready .after[data-rendered="1"]').wait_for(timeout=20_000)
        hints = PageHints(page)
        hints.card.locator(".flip").click()  # "Show colour": the whole photo is the colour side
        automatic = shown_image(page, ".card .after")

        hints.place(HINTED, swatch="Sky")
        sky = hints.rendered()
        assert ab_at(sky, HINTED)[1] < ab_at(automatic, HINTED)[1] - 15, "the region turns blue"
        assert np.abs(ab_at(sky, ELSEWHERE) - ab_at(automatic, ELSEWHERE)).max() < 2, (
            "the other region keeps its colour"
        )
        assert hints.card.locator(".hint-picker").is_hidden()

        dot = hints.dots().first
        start = dot.bounding_box()
        page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
        page.mouse.down()
        page.mouse.move(*hints.at(MOVED), steps=6)
        page.mouse.up()
        hints.rendered()
        width, height = (int(value) for value in hints.card.locator(".size").inner_text().split(" \u00d7 "))
        assert abs(int(dot.get_attribute("data-x")) - MOVED[0] * width) <= 1
        assert abs(int(dot.get_attribute("data-y")) - MOVED[1] * height) <= 1
        assert hints.card.locator(".hint-picker").is_hidden(), "a drag is not a click"

        hints.place(ELSEWHERE, free_colour="#2e8b57")
        green = hints.rendered()
        assert ab_at(green, ELSEWHERE)[0] < ab_at(automatic, ELSEWHERE)[0] - 10, "the browser's own picker works too"
        hints.dots().nth(1).focus()
        page.keyboard.press("Delete")
        assert hints.dots().count() == 1
        assert np.abs(ab_at(hints.rendered(), ELSEWHERE) - ab_at(automatic, ELSEWHERE)).max() < 2, (
            "removed, its colour goes"
        )

        dot.click()
        hints.card.locator(".hint-picker").get_by_role("button", name="Brick").click()
        brick = hints.rendered()
        assert ab_at(brick, MOVED)[0] > ab_at(automatic, MOVED)[0] + 10, "recoloured"

        for point, swatch in SCREENSHOT_HINTS:
            hints.place(point, swatch=swatch)
            hints.rendered()
        hints.card.locator(".divider").focus()
        page.keyboard.press("Shift+ArrowRight")  # a strip of the original beside the colour, for the picture
        dot.click()
        page.mouse.move(0, 0)
        hints.card.screenshot(path=str(screenshot_path("web_hints.png", tmp_path)))
        page.keyboard.press("Escape")
        assert hints.card.locator(".hint-picker").is_hidden() and hints.dots().count() == 5

        with page.expect_download() as png_download:
            hints.card.locator(".png").click()
        downloaded = cv2.imread(png_download.value.path())
        with page.expect_download() as zip_download:
            page.locator("#zip").click()
        with zipfile.ZipFile(zip_download.value.path()) as archive:
            zipped = cv2.imdecode(np.frombuffer(archive.read("coffee_colorized.jpg"), np.uint8), cv2.IMREAD_COLOR)
        query = {
            key: values[0]
            for key, values in parse_qs(urlsplit(hints.card.locator(".png").get_attribute("href")).query).items()
        }
        assert len(json.loads(query["hints"])) == 5
        for download, format_name in ((downloaded, "png"), (zipped, "jpeg")):
            answer = httpx.post(
                server + "/api/colorize",
                params={**query, "format": format_name},
                files={"file": ("coffee.png", hint_photo.read_bytes())},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            expected = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
            assert np.abs(download.astype(int) - expected).max() <= 1, (
                f"the {format_name} download is the API's picture"
            )

        hints.card.locator(".reset").click()
        assert hints.dots().count() == 0
        assert np.abs(ab_at(hints.rendered(), MOVED) - ab_at(automatic, MOVED)).max() < 2, "Reset clears the hints"
