"""The bad-input corpus's world: the folders, files and model every run of tests/test_bad_inputs.py reads, the
command line of each run, and the web server's requests."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.support import bad_inputs as bad
from tests.support.bounded_runs import Finished, command, run_bounded
from tests.support.tiny_model import model_arguments, write_tiny_model

OPTION_VALUES = {
    "photo": (
        ("--temperature", "inf"),
        ("--temperature", "nan"),
        ("--temperature", "0"),
        ("--temperature", "10.5"),
        ("--saturation", "nan"),
        ("--saturation", "4.5"),
        ("--saturation", "-0.1"),
        ("--size", "80000"),
        ("--size", "2240"),
        ("--size", "904"),
        ("--size", "24"),
        ("--size", "36"),
        ("--size", "1e3"),
        ("--max-pixels", "inf"),
        ("--max-pixels", "-1"),
        ("--max-pixels", "1e400"),
        ("--guided-spatial-sigma", "0"),
        ("--guided-spatial-sigma", "1e-30"),
        ("--guided-range-sigma", "inf"),
        ("--hint", "nan,nan,red"),
        ("--hint", "1e400,1,red"),
        ("--hint", "0.5,0.5,#12345g"),
        ("--hint", ",,"),
        ("--hint", "0.5,0.5,red,4"),
    ),
    "batch": (
        ("--workers", "100000"),
        ("--workers", "0"),
        ("--batch-size", "1e9"),
        ("--shard", "3/2"),
        ("--shard", "0/1"),
        ("--shard", "a/b"),
        ("--output-ext", "gif"),
        ("--ext", "exe"),
        ("--gpus-per-worker", "inf"),
    ),
    "video": (
        ("--start", "inf"),
        ("--start", "9" * 400),
        ("--start", "1:75"),
        ("--end", "-1"),
        ("--smooth-strength", "nan"),
        ("--crf", "nan"),
        ("--quality", "11"),
        ("--preview", "0"),
    ),
    "fetch": (("--timeout", "nan"), ("--timeout", "inf"), ("--retries", "-1")),
    "web": (
        ("--max-upload-mb", "inf"),
        ("--max-megapixels", "nan"),
        ("--port", "70000"),
        ("--queue", "-1"),
        ("--preview-size", "1e9"),
    ),
}
"""Option values each command must refuse as a usage error (exit 2) before anything loads."""
OPTION_CASES = {
    f"{name}{option}={value[:12]}": (name, option, value)
    for name, values in OPTION_VALUES.items()
    for option, value in values
}


@dataclass
class Outcome:
    """How one case ended: the exit code or HTTP status, the lines that may name it, and the bounded run it was in."""

    code: int
    lines: list[str]
    finished: Finished


class Scene:
    """Every input of the corpus, written once under `root`."""

    def __init__(self, root: Path, points: np.ndarray):
        self.root = root
        bias = -np.hypot(points[:, 0] - 20, points[:, 1] - 30).astype(np.float32) / 10
        self.files = write_tiny_model(root / "model", bias, points)
        self.model = model_arguments(self.files)
        self.points = points
        self.fifos: list[Path] = []
        self.write_pictures(root / "pictures", specials=False)
        self.write_pictures(root / "archive", specials=True)
        (root / "afile").write_text("a file, not a folder")
        self.write_model_files(root / "bad-model")
        self.write_films_and_downloads()

    def write_pictures(self, folder: Path, specials: bool) -> None:
        folder.mkdir()
        bad.good_picture(folder / "good.jpg")
        for name, (extension, make) in {**bad.PICTURE_BYTES, **bad.PICTURES_READ}.items():
            (folder / f"{name}{extension}").write_bytes(make())
        for name, (extension, make) in bad.PICTURE_FILES.items():
            make(folder / f"{name}{extension}")
        if specials:
            self.fifos.append(bad.fifo(folder / "good.hints.json"))
            for name, (extension, make) in bad.SPECIAL_FILES.items():
                make(folder / f"{name}{extension}")
                if make is bad.fifo:
                    self.fifos.append(folder / f"{name}{extension}")
            return
        bad.unix_socket(folder / "socket.png")
        for name in ("endless_png.png", "endless_tiff.tif", "stream_picture.png"):
            self.fifos.append(bad.fifo(folder / name))

    def write_model_files(self, folder: Path) -> None:
        folder.mkdir()
        for name, (make, _) in bad.POINTS.items():
            bad.write_points(folder / f"{name}.npy", make(np.asarray(self.points)))
        bad.points_with_lying_header(folder / "lying.npy", self.points)
        (folder / "empty.npy").write_bytes(b"")
        bad.first_layer_misspelt(self.files["prototxt"], folder / "misspelt.prototxt")
        bad.sparse_file(folder / "sparse.prototxt", head=b'name: "sparse"\n')
        bad.sparse_file(folder / "sparse.caffemodel", head=b"\x0a\x05tiny_")
        (folder / "zeros.caffemodel").write_bytes(b"\0" * 4096)
        (folder / "deep.json").write_text("[" * 100_000)
        bad.sparse_file(folder / "sparse.json", head=b"[")
        for name in ("fifo.npy", "fifo.prototxt"):
            self.fifos.append(bad.fifo(folder / name))

    def write_films_and_downloads(self) -> None:
        films = self.root / "films"
        films.mkdir()
        (films / "notes.mp4").write_text("not a film")
        bad.sparse_file(films / "sparse.mp4")
        (films / "anim.gif").write_bytes(bad.animation(".gif"))
        self.fifos.append(bad.fifo(films / "pipe.mp4"))
        downloads = self.root / "downloads"
        downloads.mkdir()
        bad.sparse_file(downloads / "sparse.caffemodel", 128946764 + 1)
        self.fifos.append(bad.fifo(downloads / "pipe.caffemodel"))
        linked = self.root / "linked"
        (linked / "sub").mkdir(parents=True)
        bad.good_picture(linked / "sub" / "good.jpg")
        (self.root / "elsewhere").mkdir()
        (self.root / "linked-out").mkdir()
        (self.root / "linked-out" / "sub").symlink_to(self.root / "elsewhere")

    def arguments(self, run: str) -> list[str]:
        """The command line of a run of the table."""
        model, good = self.model, self.root / "pictures" / "good.jpg"
        runs = {
            "photo-pictures": lambda: command("photo", "-i", *self.picture_inputs(), "-o", "out/", *model),
            "batch-archive": lambda: command("batch", "archive", "colour", *model),
            "photo-limits-high": lambda: command(
                "photo",
                "-i",
                good,
                "-o",
                "limits_high.png",
                "--temperature",
                "10",
                "--saturation",
                "4",
                "--guided-spatial-sigma",
                "100",
                "--guided-range-sigma",
                "1000",
                "--size",
                "896",
                *model,
            ),
            "photo-limits-low": lambda: command(
                "photo",
                "-i",
                good,
                "-o",
                "limits_low.png",
                "--temperature",
                "0.01",
                "--saturation",
                "0",
                "--guided-spatial-sigma",
                "0.01",
                "--guided-range-sigma",
                "0.01",
                "--size",
                "32",
                *model,
            ),
            "photo-pixels-at-limit": lambda: command(
                "photo", "-i", good, "-o", "pixels_at_limit.png", "--max-pixels", "1200", *model
            ),
            "photo-pixels-past-limit": lambda: command(
                "photo", "-i", good, "-o", "pixels_past.png", "--max-pixels", "1199", *model
            ),
            "photo-output-without-extension": lambda: command("photo", "-i", good, "-o", "photo", *model),
            "photo-output-gif": lambda: command("photo", "-i", good, "-o", "x.gif", *model),
            "photo-suffix-climbing": lambda: command("photo", "-i", good, "--suffix", "/../../x", *model),
            "photo-output-under-a-file": lambda: command("photo", "-i", good, "-o", "afile/sub/", *model),
            "model-points-lying-header": lambda: self.with_model("points", "lying.npy"),
            "model-points-empty": lambda: self.with_model("points", "empty.npy"),
            "model-points-fifo": lambda: self.with_model("points", "fifo.npy"),
            "model-prototxt-misspelt": lambda: self.with_model("prototxt", "misspelt.prototxt"),
            "model-prototxt-misspelt-caffe": lambda: self.with_model(
                "prototxt", "misspelt.prototxt", "--engine", "caffe"
            ),
            "model-prototxt-fifo": lambda: self.with_model("prototxt", "fifo.prototxt"),
            "model-prototxt-sparse": lambda: self.with_model("prototxt", "sparse.prototxt"),
            "model-caffemodel-zeros": lambda: self.with_model("caffemodel", "zeros.caffemodel"),
            "model-caffemodel-device": lambda: self.with_model("caffemodel", "/dev/zero"),
            "model-caffemodel-sparse": lambda: self.with_model("caffemodel", "sparse.caffemodel"),
            "hints-dev-zero": lambda: command("photo", "-i", good, "-o", "h.png", "--hints", "/dev/zero", *model),
            "hints-deep": lambda: command("photo", "-i", good, "-o", "h.png", "--hints", "bad-model/deep.json", *model),
            "hints-sparse": lambda: command(
                "photo", "-i", good, "-o", "h.png", "--hints", "bad-model/sparse.json", *model
            ),
            "batch-suffix-climbing": lambda: command(
                "batch", "archive", "colour2", "--suffix", "/../../archive/good", "--overwrite", *model
            ),
            "batch-report-among-inputs": lambda: command(
                "batch", "archive", "colour3", "--report", "archive/report.csv", *model
            ),
            "batch-report-type": lambda: command("batch", "archive", "colour3", "--report", "report.txt", *model),
            "batch-output-through-a-link": lambda: command("batch", "linked", "linked-out", *model),
            "video-dev-zero": lambda: command("video", "-i", "/dev/zero", "-o", "zero.mp4", *model),
            "video-fifo": lambda: command("video", "-i", "films/pipe.mp4", "-o", "pipe_out.mp4", *model),
            "video-text": lambda: command("video", "-i", "films/notes.mp4", "-o", "notes_out.mp4", *model),
            "video-sparse": lambda: command("video", "-i", "films/sparse.mp4", "-o", "sparse_out.mp4", *model),
            "video-gif-to-gif": lambda: command("video", "-i", "films/anim.gif", "-o", "anim_out.gif", *model),
            "video-output-without-extension": lambda: command("video", "-i", "films/anim.gif", "-o", "film", *model),
            "video-gif-with-another-codec": lambda: command(
                "video", "-i", "films/anim.gif", "-o", "x.gif", "--codec", "libx264", *model
            ),
            "video-suffix-climbing": lambda: command("video", "-i", "films/anim.gif", "--suffix", "/../x", *model),
            "fetch-from-dev-zero": lambda: command("fetch", "--dest", "fetched", "--from", "/dev/zero"),
            "fetch-from-fifo": lambda: command("fetch", "--dest", "fetched", "--from", "downloads/pipe.caffemodel"),
            "fetch-from-sparse": lambda: command("fetch", "--dest", "fetched", "--from", "downloads/sparse.caffemodel"),
            "fetch-from-missing": lambda: command(
                "fetch", "--dest", "fetched", "--from", "downloads/missing.caffemodel"
            ),
            "fetch-dest-under-a-file": lambda: command("fetch", "--dest", "afile/sub", "--from", self.files["points"]),
            "fetch-check-a-file": lambda: command("fetch", "--check", "--dest", "afile"),
            "fetch-mirror-device": lambda: command(
                "fetch", "--dest", "fetched", "--mirror", "/dev/zero", "--mirrors-only"
            ),
        }
        if run in runs:
            return runs[run]()
        if run.removeprefix("model-") in bad.POINTS:
            return self.with_model("points", f"{run.removeprefix('model-')}.npy")
        name, option, value = OPTION_CASES[run]
        inputs = {
            "photo": ["-i", good, "-o", "o.png", *model],
            "batch": ["archive", "colour4", *model],
            "video": ["-i", "films/anim.gif", "-o", "v.mp4", *model],
            "fetch": ["--dest", "fetched"],
            "web": ["--no-browser"],
        }[name]
        return command(name, *inputs, f"{option}={value}")

    def with_model(self, role: str, path: str, *extra: str) -> list[str]:
        """A photo run whose model has one file replaced by a bad one."""
        files = {**self.files, role: path if path.startswith("/") else self.root / "bad-model" / path}
        return command(
            "photo", "-i", self.root / "pictures" / "good.jpg", "-o", "m.png", *model_arguments(files), *extra
        )

    def picture_inputs(self) -> list:
        folder = self.root / "pictures"
        names = sorted(path.name for path in folder.iterdir())
        return [folder / name for name in names] + ["/dev/zero", "/dev/null", folder / "missing.png"]

    def run(self, name: str) -> Finished:
        """One run of the table, bounded; the photo run's FIFOs are fed as `-i <(...)` would feed them."""
        feeders = []
        if name == "photo-pictures":
            folder = self.root / "pictures"
            streams = {
                "endless_png.png": bad.encoded(".png")[:33],
                "endless_tiff.tif": bad.encoded(".tif"),
                "stream_picture.png": None,
            }
            for file_name, head in streams.items():
                target = bad.feed_endlessly if head is not None else feed_once
                data = head if head is not None else bad.encoded(".png")
                feeders.append(threading.Thread(target=target, args=(folder / file_name, data), daemon=True))
        for feeder in feeders:
            feeder.start()
        return run_bounded(self.arguments(name), self.root)

    def outcomes(self, name: str, finished: Finished) -> dict[str, Outcome]:
        return {name: Outcome(finished.code, finished.stderr.splitlines(), finished)}

    def warm_up(self) -> None:
        """One healthy run first: the model is compiled and its engines measured once, not by every run at once."""
        finished = run_bounded(
            command("photo", "-i", self.root / "pictures" / "good.jpg", "-o", "warm.png", *self.model), self.root
        )
        assert finished.code == 0, finished.stderr

    def close(self) -> None:
        """Unblock the feeders of FIFOs no run opened (a run that failed before reading them)."""
        for path in self.fifos:
            try:
                os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                pass
        for server in bad.UNIX_SOCKETS:
            server.close()

    def check(self, what: str) -> None:
        """What a case that must succeed has to show."""
        kind, name = what.split(":")
        if kind == "colorized":
            found = list(self.root.glob(f"out/{name}_colorized.*")) + list(self.root.glob(f"{name}.png"))
            if name == "batch_good":
                found = [self.root / "colour" / "good.jpg"]
            assert found and all(path.is_file() and path.stat().st_size for path in found), what
            if name == "broken_exif":
                check_repaired_exif(found[0])
        elif kind == "gif":
            with Image.open(self.root / name) as animation:
                durations = []
                for index in range(animation.n_frames):
                    animation.seek(index)
                    durations.append(animation.info["duration"])
                assert animation.info.get("loop") == 0 and sum(durations) == 600, (animation.info, durations)


def feed_once(path: Path, data: bytes) -> None:
    try:
        with open(path, "wb") as pipe:
            pipe.write(data)
    except OSError:
        return


def check_repaired_exif(path: Path) -> None:
    """The output's EXIF reads without a warning, keeps the camera and has no directory pointing outside itself."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Image.open(path) as photo:
            exif = photo.getexif()
            assert exif.get(0x010F) == "Cam" and exif.get(0x0112) == 1 and 0x8769 not in exif, dict(exif)
