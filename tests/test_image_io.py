import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from colorization.errors import ImageError
from colorization.image_io import apply_orientation, exif_orientation, read_image, write_image


def exif_segment(orientation: int, byte_order: str = "<") -> bytes:
    """A JPEG APP1 segment holding a one-entry EXIF IFD with the given orientation."""
    mark = b"II" if byte_order == "<" else b"MM"
    tiff = mark + struct.pack(byte_order + "HI", 42, 8) + struct.pack(byte_order + "H", 1)
    tiff += struct.pack(byte_order + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(byte_order + "I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_orientation(image: np.ndarray, orientation: int, byte_order="<") -> bytes:
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    return data[:2] + exif_segment(orientation, byte_order) + data[2:]


def asymmetric_image() -> np.ndarray:
    image = np.zeros((40, 64, 3), np.uint8)
    image[:10, :20] = (0, 0, 255)
    image[30:, 50:] = (255, 0, 0)
    image[:, 30:32] = 128
    return image


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("byte_order", ["<", ">"])
def test_exif_orientation_matches_pillow(tmp_path, orientation, byte_order):
    path = tmp_path / f"oriented {orientation}.jpg"
    path.write_bytes(jpeg_with_orientation(asymmetric_image(), orientation, byte_order))
    ours = read_image(path)
    pillow = cv2.cvtColor(np.asarray(ImageOps.exif_transpose(Image.open(path))), cv2.COLOR_RGB2BGR)
    assert ours.shape == pillow.shape
    assert np.abs(ours.astype(int) - pillow.astype(int)).max() <= 2


def test_orientation_of_png_exif_chunk(tmp_path):
    image = Image.fromarray(asymmetric_image()[:, :, ::-1].copy())
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif)
    assert exif_orientation(buffer.getvalue()) == 6
    path = tmp_path / "rotated.png"
    path.write_bytes(buffer.getvalue())
    assert read_image(path).shape == (64, 40, 3)


def test_orientation_keeps_alpha_and_depth():
    image = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    rotated = apply_orientation(image, 6)
    assert rotated.shape == (3, 2, 4) and rotated.dtype == np.uint16
    assert np.array_equal(rotated[:, :, 3], np.rot90(image[:, :, 3], -1))


def test_no_or_broken_exif_means_upright():
    assert exif_orientation(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00garbage") == 1
    assert exif_orientation(b"not an image") == 1


def test_cmyk_jpeg_is_read_as_bgr(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(path, "JPEG", quality=100)
    image = read_image(path)
    assert image.shape == (20, 30, 3)
    assert image[10, 15, 2] > 200 and image[10, 15, 0] < 50, "pure red"


def test_unicode_path_with_spaces(tmp_path):
    path = tmp_path / "grand-père à l'été 1923" / "photo d'été.png"
    path.parent.mkdir()
    write_image(path, asymmetric_image())
    assert np.array_equal(read_image(path), asymmetric_image())


@pytest.mark.parametrize(
    "extension, depth_kept, alpha_kept",
    [(".png", True, True), (".tif", True, True), (".tiff", True, True), (".webp", False, True), (".bmp", False, True), (".jpg", False, False)],
)
def test_formats_round_trip(tmp_path, extension, depth_kept, alpha_kept):
    image = np.zeros((20, 30, 4), np.uint16)
    image[:, :, :3] = 40000
    image[:, :, 3] = 30000
    path = tmp_path / f"out{extension}"
    write_image(path, image)
    back = read_image(path)
    assert back.dtype == (np.uint16 if depth_kept else np.uint8)
    assert back.shape[2] == (4 if alpha_kept else 3)
    # 16-bit values are scaled to 8 bits, not clipped: 40000/257 = 155.6.
    expected = 40000 if depth_kept else 156
    assert abs(int(back[5, 5, 0]) - expected) <= (0 if depth_kept else 2)


def test_output_format_follows_extension(tmp_path):
    write_image(tmp_path / "x.jpg", asymmetric_image())
    write_image(tmp_path / "x.png", asymmetric_image())
    assert (tmp_path / "x.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_unknown_output_extension_is_refused_and_leaves_nothing(tmp_path):
    with pytest.raises(ImageError, match="cannot write .xyz"):
        write_image(tmp_path / "x.xyz", asymmetric_image())
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_leaves_no_partial_file(tmp_path, monkeypatch):
    import os

    def broken_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ImageError, match="No space left"):
        write_image(tmp_path / "x.png", asymmetric_image())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"\x89PNG\r\n\x1a\nthis is not really a png", "not an image"), (b"hello", "not an image")],
)
def test_unreadable_files_give_one_line(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as raised:
        read_image(path)
    assert "\n" not in str(raised.value)


def test_truncated_jpeg_is_not_silently_accepted_as_nothing(tmp_path):
    data = cv2.imencode(".jpg", asymmetric_image())[1].tobytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:40])
    with pytest.raises(ImageError):
        read_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read"):
        read_image(tmp_path / "nope.jpg")


def test_folder_given_as_image_points_to_batch(tmp_path):
    with pytest.raises(ImageError, match="is a folder: use batch_colorize.py"):
        read_image(tmp_path)
