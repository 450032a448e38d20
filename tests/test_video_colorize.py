"""video_colorize.py on small generated clips: the same film back (frames, rate, size, sound), L kept, spans, failures
that leave nothing behind, and the temporal smoothing. Clips are made by the ffmpeg imageio-ffmpeg ships."""

import itertools
import random
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from colorization import Colorizer
from colorization.atomic import PARTIAL_MARKER
from colorization.commands import running
from colorization.commands import video as video_command
from colorization.errors import VideoError
from colorization.temporal import mean_ab_change
from colorization.video import VideoOptions, colorize_video
from colorization.video.ffmpeg import format_time, probe
from tests.support import DOMINANT_AB, REPO
from tests.support.failing_engine import OUT_OF_MEMORY, fail_forward_when
from tests.support.tiny_model import model_arguments, write_tiny_model

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
NTSC = Fraction(30000, 1001)


def ffmpeg(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *map(str, arguments)], capture_output=True, check=True
    )


def make_clip(
    path: Path,
    video: str,
    seconds: float,
    audio: str | None = "aac",
    video_codec=("-c:v", "libx264", "-threads", "1"),
    filters=None,
) -> Path:
    """`video` is a lavfi source such as 'testsrc2=size=322x182:rate=30000/1001'; the sound is a sine tone."""
    arguments = ["-f", "lavfi", "-i", f"{video}:duration={seconds}"]
    if audio:
        arguments += ["-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}", "-c:a", audio]
    if filters:
        arguments += ["-vf", filters]
    ffmpeg(*arguments, *video_codec, path)
    return path


def read_frames(path: Path) -> tuple[dict, list[np.ndarray]]:
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="bgr24")
    meta = next(reader)
    width, height = meta["size"]
    return meta, [np.frombuffer(frame, np.uint8).reshape(height, width, 3) for frame in reader]


def stream_header(path: Path) -> str:
    """The YUV4MPEG2 header ffmpeg writes for the first frame: exact rate (F30000:1001) and pixel aspect (A32:27)."""
    result = subprocess.run(
        [FFMPEG, "-loglevel", "quiet", "-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-f", "yuv4mpegpipe", "-"],
        capture_output=True,
    )
    return result.stdout.split(b"\n", 1)[0].decode()


