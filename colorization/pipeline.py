"""The one colorization pipeline every command uses: image -> L -> network -> ab -> upsampled ab + original L -> image.

It is split into stages (`prepare`, `predict_ab`, `compose`: colorization.preparation, the network and
colorization.composition) so that batch and video work can overlap decoding
with inference and batch the forward pass, while `Colorizer.colorize` runs them in order for one image.
`predict_scores` and `decode` split `predict_ab` once more, for callers that decode one prediction at several
temperatures (the web page's vividness slider).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .composition import compose
from .engines import Engine, load_engine
from .errors import ColorizationError
from .fetch import ensure_release_files
from .hint_spreading import apply_hints
from .model import annealed_mean, annealing_scale
from .model_files import load_points
from .preparation import PreparedImage, prepare_for
from .settings import ColorizerSettings
from .upsampling import DEFAULT_UPSAMPLE, Upsampling


@dataclass(frozen=True)
class ColourSettings:
    """How the network's 1/4-size ab becomes the full-size picture; made from values checked before any model
    loads (a ColorizerSettings, the web page's settings)."""

    upsample: Upsampling = Upsampling.of(DEFAULT_UPSAMPLE)
    saturation: float = 1.0
    conversion: str = "reference"

    @classmethod
    def from_settings(cls, settings: ColorizerSettings) -> ColourSettings:
        """The colour part of a colorizer's settings (checked when those were made)."""
        return cls(settings.upsample, settings.saturation, settings.conversion)

    def compose(self, prepared: PreparedImage, ab: np.ndarray) -> np.ndarray:
        return compose(prepared, ab, self.upsample, self.saturation, self.conversion)


class NetworkTimes:
    """The network's forwards in one Colorizer, timed where the pipeline calls them: for -v's breakdown of a run.
    Nothing else reads them (the engine choice is never revised by a run's own timings)."""

    KEPT = 1000
    """The most recent forwards kept, so that a server or a long film holds a bounded list."""

    def __init__(self):
        self.first: float | None = None
        """Seconds of the first forward (the runtimes prepare their kernels then)."""
        self.per_picture: deque[float] = deque(maxlen=self.KEPT)

    def add(self, seconds: float, pictures: int) -> None:
        if self.first is None:
            self.first = seconds
        self.per_picture.append(seconds / max(1, pictures))


class TurnLock:
    """A lock handed over in the order it was asked for. Engines' forwards are not all thread-safe (cv2.dnn nets,
    OpenVINO infer requests), so a Colorizer runs them one at a time; a plain Lock would let a thread that forwards
    in a tight loop (a film) take it again before a waiting one (a photo) wakes, for as long as the film runs."""

    def __init__(self):
        self.guard = threading.Lock()
        self.waiting: deque[threading.Lock] = deque()
        self.held = False

    def __enter__(self) -> TurnLock:
        with self.guard:
            if not self.held:
                self.held = True
                return self
            turn = threading.Lock()
            turn.acquire()
            self.waiting.append(turn)
        turn.acquire()  # released by the holder, which hands the lock over still held
        return self

    def __exit__(self, *exception) -> None:
        with self.guard:
            if self.waiting:
                self.waiting.popleft().release()
            else:
                self.held = False


class Colorizer:
    """The public API: load once (the network is the slow part), then colorize many arrays.

    >>> colorizer = Colorizer.load()            # the release model, downloaded on first use
    >>> colour = colorizer.colorize(cv2.imread("grandpa.jpg"))
    """

    def __init__(
        self,
        engine: Engine,
        points: np.ndarray,
        scale: float,
        size: int,
        colour: ColourSettings = ColourSettings(),
        settings: ColorizerSettings | None = None,
    ):
        self.engine = engine
        self.points = points
        self.scale = scale
        self.size = size
        self.colour = colour
        self.settings = settings
        """What `load` made it from (None for one put together by hand)."""
        self.network_times = NetworkTimes()
        self.forward_turns = TurnLock()

    @classmethod
    def load(cls, settings: ColorizerSettings | str | os.PathLike[str] | None = None, /, **keywords: Any) -> Colorizer:
        """The one way to a ready model: resolve the files, fetch missing release files (unless `download` is
        False), load the engine; every setting is checked before anything slow happens.

        `settings` is a ColorizerSettings (what the commands build from their options); the keywords are its
        fields, on their own (`Colorizer.load(engine="caffe", temperature=0.5)`) or replacing the settings' own;
        a path in its place is `model_dir`. `engine="auto"` runs the engine docs/engines.md describes, or the one
        `python -m colorization engines` measured fastest here. `precision="auto"` runs the reduced precision the
        engine and device have natively (bf16 on CPUs with AVX512-BF16 or AMX, fp16 on CUDA), else fp32; "fp32"
        is the reference, and "bf16" or "fp16" asked for where they cannot run are said once, and fp32 runs."""
        if isinstance(settings, ColorizerSettings):
            settings = replace(settings, **keywords) if keywords else settings
        else:
            settings = ColorizerSettings(**keywords) if settings is None else ColorizerSettings(settings, **keywords)
        files = settings.model_files()
        ensure_release_files(files, download=settings.download, verify=settings.verify, quiet=settings.quiet)
        network = load_engine(
            files, settings.engine, settings.backend, settings.scale, settings.size, settings.precision
        )
        colour = ColourSettings.from_settings(settings)
        return cls(network, load_points(files.points.path), settings.scale, settings.size, colour, settings)

    @property
    def upsample(self) -> Upsampling:
        return self.colour.upsample

    @property
    def saturation(self) -> float:
        return self.colour.saturation

    @property
    def conversion(self) -> str:
        return self.colour.conversion

    @property
    def device(self) -> str:
        """Where the network runs and in which precision, for people (the commands' summary lines)."""
        return f"{self.engine.device}, {self.engine.precision}"

    def prepare(self, image: np.ndarray) -> PreparedImage:
        return prepare_for(image, self.size, self.conversion)

    @staticmethod
    def blob(network_inputs: list[np.ndarray]) -> np.ndarray:
        return np.stack(network_inputs)[:, None, :, :]

    @staticmethod
    def network_inputs(prepared: list[PreparedImage]) -> list[np.ndarray]:
        inputs = []
        for item in prepared:
            if item.network_input is None:
                raise ColorizationError(
                    "a screen-size copy of a picture has no network input: predict from the picture itself"
                )
            inputs.append(item.network_input)
        return inputs

    def predict_ab(self, prepared: list[PreparedImage]) -> list[np.ndarray]:
        """One forward pass for a batch; each result is the (size/4, size/4, 2) annealed-mean ab."""
        return self.predict_ab_of(self.network_inputs(prepared))

    def predict_ab_of(self, network_inputs: list[np.ndarray]) -> list[np.ndarray]:
        """`predict_ab` from the network inputs alone: all a Ray model worker receives of each picture."""
        with self.forward_turns:
            started = time.perf_counter()
            output = self.engine.forward(self.blob(network_inputs))
            self.network_times.add(time.perf_counter() - started, len(network_inputs))
        return [np.ascontiguousarray(item.transpose(1, 2, 0)) for item in output]

    def predict_scores(self, prepared: list[PreparedImage]) -> list[np.ndarray]:
        """One forward pass for a batch; each result is the (313, size/4, size/4) raw scores, for `decode`."""
        with self.forward_turns:
            started = time.perf_counter()
            scores = self.engine.forward_scores(self.blob(self.network_inputs(prepared)))
            self.network_times.add(time.perf_counter() - started, len(prepared))
        return list(scores)

    def decode(
        self,
        scores: np.ndarray,
        temperature: float | None = None,
        hints=(),
        lightness: np.ndarray | None = None,
        picture_size: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """The annealed-mean ab of `predict_scores`'s output, at this colorizer's temperature or another, with the
        colour `hints` (colorization.hints.Hint) blended in. Hints need the picture's `lightness`, at full size or
        as a preview of any size (its edges stop them); their pixel positions refer to a picture of `picture_size`
        (width, height), by default the size of `lightness`."""
        scale = self.scale if temperature is None else annealing_scale(temperature)
        ab = annealed_mean(scores, self.points, scale)
        if not hints:
            return ab
        if lightness is None:
            raise ColorizationError(
                "hints need the picture's lightness: decode(scores, hints=..., lightness=prepared.lightness)"
            )
        return apply_hints(ab, hints, lightness, picture_size)

    def compose(self, prepared: PreparedImage, ab: np.ndarray, colour: ColourSettings | None = None) -> np.ndarray:
        return (colour or self.colour).compose(prepared, ab)

    def colorize(self, image: np.ndarray, hints=()) -> np.ndarray:
        """A uint8/uint16 (or [0, 1] float32) BGR, BGRA, grey or grey+alpha array in, its colorized BGR(A) out;
        `hints` (colorization.hints.Hint, positions in this array's pixels or fractions) give known colours."""
        prepared = self.prepare(image)
        return self.compose(prepared, apply_hints(self.predict_ab([prepared])[0], hints, prepared.lightness))
