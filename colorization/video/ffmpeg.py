"""Running ffmpeg: the binary imageio-ffmpeg ships (users need no system ffmpeg), always with argument lists.

Each ffmpeg runs in its own process (group), so decoding and encoding overlap with inference, and Ctrl-C reaches
Python alone instead of letting an encoder finish a file that would look complete.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..errors import VideoError
from ..paths import display_path

VIDEO_STREAM = "0:V:0"
"""The first real video stream (capital V skips cover art stored as a one-frame 'attached picture')."""

FIELD_PATTERNS = {
    "duration": re.compile(r"^\s*Duration: (\d+):(\d+):(\d+(?:\.\d+)?)"),
    "stream": re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio): (\w+)"),
    "average_rate": re.compile(r", ([\d.]+k?) fps"),
    "base_rate": re.compile(r", ([\d.]+k?) tbr"),
}
SHOWINFO_TIME_BASE = re.compile(r"\[Parsed_showinfo_\d+ @ [^\]]*\] config in time_base: (\d+)/(\d+)")
SHOWINFO_FRAME = re.compile(r"\[Parsed_showinfo_\d+ @ [^\]]*\] n:\s*\d+ pts:\s*(-?\d+) ")
"""showinfo's lines: the filter's time base once, then each frame's integer pts in it (its pts_time is rounded to six
digits, too coarse to seek to a frame of a long film)."""


def ffmpeg_executable() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise VideoError(
            "no ffmpeg found: pip install imageio-ffmpeg (its wheel ships ffmpeg), or set IMAGEIO_FFMPEG_EXE to an ffmpeg binary"
        ) from None


def own_process_group() -> dict:
    """Popen options that keep the terminal's Ctrl-C away from ffmpeg; Python stops it instead."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class FfmpegProcess:
    """One ffmpeg run; its error lines are counted by a thread (a full stderr pipe would stall ffmpeg), and the first,
    which names the cause, is kept for the message."""

    def __init__(self, arguments: list[str], stdin=None, stdout=None):
        command = [ffmpeg_executable(), "-hide_banner", "-nostats", "-loglevel", "error", *arguments]
        self.process = subprocess.Popen(
            command, stdin=stdin, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, **own_process_group()
        )
        self.error_count = 0
        self.first_error = ""
        self.collector = threading.Thread(target=self.collect_errors, name="ffmpeg-stderr", daemon=True)
        self.collector.start()

    @property
    def stdin(self):
        return self.process.stdin

    @property
    def stdout(self):
        return self.process.stdout

    def collect_errors(self) -> None:
        if self.process.stderr is None:
            return
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.error_count += 1
                self.first_error = self.first_error or line

    def wait(self) -> int:
        code = self.process.wait()
        self.collector.join()
        return code

    def stop(self) -> None:
        """Kill it now (a failed or interrupted run): no trailer written, nothing that looks finished."""
        if self.process.poll() is None:
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self.wait()


def ffmpeg_reason(line: str) -> str:
    """ffmpeg's message without its '[component @ 0x...]' prefix."""
    return re.sub(r"^\[[^\]]*\]\s*", "", line).strip()


@dataclass(frozen=True)
class VideoInfo:
    """What the output must reproduce: frames as ffmpeg decodes them (upright, at a constant rate) and the sound."""

    path: Path
    width: int
    height: int
    rate: Fraction
    sample_aspect: Fraction | None
    duration: float | None
    video_codec: str
    audio_codecs: tuple[str, ...]
    variable_rate: bool

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codecs)

    def summary(self) -> str:
        length = "unknown length" if self.duration is None else format_time(self.duration)
        sound = ", ".join(self.audio_codecs) or "none"
        return f"{self.video_codec} {self.width}x{self.height} at {float(self.rate):.3f} fps, {length}, sound: {sound}"


def parse_rate(text: str) -> float:
    return float(text[:-1]) * 1000 if text.endswith("k") else float(text)


def parse_input_description(text: str) -> dict[str, Any]:
    """Duration, stream codecs and rates from the 'Input #0' block ffmpeg prints (imageio-ffmpeg has no ffprobe)."""
    found: dict[str, Any] = {"duration": None, "video_codec": "", "audio_codecs": [], "variable_rate": False}
    in_input = False
    for line in text.splitlines():
        if line.startswith("Input #0"):
            in_input = True
            continue
        if in_input and not line.startswith(" "):
            break
        if not in_input:
            continue
        duration = FIELD_PATTERNS["duration"].match(line)
        if duration:
            hours, minutes, seconds = duration.groups()
            found["duration"] = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        stream = FIELD_PATTERNS["stream"].match(line)
        if stream and stream.group(1) == "Audio":
            found["audio_codecs"].append(stream.group(2))
        elif stream and not found["video_codec"] and "(attached pic)" not in line:
            found["video_codec"] = stream.group(2)
            average = FIELD_PATTERNS["average_rate"].search(line)
            base = FIELD_PATTERNS["base_rate"].search(line)
            if average and base:
                found["variable_rate"] = abs(parse_rate(average.group(1)) - parse_rate(base.group(1))) > 0.01
    return found


