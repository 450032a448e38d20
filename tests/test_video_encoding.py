"""The ffmpeg arguments of a run, asserted as arguments: codec, quality (CRF 18 for x264 by default), pixel format,
the BT.709 colour tags, faststart and the pixel aspect. Decoding our own output with the same ffmpeg cannot tell a
CRF of 18 from 33, or a file tagged bt709 from an untagged one; these can."""

import logging
from fractions import Fraction
from pathlib import Path

import pytest

from colorization.errors import UsageError
from colorization.video.encoding import (
    COLOUR_TAGS,
    AudioPlan,
    VideoOptions,
    check_options,
    choose_codec,
    decoder_arguments,
    encoder_arguments,
    fitting_pixel_format,
    quality_arguments,
)
from colorization.video.ffmpeg import VideoInfo

NTSC = Fraction(30000, 1001)


def film(width=640, height=480, sample_aspect=None, rate=NTSC) -> VideoInfo:
    return VideoInfo(Path("/films/reel.mkv"), width, height, rate, sample_aspect, 12.0, "h264", ("aac",), False)


def encoder(
    destination="out.mp4", info=None, audio=AudioPlan("none in the input"), start=0.0, duration=None, **options
):
    return encoder_arguments(info or film(), Path(destination), VideoOptions(**options), audio, start, duration)


def value_of(arguments: list[str], option: str) -> str | None:
    """The value after `option`, which must appear at most once."""
    positions = [index for index, argument in enumerate(arguments) if argument == option]
    assert len(positions) <= 1, f"{option} given {len(positions)} times"
    return arguments[positions[0] + 1] if positions else None


def parts(arguments: list[str]) -> tuple[list[str], list[str]]:
    """The pipe input's options and the output's (from the video codec on)."""
    return arguments[: arguments.index("pipe:0")], arguments[arguments.index("-c:v") :]


def test_default_mp4_is_x264_at_crf_18_yuv420p_tagged_bt709_with_faststart():
    arguments = encoder()
    pipe, output = parts(arguments)
    assert value_of(arguments, "-c:v") == "libx264"
    assert value_of(arguments, "-crf") == "18"
    assert value_of(arguments, "-b:v") is None and value_of(arguments, "-q:v") is None
    assert value_of(pipe, "-pix_fmt") == "bgr24" and value_of(output, "-pix_fmt") == "yuv420p"
    assert value_of(output, "-colorspace") == "bt709"
    assert value_of(output, "-color_primaries") == "bt709"
    assert value_of(output, "-color_trc") == "bt709"
    assert value_of(output, "-color_range") == "tv"
    assert value_of(pipe, "-color_primaries") == value_of(pipe, "-color_trc") == "bt709", (
        "the frames say it too, or recent ffmpeg writes primaries and transfer as unknown"
    )
    assert value_of(arguments, "-movflags") == "+faststart"
    assert value_of(arguments, "-vf") is None, "square pixels need no filter"
    assert arguments[-2:] == ["-y", "out.mp4"]


def test_colour_tags_are_the_bt709_matrix_primaries_transfer_and_tv_range():
    assert dict(zip(COLOUR_TAGS[::2], COLOUR_TAGS[1::2])) == {
        "-colorspace": "bt709",
        "-color_primaries": "bt709",
        "-color_trc": "bt709",
        "-color_range": "tv",
    }


def test_frames_come_from_the_pipe_at_the_exact_rate_and_size_and_the_rest_from_the_film():
    arguments = encoder(info=film(322, 182))
    inputs = [arguments[index + 1] for index, argument in enumerate(arguments) if argument == "-i"]
    assert inputs == ["pipe:0", "/films/reel.mkv"]
    assert value_of(arguments, "-framerate") == "30000/1001" and value_of(arguments, "-video_size") == "322x182"
    assert value_of(arguments, "-map_metadata") == "1"
    assert [arguments[index + 1] for index, argument in enumerate(arguments) if argument == "-map"] == ["0:v:0"]


def test_sound_is_mapped_from_the_film_as_planned():
    arguments = encoder(audio=AudioPlan("copied (aac)", ("-c:a", "copy")))
    assert [arguments[index + 1] for index, argument in enumerate(arguments) if argument == "-map"] == ["0:v:0", "1:a"]
    assert value_of(arguments, "-c:a") == "copy"


def test_a_span_cuts_the_film_input_only():
    arguments = encoder(start=0.5, duration=0.7)
    film_input = arguments.index("/films/reel.mkv")
    assert arguments[film_input - 5 : film_input - 1] == ["-ss", "0.500000", "-t", "0.700000"]
    assert arguments.index("-ss") > arguments.index("pipe:0")


