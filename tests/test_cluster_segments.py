"""Where a film is cut for a Ray run: segments at keyframes, frame by frame the one-machine decoder's frames, each
with its warm-up (the film and its keyframes are test_cluster_video's)."""

from fractions import Fraction

from colorization.cluster import segments as film_segments
from colorization.video.ffmpeg import keyframe_times, probe
from tests.test_cluster_video import KEYFRAME_EVERY, RATE, SECONDS, film  # noqa: F401 (film is a fixture)


def test_segments_cover_the_span_frame_by_frame(film):  # noqa: F811
    info = probe(film)
    keyframes = keyframe_times(film)
    segments = film_segments.plan_segments(info, 0.0, None, SECONDS * RATE, keyframes, 6, 0.7, min_seconds=1.0)
    assert len(segments) == 6 and [segment.first for segment in segments] == [0, 24, 48, 72, 96, 120]
    assert all(s.first + s.frames == n.first for s, n in zip(segments, segments[1:])) and segments[-1].frames is None
    warm_up = film_segments.warm_up_frames(0.7)
    for segment in segments[1:]:
        # the decoder starts at a keyframe no later than the warm-up's first frame, and the warm-up ends at the cut
        assert segment.warm_up == warm_up and (segment.first - warm_up - segment.skip) % KEYFRAME_EVERY == 0
        assert segment.seek is None or segment.seek * RATE == segment.first - warm_up - segment.skip
        assert segment.shift == 0
    started_late = film_segments.plan_segments(info, 1.3, 3.8, 92, keyframes, 4, 0.7, min_seconds=1.0)
    assert len(started_late) == 3
    for segment in started_late[1:]:
        # --start 1.3 puts frame n at 1.3 + n/24: a keyframe is the frame nearest it, its timestamps moved onto them
        anchor = segment.first - segment.warm_up - segment.skip
        assert (segment.seek - Fraction("1.3")) * RATE == anchor + segment.shift * RATE
        assert segment.seek in keyframes and abs(segment.shift * RATE) < Fraction(1, 2)
        # ffmpeg ends a span 3.8 s after its first frame (1.333 s), wherever the decoder started
        assert segment.seek + segment.duration == Fraction(32, 24) + Fraction("3.8")


def test_a_film_of_variable_rate_or_unknown_length_is_one_segment(film):  # noqa: F811
    info = probe(film)
    keyframes = keyframe_times(film)
    assert film_segments.plan_segments(info, 0.0, None, None, keyframes, 6, 0.7) == [film_segments.Segment(0, 0, None)]
    assert film_segments.plan_segments(info, 0.0, None, SECONDS * RATE, keyframes, 1, 0.7) == [
        film_segments.Segment(0, 0, None)
    ]


def test_the_warm_up_leaves_less_than_the_residual_of_the_past():
    for strength in (0.3, 0.7, 0.9):
        frames = film_segments.warm_up_frames(strength)
        assert strength**frames < film_segments.WARM_UP_RESIDUAL <= strength ** (frames - 1) or frames == 2
    assert film_segments.warm_up_frames(0.0) == 1
