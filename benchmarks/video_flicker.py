#!/usr/bin/env python3
"""How much --smooth steadies the colour, and what it costs: each clip is colorized frame by frame and smoothed, and
both outputs are decoded and measured. Not a test.

flicker    mean |delta ab| between consecutive frames of the decoded output (Lab units; lower is steadier)
deviation  mean |ab smoothed - ab frame by frame|: how far smoothing moves colours from each frame's own prediction
L change   mean and max |L smoothed - L frame by frame| where neither output is clipped to fit sRGB (smoothing
           must leave L alone: a colour outside sRGB is clipped and takes L with it, whatever smoothing does)

Clips (B&W, 320x180, 24 fps, film grain and a slight brightness flicker, as old film has): a slow pan over a photo,
the same photo standing still, and shots of different photos cut together. Model: the release architecture with
random weights unless --caffemodel gives real ones (random weights are a weak stand-in for the trained model's
colour decisions: read these numbers as a check of the mechanism, not as the real model's flicker).

    python -m benchmarks.video_flicker [--seconds 2] [--work-dir DIR] [--caffemodel colorization_release_v2.caffemodel]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
from colorization import Colorizer
from colorization.temporal import mean_ab_change
from colorization.video import VideoOptions, colorize_video
from tests.support.release_model import release_architecture

SIZE = (320, 180)
RATE = 24
IMAGES = REPO.parent / "shared" / "images"


def photos() -> list[np.ndarray]:
    found = sorted(p for p in IMAGES.glob("*") if p.suffix.lower() in (".png", ".jpg"))
    if found:
        return [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY) for p in found]
    rng = np.random.default_rng(0)
    return [cv2.GaussianBlur(rng.integers(0, 256, (480, 640), dtype=np.uint8), (0, 0), 12) * 3 for _ in range(3)]


def film(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grain and a brightness flicker of a few per cent, as a scanned print has."""
    gain = 1.0 + 0.03 * rng.standard_normal()
    grainy = frame.astype(np.float32) * gain + rng.normal(0, 4, frame.shape)
    return cv2.cvtColor(np.clip(grainy, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def window(photo: np.ndarray, offset: int) -> np.ndarray:
    height, width = photo.shape
    crop_width = width * 2 // 3
    crop_height = crop_width * SIZE[1] // SIZE[0]
    left = min(offset, width - crop_width)
    return cv2.resize(photo[:crop_height, left : left + crop_width], SIZE, interpolation=cv2.INTER_AREA)


def write_clip(path: Path, frames, keyframe_every: int | None = None) -> Path:
    """H.264; `keyframe_every` frames a keyframe, and no other (a film to cut into segments at known places)."""
    import imageio_ffmpeg

    keyframes = (
        ["-force_key_frames", f"expr:eq(mod(n,{keyframe_every}),0)", "-x264-params", "scenecut=0"]
        if keyframe_every
        else []
    )
    writer = imageio_ffmpeg.write_frames(
        str(path),
        SIZE,
        pix_fmt_in="bgr24",
        fps=RATE,
        codec="libx264",
        quality=9,
        macro_block_size=1,
        output_params=keyframes,
    )
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def make_clips(work: Path, seconds: float) -> dict[str, Path]:
    pictures = photos()
    count = int(seconds * RATE)
    rng = np.random.default_rng(1)
    return {
        "slow pan": write_clip(work / "pan.mp4", (film(window(pictures[0], 2 * i), rng) for i in range(count))),
        "still": write_clip(work / "still.mp4", (film(window(pictures[0], 0), rng) for i in range(count))),
        "cuts": write_clip(
            work / "cuts.mp4",
            (film(window(pictures[(i // (RATE // 2)) % len(pictures)], i % (RATE // 2)), rng) for i in range(count)),
        ),
    }


def decoded(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Lab of every frame, and where no channel sits at 0 or 255."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="bgr24")
    width, height = next(reader)["size"]
    frames = np.array([np.frombuffer(f, np.uint8).reshape(height, width, 3) for f in reader])
    lab = np.array([cv2.cvtColor(frame.astype(np.float32) / 255, cv2.COLOR_BGR2Lab) for frame in frames])
    return lab, ((frames > 0) & (frames < 255)).all(axis=3)


def flicker(lab: np.ndarray) -> float:
    return float(np.mean([mean_ab_change(a[:, :, 1:], b[:, :, 1:]) for a, b in zip(lab, lab[1:])]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--reference-dir")
    parser.add_argument("--caffemodel", help="real weights instead of random ones")
    parser.add_argument("--strength", type=float, help="smoothing strength to measure (default: the default)")
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="video-flicker-"))
    work.mkdir(parents=True, exist_ok=True)
    model = release_architecture(work, args.reference_dir)
    if args.caffemodel:
        model["caffemodel"] = Path(args.caffemodel)
    colorizer = Colorizer.load(**model)
    lossless = VideoOptions(audio=False, codec="ffv1", pixel_format="bgr0")
    smoothed_options = lossless if args.strength is None else replace(lossless, smoothing=args.strength)
    print(f"smoothing strength {smoothed_options.smoothing}; {'real' if args.caffemodel else 'random'} weights")
    print(
        f"{'clip':>9} {'flicker frame by frame':>23} {'flicker smoothed':>17} {'ratio':>6} {'deviation':>10} {'L change mean/max':>18} {'cuts':>5}"
    )
    for name, clip in make_clips(work, args.seconds).items():
        independent = colorize_video(
            colorizer, clip, work / f"{clip.stem}_independent.mkv", replace(lossless, smoothing=0.0), quiet=True
        )
        smoothed = colorize_video(colorizer, clip, work / f"{clip.stem}_smoothed.mkv", smoothed_options, quiet=True)
        (plain, plain_fits), (steady, steady_fits) = decoded(independent.destination), decoded(smoothed.destination)
        lightness_change = np.abs(steady[..., 0] - plain[..., 0])[plain_fits & steady_fits]
        print(
            f"{name:>9} {flicker(plain):>23.3f} {flicker(steady):>17.3f} {flicker(steady) / flicker(plain):>6.2f} "
            f"{np.abs(steady[..., 1:] - plain[..., 1:]).mean():>10.3f} {lightness_change.mean():>9.3f}/{lightness_change.max():<8.3f} "
            f"{smoothed.scene_cuts:>5}"
        )


if __name__ == "__main__":
    main()
