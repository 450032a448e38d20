"""What a Colorizer is made from, as one frozen value: the model files, how they are fetched, the engine and its
arithmetic, and the colour settings.

The commands build it once from their options; `Colorizer.load` takes it, and it travels as it is (it pickles) to
the workers of a Ray cluster and to the web server. A field is a name a checker sees, so a renamed setting cannot
go missing on the way, and an unknown one is a TypeError where the settings are made.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .composition import check_conversion
from .engines.base import AUTO, check_precision
from .model import DEFAULT_SIZE, annealing_scale, check_size
from .model_files import ModelFiles
from .saturation import check_saturation
from .upsampling import Upsampling


@dataclass(frozen=True)
class ColorizerSettings:
    """Colorizer.load's settings, each checked when the value is made (before anything slow happens).

    `upsample` takes a method name too ("guided", "bilinear"): it is kept as the Upsampling it names."""

    model_dir: str | os.PathLike[str] | None = None
    """Folder of the release files (None: $COLORIZE_MODEL_DIR, else the default folder)."""
    prototxt: str | os.PathLike[str] | None = None
    caffemodel: str | os.PathLike[str] | None = None
    points: str | os.PathLike[str] | None = None
    """Explicit files, each replacing its release file."""
    variant: str = "release"
    download: bool = True
    """Fetch missing or damaged release files (False: name the command instead)."""
    verify: bool = False
    """Check the release files' SHA-256 before loading."""
    quiet: bool = False
    """No download progress."""
    engine: str = AUTO
    backend: str = "auto"
    precision: str = AUTO
    temperature: float | None = None
    """Annealed-mean temperature (None: the release's own scale)."""
    size: int = DEFAULT_SIZE
    upsample: Upsampling = field(default_factory=Upsampling)
    saturation: float = 1.0
    conversion: str = "reference"

    def __post_init__(self) -> None:
        check_precision(self.precision)
        check_conversion(self.conversion)
        object.__setattr__(self, "upsample", Upsampling.of(self.upsample))
        check_saturation(self.saturation)
        annealing_scale(self.temperature)
        check_size(self.size)

    @property
    def scale(self) -> float:
        """1/temperature, the factor on the network's scores."""
        return annealing_scale(self.temperature)

    def model_files(self) -> ModelFiles:
        """The files these settings name (not yet fetched nor checked)."""
        return ModelFiles.resolve(self.model_dir, self.prototxt, self.caffemodel, self.points, self.variant)
