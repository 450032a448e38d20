"""Where a film is cut for a Ray run: segments that start at keyframes, each warmed up on the frames before it so
that the temporal smoother's state at a join is what an unbroken run has there (cluster/video.py runs them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..video.encoding import seconds_argument
from ..video.ffmpeg import VideoInfo

SEGMENTS_PER_WORKER = 3
"""Segments per model worker: a worker that finishes early takes another, so the workers end close together."""
MIN_SEGMENT_SECONDS = 2.0
"""No segment shorter than this (the warm-up and each piece's start-up are paid per segment)."""
WARM_UP_RESIDUAL = 1e-3
"""Weight the smoother may still give to a frame before the warm-up (where an unbroken run and a segment differ)."""


@dataclass(frozen=True)
class Segment:
    """Frames `first` to `first + frames` of the span (frames None: to the span's end). The decoder starts at
    `seek` (a keyframe's time; None: where the span starts) and reads `duration` seconds from there (None: to the
    end), its timestamps moved by `shift` seconds; it drops `skip` frames, and the next `warm_up` frames only steady
    the smoother."""

    index: int
    first: int
    frames: int | None
    seek: Fraction | None = None
    shift: Fraction = Fraction(0)
    duration: Fraction | None = None
    skip: int = 0
    warm_up: int = 0

    @property
    def decoded(self) -> int | None:
        return None if self.frames is None else self.skip + self.warm_up + self.frames


def warm_up_frames(strength: float) -> int:
    """Frames after which the smoother's average holds less than WARM_UP_RESIDUAL of what came before them (one,
    without smoothing: the change across the join is still measured)."""
    if not strength:
        return 1
    return max(2, math.ceil(math.log(WARM_UP_RESIDUAL) / math.log(strength)))


def microseconds_down(seconds: Fraction) -> Fraction:
    """ffmpeg takes -ss in microseconds and keeps frames at or after it: rounding a keyframe's time up would lose
    the keyframe."""
    return Fraction(math.floor(seconds * 1_000_000), 1_000_000)


def plan_segments(
    info: VideoInfo,
    start: float,
    duration: float | None,
    expected: int | None,
    keyframes: list[Fraction],
    pieces: int,
    strength: float,
    min_seconds: float = MIN_SEGMENT_SECONDS,
) -> list[Segment]:
    """About `pieces` segments, cut at keyframes, none shorter than `min_seconds`.

    Frame numbers follow the one-machine decoder, whose constant-rate output puts frame n at `start + n / rate`
    and shows there the source frame nearest that time: a keyframe at time K is frame round((K - start) * rate).
    A segment decoder started at K has its timestamps moved by the difference, so that its frames fall where the
    one-machine decoder's do (the same frames kept, repeated or dropped). ffmpeg ends a span `duration` after its
    first frame, so the segment that reaches the end reads to that same time. A film of variable
    rate or unknown length is one segment (its frames are not where its timestamps alone would put them)."""
    whole = [Segment(0, 0, None)]
    if expected is None or info.variable_rate or not keyframes or pieces < 2:
        return whole
    rate, first_frame = info.rate, keyframes[0]
    start_time = Fraction(seconds_argument(start)) if start else Fraction(0)
    first_kept = first_frame + Fraction(max(0, math.ceil((start_time - first_frame) * rate))) / rate
    end = None if duration is None else first_kept + Fraction(seconds_argument(duration))
    anchors: dict[int, Fraction] = {}
    for time_ in keyframes:
        number = round((time_ - start_time) * rate)
        if number > 0:
            anchors.setdefault(number, time_)
    min_frames = max(1, math.ceil(min_seconds * rate))
    target = max(min_frames, math.ceil(expected / pieces))
    cuts = [0]
    for number in sorted(anchors):
        if number - cuts[-1] >= target and expected - number >= min_frames:
            cuts.append(number)
    warm_up = warm_up_frames(strength)
    segments = []
    for index, first in enumerate(cuts):
        frames = cuts[index + 1] - first if index + 1 < len(cuts) else None
        warm = min(warm_up, first)
        anchor = max((number for number in anchors if number <= first - warm), default=0)
        if not anchor:
            segments.append(Segment(index, first, frames, skip=first - warm, warm_up=warm))
            continue
        seek = microseconds_down(anchors[anchor])
        shift = (seek - start_time) - Fraction(anchor) / rate
        reads = None if end is None else end - anchors[anchor]
        segments.append(Segment(index, first, frames, seek, shift, reads, first - warm - anchor, warm))
    return segments
