"""Frames in and out of ffmpeg: a reader over the decoder's pipe and a writer into the encoder's, kept apart from
inference so that the colorization loop never sees a process."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import VideoError
from ..paths import display_path
from ..picture_header import pillow_reading_headers
from .encoding import AUDIO_ENCODERS, SILENT_CONTAINERS, AudioPlan, VideoOptions, decoder_arguments, encoder_arguments
from .ffmpeg import FfmpegProcess, VideoInfo, ffmpeg_reason


class WriteFailed(VideoError):
    """The encoder's pipe closed under us; ffmpeg's own reason, when it has one, is the better message."""


class VideoReader:
    """Raw BGR frames of one film (or of its stills) from an ffmpeg decoder; stopped on leaving the `with`."""

    def __init__(self, info: VideoInfo, start: float, duration: float | None, **decoding: Any):
        """`decoding` is what else decoder_arguments takes: still_every, frames, shift."""
        self.info = info
        self.shape = (info.height, info.width, 3)
        self.partial_frame = False
        self.process = FfmpegProcess(decoder_arguments(info, start, duration, **decoding), stdout=subprocess.PIPE)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exception) -> None:
        self.process.stop()

    def frames(self):
        """Each frame as a fresh (height, width, 3) uint8 array, until the decoder runs dry."""
        while True:
            frame = np.empty(self.shape, np.uint8)
            try:
                filled = read_into(self.process.stdout, frame.data.cast("B"))
            except OSError as error:
                raise VideoError(
                    f"{display_path(self.info.path)}: reading frames from ffmpeg failed ({error})"
                ) from None
            if filled < frame.nbytes:
                self.partial_frame = filled > 0
                return
            yield frame

    def problems(self, frames: int, expected: int | None) -> list[str]:
        """Damaged frames are concealed by ffmpeg and the run goes on; they are reported, and a film with no frame
        fails."""
        code = self.process.wait()
        shown = display_path(self.info.path)
        if frames == 0:
            reason = ffmpeg_reason(self.process.first_error) or "no frame in the chosen span"
            raise VideoError(f"{shown}: no frame could be decoded ({reason})")
        problems = []
        if self.process.error_count:
            problems.append(
                f"ffmpeg reported {self.process.error_count} decoding error(s), first: {ffmpeg_reason(self.process.first_error)}"
            )
        elif code != 0:
            problems.append(f"the decoder stopped with exit code {code}")
        if expected is not None and frames < expected - max(2, expected // 100):
            problems.append(f"only {frames} of about {expected} frames could be decoded")
        if self.partial_frame:
            problems.append("the last frame was cut short and is left out")
        return problems


def gif_loop(source: Path) -> int:
    """How often an animated GIF input repeats, as ffmpeg's GIF muxer takes it (0 for ever, -1 played once); 0 for any
    other input, as animations usually loop."""
    try:
        with pillow_reading_headers(), Image.open(source, formats=["GIF"]) as animation:
            loop = animation.info.get("loop")
    except (OSError, ValueError, SyntaxError):
        return 0
    return -1 if loop is None else int(loop)


def read_into(stream, buffer: memoryview) -> int:
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(buffer[filled:])
        if not count:
            break
        filled += count
    return filled


class VideoWriter:
    """Colour frames into an ffmpeg encoder that also takes the original's sound and metadata; killed (nothing
    finished-looking left) on leaving the `with` unless `finish` succeeded first."""

    def __init__(
        self,
        info: VideoInfo,
        temporary: Path,
        destination: Path,
        options: VideoOptions,
        audio: AudioPlan,
        start: float,
        duration: float | None,
    ):
        self.destination = destination
        self.written = 0
        arguments = encoder_arguments(info, temporary, options, audio, start, duration, loop=gif_loop(info.path))
        self.process = FfmpegProcess(arguments, stdin=subprocess.PIPE)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exception) -> None:
        self.process.stop()

    def write(self, frame: np.ndarray) -> None:
        try:
            self.process.stdin.write(np.ascontiguousarray(frame).data)
        except OSError as error:
            raise WriteFailed(f"could not write {display_path(self.destination)}: {error}") from None
        self.written += 1

    def finish(self) -> None:
        """Close the pipe and wait: an encoder failure (unknown codec, full disk...) loses the output, so say why
        with ffmpeg's own last words."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        if self.process.wait() != 0:
            reason = ffmpeg_reason(self.process.first_error) or "no message"
            raise VideoError(f"could not write {display_path(self.destination)}: ffmpeg says: {reason}")


def can_copy_audio(source: Path, suffix: str) -> bool:
    """Try it on a tenth of a second: ffmpeg knows which sound codecs each container takes better than a table."""
    with tempfile.TemporaryDirectory(prefix="colorize-audio-") as folder:
        trial = FfmpegProcess(
            [
                "-nostdin",
                "-i",
                str(source),
                "-map",
                "0:a",
                "-c",
                "copy",
                "-t",
                "0.1",
                "-y",
                str(Path(folder) / f"trial{suffix}"),
            ]
        )
        return trial.wait() == 0


def plan_audio(info: VideoInfo, destination: Path, wanted: bool) -> AudioPlan:
    if not info.has_audio:
        return AudioPlan("none in the input")
    codecs = ", ".join(info.audio_codecs)
    if not wanted:
        return AudioPlan(f"dropped ({codecs}, --no-audio)")
    suffix = destination.suffix.lower()
    if suffix in SILENT_CONTAINERS:
        return AudioPlan(f"dropped ({codecs}: a {suffix} holds no sound)")
    if can_copy_audio(info.path, suffix):
        return AudioPlan(f"copied ({codecs})", ("-c:a", "copy"))
    encoder = AUDIO_ENCODERS.get(suffix, "aac")
    return AudioPlan(f"re-encoded ({codecs} -> {encoder}, which {suffix or 'this container'} takes)", ("-c:a", encoder))
