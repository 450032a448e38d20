#!/usr/bin/env python3
"""video_colorize.py against the plain frame-by-frame OpenCV-sample loop, in one run, with the release architecture
(random weights: the real model's compute). Not a test: numbers depend on the machine and on what else runs on it.

Makes a 640x360 30 fps clip with a sound track (10 s, and 20 s to show memory stays flat), then for each clip runs,
each in its own process so peak RSS is that job's alone:
  plain  cv2.VideoCapture -> benchmarks/opencv_sample.py -> cv2.VideoWriter (mp4v; drops the sound)
  ours   video_colorize.py (ffmpeg pipes, libx264, sound copied, temporal smoothing on)
and prints frames per second (whole process, model loading included, as a user waits for it), the ratio and peak RSS
(the largest process of the job: Python for both; ffmpeg's own processes are smaller). The model is compiled once
before anything is timed (a machine's first run does that, once).

The short clip is run --repeat times, plain and ours alternating which goes first, and the median of the ratios is
the result: on a shared virtual machine one run can be 15% slower than the next for the same work, so a single
pair says little. The long clip, there to show that memory stays flat, runs once.

    python -m benchmarks.video_benchmark [--seconds 10] [--repeat 3] [--work-dir DIR] [--reference-dir DIR]
    python -m benchmarks.video_benchmark --precision fp32      # or --engine, --upsample: compare with the defaults
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
from benchmarks.settings import add_setting_options, compile_once, describe, engine_that_ran, setting_arguments
from colorization.engines.base import bf16_features, processor_name
from tests.support.release_model import release_architecture


def make_clip(path: Path, seconds: float, size: str = "640x360", rate: int = 30) -> Path:
    """A grey (black-and-white film) test pattern with a moving part, and a sine tone, H.264 + AAC in MP4, made by
    the ffmpeg imageio-ffmpeg ships (kept where `path` already holds it)."""
    import imageio_ffmpeg

    if not path.is_file():
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size={size}:rate={rate}:duration={seconds}",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=440:duration={seconds}",
                "-vf",
                "format=gray,format=yuv420p",
                "-c:v",
                "libx264",
                "-crf",
                "20",
                "-c:a",
                "aac",
                str(path),
            ],
            check=True,
        )
    return path


def plain_loop(source: str, destination: str, prototxt: str, caffemodel: str, points: str) -> None:
    """The OpenCV sample's way: read a frame, colorize it, write it; one thing at a time."""
    import cv2

    from benchmarks.opencv_sample import load_sample_network, sample_colorize, to_uint8

    net = load_sample_network(prototxt, caffemodel, points)
    capture = cv2.VideoCapture(source)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(destination, cv2.VideoWriter_fourcc(*"mp4v"), capture.get(cv2.CAP_PROP_FPS), size)
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        writer.write(to_uint8(sample_colorize(net, frame)))
    writer.release()
    capture.release()


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds and peak RSS in MiB of the largest process of the job (wait4 reports it for the child's tree),
    and what it said on stderr."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    said = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"error: {' '.join(command)} failed with exit code {process.returncode}: {said.strip()[-2000:]}"
        )
    return seconds, usage.ru_maxrss / 1024, said


def count_frames_and_audio(path: Path) -> tuple[int, bool]:
    import imageio_ffmpeg

    from colorization.video.ffmpeg import probe

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    return frames, probe(path).has_audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the short clip (the long one is twice)")
    parser.add_argument("--work-dir", type=Path, help="where clips, model and outputs go (default: a temporary folder)")
    parser.add_argument("--reference-dir", help="folder with the release prototxt and pts_in_hull.npy")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the short clip, plain and ours alternating")
    add_setting_options(parser, "video_colorize.py")
    parser.add_argument("--plain-loop", nargs=5, metavar="ARG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        plain_loop(*args.plain_loop)
        return
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="video-benchmark-"))
    work.mkdir(parents=True, exist_ok=True)
    model = release_architecture(work, args.reference_dir)
    compile_once(model, args)
    model_arguments = [str(model[key]) for key in ("prototxt", "caffemodel", "points")]
    print(
        f"{processor_name()} (native bf16: {', '.join(bf16_features()) or 'none'}), {os.cpu_count()} CPU cores; "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine skews these numbers)"
    )
    print(f"video_colorize.py with {describe(args)}")
    print(
        f"{'clip':>8} {'plain fps':>10} {'ours fps':>9} {'ratio':>6} {'plain RSS':>10} {'ours RSS':>9}  ours: frames, sound"
    )
    plain_command = [sys.executable, "-m", "benchmarks.video_benchmark", "--plain-loop"]
    ours_command = [
        sys.executable,
        str(REPO / "video_colorize.py"),
        "-v",
        "--overwrite",
        "--prototxt",
        model_arguments[0],
        "--caffemodel",
        model_arguments[1],
        "--points",
        model_arguments[2],
        *setting_arguments(args),
    ]
    rss = {}
    for seconds, runs in ((args.seconds, args.repeat), (2 * args.seconds, 1)):
        clip = make_clip(work / f"clip_{seconds:g}s.mp4", seconds)
        frames, _ = count_frames_and_audio(clip)
        plain_out, ours_out = work / f"plain_{seconds:g}s.mp4", work / f"ours_{seconds:g}s.mp4"
        ratios = []
        for run in range(runs):
            jobs = {
                "plain": [*plain_command, str(clip), str(plain_out), *model_arguments],
                "ours": [*ours_command, "-i", str(clip), "-o", str(ours_out)],
            }
            order = ("plain", "ours") if run % 2 == 0 else ("ours", "plain")
            measured = {name: timed(jobs[name]) for name in order}
            (plain_seconds, plain_rss, _), (ours_seconds, ours_rss, said) = measured["plain"], measured["ours"]
            written, sound = count_frames_and_audio(ours_out)
            rss[seconds] = (plain_rss, ours_rss)
            ratios.append(plain_seconds / ours_seconds)
            print(
                f"{seconds:>7g}s {frames / plain_seconds:>10.2f} {frames / ours_seconds:>9.2f} {ratios[-1]:>6.2f} "
                f"{plain_rss:>8.0f}Mi {ours_rss:>7.0f}Mi  {written}/{frames} frames, sound {'present' if sound else 'MISSING'}; "
                f"{engine_that_ran(said)}",
                flush=True,
            )
        if runs > 1:
            print(
                f"{seconds:>7g}s median ratio of {runs} runs: {statistics.median(ratios):.2f} (lowest {min(ratios):.2f}, highest {max(ratios):.2f})"
            )
    (short_plain, short_ours), (long_plain, long_ours) = rss.values()
    print(
        f"peak RSS, long clip vs short: plain {long_plain / short_plain - 1:+.1%}, ours {long_ours / short_ours - 1:+.1%}"
    )


if __name__ == "__main__":
    main()
