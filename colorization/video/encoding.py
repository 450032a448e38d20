"""The ffmpeg arguments of a colorization run, as pure functions of the options and the probed film: which codec,
quality, pixel format, colour tags, span and streams. Nothing here runs a process, so every rule is testable alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..temporal import DEFAULT_STRENGTH
from .ffmpeg import VIDEO_STREAM, VideoInfo, format_time

log = logging.getLogger(__name__)

DEFAULT_CODEC = "libx264"
DEFAULT_PIXEL_FORMAT = "yuv420p"
GIF_CODEC = "gif"
CONTAINER_CODECS = {".webm": "libvpx-vp9", ".ogv": "libtheora", ".gif": GIF_CODEC}
"""Containers that cannot hold H.264 get a codec they take."""
SILENT_CONTAINERS = (".gif",)
"""Containers that hold no sound: the film's is left out, and said so."""
GIF_PALETTES = "split[frames][colours];[colours]palettegen=stats_mode=single[palette];[frames][palette]paletteuse=new=1"
"""Each frame of a GIF gets a 256-colour palette of its own colours (a film's colours change from scene to scene),
made as it passes: nothing is held back, so memory stays flat however long the animation."""
AUDIO_ENCODERS = {".webm": "libopus", ".ogg": "libvorbis", ".ogv": "libvorbis", ".avi": "libmp3lame"}
"""When the container refuses the original sound, it is re-encoded with this (aac elsewhere)."""
CRF_RANGES = {"libx264": 51, "libx265": 51, "libvpx-vp9": 63, "libvpx": 63, "libaom-av1": 63, "libsvtav1": 63}
"""Codecs with a constant-quality (CRF) scale, and its worst value; the others take -q:v 1 (best) to 31."""
DEFAULT_QUALITY = 6.5
"""On the 0-10 --quality scale: CRF 18 for x264, the usual 'visually lossless' setting."""
COLOUR_TAGS = ("-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv")
"""RGB is converted to YUV with the BT.709 matrix and the file says so (matrix, primaries, transfer, range):
players would otherwise guess, differently for SD and HD, and shift the colours (and lightness)."""
FRAME_COLOUR_TAGS = COLOUR_TAGS[2:6]
"""The same primaries and transfer declared on the pipe's frames: recent ffmpeg takes those two from the frames and
would otherwise write them as unknown, whatever the output options say."""
FASTSTART_CONTAINERS = (".mp4", ".m4v", ".mov")


@dataclass
class VideoOptions:
    codec: str | None = None
    pixel_format: str = DEFAULT_PIXEL_FORMAT
    crf: float | None = None
    quality: float | None = None
    start: float | None = None
    end: float | None = None
    audio: bool = True
    smoothing: float = DEFAULT_STRENGTH
    """Temporal smoothing strength; 0 colorizes each frame independently."""


@dataclass(frozen=True)
class AudioPlan:
    description: str
    arguments: tuple[str, ...] = ()


def seconds_argument(seconds: float) -> str:
    return f"{seconds:.6f}"


def check_span(start: float | None, end: float | None) -> None:
    if start is not None and end is not None and end <= start:
        raise UsageError(f"--end {format_time(end)} must come after --start {format_time(start)}")


def check_options(options: VideoOptions, destinations: list[Path]) -> None:
    """Refuse impossible settings before the model loads and any film is opened."""
    check_span(options.start, options.end)
    if not 0 <= options.smoothing < 1:
        raise UsageError(f"--smooth-strength goes from 0 (off) to below 1, got {options.smoothing:g}")
    for destination in destinations:
        if not destination.suffix:
            raise UsageError(
                f"-o {destination}: name the film with an extension (.mp4, .mkv, .webm, .gif...): it sets the container"
            )
        codec = choose_codec(options, destination)
        if destination.suffix.lower() == ".gif" and codec != GIF_CODEC:
            raise UsageError(
                f"{destination} is a GIF, which holds only the {GIF_CODEC} codec: leave out --codec {codec}"
            )
        quality_arguments(codec, options.crf, options.quality)


def choose_codec(options: VideoOptions, destination: Path) -> str:
    return options.codec or CONTAINER_CODECS.get(destination.suffix.lower(), DEFAULT_CODEC)


def quality_arguments(codec: str, crf: float | None, quality: float | None) -> list[str]:
    """--crf is the codec's own scale; --quality 0-10 (10 best) is mapped onto whichever scale the codec has."""
    worst = CRF_RANGES.get(codec)
    if crf is not None:
        if worst is None:
            raise UsageError(f"--crf applies to {', '.join(CRF_RANGES)}; for {codec} use --quality 0-10")
        if not 0 <= crf <= worst:
            raise UsageError(f"--crf for {codec} goes from 0 (best) to {worst}, got {crf:g}")
        value = crf
    elif worst is None and quality is None:
        return []
    else:
        level = DEFAULT_QUALITY if quality is None else quality
        if not 0 <= level <= 10:
            raise UsageError(f"--quality goes from 0 to 10 (best), got {level:g}")
        if worst is None:
            return ["-q:v", str(round(1 + (1 - level / 10) * 30))]
        value = round((1 - level / 10) * worst)
    arguments = ["-crf", f"{value:g}"]
    return arguments if codec.startswith("libx26") else arguments + ["-b:v", "0"]