@pytest.mark.parametrize(
    "codec, crf, quality, expected",
    [
        ("libx264", None, None, ["-crf", "18"]),
        ("libx264", 23, None, ["-crf", "23"]),
        ("libx264", 18.5, None, ["-crf", "18.5"]),
        ("libx264", None, 10, ["-crf", "0"]),
        ("libx264", None, 0, ["-crf", "51"]),
        ("libx265", None, None, ["-crf", "18"]),
        ("libvpx-vp9", None, None, ["-crf", "22", "-b:v", "0"]),
        ("libvpx-vp9", 31, None, ["-crf", "31", "-b:v", "0"]),
        ("libvpx-vp9", None, 10, ["-crf", "0", "-b:v", "0"]),
        ("libaom-av1", None, 0, ["-crf", "63", "-b:v", "0"]),
        ("mpeg4", None, None, []),
        ("mpeg4", None, 10, ["-q:v", "1"]),
        ("mpeg4", None, 5, ["-q:v", "16"]),
        ("mpeg4", None, 0, ["-q:v", "31"]),
        ("ffv1", None, None, []),
    ],
)
def test_quality_maps_onto_each_codecs_scale(codec, crf, quality, expected):
    assert quality_arguments(codec, crf, quality) == expected


@pytest.mark.parametrize(
    "codec, crf, quality, message",
    [
        ("libx264", 52, None, "--crf for libx264 goes from 0 (best) to 51, got 52"),
        ("libvpx-vp9", -1, None, "--crf for libvpx-vp9 goes from 0 (best) to 63"),
        ("mpeg4", 20, None, "for mpeg4 use --quality 0-10"),
        ("libx264", None, 10.5, "--quality goes from 0 to 10 (best), got 10.5"),
    ],
)
def test_impossible_quality_is_a_usage_error(codec, crf, quality, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        quality_arguments(codec, crf, quality)


def test_containers_choose_a_codec_they_hold_and_faststart_only_where_it_exists():
    assert choose_codec(VideoOptions(), Path("a.webm")) == "libvpx-vp9"
    assert choose_codec(VideoOptions(), Path("a.ogv")) == "libtheora"
    assert choose_codec(VideoOptions(), Path("a.MKV")) == "libx264"
    assert choose_codec(VideoOptions(codec="libx265"), Path("a.webm")) == "libx265"
    webm = encoder("out.webm")
    assert value_of(webm, "-c:v") == "libvpx-vp9" and value_of(webm, "-crf") == "22" and value_of(webm, "-b:v") == "0"
    assert value_of(parts(webm)[1], "-colorspace") == "bt709"
    for name, faststart in (("a.mov", True), ("a.M4V", True), ("a.mkv", False), ("a.webm", False), ("a.avi", False)):
        assert (value_of(encoder(name), "-movflags") == "+faststart") is faststart, name


def test_check_options_refuses_a_crf_the_containers_codec_cannot_take():
    check_options(VideoOptions(crf=55), [Path("a.webm")])
    with pytest.raises(UsageError, match="--crf for libx264 goes from 0 \\(best\\) to 51, got 55"):
        check_options(VideoOptions(crf=55), [Path("a.webm"), Path("b.mkv")])
    with pytest.raises(UsageError, match="for libtheora use --quality"):
        check_options(VideoOptions(crf=20), [Path("a.ogv")])


def test_anamorphic_pixels_keep_their_aspect():
    assert value_of(encoder(info=film(720, 480, Fraction(32, 27))), "-vf") == "setsar=32/27"
    assert value_of(encoder(info=film(720, 576, Fraction(64, 45))), "-vf") == "setsar=64/45"


@pytest.mark.parametrize(
    "pixel_format, width, height, expected",
    [
        ("yuv420p", 640, 480, "yuv420p"),
        ("yuv420p", 161, 90, "yuv444p"),
        ("yuv420p", 160, 91, "yuv444p"),
        ("yuv420p10le", 161, 91, "yuv444p10le"),
        ("yuv422p", 161, 90, "yuv444p"),
        ("yuv422p", 160, 91, "yuv422p"),
        ("nv12", 161, 91, "yuv444p"),
        ("yuv444p", 161, 91, "yuv444p"),
        ("bgr0", 161, 91, "bgr0"),
    ],
)
def test_odd_sizes_fall_back_to_full_chroma(pixel_format, width, height, expected):
    assert fitting_pixel_format(pixel_format, width, height) == expected


def test_the_odd_size_fallback_warns_and_reaches_the_encoder(caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        arguments = encoder(info=film(161, 91))
    assert value_of(parts(arguments)[1], "-pix_fmt") == "yuv444p"
    assert "161x91 has an odd side, which yuv420p cannot store: writing yuv444p" in caplog.text


def test_decoder_gives_raw_bgr_at_the_exact_rate_or_stills():
    arguments = decoder_arguments(film(), 1.25, 2.0)
    assert arguments[:6] == ["-nostdin", "-ss", "1.250000", "-t", "2.000000", "-i"]
    assert value_of(arguments, "-r") == "30000/1001" and value_of(arguments, "-map") == "0:V:0"
    assert arguments[-5:] == ["-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]
    stills = decoder_arguments(film(), 0.0, None, still_every=2.0)
    assert "-ss" not in stills and "-t" not in stills and value_of(stills, "-r") is None
    assert "floor(t/2.000000)" in value_of(stills, "-vf") and value_of(stills, "-fps_mode") == "passthrough"
