"""Colorize black-and-white photos and films with Zhang et al.'s ECCV 2016 model through OpenCV's DNN module."""

__version__ = "0.2.0"

from .errors import ColorizationError, ImageError, ModelFileError  # noqa: E402
from .image_io import read_image, write_image  # noqa: E402
from .model_files import ModelFiles  # noqa: E402
from .pipeline import Colorizer, ColourSettings  # noqa: E402
from .settings import ColorizerSettings  # noqa: E402

__all__ = [
    "Colorizer",
    "ColorizerSettings",
    "ColourSettings",
    "ColorizationError",
    "ImageError",
    "ModelFileError",
    "ModelFiles",
    "read_image",
    "write_image",
    "__version__",
]
