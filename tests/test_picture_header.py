"""Reading picture headers leaves Pillow as the program set it, and the package's own pixel limit decides: a picture
--max-pixels allows is read however far above Pillow's own limit it is."""

import io
import subprocess
import sys
import threading

import pytest
from PIL import Image

from colorization.errors import PictureTooLarge
from colorization.picture_header import pillow_reading_headers, read_header
from tests.support import REPO
from tests.support.bad_inputs import bomb_png

PILLOW_DEFAULT = Image.MAX_IMAGE_PIXELS


def test_importing_the_package_leaves_pillows_limit_alone():
    modules = (
        "colorization, colorization.image_io, colorization.picture_header, colorization.video.io, colorization.web.app"
    )
    probe = f"from PIL import Image; before = Image.MAX_IMAGE_PIXELS; import {modules}; print(before, Image.MAX_IMAGE_PIXELS)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout.split()
    assert shown[0] == shown[1] == str(PILLOW_DEFAULT)


def test_a_picture_above_pillows_limit_that_max_pixels_allows_is_read():
    data = bomb_png(20000, 10000)  # 200 megapixels: Pillow alone refuses more than twice its 89
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))
    header = read_header("big.png", io.BytesIO(data), max_pixels=300_000_000)
    assert (header.kind, header.width, header.height) == ("PNG", 20000, 10000)
    assert read_header("big.png", io.BytesIO(data), max_pixels=0).width == 20000, "0: no limit of ours"
    with pytest.raises(PictureTooLarge, match="20000x10000 is 200 megapixels, above the limit of 100"):
        read_header("big.png", io.BytesIO(data), max_pixels=100_000_000)
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT


def test_the_programs_own_pillow_setting_is_put_back_even_after_a_refusal(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1234)
    with pytest.raises(PictureTooLarge):
        read_header("big.png", io.BytesIO(bomb_png(20000, 10000)), max_pixels=1000)
    assert Image.MAX_IMAGE_PIXELS == 1234
    with pillow_reading_headers():
        assert Image.MAX_IMAGE_PIXELS is None
    assert Image.MAX_IMAGE_PIXELS == 1234


def test_headers_are_read_one_at_a_time():
    """The settings are process-wide: a second reader waits until the first has put them back."""
    entered, release = threading.Event(), threading.Event()
    seen = []

    def first():
        with pillow_reading_headers():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    entered.wait(5)
    second = threading.Thread(target=lambda: seen.append(read_header("x.png", io.BytesIO(bomb_png(10, 10)), 0).width))
    second.start()
    second.join(0.2)
    assert seen == [], "the second read waited"
    release.set()
    thread.join(5)
    second.join(5)
    assert seen == [10]