def parse_stream_header(header: bytes) -> dict:
    """Size, exact frame rate and pixel aspect from a YUV4MPEG2 header line, e.g. 'W322 H182 F30000:1001 A1:1'."""
    fields = {token[:1]: token[1:] for token in header.decode("ascii", "replace").split()[1:]}
    rate_num, rate_den = (int(part) for part in fields["F"].split(":"))
    aspect_num, aspect_den = (int(part) for part in fields.get("A", "0:0").split(":"))
    return {
        "width": int(fields["W"]),
        "height": int(fields["H"]),
        "rate": Fraction(rate_num, rate_den),
        "sample_aspect": Fraction(aspect_num, aspect_den) if aspect_num and aspect_den else None,
    }


def probe(path: Path) -> VideoInfo:
    """Ask ffmpeg itself: it decodes one frame to a YUV4MPEG2 stream, whose header holds the exact rational frame rate
    (30000/1001, not the '29.97' it prints) and the size after rotation, exactly as the frame decoder will see them."""
    path = Path(path)
    shown = display_path(path)
    if not path.exists():
        raise VideoError(f"{shown}: no such file")
    if not path.is_file():
        raise VideoError(
            f"{shown} is not a regular file (a folder, pipe or device): a film is read more than once, save it to a file first"
        )
    command = [
        ffmpeg_executable(),
        "-hide_banner",
        "-nostdin",
        "-i",
        str(path),
        "-map",
        VIDEO_STREAM,
        "-frames:v",
        "1",
        "-f",
        "yuv4mpegpipe",
        "-pix_fmt",
        "gray",
        "pipe:1",
    ]
    completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True)
    log_text = completed.stderr.decode("utf-8", "replace")
    header = completed.stdout.split(b"\n", 1)[0]
    if completed.returncode != 0 or not header.startswith(b"YUV4MPEG2"):
        raise VideoError(f"{shown}: {probe_failure(log_text)}")
    description = parse_input_description(log_text)
    description["audio_codecs"] = tuple(description["audio_codecs"])
    return VideoInfo(path=path, **parse_stream_header(header), **description)


def keyframe_times(path: Path) -> list[Fraction]:
    """Where each keyframe of the first video stream starts, in seconds from the start of the film as the decoder
    times it (the times an input -ss seeks to): ffmpeg decodes only the keyframes (-skip_frame nokey), which is
    quick, and showinfo names their exact timestamps."""
    command = [
        ffmpeg_executable(),
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-loglevel",
        "info",
        "-skip_frame",
        "nokey",
        "-i",
        str(path),
        "-map",
        VIDEO_STREAM,
        "-vf",
        "showinfo",
        "-f",
        "null",
        "-",
    ]
    completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True)
    log_text = completed.stderr.decode("utf-8", "replace")
    if completed.returncode != 0:
        raise VideoError(f"{display_path(path)}: {probe_failure(log_text)}")
    return parse_keyframe_times(log_text)


def parse_keyframe_times(log_text: str) -> list[Fraction]:
    """The exact times of showinfo's frames, sorted; none when the time base is missing (nothing to trust)."""
    time_base = None
    times = set()
    for line in log_text.splitlines():
        found = SHOWINFO_TIME_BASE.search(line)
        if found and int(found.group(2)):
            time_base = Fraction(int(found.group(1)), int(found.group(2)))
            continue
        frame = SHOWINFO_FRAME.search(line)
        if frame and time_base is not None:
            times.add(int(frame.group(1)) * time_base)
    return sorted(times)


def probe_failure(log_text: str) -> str:
    if "matches no streams" in log_text:
        return "has no video stream (is it a sound file?)"
    opening = re.search(r"Error opening input: (.+)", log_text)
    if opening:
        return f"not a video ffmpeg can read ({opening.group(1).strip()}): is the file complete and really a video?"
    lines = [ffmpeg_reason(line) for line in log_text.splitlines() if line.strip()]
    return f"ffmpeg could not decode a frame ({lines[-1] if lines else 'no message'})"


def format_time(seconds: float) -> str:
    """H:MM:SS.mmm, the way ffmpeg and editors show positions."""
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours}:{minutes:02d}:{rest / 1000:06.3f}"
