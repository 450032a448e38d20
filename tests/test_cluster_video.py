"""video_colorize.py --ray: a film cut at keyframes into segments colorized by model actors on the session's Ray head,
joined without re-encoding. The output must be the one-machine run's film: the same frames (count, size, rate, and
pixels within the encoder's noise), the same sound, and no trace of the joins."""

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from colorization.cluster import segments
from colorization.cluster import video as cluster_video
from colorization.cluster.pool import WorkerPool
from colorization.commands import video as video_command
from colorization.video.colorize import DEFAULT_SUFFIX
from colorization.video.ffmpeg import keyframe_times
from tests.support import REPO
from tests.support.tiny_model import model_arguments
from tests.test_video_colorize import audio_seconds, lab_ab, make_clip, read_frames, run_video, stream_header

RATE = 24
SECONDS = 6
KEYFRAME_EVERY = 12
"""Frames between forced keyframes: two a second, so the planner has cuts to choose from."""
SIZE = "96x64"
LOSSLESS = ("--codec", "ffv1", "--pix-fmt", "bgr0")
"""A lossless encoder for the pixel comparison: any difference is then the segmenting's, not the encoder's."""
WARM_UP_TOLERANCE = 1.5
"""Largest |ab| difference (Lab units) allowed between a Ray frame and the one-machine frame: the rounding to 8 bits
of an average that kept WARM_UP_RESIDUAL of the past (a level of one channel moves ab by about 0.6). A join without
warm-up differs by more on the moving pattern (the smoother's average restarts), a frame off by one by far more."""


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    """6 s of a moving grey test pattern with a sine tone, keyframes forced every half second and nowhere else."""
    folder = tmp_path_factory.mktemp("ray-film")
    return make_clip(
        folder / "reel.mp4",
        f"testsrc2=size={SIZE}:rate={RATE}",
        SECONDS,
        filters="format=gray,format=yuv420p",
        video_codec=(
            "-c:v",
            "libx264",
            "-threads",
            "1",
            "-g",
            "1000",
            "-x264-params",
            "scenecut=0",
            "-force_key_frames",
            f"expr:eq(mod(n,{KEYFRAME_EVERY}),0)",
        ),
    )


@pytest.fixture
def small_segments(monkeypatch):
    """Segments of 1 s, so the 6 s film is cut several times (films get longer ones)."""
    monkeypatch.setattr(cluster_video, "MIN_SEGMENT_SECONDS", 1.0)


def one_machine_and_ray(film, tmp_path, model, ray_address, *extra):
    plain, on_ray = tmp_path / "plain.mkv", tmp_path / "ray.mkv"
    assert (
        video_command.main(["-i", str(film), "-o", str(plain), "-q", *LOSSLESS, *extra, *model_arguments(model)]) == 0
    )
    arguments = ["-i", str(film), "-o", str(on_ray), "-v", *LOSSLESS, *extra, *model_arguments(model)]
    assert video_command.main([*arguments, "--ray", ray_address, "--ray-workers", "2"]) == 0
    return plain, on_ray


def largest_ab_difference(first, second) -> float:
    return max(float(np.abs(lab_ab(a) - lab_ab(b)).max()) for a, b in zip(first, second))


