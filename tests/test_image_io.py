import io
import struct

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from colorization.errors import ImageError
from colorization.image_io import DEFAULT_MAX_PIXELS, decode_picture, read_image, read_picture, write_image
from colorization.photo_metadata import apply_orientation, exif_orientation
from colorization.picture_header import read_header
from tests.support.bad_inputs import bomb_png


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
    [
        (".png", True, True),
        (".tif", True, True),
        (".tiff", True, True),
        (".webp", False, True),
        (".bmp", False, True),
        (".jpg", False, False),
    ],
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
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\nthis is not really a png", "PNG header is damaged"),
        (b"hello", "not a picture"),
    ],
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


def test_pixel_limit_refuses_a_bomb_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(20000, 20000))
    monkeypatch.setattr(cv2, "imdecode", lambda *args: pytest.fail("decoded despite the pixel limit"))
    with pytest.raises(ImageError) as raised:
        read_image(path)
    assert str(raised.value).endswith(
        "20000x20000 is 400 megapixels, above the limit of 100: pass --max-pixels N to allow more, 0 for no limit"
    )


@pytest.mark.parametrize("limit, allowed", [(0, True), (50 * 40, True), (50 * 40 - 1, False)])
def test_pixel_limit_is_adjustable_and_zero_means_none(tmp_path, limit, allowed):
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), np.zeros((40, 50), np.uint8))
    if allowed:
        assert read_image(path, max_pixels=limit).shape == (40, 50)
    else:
        with pytest.raises(ImageError, match="above the limit"):
            read_image(path, max_pixels=limit)


def test_pixel_limit_holds_for_tiffs_whose_layout_pillow_does_not_know(tmp_path, monkeypatch):
    path = tmp_path / "float.tif"
    cv2.imwrite(str(path), np.zeros((40, 50, 3), np.float32))
    with pytest.raises(ImageError, match="float32 samples are not supported"):
        read_image(path)
    monkeypatch.setattr(cv2, "imdecode", lambda *args: pytest.fail("decoded despite the pixel limit"))
    with pytest.raises(ImageError, match="50x40 is 0 megapixels, above the limit"):
        read_image(path, max_pixels=100)


def test_single_frame_gif_is_read(tmp_path):
    path = tmp_path / "old.gif"
    Image.fromarray(np.full((20, 30), 90, np.uint8)).save(path)
    image = read_image(path)
    assert image.shape[:2] == (20, 30) and int(image[..., 0].mean()) == 90


def test_animated_gif_is_refused_with_one_line(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(np.full((20, 30), value, np.uint8)) for value in (40, 140, 240)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0)
    with pytest.raises(ImageError) as raised:
        read_image(path)
    assert "anim.gif is animated (3 frames): colorize it as a film" in str(raised.value)


def photo_with_metadata(path, orientation=6, dpi=(300, 300)):
    """A JPEG as a camera writes it: date taken, camera, description, GPS, an ICC profile, DPI, rotated 90 degrees."""
    image = Image.fromarray(np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (40, 1))).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F], exif[0x0110], exif[0x010E] = "Kodak", "Brownie", "Grandpa at the lake"
    exif.get_ifd(0x8769)[0x9003] = "1952:07:14 15:30:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (46.0, 12.0, 30.0)})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image.save(path, exif=exif.tobytes(), icc_profile=icc, dpi=dpi, quality=95)
    return icc


@pytest.mark.parametrize("extension", [".jpg", ".png"])
def test_metadata_is_carried_with_orientation_set_to_normal(tmp_path, extension):
    source, output = tmp_path / "scan.jpg", tmp_path / f"colour{extension}"
    icc = photo_with_metadata(source)
    picture = read_picture(source)
    assert picture.image.shape[:2] == (64, 40), "pixels made upright"
    write_image(output, picture.image, picture.metadata)
    with Image.open(output) as written:
        exif = written.getexif()
        assert exif[0x0112] == 1
        assert (exif[0x010F], exif[0x0110], exif[0x010E]) == ("Kodak", "Brownie", "Grandpa at the lake")
        assert exif.get_ifd(0x8769)[0x9003] == "1952:07:14 15:30:00"
        assert exif.get_ifd(0x8825)[1] == "N"
        assert written.info["icc_profile"] == icc
        assert tuple(round(value) for value in written.info["dpi"]) == (300, 300)
        assert written.size == (40, 64)


def test_sixteen_bit_png_keeps_its_depth_and_dpi(tmp_path):
    source, output = tmp_path / "deep.png", tmp_path / "out.png"
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(source, dpi=(600, 600))
    picture = read_picture(source)
    assert picture.image.dtype == np.uint16
    write_image(output, picture.image, picture.metadata)
    assert cv2.imread(str(output), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    with Image.open(output) as written:
        assert tuple(round(value) for value in written.info["dpi"]) == (600, 600)


def test_tiff_output_keeps_the_dpi(tmp_path):
    source, output = tmp_path / "scan.jpg", tmp_path / "out.tif"
    photo_with_metadata(source, orientation=1, dpi=(1200, 1200))
    picture = read_picture(source)
    write_image(output, picture.image, picture.metadata)
    with Image.open(output) as written:
        assert tuple(round(value) for value in written.info["dpi"]) == (1200, 1200)


@pytest.mark.parametrize(
    "extension, kind",
    [
        (".png", "PNG"),
        (".jpg", "JPEG"),
        (".webp", "WEBP"),
        (".bmp", "BMP"),
        (".tif", "TIFF"),
        (".ppm", "PPM"),
        (".jp2", "JPEG2000"),
        (".avif", "AVIF"),
    ],
)
def test_the_header_gives_each_formats_size_before_decoding(extension, kind):
    data = cv2.imencode(extension, asymmetric_image())[1].tobytes()
    header = read_header("x", io.BytesIO(data), DEFAULT_MAX_PIXELS)
    assert (header.kind, header.width, header.height) == (
        kind,
        asymmetric_image().shape[1],
        asymmetric_image().shape[0],
    )
    assert decode_picture(data, "x").image.shape[:2] == asymmetric_image().shape[:2]
