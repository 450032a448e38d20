#!/usr/bin/env python3
"""Do the joins of a film colorized on Ray show? A clip is colorized in one piece (the one-machine run) and with
--ray, cut into segments; both outputs are decoded (lossless encoder, so the numbers are the colorization's) and the
flicker (mean |delta ab| between consecutive frames, Lab units) is measured at the joins and inside the segments.
Not a test.

at joins     flicker between the last frame of a segment and the first of the next, Ray output
inside       flicker between all other consecutive frames, Ray output
one machine  the one-machine output's flicker at the same frame positions
max |ab|     largest per-pixel ab difference between the Ray and the one-machine frames at the joins

Clip: the slow pan of benchmarks/video_flicker.py (B&W, 320x180, 24 fps, grain and brightness flicker), keyframes
forced every second. Model: the release architecture with random weights unless --caffemodel gives real ones (the
release weights cannot be downloaded here). Ray: `--ray local` on this machine with --workers model workers.

    python -m benchmarks.cluster_video_flicker [--seconds 9] [--workers 2] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.video_flicker import RATE, decoded, film, photos, window, write_clip
from colorization import Colorizer, ColorizerSettings
from colorization.cluster import segments as film_segments
from colorization.cluster import video as cluster_video
from colorization.temporal import mean_ab_change
from colorization.video import VideoOptions, colorize_video
from colorization.video.colorize import resolve_span
from colorization.video.ffmpeg import keyframe_times, probe
from tests.support.release_model import release_architecture


def pair_flicker(lab: np.ndarray) -> np.ndarray:
    """Flicker of each consecutive pair: entry i is between frames i and i + 1."""
    return np.array([mean_ab_change(a[:, :, 1:], b[:, :, 1:]) for a, b in zip(lab, lab[1:])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=9.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--reference-dir")
    parser.add_argument("--caffemodel", help="real weights instead of random ones")
    args = parser.parse_args()
    logging.getLogger("colorization").setLevel(logging.WARNING)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="cluster-video-flicker-"))
    work.mkdir(parents=True, exist_ok=True)
    model = release_architecture(work, args.reference_dir)
    if args.caffemodel:
        model["caffemodel"] = Path(args.caffemodel)
    rng = np.random.default_rng(1)
    picture = photos()[0]
    clip = write_clip(
        work / "pan.mp4",
        (film(window(picture, 2 * i), rng) for i in range(int(args.seconds * RATE))),
        keyframe_every=RATE,
    )
    options = VideoOptions(audio=False, codec="ffv1", pixel_format="bgr0")

    started = time.perf_counter()
    plain = colorize_video(Colorizer.load(**model), clip, work / "plain.mkv", options, quiet=True)
    plain_seconds = time.perf_counter() - started
    settings = ColorizerSettings(**model, quiet=True)
    started = time.perf_counter()
    (on_ray,), plan = cluster_video.colorize_videos_on_ray(
        "local", args.workers, None, settings, [(clip, work / "ray.mkv")], options, quiet=True
    )
    ray_seconds = time.perf_counter() - started

    info = probe(clip)
    start, duration, expected = resolve_span(info, None, None)
    segments = film_segments.plan_segments(
        info,
        start,
        duration,
        expected,
        keyframe_times(clip),
        plan.workers * film_segments.SEGMENTS_PER_WORKER,
        options.smoothing,
    )
    joins = np.array([segment.first - 1 for segment in segments[1:]])
    (plain_lab, _), (ray_lab, _) = decoded(plain.destination), decoded(on_ray.destination)
    assert len(plain_lab) == len(ray_lab), "the Ray output has another frame count"
    plain_pairs, ray_pairs = pair_flicker(plain_lab), pair_flicker(ray_lab)
    inside = np.setdiff1d(np.arange(len(ray_pairs)), joins)
    join_difference = max(float(np.abs(ray_lab[j + 1, :, :, 1:] - plain_lab[j + 1, :, :, 1:]).max()) for j in joins)
    weights = "real" if args.caffemodel else "random (release architecture)"
    print(
        f"{len(ray_lab)} frames, {len(segments)} segments, joins after frames {', '.join(map(str, joins))}; "
        f"warm-up {film_segments.warm_up_frames(options.smoothing)} frames; {weights} weights; {plan.describe()}"
    )
    print(f"{'':>12} {'at joins':>9} {'inside':>8} {'ratio':>6}")
    for name, pairs in (("Ray", ray_pairs), ("one machine", plain_pairs)):
        print(
            f"{name:>12} {pairs[joins].mean():>9.3f} {pairs[inside].mean():>8.3f} {pairs[joins].mean() / pairs[inside].mean():>6.2f}"
        )
    print(f"max |ab Ray - ab one machine| at the joins: {join_difference:.3f}")
    print(f"time: one machine {plain_seconds:.1f} s, Ray {ray_seconds:.1f} s (start-up included)")


if __name__ == "__main__":
    main()