def test_keyframes_are_found_exactly(film):
    assert keyframe_times(film) == [Fraction(n * KEYFRAME_EVERY, RATE) for n in range(SECONDS * RATE // KEYFRAME_EVERY)]


def test_same_film_as_one_machine(film, tmp_path, lightness_model, ray_address, small_segments, capsys):
    plain, on_ray = one_machine_and_ray(film, tmp_path, lightness_model, ray_address)
    assert "Ray: 2 model workers" in capsys.readouterr().err
    (plain_meta, plain_frames), (ray_meta, ray_frames) = read_frames(plain), read_frames(on_ray)
    assert len(ray_frames) == len(plain_frames) == SECONDS * RATE
    assert stream_header(on_ray) == stream_header(plain) and ray_meta["size"] == plain_meta["size"]
    assert ray_meta["duration"] == pytest.approx(plain_meta["duration"], abs=1 / RATE)
    assert audio_seconds(on_ray) == pytest.approx(audio_seconds(plain), abs=0.01)
    assert largest_ab_difference(plain_frames, ray_frames) < WARM_UP_TOLERANCE
    assert not list(tmp_path.glob(".*")), "no piece or temporary is left"


def test_without_warm_up_the_joins_would_show(
    film, tmp_path, lightness_model, ray_address, small_segments, monkeypatch
):
    """The tolerance above is tight enough to catch a join without warm-up."""
    monkeypatch.setattr(segments, "warm_up_frames", lambda strength: 0)
    plain, on_ray = one_machine_and_ray(film, tmp_path, lightness_model, ray_address)
    assert largest_ab_difference(read_frames(plain)[1], read_frames(on_ray)[1]) > WARM_UP_TOLERANCE


def test_start_and_end_between_frames(film, tmp_path, lightness_model, ray_address, small_segments):
    """--start 1.3 lies between frames: the one-machine decoder repeats its first frame and ends 3.8 s after it."""
    plain, on_ray = one_machine_and_ray(film, tmp_path, lightness_model, ray_address, "--start", "1.3", "--end", "5.1")
    (plain_meta, plain_frames), (ray_meta, ray_frames) = read_frames(plain), read_frames(on_ray)
    assert len(ray_frames) == len(plain_frames) >= 91
    assert ray_meta["duration"] == pytest.approx(plain_meta["duration"], abs=1 / RATE)
    assert audio_seconds(on_ray) == pytest.approx(audio_seconds(plain), abs=0.01)
    assert largest_ab_difference(plain_frames, ray_frames) < WARM_UP_TOLERANCE
    assert largest_ab_difference(plain_frames, ray_frames[1:]) > WARM_UP_TOLERANCE, "a frame off by one would show"


def test_a_lost_worker_s_segment_is_done_by_another(
    film, tmp_path, lightness_model, ray_address, small_segments, monkeypatch, capsys
):
    submit = WorkerPool.submit
    killed = []

    def submit_then_kill(pool, task, job):
        future = submit(pool, task, job)
        if job.segment.index == 1 and not killed:
            pool.ray.kill(pool.running[future], no_restart=True)  # the worker process dies with its segment in hand
            killed.append(job.segment.index)
        return future

    monkeypatch.setattr(WorkerPool, "submit", submit_then_kill)
    plain, on_ray = one_machine_and_ray(film, tmp_path, lightness_model, ray_address)
    assert killed and "a model worker was lost on segment 2" in capsys.readouterr().err
    assert largest_ab_difference(read_frames(plain)[1], read_frames(on_ray)[1]) < WARM_UP_TOLERANCE


def test_several_films_skip_existing_and_preview(film, tmp_path, dominant_model, ray_address):
    other = tmp_path / "other.mp4"
    other.write_bytes(film.read_bytes())
    kept = tmp_path / f"kept{DEFAULT_SUFFIX}.mp4"
    (tmp_path / "kept.mp4").write_bytes(film.read_bytes())
    kept.write_bytes(b"already done")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a film")
    result = run_video(
        "-i", other, tmp_path / "kept.mp4", broken, "--ray", ray_address, *model_arguments(dominant_model)
    )
    assert result.returncode == 1, result.stderr
    assert len(read_frames(tmp_path / f"other{DEFAULT_SUFFIX}.mp4")[1]) == SECONDS * RATE
    assert kept.read_bytes() == b"already done"
    assert "1 done (0 with problems), 1 skipped (output exists), 1 failed (Ray: 1 model worker" in result.stderr
    preview = run_video(
        "-i", other, "--preview", "2", "--ray", ray_address, "-o", tmp_path / "stills", *model_arguments(dominant_model)
    )
    assert preview.returncode == 0 and len(list((tmp_path / "stills").glob("*.jpg"))) == 3


def test_without_ray_nothing_changes_and_ray_is_not_imported(film, tmp_path, dominant_model):
    check = (
        "import sys; from colorization.commands import video; "
        f"code = video.main(['-i', {str(film)!r}, '-o', {str(tmp_path / 'out.mp4')!r}, '-q', "
        + ", ".join(repr(argument) for argument in model_arguments(dominant_model))
        + "]); assert code == 0 and 'ray' not in sys.modules, code"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert len(read_frames(tmp_path / "out.mp4")[1]) == SECONDS * RATE


def test_unreachable_cluster_is_one_line_and_exit_2(film, tmp_path, dominant_model):
    result = run_video("-i", film, "-o", tmp_path / "out.mp4", "--ray", "127.0.0.1:9", *model_arguments(dominant_model))
    assert result.returncode == 2
    assert (
        result.stderr.strip().count("\n") == 0 and "cannot connect to the Ray cluster at 127.0.0.1:9" in result.stderr
    )
    assert not (tmp_path / "out.mp4").exists()
    workers_alone = run_video(
        "-i", film, "-o", tmp_path / "out.mp4", "--ray-workers", "2", *model_arguments(dominant_model)
    )
    assert workers_alone.returncode == 2 and "--ray-workers needs --ray" in workers_alone.stderr