def fitting_pixel_format(pixel_format: str, width: int, height: int) -> str:
    """4:2:0 needs even sizes (4:2:2 an even width): keep the film's exact size and use full chroma instead."""
    odd = (
        (width % 2 or height % 2)
        if "420" in pixel_format or pixel_format.startswith("nv")
        else (width % 2 if "422" in pixel_format else False)
    )
    if not odd:
        return pixel_format
    fitted = (
        pixel_format.replace("420", "444").replace("422", "444") if not pixel_format.startswith("nv") else "yuv444p"
    )
    log.warning(
        "warning: %dx%d has an odd side, which %s cannot store: writing %s to keep the size (less widely playable)",
        width,
        height,
        pixel_format,
        fitted,
    )
    return fitted


def span_arguments(start: float, duration: float | None) -> list[str]:
    arguments = ["-ss", seconds_argument(start)] if start else []
    return arguments + (["-t", seconds_argument(duration)] if duration is not None else [])


def decoder_arguments(
    info: VideoInfo,
    start: float,
    duration: float | None,
    still_every: float | None = None,
    frames: int | None = None,
    shift: float = 0.0,
) -> list[str]:
    """Raw BGR frames at the probed constant rate (a variable-rate film gets frames repeated or dropped to keep time),
    or, for stills, only the first frame of every `still_every` seconds. A segment of a film colorized on a cluster
    stops after `frames` (an exact frame, not a rounded time) and has its timestamps moved by `shift` seconds, onto
    the grid of frame times a decoder started at the span's start uses (that grid decides which frames are kept)."""
    arguments = ["-nostdin", *span_arguments(start, duration), "-i", str(info.path), "-map", VIDEO_STREAM]
    if still_every:
        every = f"{still_every:.6f}"
        arguments += [
            "-vf",
            f"select='isnan(prev_t)+gt(floor(t/{every}),floor(prev_t/{every}))'",
            "-fps_mode",
            "passthrough",
        ]
    else:
        if shift:
            arguments += ["-vf", f"setpts=PTS+{shift:.9f}/TB"]
        arguments += ["-r", str(info.rate)]
    if frames is not None:
        arguments += ["-frames:v", str(frames)]
    return arguments + ["-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]


def encoder_arguments(
    info: VideoInfo,
    temporary: Path,
    options: VideoOptions,
    audio: AudioPlan,
    start: float,
    duration: float | None,
    loop: int = 0,
) -> list[str]:
    """Colour frames from the pipe, the original's sound and metadata (cut to the same span) from the file. A GIF
    gets its palettes and `loop` (0 for ever, -1 played once, N repeated N times), as its input had them."""
    codec = choose_codec(options, temporary)
    arguments = [
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-video_size",
        f"{info.width}x{info.height}",
        "-framerate",
        str(info.rate),
        *FRAME_COLOUR_TAGS,
        "-i",
        "pipe:0",
        *source_arguments(info, audio, start, duration),
        "-c:v",
        codec,
    ]
    if codec == GIF_CODEC:
        return arguments + ["-vf", GIF_PALETTES, "-loop", str(loop)] + container_arguments(temporary)
    arguments += [
        "-pix_fmt",
        fitting_pixel_format(options.pixel_format, info.width, info.height),
        *COLOUR_TAGS,
        *quality_arguments(codec, options.crf, options.quality),
    ]
    if info.sample_aspect is not None:
        arguments += ["-vf", f"setsar={info.sample_aspect.numerator}/{info.sample_aspect.denominator}"]
    return arguments + container_arguments(temporary)


def source_arguments(info: VideoInfo, audio: AudioPlan, start: float, duration: float | None) -> list[str]:
    """The second input, the original cut to the span: the picture from the first input, the sound and metadata
    from this one."""
    arguments = [*span_arguments(start, duration), "-i", str(info.path), "-map", "0:v:0"]
    if audio.arguments:
        arguments += ["-map", "1:a", *audio.arguments]
    return arguments + ["-map_metadata", "1"]


def container_arguments(temporary: Path) -> list[str]:
    arguments = ["-movflags", "+faststart"] if temporary.suffix.lower() in FASTSTART_CONTAINERS else []
    return arguments + ["-y", str(temporary)]


def join_arguments(
    info: VideoInfo, segment_list: Path, temporary: Path, audio: AudioPlan, start: float, duration: float | None
) -> list[str]:
    """Encoded pieces of one film joined as they are (ffmpeg's concat demuxer, no re-encoding), with the sound and
    metadata taken once from the original, exactly as a one-machine run's encoder takes them."""
    return [
        "-nostdin",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(segment_list),
        *source_arguments(info, audio, start, duration),
        "-c:v",
        "copy",
        *container_arguments(temporary),
    ]