def audio_seconds(path: Path) -> float | None:
    """Length of the first sound track, by decoding it (8 kHz mono 16-bit), or None without one."""
    result = subprocess.run(
        [FFMPEG, "-loglevel", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", "8000", "-f", "s16le", "-"],
        capture_output=True,
    )
    return len(result.stdout) / 16000 if result.returncode == 0 else None


def video_stream_description(path: Path) -> str:
    """What `ffmpeg -i` says of the first video stream, e.g. 'h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709,
    progressive), 322x182 [SAR 1:1 DAR 161:91], ...': the pixel format and the colour tags the file carries."""
    description = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return next(line for line in description.splitlines() if "Video:" in line).split("Video:", 1)[1].strip()


def x264_settings(path: Path) -> str:
    """The settings x264 writes into the stream itself ('... rc=crf ... crf=18.0 ...')."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    return data[start : data.index(b"\0", start)].decode("ascii", "replace")


def audio_codec(path: Path) -> str | None:
    codecs = probe(path).audio_codecs
    return codecs[0] if codecs else None


def lightness(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)[:, :, 0]


def lab_ab(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)[:, :, 1:]


def unclipped_lightness_difference(source: np.ndarray, output: np.ndarray) -> np.ndarray:
    """|L out - L in| where the added colour fits sRGB (no channel at its limit: there L must give way)."""
    unclipped = ((output > 2) & (output < 253)).all(axis=2)
    return np.abs(lightness(output) - lightness(source))[unclipped]


def run_video(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "video_colorize.py"), *map(str, arguments)], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def ntsc_clip(clips) -> Path:
    """1.5 s of a moving grey test pattern at 29.97 fps, 322x182 (not a multiple of 16), with an AAC sound track."""
    return make_clip(
        clips / "ntsc.mp4", "testsrc2=size=322x182:rate=30000/1001", 1.5, filters="format=gray,format=yuv420p"
    )


@pytest.fixture(scope="module")
def silent_clip(clips) -> Path:
    """Grey-encoded (ffv1 gray, a true monochrome stream), no sound, 25 fps."""
    return make_clip(
        clips / "silent.mkv",
        "testsrc2=size=160x96:rate=25",
        1.0,
        audio=None,
        video_codec=("-c:v", "ffv1", "-pix_fmt", "gray"),
    )


def test_probe_reads_exact_rate_size_and_sound(ntsc_clip, silent_clip):
    info = probe(ntsc_clip)
    assert (info.width, info.height, info.rate) == (322, 182, NTSC)
    assert info.audio_codecs == ("aac",) and info.video_codec == "h264"
    assert info.duration == pytest.approx(1.5, abs=0.05) and not info.variable_rate
    silent = probe(silent_clip)
    assert (silent.width, silent.height, silent.rate, silent.audio_codecs) == (160, 96, Fraction(25), ())


def test_same_film_back_frames_rate_size_sound_and_lightness(ntsc_clip, tmp_path, dominant_model):
    output = tmp_path / "colour.mp4"
    result = run_video("-i", ntsc_clip, "-o", output, "-v", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert "sound copied (aac)" in result.stderr and re.search(r"\(backend: CPU, (fp32|bf16)\)", result.stderr)
    source_frames = read_frames(ntsc_clip)[1]
    meta, frames = read_frames(output)
    assert len(frames) == len(source_frames) == 45
    assert meta["size"] == (322, 182) and "F30000:1001" in stream_header(output)
    assert audio_codec(output) == "aac"
    assert audio_seconds(output) == pytest.approx(audio_seconds(ntsc_clip), abs=0.03)
    source_lightness = np.array([lightness(frame) for frame in source_frames])
    output_lightness = np.array([lightness(frame) for frame in frames])
    mid_tones = (source_lightness > 20) & (source_lightness < 80)
    assert mid_tones.mean() > 0.5
    differences = np.abs(output_lightness - source_lightness)[mid_tones]
    assert np.median(differences) < 1.2 and differences.mean() < 1.5, "L within what 4:2:0 H.264 at CRF 18 changes"
    assert np.abs(np.array([lab_ab(frame) for frame in frames])[mid_tones] - DOMINANT_AB).mean() < 3, (
        "the model's colour"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colour.mp4", "dominant"], "no temporary file left"


def test_the_written_file_carries_the_encoder_settings(ntsc_clip, tmp_path, dominant_model):
    """Read back from the file, not from our arguments: 4:2:0 tagged BT.709 in TV range, x264 at CRF 18, and the
    index (moov) before the frames (mdat) so that a browser can start playing before the download ends."""
    output = tmp_path / "colour.mp4"
    result = run_video("-i", ntsc_clip, "-o", output, "--end", "0.2", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    description = video_stream_description(output)
    assert description.startswith("h264 ") and "yuv420p(tv, bt709, progressive)" in description, description
    settings = x264_settings(output).split()
    assert "rc=crf" in settings and "crf=18.0" in settings, settings
    data = output.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_lightness_is_untouched_with_a_lossless_codec(ntsc_clip, tmp_path, lightness_model):
    output = tmp_path / "lossless.mkv"
    result = run_video(
        "-i", ntsc_clip, "-o", output, "--codec", "ffv1", "--pix-fmt", "bgr0", *model_arguments(lightness_model)
    )
    assert result.returncode == 0, result.stderr
    pairs = zip(read_frames(ntsc_clip)[1], read_frames(output)[1])
    differences = np.concatenate([unclipped_lightness_difference(s, o) for s, o in pairs])
    assert differences.mean() < 0.2 and differences.max() < 1.0


def test_grey_encoded_input_without_sound(silent_clip, tmp_path, dominant_model):
    output = tmp_path / "silent_colour.mkv"
    result = run_video("-i", silent_clip, "-o", output, "-v", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert "sound none in the input" in result.stderr
    meta, frames = read_frames(output)
    assert len(frames) == 25 and meta["size"] == (160, 96) and "F25:1" in stream_header(output)
    assert audio_seconds(output) is None
    assert np.abs(lab_ab(frames[10])).mean() > 10


def test_start_and_end_cut_picture_and_sound_alike(ntsc_clip, tmp_path, lightness_model):
    output = tmp_path / "cut.mp4"
    result = run_video(
        "-i", ntsc_clip, "-o", output, "--start", "0.5", "--end", "0:01.2", *model_arguments(lightness_model)
    )
    assert result.returncode == 0, result.stderr
    source = read_frames(ntsc_clip)[1]
    frames = read_frames(output)[1]
    assert abs(len(frames) - round(0.7 * NTSC)) <= 1
    first = round(0.5 * NTSC)
    errors = [np.abs(lightness(frames[0]) - lightness(source[index])).mean() for index in (first - 1, first, first + 1)]
    assert errors[1] == min(errors), "the first frame written is the one at --start"
    assert audio_seconds(output) == pytest.approx(0.7, abs=0.06)


def test_no_audio_drops_the_sound(ntsc_clip, tmp_path, dominant_model):
    output = tmp_path / "mute.mp4"
    result = run_video("-i", ntsc_clip, "-o", output, "--no-audio", "-v", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert "sound dropped (aac, --no-audio)" in result.stderr
    assert audio_seconds(output) is None and len(read_frames(output)[1]) == 45


def test_sound_the_container_refuses_is_re_encoded(clips, tmp_path, dominant_model):
    """Old AVI captures carry 8-bit PCM, which MP4 cannot hold: it becomes AAC, the same length."""
    source = make_clip(
        clips / "capture.avi", "testsrc2=size=160x120:rate=15", 1.0, audio="pcm_u8", video_codec=("-c:v", "mjpeg")
    )
    output = tmp_path / "capture.mp4"
    result = run_video("-i", source, "-o", output, "-v", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert "re-encoded (pcm_u8 -> aac" in result.stderr
    assert audio_codec(output) == "aac"
    assert audio_seconds(output) == pytest.approx(1.0, abs=0.05)


def test_default_output_name_and_odd_size_kept(clips, dominant_model):
    source = make_clip(
        clips / "odd.mp4",
        "testsrc=size=161x91:rate=10",
        0.5,
        audio=None,
        video_codec=("-c:v", "libx264", "-pix_fmt", "yuv444p"),
    )
    result = run_video("-i", source, *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert "odd side" in result.stderr
    meta, frames = read_frames(clips / "odd_colorized.mp4")
    assert meta["size"] == (161, 91) and len(frames) == 5


def test_pixel_aspect_and_variable_rate(clips, tmp_path, dominant_model):
    """Anamorphic DVD-style pixels stay anamorphic; a variable-rate film becomes constant-rate with the same length."""
    source = clips / "vfr.mkv"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=96x64:rate=20:duration=2",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
        "-vf",
        "setsar=32/27,setpts='if(lt(N,20),N,20+2*(N-20))/(20*TB)'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-c:a",
        "aac",
        source,
    )
    output = tmp_path / "constant.mp4"
    result = run_video("-i", source, "-o", output, *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    header = stream_header(output)
    assert "A32:27" in header
    rate = Fraction(*map(int, header.split(" F")[1].split()[0].split(":")))
    frames = read_frames(output)[1]
    assert len(frames) / rate == pytest.approx(probe(source).duration, abs=float(2 / rate))
    assert audio_seconds(output) == pytest.approx(2.0, abs=0.06)


def test_corrupt_file_one_clear_line_and_nothing_written(tmp_path, dominant_model):
    broken = tmp_path / "reel.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(random.Random(0).randrange(256) for _ in range(3000)))
    result = run_video("-i", broken, "-o", tmp_path / "out.mp4", *model_arguments(dominant_model))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "reel.mp4: not a video ffmpeg can read" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dominant", "reel.mp4"]


def test_a_sound_file_is_refused_and_the_other_inputs_done(clips, ntsc_clip, tmp_path, dominant_model):
    sound = clips / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac", sound)
    result = run_video("-i", sound, "-i", ntsc_clip, "-o", tmp_path / "out", *model_arguments(dominant_model))
    assert result.returncode == 1
    assert "tone.m4a: has no video stream" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ntsc_colorized.mp4"]


def test_encoder_failure_leaves_no_output(ntsc_clip, tmp_path, dominant_model):
    result = run_video(
        "-i", ntsc_clip, "-o", tmp_path / "out.mp4", "--codec", "no-such-codec", *model_arguments(dominant_model)
    )
    assert result.returncode == 1
    assert "could not write" in result.stderr and "no-such-codec" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dominant"]


def test_interrupted_run_leaves_nothing_that_looks_finished(ntsc_clip, tmp_path, dominant_model):
    class Interrupted(Colorizer):
        def predict_ab(self, prepared):
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == 10:
                raise KeyboardInterrupt
            return super().predict_ab(prepared)

    colorizer = Interrupted.load(**dominant_model)
    with pytest.raises(KeyboardInterrupt):
        colorize_video(colorizer, ntsc_clip, tmp_path / "out.mp4", VideoOptions(), quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dominant"]


def process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) from /proc, or None once the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def child_processes(pid: int) -> list[int]:
    return [
        int(path.name) for path in Path("/proc").glob("[0-9]*") if (process_state(int(path.name)) or ("", 0))[1] == pid
    ]


def test_sigterm_stops_like_ctrl_c_with_nothing_left_running_or_written(clips, tmp_path, dominant_model):
    """kill, a scheduler's time limit, docker stop: partial film removed, ffmpeg stopped, exit code 143."""
    source = make_clip(clips / "long.mp4", "testsrc2=size=320x180:rate=30", 20.0)
    output = tmp_path / "out" / "film.mp4"
    output.parent.mkdir()
    command = [
        sys.executable,
        str(REPO / "video_colorize.py"),
        "-i",
        str(source),
        "-o",
        str(output),
        "-q",
        *model_arguments(dominant_model),
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (list(output.parent.iterdir()) and len(child_processes(process.pid)) >= 2):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be stopped"
        time.sleep(0.01)
    encoders = child_processes(process.pid)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143 and "Traceback" not in stderr and "terminated" in stderr, stderr
    assert list(output.parent.iterdir()) == []
    assert not [pid for pid in encoders if (process_state(pid) or ("Z",))[0] != "Z"], "ffmpeg was stopped too"


def test_damaged_frames_are_reported_and_the_rest_written(clips, tmp_path, dominant_model):
    source = make_clip(
        clips / "damaged.mkv",
        "testsrc2=size=160x96:rate=25",
        2.0,
        video_codec=("-c:v", "libx264", "-threads", "1", "-g", "10"),
    )
    data = bytearray(source.read_bytes())
    noise = random.Random(2)
    for position in (len(data) // 3, len(data) // 2, 2 * len(data) // 3):
        data[position : position + 400] = bytes(noise.randrange(256) for _ in range(400))
    source.write_bytes(data)
    output = tmp_path / "repaired.mp4"
    result = run_video("-i", source, "-o", output, *model_arguments(dominant_model))
    assert result.returncode == 1
    assert "decoding error" in result.stderr and "1 done (1 with problems), 0 failed" in result.stderr
    assert len(read_frames(output)[1]) >= 40


def test_a_film_whose_decoding_stops_early_is_written_as_far_as_it_goes_and_reported(clips, tmp_path, dominant_model):
    """A truncated download: its header still promises 2 s (50 frames), the data end after about 20."""
    complete = make_clip(clips / "complete.mkv", "testsrc2=size=160x96:rate=25", 2.0, audio=None)
    truncated = tmp_path / "truncated.mkv"
    truncated.write_bytes(complete.read_bytes()[: complete.stat().st_size // 2])
    output = tmp_path / "colour.mp4"
    result = run_video("-i", truncated, "-o", output, *model_arguments(dominant_model))
    assert result.returncode == 1, result.stderr
    written = len(read_frames(output)[1])
    assert 10 <= written <= 40
    assert f"warning: {truncated}: only {written} of about 50 frames could be decoded" in result.stderr, result.stderr
    assert "1 done (1 with problems), 0 failed" in result.stderr and "Traceback" not in result.stderr


def test_the_network_failing_mid_film_fails_that_film_and_the_next_is_done(
    clips, tmp_path, dominant_model, monkeypatch, capsys
):
    """Out of GPU memory at the 5th frame of the first film: one line, nothing of it left, the second film written."""
    first = make_clip(clips / "first.mp4", "testsrc2=size=96x64:rate=10", 1.0, audio=None)
    second = make_clip(clips / "second.mp4", "testsrc2=size=96x64:rate=10", 0.5, audio=None)
    calls = itertools.count(1)
    fail_forward_when(monkeypatch, lambda blob: next(calls) == 5)
    output = tmp_path / "out"
    code = running.run(
        video_command.main,
        ["-i", str(first), "-i", str(second), "-o", str(output), *map(str, model_arguments(dominant_model))],
    )
    stderr = capsys.readouterr().err
    assert code == 1 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {first}: the network failed ({OUT_OF_MEMORY})"], stderr
    assert "1 done (0 with problems), 1 failed" in stderr
    assert sorted(p.name for p in output.iterdir()) == ["second_colorized.mp4"]
    assert len(read_frames(output / "second_colorized.mp4")[1]) == 5


def test_preview_writes_one_still_every_n_seconds(clips, tmp_path, lightness_model):
    source = make_clip(clips / "long.mp4", "testsrc2=size=128x72:rate=10", 3.2, audio=None)
    result = run_video("-i", source, "--preview", "1", "-o", tmp_path / "stills", *model_arguments(lightness_model))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "stills").iterdir())
    assert names == [f"long_00h00m0{second}s.jpg" for second in range(4)]
    still = cv2.imread(str(tmp_path / "stills" / names[2]))
    assert still.shape == (72, 128, 3) and np.abs(lab_ab(still)).mean() > 2


@pytest.fixture
def flicker_model(tmp_path, release_points):
    """Two opposite colours, one favoured by L above 50, the other below: a lightness change of 2 flips the colour."""
    bias = np.full(313, -20.0, np.float32)
    slope = np.zeros(313, np.float32)
    for ab, direction in (((20, 20), 4.0), ((-20, -20), -4.0)):
        index = np.flatnonzero((release_points == ab).all(axis=1))[0]
        bias[index], slope[index] = 0.0, direction
    return write_tiny_model(tmp_path / "flicker", bias, release_points, slope)


def flicker_of(path: Path) -> float:
    frames = [lab_ab(frame) for frame in read_frames(path)[1]]
    return float(np.mean([mean_ab_change(previous, current) for previous, current in zip(frames, frames[1:])]))


def test_smoothing_reduces_flicker_and_keeps_lightness(clips, tmp_path, flicker_model):
    """An old-film brightness flicker (L 49/51 on alternate frames) makes this model swap colours every frame."""
    source = make_clip(
        clips / "flicker.mkv",
        "color=c=gray:size=96x64:rate=24",
        1.0,
        audio=None,
        video_codec=("-c:v", "ffv1", "-pix_fmt", "gray"),
        filters="format=gray,geq=lum='116+7*mod(N\\,2)'",
    )
    lossless = ("--codec", "libx264", "--crf", "0", "--pix-fmt", "yuv444p")
    independent, smoothed = tmp_path / "independent.mp4", tmp_path / "smoothed.mp4"
    for output, switch in ((independent, "--no-smooth"), (smoothed, "--smooth")):
        result = run_video("-i", source, "-o", output, switch, *lossless, *model_arguments(flicker_model))
        assert result.returncode == 0, result.stderr
    assert flicker_of(independent) > 30, "the clip does flicker frame by frame"
    assert flicker_of(smoothed) < 0.4 * flicker_of(independent)
    for original, plain, steady in zip(read_frames(source)[1], read_frames(independent)[1], read_frames(smoothed)[1]):
        assert np.abs(lightness(plain) - lightness(original)).max() < 1.0
        assert np.abs(lightness(steady) - lightness(original)).max() < 1.0


def test_smoothing_leaves_a_static_clip_unchanged(clips, tmp_path, lightness_model):
    source = make_clip(
        clips / "static.mkv",
        "color=c=gray:size=96x64:rate=24",
        0.5,
        audio=None,
        video_codec=("-c:v", "ffv1", "-pix_fmt", "gray"),
        filters="format=gray,geq=lum='30+2*X+Y'",
    )
    outputs = []
    for switch in ("--smooth", "--no-smooth"):
        outputs.append(tmp_path / f"{switch}.mkv")
        assert (
            run_video(
                "-i", source, "-o", outputs[-1], switch, "--codec", "ffv1", *model_arguments(lightness_model)
            ).returncode
            == 0
        )
    smooth, independent = (read_frames(path)[1] for path in outputs)
    assert len(smooth) == 12 and all(np.array_equal(a, b) for a, b in zip(smooth, independent))
    assert np.abs(lab_ab(smooth[0])).mean() > 2


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--start", "2", "--end", "1"], "must come after --start"),
        (["--crf", "60"], "--crf for libx264 goes from 0 (best) to 51"),
        (["--codec", "mpeg4", "--crf", "20"], "use --quality"),
        (["--smooth-strength", "1"], "--smooth-strength goes from 0"),
        (["--start", "1:75"], "minutes and seconds go up to 59"),
    ],
)
def test_impossible_settings_are_usage_errors(ntsc_clip, tmp_path, arguments, message):
    result = run_video("-i", ntsc_clip, "-o", tmp_path / "out.mp4", "--model-dir", tmp_path, *arguments)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_start_past_the_end_is_reported(ntsc_clip, tmp_path, dominant_model):
    result = run_video("-i", ntsc_clip, "-o", tmp_path / "out.mp4", "--start", "5", *model_arguments(dominant_model))
    assert result.returncode == 1 and "--start 0:00:05.000 is at or past its end (0:00:01.500)" in result.stderr


def test_time_format():
    assert format_time(3723.25) == "1:02:03.250"


def test_one_output_file_for_several_films_is_a_usage_error(ntsc_clip, silent_clip, tmp_path):
    result = run_video("-i", ntsc_clip, "-i", silent_clip, "-o", tmp_path / "both.mp4", "--model-dir", tmp_path)
    assert result.returncode == 2 and "2 inputs need a folder" in result.stderr


def dead_process_id() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_temporary_left_by_kill_9_is_removed_by_the_next_run(ntsc_clip, tmp_path, dominant_model):
    left = tmp_path / f".film{PARTIAL_MARKER}{dead_process_id()}.mp4"
    left.write_bytes(b"half a film")
    other = tmp_path / f".other{PARTIAL_MARKER}{dead_process_id()}.mp4"
    other.write_bytes(b"another output's")
    result = run_video("-i", ntsc_clip, "-o", tmp_path / "film.mp4", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr
    assert not left.exists() and other.exists()
    assert (tmp_path / "film.mp4").is_file()


def test_existing_output_is_kept_unless_overwrite(ntsc_clip, tmp_path, dominant_model):
    output = tmp_path / "film.mp4"
    output.write_bytes(b"kept")
    result = run_video("-i", ntsc_clip, "-o", output, *model_arguments(dominant_model))
    assert result.returncode == 0 and output.read_bytes() == b"kept"
    assert "exists (--overwrite to replace it)" in result.stderr and "1 skipped (output exists)" in result.stderr
    result = run_video("-i", ntsc_clip, "-o", output, "--overwrite", *model_arguments(dominant_model))
    assert result.returncode == 0 and output.stat().st_size > 1000


def test_an_output_folder_that_cannot_be_made_is_one_line_and_the_other_film_is_done(
    ntsc_clip, silent_clip, tmp_path, dominant_model
):
    (tmp_path / "taken").write_bytes(b"a file where a folder should be")
    result = run_video(
        "-i", ntsc_clip, silent_clip, "-o", f"{tmp_path / 'taken' / 'sub'}/", *model_arguments(dominant_model)
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and all("cannot create its folder" in line and "is a file" in line for line in errors)
    result = run_video("-i", ntsc_clip, silent_clip, "--suffix", "_c", *model_arguments(dominant_model))
    assert result.returncode == 0, result.stderr


def test_a_read_only_folder_gives_the_reason_not_a_cleanup_traceback(tmp_path, monkeypatch):
    from colorization import atomic

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(atomic.Path, "unlink", refuse)
    refused = pytest.raises(VideoError, match="ffmpeg says: Permission denied")
    with refused, atomic.atomic_output(tmp_path / "x.mp4"):
        raise VideoError("could not write x.mp4: ffmpeg says: Permission denied")


def test_cancel_stops_a_film_between_frames_and_leaves_nothing(ntsc_clip, tmp_path, dominant_model):
    """The hook the web server uses: progress counted per frame, and a cancel event honoured before the next one."""
    import threading

    from colorization.errors import Cancelled

    cancel = threading.Event()

    class Counter:
        done = 0

        def update(self, count: int = 1) -> None:
            self.done += count
            if self.done == 5:
                cancel.set()

    counter = Counter()
    with pytest.raises(Cancelled):
        colorize_video(
            Colorizer.load(**dominant_model),
            ntsc_clip,
            tmp_path / "out.mp4",
            VideoOptions(),
            progress=counter,
            cancel=cancel,
        )
    assert 5 <= counter.done < 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dominant"]
